"""What the API says about a letter and its signatories: read-only lookups and JSON shapes.

Only *published* signatories ever leave through the API: approved, and accepted by
a coordinator when they needed moderation (:attr:`Signature.is_public`). Each one
carries its state for the current text: ``approved_current`` (its approval covers
the head: it approved the head or only editorial changes came after) or
``approved_earlier`` (a substantive or unclassified change came after: it awaits
re-confirmation). Declined, withdrawn, rejected and pending signatures are never
shown, nor counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.sql.elements import ColumnElement

from signon.exports.models import ExportSettings
from signon.exports.ordering import (
    OrderMode,
    drafting_organisation_names,
    order_options,
    sort_signatories,
)
from signon.extensions import db
from signon.letters.models import Letter, Revision
from signon.signatures.models import Moderation, Signature, SignatureStatus
from signon.signatures.state import Coverage, SignatoryState, coverage

PUBLISHED_MODERATION = (Moderation.NOT_NEEDED, Moderation.ACCEPTED)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, or ``None``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class PublishedSignatory:
    signature: Signature
    revision_number: int
    state: SignatoryState


@dataclass(frozen=True)
class LetterFacts:
    letter: Letter
    head: Revision
    cover: Coverage


@dataclass(frozen=True)
class Counts:
    published_signatories: int
    approved_current: int
    awaiting_reconfirmation: int


def _published(letter: Letter) -> ColumnElement[bool]:
    return and_(
        Signature.letter_id == letter.id,
        Signature.status == SignatureStatus.APPROVED,
        Signature.moderation.in_(PUBLISHED_MODERATION),
    )


def letter_facts(letter: Letter) -> LetterFacts:
    """The head and the coverage of the current text (one query)."""
    revisions = list(db.session.scalars(select(Revision).where(Revision.letter_id == letter.id)))
    head = max(revisions, key=lambda r: r.number)
    return LetterFacts(letter, head, coverage(revisions, head.number))


def counts_of(facts: LetterFacts) -> Counts:
    """Published signatories per state, counted by the database (one query, any size)."""
    rows = db.session.execute(
        select(Revision.number, func.count(Signature.id))
        .join(Revision, Revision.id == Signature.revision_id)
        .where(_published(facts.letter))
        .group_by(Revision.number)
    ).all()
    current = sum(count for number, count in rows if facts.cover.covers(number))
    total = sum(count for _, count in rows)
    return Counts(total, current, total - current)


def published_signatories(facts: LetterFacts) -> list[PublishedSignatory]:
    """Every published signatory with its state, in the letter's printed order.

    The order is the one the coordinators chose for the printed list
    (``ExportSettings.options``, read by :func:`signon.exports.ordering.order_options`;
    alphabetical by default). Two or three queries, whatever the number of signatories.
    """
    rows = db.session.execute(
        select(Signature, Revision.number)
        .join(Revision, Revision.id == Signature.revision_id)
        .where(_published(facts.letter))
        .order_by(Signature.id)
    ).all()
    numbers = {signature.id: number for signature, number in rows}
    letter = facts.letter
    settings = db.session.scalar(
        select(ExportSettings).where(ExportSettings.letter_id == letter.id)
    )
    mode, custom = order_options(settings.options if settings else None)
    ordered = sort_signatories(
        [signature for signature, _ in rows],
        language=letter.language,
        mode=mode,
        drafting_names=(
            drafting_organisation_names(letter) if mode == OrderMode.DRAFTERS_FIRST else ()
        ),
        custom_order=custom,
    )
    return [
        PublishedSignatory(
            signature,
            numbers[signature.id],
            SignatoryState.APPROVED_CURRENT
            if facts.cover.covers(numbers[signature.id])
            else SignatoryState.APPROVED_EARLIER,
        )
        for signature in ordered
    ]


def letter_payload(facts: LetterFacts, counts: Counts, links: dict[str, str]) -> dict[str, Any]:
    letter, head = facts.letter, facts.head
    return {
        "slug": letter.slug,
        "title": letter.title,
        "addressee": letter.addressee,
        "language": letter.language,
        "status": letter.status.value,
        "deadline": iso(letter.deadline),
        "public": letter.is_public,
        "current_revision": {
            "number": head.number,
            "sha256": head.content_sha256,
            "saved_at": iso(head.created_at),
        },
        "counts": {
            "published_signatories": counts.published_signatories,
            "approved_current": counts.approved_current,
            "awaiting_reconfirmation": counts.awaiting_reconfirmation,
        },
        "links": links,
    }


def signatory_payload(item: PublishedSignatory) -> dict[str, Any]:
    signature = item.signature
    return {
        "name": signature.name,
        "sort_name": signature.sort_name,
        "country": signature.country,
        "type": signature.kind.value,
        "approved_revision": {
            "number": item.revision_number,
            "sha256": signature.approved_sha256,
        },
        "approved_at": iso(signature.approved_at),
        "state": item.state.value,
    }
