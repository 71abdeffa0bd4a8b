"""What the audit chain vouches for about a letter's text: each revision's SHA-256.

Every path that creates a revision (a new letter, a save, a bundle import, the demo)
records it with :func:`record_revision`, whose event carries the revision's number and
content SHA-256. :func:`revision_problems` recomputes each revision's hash from its
stored title and text and compares it with the stored hash and with the audited one,
so that a text rewritten in the database shows even when its stored hash was left alone.
"""

from __future__ import annotations

from sqlalchemy import select

from signon.accounts.models import User
from signon.audit.models import AuditEvent
from signon.audit.operations import record_event
from signon.extensions import db
from signon.letters.models import Revision

REVISION_CREATED = "revision.created"
REVISION_SAVED = "revision.saved"
REVISION_IMPORTED = "revision.imported"
REVISION_BASELINE = "revision.baseline"
#: The events that record a revision's number and SHA-256 (``revision``, ``sha256``).
REVISION_ACTIONS = (REVISION_CREATED, REVISION_SAVED, REVISION_IMPORTED, REVISION_BASELINE)


def record_revision(
    revision: Revision,
    action: str,
    *,
    actor: User | None = None,
    actor_label: str | None = None,
    **details: object,
) -> AuditEvent:
    """Append the event that vouches for ``revision``'s hash to its letter's chain."""
    return record_event(
        action,
        letter_id=revision.letter_id,
        actor=actor,
        actor_label=actor_label,
        revision=revision.number,
        sha256=revision.content_sha256,
        **details,
    )


def audited_hashes(letter_id: int) -> dict[int, str]:
    """Revision number -> the SHA-256 its (first) audit event recorded."""
    audited: dict[int, str] = {}
    for details in db.session.scalars(
        select(AuditEvent.details)
        .where(AuditEvent.chain == f"letter:{letter_id}", AuditEvent.action.in_(REVISION_ACTIONS))
        .order_by(AuditEvent.seq)
    ):
        number, sha256 = (details or {}).get("revision"), (details or {}).get("sha256")
        if isinstance(number, int) and isinstance(sha256, str):
            audited.setdefault(number, sha256)
    return audited


def _short(sha256: str) -> str:
    return f"{sha256[:12]}…"


def revision_problems(letter_id: int) -> list[str]:
    """Each revision whose text, stored hash and audited hash do not all agree."""
    audited = audited_hashes(letter_id)
    problems: list[str] = []
    for revision in db.session.scalars(
        select(Revision).where(Revision.letter_id == letter_id).order_by(Revision.number)
    ):
        name = f"revision {revision.number}"
        actual = Revision.hash_content(revision.title, revision.body_markdown)
        if actual != revision.content_sha256:
            problems.append(
                f"{name}: its text does not match its stored SHA-256 (the text hashes to "
                f"{_short(actual)}, stored {_short(revision.content_sha256)})"
            )
        recorded = audited.pop(revision.number, None)
        if recorded is None:
            problems.append(
                f"{name}: no audit event records its SHA-256 (a revision from before the "
                "audit covered revisions: `flask audit-baseline` records it once)"
            )
        elif recorded != revision.content_sha256:
            problems.append(
                f"{name}: its stored SHA-256 {_short(revision.content_sha256)} differs from "
                f"the audited {_short(recorded)}"
            )
    problems.extend(
        f"revision {number}: audited (SHA-256 {_short(sha256)}) but gone from the database"
        for number, sha256 in sorted(audited.items())
    )
    return problems


def baseline_revisions(letter_id: int) -> tuple[list[int], list[int]]:
    """Record the hash of each revision that no audit event vouches for yet.

    For chains written before the audit covered revisions (run once after upgrading).
    A revision whose text does not match its stored hash is not vouched for.
    Returns the numbers recorded and the numbers refused.
    """
    audited = audited_hashes(letter_id)
    recorded: list[int] = []
    refused: list[int] = []
    for revision in db.session.scalars(
        select(Revision).where(Revision.letter_id == letter_id).order_by(Revision.number)
    ):
        if revision.number in audited:
            continue
        if not revision.text_matches_hash():
            refused.append(revision.number)
            continue
        record_revision(revision, REVISION_BASELINE, actor_label="audit baseline")
        recorded.append(revision.number)
    return recorded, refused
