"""Audit events: append-only, chained by SHA-256 per letter so that tampering shows.

Each event stores the hash of the previous event of the same letter (or of the
global chain when it concerns no letter) and its own hash over its content and
that previous hash. ``seq`` is unique per chain, so two concurrent writers cannot
both extend the chain from the same event.

The hash formula is versioned (``hash_version``), never re-computed for old events:
re-chaining would hide whatever was changed before it. Version 1 (events written
before December 2026) covers the chain, sequence, letter, actor's label, action,
details, time and link; version 2 also covers the actor's account id and the version
number itself, so that an event cannot be passed off as version 1. The verifier
checks each event with its own version's formula and refuses a version-1 event after
a version-2 one in the same chain.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signon.db import utcnow
from signon.extensions import db

GENESIS = "0" * 64
#: The hash formula of new events (see the module's docstring).
HASH_VERSION = 2
KNOWN_HASH_VERSIONS = frozenset({1, 2})

if TYPE_CHECKING:
    from signon.accounts.models import User


class AuditEvent(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("uq_audit_events_chain_seq", "chain", "seq", unique=True),
        Index("ix_audit_events_letter_id", "letter_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "letter:<id>" or "global".
    chain: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int]
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Who acted, as text that survives the account: an e-mail, or "system".
    actor_label: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: The formula ``hash`` was computed with; events from before version 2 keep 1.
    hash_version: Mapped[int] = mapped_column(default=HASH_VERSION, server_default="1")

    #: the account (accounts.models.User, named so that the audit writer imports no feature)
    actor: Mapped[User | None] = relationship("User")

    def __repr__(self) -> str:
        return f"<AuditEvent {self.chain}#{self.seq} {self.action}>"

    def hashed_fields(self) -> dict[str, Any]:
        """What this event's hash covers, by its ``hash_version``."""
        fields: dict[str, Any] = {
            "chain": self.chain,
            "seq": self.seq,
            "letter_id": self.letter_id,
            "actor_label": self.actor_label,
            "action": self.action,
            "details": self.details,
            "created_at": self.created_at.isoformat(),
            "prev_hash": self.prev_hash,
        }
        if self.hash_version >= 2:
            fields["actor_id"] = self.actor_id
            fields["hash_version"] = self.hash_version
        return fields

    def compute_hash(self) -> str:
        payload = json.dumps(
            self.hashed_fields(),
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class AuditCheckpoint(db.Model):  # type: ignore[name-defined,misc]
    """How far a chain has been verified: its last verified event, that event's hash, when.

    The audit log page verifies only the events after it (and that the checkpoint's
    event still has the hash recorded here), so a view costs the same at 20 events or
    20,000. ``flask verify-audit`` and the page's "check everything" button verify the
    whole chain and the letter's records from the start: they set ``full_checked_at``
    when everything is intact; on a break they move the checkpoint back to the last entry
    before it (so every view meets the break again at once), and records that differ are
    kept in ``findings`` (shown by every view). ``flask scheduler`` moves the checkpoints
    on every minute (:func:`signon.audit.checkpoints.advance_checkpoints`), so that no view
    has many entries to check, and none checks a long chain from the start.
    """

    __tablename__ = "audit_checkpoints"

    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int]
    event_id: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    #: The hash format of the checkpoint's event (no later event may claim an older one).
    hash_version: Mapped[int]
    #: When the events up to ``seq`` were last found intact.
    checked_at: Mapped[datetime]
    #: When the whole chain and the letter's records were last found intact.
    full_checked_at: Mapped[datetime | None]
    #: What the last full check found wrong with the letter's records (revisions,
    #: signatures), until a full check finds them intact: every view shows it without
    #: checking every record again.
    findings: Mapped[list[str] | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<AuditCheckpoint {self.chain}#{self.seq}>"


class PendingAuditEvent(db.Model):  # type: ignore[name-defined,misc]
    """An event written without waiting for its chain's end: sealed into the chain later.

    Appending to a chain is one writer at a time (its lock, its last event); a burst of
    public sign-ons on one letter would queue there. Their events are rows of this
    append-only table instead, inserted in the sign-on's own transaction (a committed
    sign-on always has its event; a rolled-back one never). They are moved into the
    chain, oldest first, by :func:`signon.audit.operations.record_events`, the one
    place that appends to a chain: by the sealer (:mod:`signon.audit.sealing`) within
    seconds, and by any other event of the same chain before that event, so that the
    chain's order never puts a later change of a signature before its creation.
    ``created_at`` is when it happened; the sealed event keeps it (and its hash covers it).
    """

    __tablename__ = "audit_pending_events"
    __table_args__ = (Index("ix_audit_pending_events_chain_id", "chain", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(40))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<PendingAuditEvent {self.id} {self.chain} {self.action}>"
