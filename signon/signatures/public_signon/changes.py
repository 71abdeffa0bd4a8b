"""Changes a public signatory makes after acceptance, and removal of an accepted one.

A public sign-on is listed only once a coordinator accepted it. Its private link
lets the signatory approve again later (a new text) and, with the same form, change
how it is printed. Such a change must not reach the list unseen: it is held as a
:class:`SignatureChange` (pending) while the signature row keeps the accepted
details, so every output (public page, API, CSV, PDF), which all read the row,
keeps printing the accepted version until a coordinator accepts the change.

Coordinators can also remove an accepted public signature (with a reason): its
moderation becomes ``REJECTED``, the state every list already leaves out (so no list
has to learn a new one), and its history says "removed"; the signatory is mailed.

Operations add and flush, write a signature event and an audit event, and queue
mail; they never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select

from signon.accounts.models import User
from signon.audit.operations import record_event
from signon.core.names import clean_name
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures import duplicates
from signon.signatures.approvals.operations import SignatoryDetails, SignatureError, domain_matches
from signon.signatures.audit_records import plain_value, printed_records
from signon.signatures.models import (
    ChangeStatus,
    Moderation,
    SignatoryKind,
    Signature,
    SignatureChange,
    SignatureSource,
    SignatureStatus,
)
from signon.signatures.public_signon.operations import (
    _lock_letter,
    _lock_signature,
    mail_signatory,
    private_link,
    record_decision,
    signature_event,
)
from signon.signatures.uploads import forget_replaced_logo

#: The printed fields a change may propose, with the label the coordinators see.
CHANGE_FIELDS: dict[str, str] = {
    "name": "Name",
    "sort_name": "Sorted under",
    "country": "Country",
    "kind": "Type",
    "representative_name": "Representative",
    "representative_title": "Representative's title",
    "website": "Website",
    "affiliation": "Affiliation",
}


# --- The rule ---------------------------------------------------------------------------------


def holds_changes(signature: Signature | None) -> bool:
    """Whether changes to this signature's printed details wait for a coordinator.

    The one rule: a public sign-on that a coordinator accepted. (Before acceptance the
    whole signature is in the queue anyway; invited organisations print as they write.)
    """
    return (
        signature is not None
        and signature.source == SignatureSource.PUBLIC
        and signature.moderation == Moderation.ACCEPTED
    )


def _values(details: SignatoryDetails) -> dict[str, Any]:
    """The submitted fields as a change stores them (the name cleaned as it would be stored)."""
    values = {field: plain_value(getattr(details, field)) or None for field in CHANGE_FIELDS}
    return values | {"name": clean_name(details.name)}


def listed_values(signature: Signature) -> dict[str, Any]:
    """The printed fields of the row, as a change stores them."""
    return {field: plain_value(getattr(signature, field)) or None for field in CHANGE_FIELDS}


def listed_details(signature: Signature, submitted: SignatoryDetails) -> SignatoryDetails:
    """What to record with a re-approval while a change is held: the listed details."""
    return SignatoryDetails(
        name=signature.name,
        kind=signature.kind,
        sort_name=signature.sort_name,
        country=signature.country,
        representative_name=signature.representative_name,
        representative_title=signature.representative_title,
        website=signature.website,
        authority_confirmed=submitted.authority_confirmed,
        affiliation=signature.affiliation,
    )


# --- Queries ----------------------------------------------------------------------------------


def pending_change(signature: Signature | None) -> SignatureChange | None:
    """The change of this signature that awaits review, if any (at most one)."""
    if signature is None or signature.id is None:
        return None
    return db.session.scalar(
        select(SignatureChange)
        .where(
            SignatureChange.signature_id == signature.id,
            SignatureChange.status == ChangeStatus.PENDING,
        )
        .order_by(SignatureChange.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class FieldDiff:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HeldChange:
    signature: Signature
    change: SignatureChange
    #: Only the fields that differ, in form order.
    diff: list[FieldDiff]


def _shown(field: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if field == "kind":
        try:
            return SignatoryKind(value).label
        except ValueError:
            return str(value)
    return str(value)


def change_diff(signature: Signature, change: SignatureChange) -> list[FieldDiff]:
    """The proposed change as old → new, field by field (the logo as a note)."""
    listed = listed_values(signature)
    rows = [
        FieldDiff(label, _shown(field, listed[field]), _shown(field, change.proposed.get(field)))
        for field, label in CHANGE_FIELDS.items()
        if field in change.proposed and listed[field] != (change.proposed.get(field) or None)
    ]
    if change.logo_filename is not None:
        rows.append(FieldDiff("Logo", "current logo" if signature.logo_filename else "—", "new"))
    return rows


def _held() -> ColumnElement[bool]:
    return SignatureChange.status == ChangeStatus.PENDING


def held_changes(letter: Letter, *, limit: int | None = None, offset: int = 0) -> list[HeldChange]:
    """The pending changes of the letter's signatures, oldest first (one query; ``limit``
    and ``offset`` give a page of them)."""
    rows = db.session.execute(
        select(SignatureChange, Signature)
        .join(Signature, Signature.id == SignatureChange.signature_id)
        .where(Signature.letter_id == letter.id, _held())
        .order_by(SignatureChange.proposed_at, SignatureChange.id)
        .limit(limit)
        .offset(offset)
    ).tuples()
    return [
        HeldChange(signature, change, change_diff(signature, change)) for change, signature in rows
    ]


def count_held_changes(letter: Letter) -> int:
    """How many changes of the letter's signatures await review."""
    return int(
        db.session.scalar(
            select(func.count(SignatureChange.id))
            .join(Signature, Signature.id == SignatureChange.signature_id)
            .where(Signature.letter_id == letter.id, _held())
        )
        or 0
    )


