"""Writing audit events. Called by every operation that changes state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text

from signon.audit.models import GENESIS, HASH_VERSION, AuditEvent
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


def record_events(
    drafts: Sequence[EventDraft], *, letter_id: int | None = None
) -> list[AuditEvent]:
    """Append ``drafts`` to the letter's chain, in order, under one lock and one flush.

    The chain is exactly what as many :func:`record_event` calls would write (each event
    links to the one before it); a bulk operation (an import) pays one lookup of the
    chain's end and one flush instead of one of each per event.
    """
    _lock_chain(letter_id)
    chain = _chain_for(letter_id)
    last = db.session.scalar(
        select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq.desc()).limit(1)
    )
    seq, prev_hash = (last.seq, last.hash) if last else (0, GENESIS)
    created_at = utcnow().replace(microsecond=0)
    events = []
    for draft in drafts:
        seq += 1
        event = AuditEvent(
            chain=chain,
            seq=seq,
            letter_id=letter_id,
            actor_id=draft.actor.id if draft.actor else None,
            actor_label=draft.actor_label or (draft.actor.email if draft.actor else "system"),
            action=draft.action,
            details={k: v for k, v in draft.details.items() if v is not None},
            created_at=created_at,
            prev_hash=prev_hash,
            hash_version=HASH_VERSION,
        )
        event.hash = prev_hash = event.compute_hash()
        events.append(event)
    add_numbered(events)
    db.session.flush()
    return events
