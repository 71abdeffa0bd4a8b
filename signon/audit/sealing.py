"""Pending audit events: written without waiting for the chain, sealed into it within seconds.

A public sign-on records its audit event with :func:`record_pending` (a row of
:class:`~signon.audit.models.PendingAuditEvent`, in the sign-on's own transaction), not
by appending to the letter's chain, which takes one writer at a time. Sealing moves a
letter's pending events into its chain, oldest first, through
:func:`signon.audit.operations.record_events` (the one place that appends, which also
seals them before any other event of that chain). Who seals:

- after the commit, the request hands the letter over: with Redis, into a set that
  ``flask worker``'s sealing thread empties every :data:`SEAL_PAUSE` seconds (one seal
  per letter and round, however many sign-ons); without Redis (``make run``), the web
  process seals once the response is sent;
- ``flask scheduler`` every :data:`SEAL_EVERY_SECONDS` seconds (what a hand-over lost to
  a crash or a Redis outage left behind);
- ``flask verify-audit`` before it verifies.

Nothing is lost between the commit and the seal (the rows are committed with the
sign-on) and nothing is sealed twice (taking them from the table and appending them is
one transaction, under the chain's lock).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from flask import current_app, has_request_context
from redis.exceptions import RedisError
from sqlalchemy import func, select

from signon.audit.models import PendingAuditEvent
from signon.audit.operations import EventDraft, event_fields, event_time, record_events
from signon.core import jobs, transaction
from signon.extensions import db

log = logging.getLogger(__name__)

#: The sealing thread seals at most this often (seconds): a burst is sealed in batches.
SEAL_PAUSE = 0.5
#: ``flask scheduler`` seals whatever is still pending this often (seconds).
SEAL_EVERY_SECONDS = 5


def _chain(letter_id: int) -> str:
    return f"letter:{letter_id}"


def record_pending(drafts: Sequence[EventDraft], *, letter_id: int) -> None:
    """Record ``drafts`` for the letter's chain without waiting for the chain's end.

    Inserted with the caller's changes (committed or rolled back with them), sealed in
    order soon after the commit. Until then the audit log page lists them as pending
    and the record checks count them (:func:`pending_details`).
    """
    created_at = event_time()
    db.session.add_all(
        PendingAuditEvent(
            chain=_chain(letter_id), letter_id=letter_id, **event_fields(draft, created_at)
        )
        for draft in drafts
    )
    transaction.after_commit(lambda: seal_soon(letter_id))


def seal_soon(letter_id: int) -> None:
    """Have the letter's pending events sealed soon (see the module's docstring)."""
    if not has_request_context():
        seal_letter(letter_id)
    elif current_app.config["SIGNON"].redis_url:
        hand_to_sealer(letter_id)
    else:
        transaction.after_response(lambda: seal_letter(letter_id))


def seal_letter(letter_id: int) -> bool:
    """Seal the letter's pending events now, as a unit of work of its own (committed).

    Returns whether there was anything to seal. Takes the chain's lock only then.
    """
    waiting = db.session.scalar(
        select(PendingAuditEvent.id).where(PendingAuditEvent.chain == _chain(letter_id)).limit(1)
    )
    if waiting is None:
        # end the read: on SQLite it began a write transaction (BEGIN IMMEDIATE), which held
        # the database's write lock and made the outbox's claim on its own connection wait
        # 30 s and fail ("database is locked") after a commit outside a request
        transaction.rollback()
        return False
    try:
        record_events([], letter_id=letter_id)
        transaction.commit()
    except Exception:
        transaction.rollback()
        raise
    return True


def seal_all() -> int:
    """Seal every letter's pending events (one unit of work per letter). Returns how many
    letters had some."""
    letters = sorted(
        {
            letter_id
            for letter_id in db.session.scalars(select(PendingAuditEvent.letter_id).distinct())
            if letter_id is not None
        }
    )
    return sum(1 for letter_id in letters if seal_letter(letter_id))


def pending_details(letter_id: int, action_like: str) -> list[dict[str, object]]:
    """The details of the letter's pending events whose action is ``LIKE action_like``,
    oldest first: they come after every sealed event of the chain."""
    return [
        details or {}
        for details in db.session.scalars(
            select(PendingAuditEvent.details)
            .where(
                PendingAuditEvent.chain == _chain(letter_id),
                PendingAuditEvent.action.like(action_like),
            )
            .order_by(PendingAuditEvent.id)
        )
    ]


def pending_count(letter_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count(PendingAuditEvent.id)).where(
                PendingAuditEvent.chain == _chain(letter_id)
            )
        )
        or 0
    )


@jobs.periodic("seal-audit", every_seconds=SEAL_EVERY_SECONDS)
def _seal_periodically() -> None:
    sealed = seal_all()
    if sealed:
        log.info("sealed the pending audit events of %s letter(s)", sealed)


# --- Handing letters to the worker's sealing thread (with Redis) ----------------------------


def handed_over_key() -> str:
    """The Redis set of letters with events to seal: ``<SIGNON_JOB_QUEUE>:seal``."""
    return f"{current_app.config['SIGNON'].job_queue}:seal"


def hand_to_sealer(letter_id: int) -> None:
    """Let ``flask worker`` seal the letter's events (one SADD: a letter is in the set once,
    however many sign-ons). If Redis cannot be reached, ``flask scheduler`` seals them."""
    try:
        jobs.redis_connection().sadd(handed_over_key(), letter_id)
    except RedisError as error:
        log.warning(
            "letter %s not handed to the sealer (%s): the scheduler seals it", letter_id, error
        )


#: Letters taken from the set at most per round.
SEAL_BATCH = 1000


def seal_handed_over() -> int:
    """One round of the sealing thread: seal the letters handed over. Returns how many."""
    taken: list[bytes] = jobs.redis_connection().spop(handed_over_key(), SEAL_BATCH) or []  # type: ignore[assignment]
    letters = sorted({int(value) for value in taken})
    for letter_id in letters:
        try:
            seal_letter(letter_id)
        except Exception:  # the others still get sealed; the scheduler retries this one
            log.exception("sealing the audit events of letter %s failed", letter_id)
    return len(letters)


def _start_sealing_thread() -> None:
    """``flask worker``'s sealing thread (with Redis): seals what requests hand over."""
    if not current_app.config["SIGNON"].redis_url:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        while True:
            started = time.monotonic()
            with app.app_context():
                try:
                    seal_handed_over()
                except Exception:  # never stop: what is not sealed stays pending
                    log.exception("the sealing thread failed; trying again")
                finally:
                    db.session.remove()
            time.sleep(max(0.0, SEAL_PAUSE - (time.monotonic() - started)))

    threading.Thread(target=run, name="signon-seal", daemon=True).start()


jobs.at_worker_start(_start_sealing_thread)
