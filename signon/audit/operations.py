"""Writing audit events. Called by every operation that changes state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text

from signon.audit.models import GENESIS, HASH_VERSION, AuditEvent
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


def record_event(
    action: str,
    *,
    letter_id: int | None = None,
    actor: User | None = None,
    actor_label: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Append an event to the letter's chain (flushes; the request commits)."""
    _lock_chain(letter_id)
    chain = _chain_for(letter_id)
    last = db.session.scalar(
        select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq.desc()).limit(1)
    )
    event = AuditEvent(
        chain=chain,
        seq=(last.seq + 1) if last else 1,
        letter_id=letter_id,
        actor_id=actor.id if actor else None,
        actor_label=actor_label or (actor.email if actor else "system"),
        action=action,
        details={k: v for k, v in details.items() if v is not None},
        created_at=utcnow().replace(microsecond=0),
        prev_hash=last.hash if last else GENESIS,
        hash_version=HASH_VERSION,
    )
    event.hash = event.compute_hash()
    db.session.add(event)
    db.session.flush()
    return event