def _removable(letter: Letter) -> ColumnElement[bool]:
    return (
        (Signature.letter_id == letter.id)
        & (Signature.source == SignatureSource.PUBLIC)
        & (Signature.moderation == Moderation.ACCEPTED)
        & (Signature.status == SignatureStatus.APPROVED)
    )


def removable_signatures(
    letter: Letter, *, limit: int | None = None, offset: int = 0
) -> list[Signature]:
    """Accepted public signatures (listed or withdrawn) that a coordinator may remove, by
    name (``limit`` and ``offset`` give a page of them)."""
    return list(
        db.session.scalars(
            select(Signature)
            .where(_removable(letter))
            .order_by(Signature.name_key, Signature.id)
            .limit(limit)
            .offset(offset)
        )
    )


def count_removable(letter: Letter) -> int:
    """How many accepted public signatures a coordinator may remove."""
    return int(db.session.scalar(select(func.count(Signature.id)).where(_removable(letter))) or 0)


# --- Operations -------------------------------------------------------------------------------


def _lock(signature: Signature) -> None:
    """Letter first, then the signature: the order the signatory's approval takes too, so
    that a proposal and a coordinator's decision on the same change queue, never deadlock
    nor decide on values that were replaced meanwhile."""
    db.session.flush()  # the refresh below would drop what is not flushed yet
    _lock_letter(signature.letter)
    _lock_signature(signature)


def _check_name_free(signature: Signature, name: str) -> None:
    """A public signatory may not rename itself to (a look-alike of) another signatory."""
    if duplicates.look_alikes(signature.letter, name, except_id=signature.id):
        raise SignatureError(
            f"An organisation named “{clean_name(name)}” (or one that looks the same) has "
            "already signed this letter. If that is your organisation, ask the coordinators "
            "to correct it."
        )


def propose_change(
    signature: Signature,
    details: SignatoryDetails,
    *,
    logo_filename: str | None,
    email: str | None,
) -> SignatureChange | None:
    """Hold what the signatory submitted, if it differs from what is listed.

    Returns the pending change when something new was held; ``None`` when nothing
    changed (the same proposal again, or the listed details, which takes back a
    pending proposal). A name another signature of the letter holds is refused.
    """
    _lock(signature)
    proposed = _values(details)
    pending = pending_change(signature)
    if proposed == listed_values(signature) and logo_filename is None:
        if pending is not None:
            _close(pending, ChangeStatus.CANCELLED, reason="taken back by the signatory")
            signature_event(signature, "change_cancelled", change=pending.id, email=email)
            db.session.flush()
        return None
    if pending is not None and pending.proposed == proposed and logo_filename is None:
        return None
    _check_name_free(signature, details.name)
    if pending is None:
        pending = SignatureChange(signature=signature, status=ChangeStatus.PENDING)
        db.session.add(pending)
    pending.proposed = proposed
    if logo_filename is not None:  # a newer proposed logo: the one it replaces is nobody's
        forget_replaced_logo(pending.logo_filename, logo_filename)
        pending.logo_filename = logo_filename
    pending.proposed_by_email = email
    pending.proposed_at = utcnow()
    db.session.flush()
    signature_event(signature, "change_proposed", change=pending.id, email=email, proposed=proposed)
    record_event(
        "signature.change_proposed",
        letter_id=signature.letter_id,
        actor_label=email or "signatory",
        signature=signature.name,
        change=pending.id,
        proposed=proposed,
        new_logo=pending.logo_filename is not None or None,
    )
    return pending


