"""The counts the public page, the embed and the API show: a maintained aggregate.

Under a burst those pages are read hundreds of times a second, and each read counting
the letter's listed signatories (an indexed COUNT over thousands of rows) repeats work
whose answer changes a few times a minute. ``letter_counts`` keeps each letter's counts
under its current text; ``flask scheduler`` refreshes them every :data:`REFRESH_EVERY`
seconds (``refresh-letter-counts``) for the letters with a public page that takes
signatures. A read (:func:`shown`) uses the row only while it is younger than
:data:`FRESH_FOR` seconds and otherwise counts, in the same single statement: the number
shown is never older than :data:`FRESH_FOR` seconds, whether a scheduler runs or not
(``make run`` has none), and no sign-on request writes the row (no hot row; counters are
derived, never incremented by a request).

The refresh also keeps the coordinators' dashboard chart's changes per 15-minute slot
(``letter_approval_slots``, :func:`signon.signatures.dashboard.queries.approval_changes`
reads them under the same rule): at 20,000 organisations the window over every approval
event was the largest part of a dashboard page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, literal, select

from signon.core import jobs
from signon.core.bulk import upsert
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus
from signon.signatures.dashboard.queries import slot_changes
from signon.signatures.listing import Listed, listed
from signon.signatures.models import ApprovalSlot, LetterCounts

#: How often the scheduler takes the counts again ...
REFRESH_EVERY = 2
#: ... and how old a row may be and still be shown (the scheduler's period and its slack).
FRESH_FOR = 4


@dataclass(frozen=True)
class ShownCounts:
    listed: int
    awaiting_reconfirmation: int


def shown(listing: Listed, now: datetime | None = None) -> ShownCounts:
    """The counts of the list under the letter's current text, from its row while fresh,
    counted otherwise: one statement either way."""
    assert listing.is_current, "the maintained counts are those of the current text"
    cutoff = fresh_since(now)

    def kept(column: Any) -> Any:
        return (
            select(column)
            .where(LetterCounts.letter_id == listing.letter_id, LetterCounts.refreshed_at >= cutoff)
            .scalar_subquery()
        )

    awaiting = listing.awaiting_query()
    row = db.session.execute(
        select(
            func.coalesce(kept(LetterCounts.listed), listing.count_query().scalar_subquery()),
            func.coalesce(
                kept(LetterCounts.awaiting_reconfirmation),
                literal(0) if awaiting is None else awaiting.scalar_subquery(),
            ),
        )
    ).one()
    return ShownCounts(int(row[0]), int(row[1]))


def fresh_since(now: datetime | None = None) -> datetime:
    """The oldest refresh whose counts may still be shown."""
    return (now or utcnow()) - timedelta(seconds=FRESH_FOR)


def refresh(letter: Letter, now: datetime | None = None) -> ShownCounts:
    """Count the letter's list now and keep the counts, with the dashboard chart's
    changes per slot (stamped with the time before counting: they are at least that
    recent)."""
    taken = now or utcnow()
    listing = listed(letter)
    counts = ShownCounts(listing.count(), listing.awaiting_reconfirmation())
    slots = [
        {"letter_id": letter.id, "slot": slot, "counted_in": came, "taken_out": left}
        for slot, came, left in db.session.execute(slot_changes(letter.id)).tuples()
    ]
    db.session.execute(delete(ApprovalSlot).where(ApprovalSlot.letter_id == letter.id))
    if slots:
        db.session.execute(insert(ApprovalSlot), slots)
    upsert(
        LetterCounts,
        {"letter_id": letter.id},
        {
            "listed": counts.listed,
            "awaiting_reconfirmation": counts.awaiting_reconfirmation,
            "refreshed_at": taken,
        },
    )
    return counts


def refresh_public_counts(now: datetime | None = None) -> int:
    """Refresh the counts of every letter whose public page takes signatures (the ones a
    burst reads); how many. Others are counted when read."""
    letters = db.session.scalars(
        select(Letter).where(
            Letter.is_public.is_(True),
            Letter.status.in_((LetterStatus.DRAFTING, LetterStatus.OPEN)),
        )
    ).all()
    for letter in letters:
        refresh(letter, now)
    return len(letters)


jobs.periodic("refresh-letter-counts", every_seconds=REFRESH_EVERY)(refresh_public_counts)
