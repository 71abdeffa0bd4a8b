"""What the audit chain vouches for about a letter's signatures: what the PDF prints.

Every event that creates or changes a signature carries, under ``printed``, a list of
:func:`printed_record` snapshots: the signature's id, its printed fields (name, sort
name, country, type, representative and title, website, logo), whether it is listed
(status, moderation) and the revision it approved with that revision's hash. The last
snapshot of each signature in its letter's chain is what the signature must look like
now; :func:`signature_problems` compares every live row with it, and names audited
signatures that were deleted or moved to another letter, and rows nobody recorded.
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import select

from signon.audit.models import AuditEvent
from signon.audit.operations import record_event
from signon.audit.sealing import pending_details
from signon.extensions import db
from signon.signatures.models import Signature

#: The key of an audit event's details that holds the snapshots.
PRINTED = "printed"
#: The signature's own fields a snapshot holds (plus its id), in the order they are named.
RECORDED_FIELDS = (
    "name",
    "sort_name",
    "country",
    "kind",
    "representative_name",
    "representative_title",
    "website",
    "logo_filename",
    "status",
    "moderation",
    "revision_id",
    "approved_sha256",
)


def plain_value(value: object) -> object:
    """An enum as its stored value (JSON-ready), anything else unchanged."""
    return value.value if isinstance(value, enum.Enum) else value


def printed_record(signature: Signature) -> dict[str, Any]:
    """The snapshot an audit event keeps of ``signature`` (it must have been flushed)."""
    assert signature.id is not None, "flush the signature before recording it"
    record: dict[str, Any] = {"id": signature.id}
    record.update({field: plain_value(getattr(signature, field)) for field in RECORDED_FIELDS})
    return record


def printed_records(*signatures: Signature) -> list[dict[str, Any]]:
    """The ``printed`` detail of an audit event about these signatures."""
    return [printed_record(signature) for signature in signatures]


def audited_records(letter_id: int) -> dict[int, dict[str, Any]]:
    """Signature id -> its last snapshot in the letter's chain, or in its events still
    pending sealing (which come after the chain's: :mod:`signon.audit.sealing`)."""
    records: dict[int, dict[str, Any]] = {}
    sealed = db.session.scalars(
        select(AuditEvent.details)
        .where(AuditEvent.chain == f"letter:{letter_id}", AuditEvent.action.like("signature%"))
        .order_by(AuditEvent.seq)
    ).all()
    for details in [*sealed, *pending_details(letter_id, "signature%")]:
        for record in (details or {}).get(PRINTED) or []:
            if isinstance(record, dict) and isinstance(record.get("id"), int):
                records[record["id"]] = record
    return records


def _label(field: str) -> str:
    return {"logo_filename": "logo", "revision_id": "approved revision"}.get(
        field, field.replace("_", " ")
    )


def _differences(live: dict[str, Any], audited: dict[str, Any]) -> list[str]:
    return [
        f"{_label(field)} is {live[field]!r}, the audit recorded {audited.get(field)!r}"
        for field in RECORDED_FIELDS
        if live[field] != audited.get(field)
    ]


def signature_problems(letter_id: int) -> list[str]:
    """Each signature of the letter that differs from its last audited snapshot, each
    audited signature that is gone or elsewhere, and each signature nobody recorded."""
    audited = audited_records(letter_id)
    problems: list[str] = []
    for signature in db.session.scalars(
        select(Signature).where(Signature.letter_id == letter_id).order_by(Signature.id)
    ):
        name = f"signature #{signature.id} “{signature.name}”"
        record = audited.pop(signature.id, None)
        if record is None:
            problems.append(
                f"{name}: no audit event of this letter records it (added outside Signon, "
                "moved here from another letter, or from before the audit covered "
                "signatures: `flask audit-baseline` records those once)"
            )
            continue
        differences = _differences(printed_record(signature), record)
        if differences:
            problems.append(f"{name}: {'; '.join(differences)}")
    for signature_id, record in sorted(audited.items()):
        name = f"signature #{signature_id} “{record.get('name')}”"
        moved_to = db.session.scalar(
            select(Signature.letter_id).where(Signature.id == signature_id)
        )
        if moved_to is None:
            problems.append(f"{name}: audited, but deleted from the database")
        else:
            problems.append(f"{name}: audited here, but now belongs to letter {moved_to}")
    return problems


def baseline_signatures(letter_id: int) -> int:
    """Record each signature of the letter that no audit event of its chain records yet.

    For chains written before the audit covered signatures (run once after upgrading);
    a signature already recorded is left alone, so a changed one stays reported.
    Returns how many were recorded.
    """
    audited = audited_records(letter_id)
    unrecorded = [
        signature
        for signature in db.session.scalars(
            select(Signature).where(Signature.letter_id == letter_id).order_by(Signature.id)
        )
        if signature.id not in audited
    ]
    if unrecorded:
        record_event(
            "signature.baseline",
            letter_id=letter_id,
            actor_label="audit baseline",
            count=len(unrecorded),
            printed=printed_records(*unrecorded),
        )
    return len(unrecorded)
