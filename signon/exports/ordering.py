"""Who is listed under a revision, in which order, joined how. (Interface; see issue 4.)

PROVISIONAL implementation by the lead: the exports engineer replaces the
internals (PyICU collation per language, articles per language, all ordering
modes) keeping these signatures.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from signon.extensions import db
from signon.letters.models import Letter, Revision
from signon.signatures.models import Moderation, Signature, SignatureStatus
from signon.signatures.state import coverage


class OrderMode(enum.StrEnum):
    ALPHABETICAL = "alphabetical"
    COUNTRY = "country"
    KIND = "kind"
    DRAFTERS_FIRST = "drafters_first"
    CUSTOM = "custom"


@dataclass(frozen=True)
class LeftOut:
    signature: Signature
    reason: str


@dataclass(frozen=True)
class Eligibility:
    listed: list[Signature]
    left_out: list[LeftOut]


def eligible_signatures(letter: Letter, revision: Revision) -> Eligibility:
    """Signatures whose approval covers ``revision``; the others with the reason why."""
    revisions = list(db.session.scalars(select(Revision).where(Revision.letter_id == letter.id)))
    numbers = {r.id: r.number for r in revisions}
    cover = coverage(revisions, revision.number)
    listed: list[Signature] = []
    left_out: list[LeftOut] = []
    for signature in db.session.scalars(select(Signature).where(Signature.letter_id == letter.id)):
        if signature.status != SignatureStatus.APPROVED:
            continue  # declined and withdrawn never appear, nor are they "left out"
        if signature.moderation in (Moderation.PENDING, Moderation.REJECTED):
            left_out.append(
                LeftOut(
                    signature,
                    "awaiting moderation"
                    if signature.moderation == Moderation.PENDING
                    else "rejected",
                )
            )
            continue
        number = numbers.get(signature.revision_id or -1)
        if cover.covers(number):
            listed.append(signature)
        else:
            left_out.append(LeftOut(signature, f"approved revision {number}, not this text"))
    return Eligibility(listed, left_out)


def sort_key(name: str, sort_name: str | None, language: str) -> str:
    key = sort_name or name
    for article in ("the ",):
        if key.casefold().startswith(article):
            key = key[len(article) :]
    return key.casefold()


def sort_signatories(
    signatures: Sequence[Signature],
    *,
    language: str,
    mode: OrderMode = OrderMode.ALPHABETICAL,
    drafting_names: Sequence[str] = (),
    custom_order: Sequence[int] = (),
) -> list[Signature]:
    return sorted(signatures, key=lambda s: sort_key(s.name, s.sort_name, language))


def list_items(names: Sequence[str], language: str) -> list[str]:
    """Each name as a list item: ``A;`` ... ``Y; and`` ``Z``."""
    if not names:
        return []
    if len(names) == 1:
        return [names[0]]
    return [f"{n};" for n in names[:-2]] + [f"{names[-2]}; and", names[-1]]


def join_names(names: Sequence[str], language: str) -> str:
    return " ".join(list_items(names, language))
