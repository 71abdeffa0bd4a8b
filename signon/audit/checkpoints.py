"""Verified checkpoints: the audit log page checks only what was added since the last check.

A chain's checkpoint (:class:`AuditCheckpoint`) names the last event found intact and
its hash. :func:`check_letter_log` (the page) verifies the events after it, checks that
the checkpoint's event still has that hash, and moves the checkpoint on: a fixed number
of queries however long the chain. Tampering with an *earlier* event is not seen there;
:func:`check_in_full` (``flask verify-audit`` and the page's "Check everything now"
button) reads every event and every record from the start, records when everything was
last found intact, and removes the checkpoint of a chain it finds broken, so the page
then verifies that chain from the start on every view, and shows the break, until it
is repaired.
"""

from __future__ import annotations

from sqlalchemy import delete, update

from signon.audit.models import AuditCheckpoint, AuditEvent
from signon.audit.verify import ChainReport, verify_all, verify_chain, verify_letter
from signon.core.bulk import upsert
from signon.db import utcnow
from signon.extensions import db


def check_letter_log(letter_id: int) -> ChainReport:
    """The letter's chain, checked from its checkpoint (from the start if it has none).

    Without a checkpoint this is the full check (the chain and the letter's records),
    which sets one when everything is intact.
    """
    chain = f"letter:{letter_id}"
    checkpoint = db.session.get(AuditCheckpoint, chain)
    if checkpoint is None:
        return check_in_full(letter_id)[0]
    report = verify_chain(chain, since=checkpoint)
    if report.intact and report.head is not None:
        _advance(checkpoint, report.head)
    return report


def check_in_full(letter_id: int | None = None) -> list[ChainReport]:
    """Every chain (or one letter's) and the records, from the start; checkpoints follow."""
    reports = verify_all(letter_id) if letter_id is None else [verify_letter(letter_id)]
    for report in reports:
        if report.intact and report.head is not None:
            _save_full(report.chain, report.head)
        elif not report.intact:
            db.session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.chain == report.chain))
    db.session.flush()
    return reports


def _advance(checkpoint: AuditCheckpoint, head: AuditEvent) -> None:
    """Move the checkpoint to ``head`` (never back: another view may have moved it on)."""
    db.session.execute(
        update(AuditCheckpoint)
        .where(AuditCheckpoint.chain == checkpoint.chain, AuditCheckpoint.seq <= head.seq)
        .values(
            seq=head.seq,
            event_id=head.id,
            hash=head.hash,
            hash_version=head.hash_version,
            checked_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


def _save_full(chain: str, head: AuditEvent) -> None:
    """The chain was verified from its first event up to ``head``, with its records."""
    now = utcnow()
    values = {
        "seq": head.seq,
        "event_id": head.id,
        "hash": head.hash,
        "hash_version": head.hash_version,
        "checked_at": now,
        "full_checked_at": now,
    }
    upsert(AuditCheckpoint, {"chain": chain}, values)
