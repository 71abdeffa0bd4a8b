"""Recompute the audit chains and name the first event that does not fit; then check that
each letter's revisions and signatures are what the chain vouches for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import load_only

from signon.audit.models import GENESIS, KNOWN_HASH_VERSIONS, AuditCheckpoint, AuditEvent
from signon.extensions import db


@dataclass(frozen=True)
class ChainReport:
    chain: str
    events: int
    #: The first event whose hash or link is wrong, with what is wrong; None if intact.
    broken_at: AuditEvent | None = None
    problem: str = ""
    #: Records of the letter (revisions, signatures) that differ from what the chain says.
    findings: tuple[str, ...] = ()
    #: The last event found intact (where the next check may start), if any.
    head: AuditEvent | None = None
    #: The checkpoint the check started from (the events up to it were not re-read),
    #: or None when the chain was verified from its first event.
    since: AuditCheckpoint | None = None
    #: Not checked at all: a long chain without a checkpoint, left to the background check
    #: (``events`` is then the chain's length).
    unchecked: bool = False

    @property
    def intact(self) -> bool:
        return self.broken_at is None and not self.findings and not self.unchecked


def _event_problem(event: AuditEvent, newest_version: int) -> str | None:
    """What is wrong with the event itself (its hash format, or its hash), if anything."""
    if event.hash_version not in KNOWN_HASH_VERSIONS:
        return f"its hash format (version {event.hash_version}) is unknown"
    if event.hash_version < newest_version:
        # Old-format events all come before the upgrade: one after a newer event was
        # downgraded to escape what the newer formula covers (such as the actor).
        return (
            f"it claims the old hash format (version {event.hash_version}) after an event "
            f"of version {newest_version}"
        )
    if event.compute_hash() != event.hash:
        return "its content does not match its hash"
    return None


def _anchor_problem(anchor: AuditEvent, since: AuditCheckpoint) -> str | None:
    """What is wrong with the checkpoint's event now: it must be the one checked then, with
    the same fingerprint. Its content is not hashed again (one event can be large, such as
    an import's record of every signature): like the events before it, a change to its
    content shows in the full check."""
    if anchor.id != since.event_id or anchor.hash != since.hash:
        return "it is no longer the entry the last check ended at (its fingerprint changed)"
    return None


def verify_chain(
    chain: str, *, since: AuditCheckpoint | None = None, limit: int | None = None
) -> ChainReport:
    """The chain's events only: sequence, links, and each event's hash by its own format.

    With ``since`` (a checkpoint of this chain), only the events after it are read, and
    the checkpoint's event is checked to still be the one, with the hash, verified then;
    events before it are vouched for by the earlier check (:mod:`signon.audit.checkpoints`).
    With ``limit``, at most that many events after it are read: the report's ``events``
    and ``head`` say how far the check went.
    """
    query = select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)
    previous_hash, newest_version, first_seq = GENESIS, min(KNOWN_HASH_VERSIONS), 1
    head: AuditEvent | None = None
    if since is not None:
        head = db.session.scalar(
            select(AuditEvent)
            .where(AuditEvent.chain == chain, AuditEvent.seq == since.seq)
            .options(
                load_only(
                    AuditEvent.id,
                    AuditEvent.seq,
                    AuditEvent.action,
                    AuditEvent.created_at,
                    AuditEvent.hash,
                    AuditEvent.hash_version,
                )
            )
        )
        if head is None:  # the checkpoint's event is gone: only a check from the start says how
            return verify_chain(chain, limit=limit)
        problem = _anchor_problem(head, since)
        if problem is not None:
            return ChainReport(chain, since.seq, head, problem, since=since)
        query = query.where(AuditEvent.seq > since.seq)
        previous_hash, newest_version, first_seq = head.hash, head.hash_version, since.seq + 1
    events = db.session.scalars(query.limit(limit)).all()
    total = first_seq - 1 + len(events)
    for expected_seq, event in enumerate(events, start=first_seq):
        if event.seq != expected_seq:
            return ChainReport(
                chain, total, event, f"sequence {event.seq}, expected {expected_seq}", since=since
            )
        if event.prev_hash != previous_hash:
            return ChainReport(
                chain, total, event, "does not link to the event before it", since=since
            )
        problem = _event_problem(event, newest_version)
        if problem is not None:
            return ChainReport(chain, total, event, problem, since=since)
        newest_version = event.hash_version
        previous_hash = event.hash
        head = event
    return ChainReport(chain, total, head=head, since=since)


#: A feature's check of one letter's records against its chain: what differs, in words.
RecordCheck = Callable[[int], list[str]]
#: The letters feature checks revisions, the signatures feature signatures; the app
#: factory registers them (:func:`signon.create_app`), so the audit feature, on the
#: ground floor, imports no feature package.
_record_checks: list[RecordCheck] = []


def register_record_check(check: RecordCheck) -> None:
    """Add ``check`` to what :func:`verify_letter` asks (once, however often registered)."""
    if check not in _record_checks:
        _record_checks.append(check)


def record_problems(letter_id: int) -> list[str]:
    """The letter's records (revisions, signatures...) that differ from what its chain records."""
    return [problem for check in _record_checks for problem in check(letter_id)]


def verify_letter(letter_id: int) -> ChainReport:
    """The letter's chain, and its revisions and signatures against it."""
    report = verify_chain(f"letter:{letter_id}")
    return replace(report, findings=tuple(record_problems(letter_id)))


def _letter_id(chain: str) -> int | None:
    prefix, _, number = chain.partition(":")
    return int(number) if prefix == "letter" and number.isdigit() else None


def verify_all(letter_id: int | None = None) -> list[ChainReport]:
    """Every chain (or one letter's), and every letter's records, even one without events."""
    if letter_id is not None:
        return [verify_letter(letter_id)]
    letters = db.metadata.tables["letters"]
    chains = set(db.session.scalars(select(AuditEvent.chain).distinct()))
    chains.update(f"letter:{i}" for i in db.session.scalars(select(letters.c.id)))
    reports = []
    for chain in sorted(chains):
        letter = _letter_id(chain)
        reports.append(verify_letter(letter) if letter is not None else verify_chain(chain))
    return reports


def chain_head(letter_id: int) -> str | None:
    """The latest event hash of a letter's chain (cited on the PDF audit page)."""
    return db.session.scalar(
        select(AuditEvent.hash)
        .where(AuditEvent.chain == f"letter:{letter_id}")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
