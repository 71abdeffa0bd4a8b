"""The counts the public page, the embed and the API show: a maintained aggregate.

Under a burst those pages are read hundreds of times a second, and each read counting
the letter's listed signatories (an indexed COUNT over thousands of rows) repeats work
whose answer changes a few times a minute. ``letter_counts`` keeps each letter's counts
under its current text; ``flask scheduler`` refreshes them every :data:`REFRESH_EVERY`
seconds (``refresh-letter-counts``) for the letters with a public page that takes
signatures. A read (:func:`shown`) uses the row while it is younger than
:data:`FRESH_FOR` seconds. A reader that finds it stale or missing refreshes it (in its
own transaction, committed with its request): the number shown is never older than
:data:`FRESH_FOR` seconds, whether a scheduler runs or not (``make run`` has none), and
without one the letter is counted once per :data:`FRESH_FOR` seconds instead of at every
read. One transaction at a time refreshes a letter's row (an advisory lock that the others
do not wait for: on PostgreSQL a concurrent reader that finds it taken counts for itself,
as before the row existed); no sign-on request writes the row (no hot row; counters are
derived, never incremented by a request).

A refresh first reads the row's sources cheaply (:func:`stamp`: how many signatures the
letter has and the sum of their last changes, from an index alone, and its revisions):
when nothing changed since the letter was last counted it only stamps the row fresh, so
the scheduler no longer counts every large public letter (and recomputes its chart's slots)
every :data:`REFRESH_EVERY` seconds whether or not anyone signed.

The refresh also keeps the coordinators' dashboard chart's changes per 15-minute slot
(``letter_approval_slots``, :func:`signon.signatures.dashboard.queries.approval_changes`
reads them under the same rule): at 20,000 organisations the window over every approval
event was the largest part of a dashboard page.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, literal, select, update

from signon.core import jobs
from signon.core.bulk import upsert
from signon.core.locks import lock_keys, try_lock_key
from signon.db import epoch_ms, utcnow
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus
from signon.signatures.dashboard.queries import slot_changes
from signon.signatures.listing import Listed, listed
from signon.signatures.models import ApprovalSlot, LetterCounts, Signature

#: How often the scheduler takes the counts again ...
REFRESH_EVERY = 2
#: ... and how old a row may be and still be shown (the scheduler's period and its slack).
FRESH_FOR = 4
#: A refresh whose stamp (:func:`stamp`) is unchanged keeps the counts and the chart's
#: slots as they are, for at most this many seconds after they were counted: the slots
#: also read the signatures' events, which the stamp does not (every change of a
#: signature that adds one also moves its ``updated_at``; this bounds any that did not).
RECOUNT_AFTER = 60


@dataclass(frozen=True)
class ShownCounts:
    listed: int
    awaiting_reconfirmation: int


def shown(listing: Listed, now: datetime | None = None) -> ShownCounts:
    """The counts of the list under the letter's current text: from its row while fresh
    (one statement); a stale or missing row is refreshed first (:func:`refresh`), unless
    another transaction is refreshing it, in which case they are counted."""
    assert listing.is_current, "the maintained counts are those of the current text"
    taken = now or utcnow()
    kept = db.session.execute(
        select(LetterCounts.listed, LetterCounts.awaiting_reconfirmation).where(
            LetterCounts.letter_id == listing.letter_id,
            LetterCounts.refreshed_at >= fresh_since(taken),
        )
    ).first()
    if kept is not None:
        return ShownCounts(int(kept[0]), int(kept[1]))
    if try_lock_key(_lock_key(listing.letter_id)):
        return _take(listing, taken)
    awaiting = listing.awaiting_query()
    row = db.session.execute(
        select(
            listing.count_query().scalar_subquery(),
            literal(0) if awaiting is None else awaiting.scalar_subquery(),
        )
    ).one()
    return ShownCounts(int(row[0]), int(row[1]))


def outdate(letter_id: int) -> None:
    """The letter's kept counts are not to be shown again: the next reader counts.

    For a change that a person makes and then looks at (a coordinator accepting a public
    signature sees the public page or the embed next), which is rare, so the row is not hot.
    The public sign-ons of a burst do not call it: their counts are at most
    :data:`FRESH_FOR` seconds old."""
    db.session.execute(
        update(LetterCounts)
        .where(LetterCounts.letter_id == letter_id)
        .values(refreshed_at=datetime(1970, 1, 1, tzinfo=UTC))
    )


def fresh_since(now: datetime | None = None) -> datetime:
    """The oldest refresh whose counts may still be shown."""
    return (now or utcnow()) - timedelta(seconds=FRESH_FOR)


def _lock_key(letter_id: int) -> str:
    return f"letter-counts:{letter_id}"


def refresh(letter: Letter, now: datetime | None = None) -> ShownCounts:
    """Count the letter's list now and keep the counts, with the dashboard chart's
    changes per slot (stamped with the time before counting: they are at least that
    recent). Waits for a reader refreshing the same letter (:func:`shown`)."""
    lock_keys(_lock_key(letter.id))
    return _take(listed(letter), now or utcnow())


def stamp(listing: Listed) -> str:
    """What the counts are taken from, read cheaply: how many signatures the letter has and
    the sum of their last changes (``updated_at`` in whole milliseconds: any insert, update
    or deletion moves it, in whatever order concurrent transactions commit), read from the
    index on (letter, updated_at) alone, with the revisions the listing read (a new text, a
    change classified). Equal stamps, equal counts."""
    sig = Signature.__table__.c
    number, moments = db.session.execute(
        select(func.count(), func.coalesce(func.sum(epoch_ms(sig.updated_at)), 0)).where(
            sig.letter_id == listing.letter_id
        )
    ).one()
    revisions = ";".join(
        f"{r.id},{r.number},{r.change_kind},{r.content_sha256}" for r in listing.revisions
    )
    source = f"{number}:{moments}:{listing.head_number}:{revisions}"
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _take(listing: Listed, taken: datetime) -> ShownCounts:
    """:func:`refresh`, under the letter's refresh lock: counted again only when the
    stamp changed (or :data:`RECOUNT_AFTER` passed); otherwise the row is stamped fresh."""
    letter_id = listing.letter_id
    current = stamp(listing)
    kept = db.session.execute(
        select(
            LetterCounts.listed,
            LetterCounts.awaiting_reconfirmation,
            LetterCounts.stamp,
            LetterCounts.counted_at,
        ).where(LetterCounts.letter_id == letter_id)
    ).first()
    if (
        kept is not None
        and kept.stamp == current
        and kept.counted_at is not None
        and kept.counted_at >= taken - timedelta(seconds=RECOUNT_AFTER)
    ):
        db.session.execute(
            update(LetterCounts)
            .where(LetterCounts.letter_id == letter_id)
            .values(refreshed_at=taken)
        )
        return ShownCounts(int(kept.listed), int(kept.awaiting_reconfirmation))
    counts = ShownCounts(listing.count(), listing.awaiting_reconfirmation())
    slots = [
        {"letter_id": letter_id, "slot": slot, "counted_in": came, "taken_out": left}
        for slot, came, left in db.session.execute(slot_changes(letter_id)).tuples()
    ]
    db.session.execute(delete(ApprovalSlot).where(ApprovalSlot.letter_id == letter_id))
    if slots:
        db.session.execute(insert(ApprovalSlot), slots)
    upsert(
        LetterCounts,
        {"letter_id": letter_id},
        {
            "listed": counts.listed,
            "awaiting_reconfirmation": counts.awaiting_reconfirmation,
            "refreshed_at": taken,
            "stamp": current,
            "counted_at": taken,
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