def _close(change: SignatureChange, status: ChangeStatus, *, reason: str | None = None) -> None:
    change.status = status
    change.decided_at = utcnow()
    change.reason = reason or None


def _require_pending(signature: Signature) -> SignatureChange:
    change = pending_change(signature)
    if change is None:
        raise SignatureError(f"No change of “{signature.name}” awaits review.")
    return change


def _apply(signature: Signature, change: SignatureChange) -> None:
    values = change.proposed
    signature.rename(str(values["name"]))
    signature.sort_name = values.get("sort_name") or None
    signature.country = values.get("country") or None
    signature.kind = SignatoryKind(values.get("kind") or SignatoryKind.NGO.value)
    signature.representative_name = values.get("representative_name") or None
    signature.representative_title = values.get("representative_title") or None
    signature.website = values.get("website") or None
    if "affiliation" in values:  # proposed before affiliations were held: unchanged
        signature.affiliation = values.get("affiliation") or None
    signature.domain_verified = domain_matches(signature.email, signature.website)
    if change.logo_filename is not None:
        forget_replaced_logo(signature.logo_filename, change.logo_filename)
        signature.logo_filename = change.logo_filename


def accept_change(signature: Signature, *, moderator: User) -> SignatureChange:
    """The held details become the listed ones (audited, the signatory is mailed)."""
    _lock(signature)
    change = _require_pending(signature)
    before = listed_values(signature)
    _apply(signature, change)
    db.session.flush()
    _close(change, ChangeStatus.ACCEPTED)
    change.decided_by = moderator
    signature.last_activity_at = utcnow()
    signature_event(
        signature, "change_accepted", change=change.id, moderator=moderator.email, before=before
    )
    record_event(
        "signature.change_accepted",
        letter_id=signature.letter_id,
        actor=moderator,
        signature=signature.name,
        change=change.id,
        before=before,
        printed=printed_records(signature),
    )
    db.session.flush()
    _mail_decision(signature, change)
    return change


def reject_change(signature: Signature, *, moderator: User, reason: str | None) -> SignatureChange:
    """The listed details stay as they are (audited, the signatory is mailed)."""
    _lock(signature)
    change = _require_pending(signature)
    _close(change, ChangeStatus.REJECTED, reason=reason)
    change.decided_by = moderator
    signature_event(
        signature, "change_rejected", change=change.id, moderator=moderator.email, reason=reason
    )
    record_event(
        "signature.change_rejected",
        letter_id=signature.letter_id,
        actor=moderator,
        signature=signature.name,
        change=change.id,
        proposed=change.proposed,
        reason=reason or None,
    )
    db.session.flush()
    _mail_decision(signature, change)
    return change


def _mail_decision(signature: Signature, change: SignatureChange) -> None:
    accepted = change.status == ChangeStatus.ACCEPTED
    mail_signatory(
        signature,
        f"Your change to “{signature.name}” under “{signature.letter.title}” is "
        + ("accepted" if accepted else "not accepted"),
        "signatures/public_change_decided",
        accepted=accepted,
        private_link=private_link(signature),
    )


def remove_signature(signature: Signature, *, moderator: User, reason: str) -> None:
    """Take an accepted public signature off the list, for a reason the signatory is told."""
    _lock(signature)
    if signature.source != SignatureSource.PUBLIC or signature.moderation != Moderation.ACCEPTED:
        raise SignatureError(f"“{signature.name}” is not an accepted public signature.")
    if not reason.strip():
        raise SignatureError("Give the reason for the removal.")
    pending = pending_change(signature)
    if pending is not None:
        _close(pending, ChangeStatus.CANCELLED, reason="the signature was removed")
        pending.decided_by = moderator
    record_decision(signature, Moderation.REJECTED, "removed", moderator=moderator, reason=reason)
    letter = signature.letter
    mail_signatory(
        signature,
        f"“{signature.name}” is no longer listed under “{letter.title}”",
        "signatures/public_removed",
        reason=reason,
    )
