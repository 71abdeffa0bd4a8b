"""Verified checkpoints: the audit log page checks only what was added since the last check.

A chain's checkpoint (:class:`AuditCheckpoint`) names the last event found intact and
its hash. :func:`check_letter_log` (the page) verifies the events after it, at most
:data:`VIEW_CHECK_LIMIT` of them, checks that the checkpoint's event still has that hash,
and moves the checkpoint on: a bounded number of queries and hashes however long the
chain. :func:`advance_checkpoints` (``flask scheduler``, every minute) does the same for
every letter whose chain grew, and checks in full a chain that has no checkpoint yet (a
new letter, an import), so the page never has to read a long chain from its first entry.

Tampering with an *earlier* event is not seen by a view; :func:`check_in_full`
(``flask verify-audit`` and the page's "Check everything now" button) reads every event
and every record from the start and records when everything was last found intact. When
it finds the chain broken, the checkpoint moves back to the last entry before the break,
so that every view meets the break again (at once, without reading the entries before
it) until the chain is repaired; records that differ from the chain are kept with the
checkpoint (``findings``) and shown by every view until a full check finds them intact.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy import delete, func, select, update

from signon.audit.models import AuditCheckpoint, AuditEvent
from signon.audit.verify import ChainReport, verify_all, verify_chain, verify_letter
from signon.core import jobs
from signon.core.bulk import upsert
from signon.db import utcnow
from signon.extensions import db

log = logging.getLogger(__name__)

#: The most entries one view of the audit log checks itself (about 0.1 s); a chain with more
#: unchecked entries is left to :func:`advance_checkpoints`, and the page says so.
VIEW_CHECK_LIMIT = 2_000
#: How often ``flask scheduler`` moves the checkpoints on (seconds).
ADVANCE_EVERY_SECONDS = 60


def _chain(letter_id: int) -> str:
    return f"letter:{letter_id}"


def chain_length(letter_id: int) -> int:
    """The number of the chain's newest event (its length), 0 for an empty chain."""
    newest = db.session.scalar(
        select(func.max(AuditEvent.seq)).where(AuditEvent.chain == _chain(letter_id))
    )
    return int(newest or 0)


def check_letter_log(letter_id: int) -> ChainReport:
    """The letter's chain, checked from its checkpoint, at most :data:`VIEW_CHECK_LIMIT`
    entries of it (the report's ``events`` says how far; the rest is checked in the
    background).

    Without a checkpoint, a chain of up to :data:`VIEW_CHECK_LIMIT` entries gets the full
    check (the chain and the letter's records), which sets one when everything is intact;
    a longer one is not checked here (``ChainReport.unchecked``) but by the background
    check.
    """
    chain = _chain(letter_id)
    checkpoint = db.session.get(AuditCheckpoint, chain)
    if checkpoint is None:
        length = chain_length(letter_id)
        if length > VIEW_CHECK_LIMIT:
            return ChainReport(chain, length, unchecked=True)
        return check_in_full(letter_id)[0]
    report = verify_chain(chain, since=checkpoint, limit=VIEW_CHECK_LIMIT)
    if report.intact and report.head is not None:
        _advance(checkpoint, report.head)
    return replace(report, findings=tuple(checkpoint.findings or ()))


def check_in_full(letter_id: int | None = None) -> list[ChainReport]:
    """Every chain (or one letter's) and the records, from the start; checkpoints follow."""
    reports = verify_all(letter_id) if letter_id is None else [verify_letter(letter_id)]
    for report in reports:
        _after_full_check(report)
    db.session.flush()
    return reports


def _after_full_check(report: ChainReport) -> None:
    """Intact: the checkpoint at the chain's end, checked in full now. Broken: at the last
    entry before the break (none if the first is broken). Records that differ: kept."""
    findings = list(report.findings) or None
    if report.broken_at is None and report.head is not None:
        _save(report.chain, report.head, full=report.intact, findings=findings)
        return
    before = (
        db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.chain == report.chain, AuditEvent.seq == report.broken_at.seq - 1
            )
        )
        if report.broken_at is not None
        else None
    )
    db.session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.chain == report.chain))
    if before is not None:
        _save(report.chain, before, full=False, findings=findings)


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


def _save(chain: str, head: AuditEvent, *, full: bool, findings: list[str] | None) -> None:
    """The chain was verified from its first event up to ``head`` (with its records, when
    ``full``: everything intact)."""
    now = utcnow()
    values = {
        "seq": head.seq,
        "event_id": head.id,
        "hash": head.hash,
        "hash_version": head.hash_version,
        "checked_at": now,
        "findings": findings,
    }
    if full:
        values["full_checked_at"] = now
    upsert(AuditCheckpoint, {"chain": chain}, values)


def advance_checkpoints() -> int:
    """Check the new entries of every letter's chain that grew since its checkpoint, and
    every chain without one in full. Returns how many chains were checked.

    Idempotent (a checkpoint only moves forward), so two runs at once do no harm.
    """
    letters = db.metadata.tables["letters"]  # through the table: audit imports no feature
    checked = 0
    for letter_id in db.session.scalars(select(letters.c.id).order_by(letters.c.id)):
        checkpoint = db.session.get(AuditCheckpoint, _chain(letter_id))
        length = chain_length(letter_id)
        if length == 0 or (checkpoint is not None and checkpoint.seq >= length):
            continue
        if checkpoint is None:
            (report,) = check_in_full(letter_id)
        else:
            report = verify_chain(checkpoint.chain, since=checkpoint)
            if report.intact and report.head is not None:
                _advance(checkpoint, report.head)
        if report.broken_at is not None:
            log.warning("the audit chain of letter %s is broken: %s", letter_id, report.problem)
        checked += 1
    return checked


@jobs.periodic("audit-checkpoints", every_seconds=ADVANCE_EVERY_SECONDS)
def _advance_periodically() -> None:
    checked = advance_checkpoints()
    if checked:
        log.info("checked the new audit entries of %s letter(s)", checked)
