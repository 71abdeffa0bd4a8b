"""What the API says about a letter and its signatories: read-only lookups and JSON shapes.

Only the signatories listed under the current text leave through the API, in the
coordinators' order: :mod:`signon.signatures.listing` decides, as for every other
output, and the API reads only the page it returns
(:func:`~signon.signatures.listing.listed`). Approvals of an earlier text that await
re-confirmation are counted (``awaiting_reconfirmation``), never listed; declined,
withdrawn, rejected and pending signatures are neither shown nor counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from signon.letters.models import Letter, Revision
from signon.signatures import counts
from signon.signatures.listing import Entry, Listed, ListPage, listed
from signon.signatures.models import SignatoryKind
from signon.signatures.state import SignatoryState


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, or ``None``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class LetterFacts:
    letter: Letter
    head: Revision
    listing: Listed


@dataclass(frozen=True)
class Counts:
    published_signatories: int
    approved_current: int
    awaiting_reconfirmation: int


def letter_facts(letter: Letter) -> LetterFacts:
    """The letter with its list under the current text (a fixed number of queries)."""
    head = letter.head()
    assert head is not None, "a letter has at least one revision"
    return LetterFacts(letter, head, listed(letter))


def counts_of(facts: LetterFacts) -> Counts:
    """Everyone listed is listed under the current text; others may re-confirm."""
    shown = counts.shown(facts.listing)
    return Counts(shown.listed, shown.listed, shown.awaiting_reconfirmation)


def published_signatories(facts: LetterFacts, offset: int, limit: int) -> ListPage:
    """Listed signatories ``offset`` to ``offset + limit`` in the printed order, with
    the count of all."""
    return facts.listing.page(offset, limit, count=counts.shown(facts.listing).listed)


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


def signatory_payload(item: Entry) -> dict[str, Any]:
    signature = item.signature
    individual = signature.kind == SignatoryKind.INDIVIDUAL
    return {
        "name": signature.name,
        "sort_name": signature.sort_name,
        "country": signature.country,
        "type": signature.kind.value,
        "approved_revision": {
            "number": item.approved_number,
            "sha256": signature.approved_sha256,
        },
        "approved_at": iso(signature.approved_at),
        "state": SignatoryState.APPROVED_CURRENT.value,
        "group": item.group,
        # what the public page prints after an individual's name; an organisation's
        # representative is not published
        "title": (signature.representative_title or None) if individual else None,
        "affiliation": (signature.affiliation or None) if individual else None,
    }
