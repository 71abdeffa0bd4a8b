"""Recompute the audit chains and name the first event that does not fit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from signon.audit.models import GENESIS, AuditEvent
from signon.extensions import db


@dataclass(frozen=True)
class ChainReport:
    chain: str
    events: int
    #: The first event whose hash or link is wrong, with what is wrong; None if intact.
    broken_at: AuditEvent | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_chain(chain: str) -> ChainReport:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)
    ).all()
    previous_hash = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return ChainReport(
                chain, len(events), event, f"sequence {event.seq}, expected {expected_seq}"
            )
        if event.prev_hash != previous_hash:
            return ChainReport(chain, len(events), event, "does not link to the event before it")
        if event.compute_hash() != event.hash:
            return ChainReport(chain, len(events), event, "its content does not match its hash")
        previous_hash = event.hash
    return ChainReport(chain, len(events))


def verify_all(letter_id: int | None = None) -> list[ChainReport]:
    if letter_id is not None:
        return [verify_chain(f"letter:{letter_id}")]
    chains = db.session.scalars(select(AuditEvent.chain).distinct().order_by(AuditEvent.chain))
    return [verify_chain(chain) for chain in chains]


def chain_head(letter_id: int) -> str | None:
    """The latest event hash of a letter's chain (cited on the PDF audit page)."""
    return db.session.scalar(
        select(AuditEvent.hash)
        .where(AuditEvent.chain == f"letter:{letter_id}")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
