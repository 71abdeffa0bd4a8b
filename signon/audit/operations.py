"""Writing audit events. Called by every operation that changes state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, text

from signon.audit.models import GENESIS, HASH_VERSION, AuditEvent, PendingAuditEvent
from signon.core.bulk import add_numbered
from signon.core.locks import lock_row
from signon.db import utcnow
from signon.extensions import db

#: The advisory-lock key of the global chain (any constant unique to this use).
GLOBAL_CHAIN_LOCK = 7401265

if TYPE_CHECKING:
    from signon.accounts.models import User


def _chain_for(letter_id: int | None) -> str:
    return f"letter:{letter_id}" if letter_id is not None else "global"


def _lock_chain(letter_id: int | None) -> None:
    """Serialise writers of one letter's chain (PostgreSQL row lock; SQLite locks at BEGIN)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    if letter_id is None:
        # The global chain (logins, accounts) has no row to lock: a transaction-scoped
        # advisory lock serialises its writers instead.
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": GLOBAL_CHAIN_LOCK})
        return
    # Through the table: the audit writer imports no feature package.
    lock_row(db.metadata.tables["letters"], letter_id, key_share=True)


@dataclass(frozen=True)
class EventDraft:
    """One event for :func:`record_events`: what :func:`record_event` takes, as a value."""

    action: str
    details: dict[str, Any] = field(default_factory=dict)
    actor: User | None = None
    actor_label: str | None = None


def record_event(
    action: str,
    *,
    letter_id: int | None = None,
    actor: User | None = None,
    actor_label: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Append an event to the letter's chain (flushes; the request commits)."""
    (event,) = record_events(
        [EventDraft(action, details, actor=actor, actor_label=actor_label)], letter_id=letter_id
    )
    return event


def event_fields(draft: EventDraft, created_at: datetime) -> dict[str, Any]:
    """An event's own columns (what is neither its place in the chain nor its hash)."""
    return {
        "actor_id": draft.actor.id if draft.actor else None,
        "actor_label": draft.actor_label or (draft.actor.email if draft.actor else "system"),
        "action": draft.action,
        "details": {k: v for k, v in draft.details.items() if v is not None},
        "created_at": created_at,
    }


def event_time() -> datetime:
    return utcnow().replace(microsecond=0)


def _take_pending(chain: str) -> list[dict[str, Any]]:
    """The chain's pending events (committed ones), oldest first, removed from the table
    (the caller appends them, in the same transaction: nothing is lost or sealed twice)."""
    rows = db.session.execute(
        select(
            PendingAuditEvent.id,
            PendingAuditEvent.actor_id,
            PendingAuditEvent.actor_label,
            PendingAuditEvent.action,
            PendingAuditEvent.details,
            PendingAuditEvent.created_at,
        )
        .where(PendingAuditEvent.chain == chain)
        .order_by(PendingAuditEvent.id)
    ).all()
    if rows:
        db.session.execute(
            delete(PendingAuditEvent)
            .where(PendingAuditEvent.id.in_([row.id for row in rows]))
            .execution_options(synchronize_session=False)
        )
    return [{k: v for k, v in row._asdict().items() if k != "id"} for row in rows]


def record_events(
    drafts: Sequence[EventDraft], *, letter_id: int | None = None
) -> list[AuditEvent]:
    """Append ``drafts`` to the letter's chain, in order, under one lock and one flush.

    The one place that appends to a chain. The chain's pending events
    (:class:`PendingAuditEvent`, :func:`signon.audit.sealing.record_pending`) go first,
    oldest first: an event never precedes one committed before it was written. The chain is
    exactly what as many :func:`record_event` calls would write (each event links to the
    one before it); a bulk operation (an import) pays one lookup of the chain's end and
    one flush instead of one of each per event. Returns the events of ``drafts``.
    """
    _lock_chain(letter_id)
    chain = _chain_for(letter_id)
    last = db.session.scalar(
        select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq.desc()).limit(1)
    )
    seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS)
    pending = _take_pending(chain) if letter_id is not None else []
    created_at = event_time()
    events = []
    for fields in [*pending, *(event_fields(draft, created_at) for draft in drafts)]:
        seq += 1
        event = AuditEvent(
            chain=chain,
            seq=seq,
            letter_id=letter_id,
            prev_hash=prev_hash,
            hash_version=HASH_VERSION,
            **fields,
        )
        event.hash = prev_hash = event.compute_hash()
        events.append(event)
    add_numbered(events)
    db.session.flush()
    return events[len(pending) :]
