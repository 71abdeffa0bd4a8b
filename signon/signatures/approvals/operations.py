"""Approving, declining and withdrawing: the signature state machine. Add and flush only.

Every change writes a :class:`SignatureEvent` (the signature's own history, never
deleted) and an audit event. Approving twice is idempotent. A signature has one
owner: an approval through an invitation writes only to that invitation's
signature, never to another one found by its name (colliding names are kept side
by side and shown to the coordinators, see :mod:`signon.signatures.duplicates`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from signon.audit.operations import EventDraft, record_event, record_events
from signon.audit.sealing import record_pending
from signon.core import metrics
from signon.core.bulk import add_numbered, insert_rows
from signon.core.locks import lock_row
from signon.core.names import clean_name
from signon.core.notices import NoticeKind
from signon.db import utcnow
from signon.extensions import db
from signon.letters import notices
from signon.letters.models import Letter, Revision
from signon.signatures.approvals import late_withdrawals
from signon.signatures.audit_records import printed_records
from signon.signatures.collation import family_name
from signon.signatures.likeness import email_domain, website_host
from signon.signatures.models import (
    Invitation,
    InvitationStatus,
    Moderation,
    SignatoryKind,
    Signature,
    SignatureEvent,
    SignatureSource,
    SignatureStatus,
    store_orders,
)
from signon.signatures.uploads import forget_replaced_logo


class SignatureError(Exception):
    """A rule was broken; the message is meant for the person signing."""


class StaleRevisionError(SignatureError):
    """They approved a text that is no longer the current one."""


@dataclass(frozen=True)
class SignatoryDetails:
    """What an organisation gives when it signs: printed exactly as typed."""

    name: str
    kind: SignatoryKind = SignatoryKind.NGO
    sort_name: str | None = None
    country: str | None = None
    representative_name: str | None = None
    representative_title: str | None = None
    website: str | None = None
    authority_confirmed: bool = False
    #: An individual's organisation, for identification only.
    affiliation: str | None = None

    def __post_init__(self) -> None:
        """An individual is always stored sorted under their family name (the one rule,
        :func:`signon.signatures.collation.family_name`), whichever way the details came
        (public sign-on, the private link, a held change, an import): a form that leaves
        "sort under" empty must not put them back under their first name."""
        if self.kind == SignatoryKind.INDIVIDUAL:
            object.__setattr__(self, "sort_name", family_name(self.name, self.sort_name))


def domain_matches(email: str | None, website: str | None) -> bool:
    """The confirming address belongs to the organisation's web domain (or a subdomain)."""
    host = website_host(website)
    if not email or not host or "@" not in email:
        return False
    domain = email_domain(email)
    return domain == host or domain.endswith("." + host) or host.endswith("." + domain)


def _lock(model: type[Invitation] | type[Signature], row_id: int) -> None:
    """Lock a row for the rest of the transaction (PostgreSQL; SQLite locks at BEGIN)."""
    lock_row(model, row_id)


def _apply(signature: Signature, details: SignatoryDetails) -> None:
    signature.rename(details.name)
    signature.sort_name = details.sort_name or None
    signature.country = details.country or None
    signature.kind = details.kind
    signature.representative_name = details.representative_name or None
    signature.representative_title = details.representative_title or None
    signature.website = details.website or None
    signature.authority_confirmed = details.authority_confirmed
    signature.affiliation = details.affiliation or None


def _same_details(signature: Signature, details: SignatoryDetails) -> bool:
    """Nothing to record: the form says exactly what is recorded already."""
    return (
        signature.name,
        signature.sort_name or None,
        signature.country or None,
        signature.kind,
        signature.representative_name or None,
        signature.representative_title or None,
        signature.website or None,
        signature.authority_confirmed,
        signature.affiliation or None,
    ) == (
        clean_name(details.name),
        details.sort_name or None,
        details.country or None,
        details.kind,
        details.representative_name or None,
        details.representative_title or None,
        details.website or None,
        details.authority_confirmed,
        details.affiliation or None,
    )


def _event(
    signature: Signature,
    action: str,
    revision: Revision | None,
    email: str | None,
    **details: object,
) -> None:
    db.session.add(_history(signature, action, revision, email, **details))


def _history(
    signature: Signature,
    action: str,
    revision: Revision | None,
    email: str | None,
    **details: object,
) -> SignatureEvent:
    """A new entry of the signature's own history (not added yet)."""
    return SignatureEvent(
        signature=signature,
        action=action,
        revision_id=revision.id if revision else None,
        email=email,
        details={k: v for k, v in details.items() if v is not None},
    )


def _own_signature(
    invitation: Invitation | None, *, created_here: bool = False
) -> Signature | None:
    """The signature this invitation already has, if any: the only one it may change.

    ``created_here``: the invitation was inserted by this very transaction, so no other
    one can see it (nor lock it): it has no signature, and there is nothing to lock or
    read again.
    """
    if invitation is None or created_here:
        return None
    _lock(Invitation, invitation.id)
    db.session.refresh(invitation)
    return invitation.signature


def approve(
    letter: Letter,
    revision: Revision,
    details: SignatoryDetails,
    *,
    email: str | None,
    invitation: Invitation | None = None,
    source: SignatureSource = SignatureSource.INVITATION,
    moderation: Moderation = Moderation.NOT_NEEDED,
    logo_filename: str | None = None,
    approved_at: datetime | None = None,
    require_current: bool = True,
    invitation_created_here: bool = False,
    audit_later: bool = False,
) -> Signature:
    """Record that this organisation approves exactly ``revision``.

    ``require_current``: the revision must be the letter's head (a person approving
    from an open page while someone saved a new version must look again).
    Imports pass ``False`` to keep approvals of older revisions.
    ``invitation_created_here``: ``invitation`` was created in this transaction (a
    public sign-on's private link), so it is neither locked nor read again.
    ``audit_later``: the audit event waits to be sealed into the chain
    (:func:`signon.audit.sealing.record_pending`) instead of queuing for the chain's end
    (public sign-ons, many at once on one letter).
    """
    if source != SignatureSource.IMPORT and not letter.accepts_signatures:
        raise SignatureError("Signing is closed for this letter.")
    if require_current:
        head = letter.head()
        if head is None or head.id != revision.id:
            raise StaleRevisionError(
                "The text changed while you were reading it. Please read the current "
                "version (the changes are shown) and approve it again."
            )
    if clean_name(details.name) == "":
        raise SignatureError("The organisation's name is required.")
    existing = _own_signature(invitation, created_here=invitation_created_here)
    if (
        existing is not None
        and existing.status == SignatureStatus.APPROVED
        and existing.revision_id == revision.id
        and _same_details(existing, details)
        and existing.email == email
    ):
        return existing  # the same approval, submitted twice: nothing new happened
    signature = existing or Signature(
        letter=letter,
        invitation=invitation,
        source=source,
        moderation=moderation,
    )
    _approved(signature, revision, details, email=email, approved_at=approved_at)
    if logo_filename is not None:
        forget_replaced_logo(signature.logo_filename, logo_filename)
        signature.logo_filename = logo_filename
    if existing is None:
        store_orders(signature, letter.language)  # the language is at hand: no read per INSERT
        db.session.add(signature)
    if invitation is not None:  # set before the flush: a new invitation is INSERTed so
        invitation.status = InvitationStatus.APPROVED
        invitation.last_activity_at = utcnow()
        invitation.last_seen_revision_id = revision.id
    if invitation is None or invitation_created_here:
        db.session.flush()  # no other transaction can answer this (new) invitation
    else:
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError as exc:  # the same invitation answered twice at once
            raise SignatureError(
                "This invitation was answered at the same moment elsewhere. Please reload the page."
            ) from exc
    _event(signature, "approved", revision, email, sha256=revision.content_sha256)
    audited = [_approved_event(signature, revision, source)]
    if audit_later:
        record_pending(audited, letter_id=letter.id)
    else:
        record_events(audited, letter_id=letter.id)
    if source != SignatureSource.IMPORT:  # an import records old approvals, not new ones
        metrics.count_after_commit(metrics.APPROVALS, source=source.value)
        _notify_approval(letter, signature, revision)
    return signature


def _notify_approval(letter: Letter, signature: Signature, revision: Revision) -> None:
    if signature.moderation == Moderation.PENDING:
        notices.notify(
            letter,
            NoticeKind.PUBLIC_PENDING,
            f"{signature.name} signed revision {revision.number} publicly and waits for moderation",
        )
    else:
        notices.notify(
            letter, NoticeKind.APPROVED, f"{signature.name} approved revision {revision.number}"
        )


def _approved(
    signature: Signature,
    revision: Revision,
    details: SignatoryDetails,
    *,
    email: str | None,
    approved_at: datetime | None,
) -> None:
    """Set ``signature`` to approve exactly ``revision`` with ``details``."""
    _apply(signature, details)
    signature.status = SignatureStatus.APPROVED
    signature.revision_id = revision.id
    signature.approved_sha256 = revision.content_sha256
    signature.approved_at = approved_at or utcnow()
    signature.email = email
    signature.domain_verified = domain_matches(email, details.website)
    signature.withdrawn_at = None
    signature.last_activity_at = utcnow()


def _approved_event(
    signature: Signature, revision: Revision, source: SignatureSource
) -> EventDraft:
    """The audit event of an approval (the signature must have been flushed)."""
    return EventDraft(
        "signature.approved",
        {
            "signature": signature.name,
            "revision": revision.number,
            "sha256": revision.content_sha256,
            "source": source.value,
            "printed": printed_records(signature),
        },
        actor_label=signature.email or "import",
    )


@dataclass(frozen=True)
class ImportedApproval:
    """A signatory migrated from a list: who, and what :func:`approve` would be given."""

    details: SignatoryDetails
    email: str | None
    moderation: Moderation = Moderation.NOT_NEEDED
    approved_at: datetime | None = None
    #: As the list says, when it does (set before the INSERT: no UPDATE of every row after).
    source: SignatureSource = SignatureSource.IMPORT
    domain_verified: bool | None = None
    last_activity_at: datetime | None = None
    logo_filename: str | None = None


def approve_imported(
    letter: Letter, revision: Revision, approvals: Sequence[ImportedApproval]
) -> list[Signature]:
    """New signatures approving ``revision``, as :func:`approve` with an import source
    records each (the same rows, signature events and audit events, in order), in bulk:
    one batch for the signatures, one for their history, one for their audit events. No
    invitation owns them, so there is nothing to lock or to find again. The signatures
    returned are written; a large batch's are snapshots outside the session
    (:func:`signon.core.bulk.add_numbered`).
    """
    if any(clean_name(approval.details.name) == "" for approval in approvals):
        raise SignatureError("The organisation's name is required.")
    signatures = []
    for approval in approvals:
        signature = Signature(
            letter_id=letter.id, source=approval.source, moderation=approval.moderation
        )
        _approved(
            signature,
            revision,
            approval.details,
            email=approval.email,
            approved_at=approval.approved_at,
        )
        if approval.domain_verified is not None:
            signature.domain_verified = approval.domain_verified
        if approval.last_activity_at is not None:
            signature.last_activity_at = approval.last_activity_at
        signature.logo_filename = approval.logo_filename  # on every row: one INSERT shape
        signatures.append(signature)
    add_numbered(signatures)
    now = utcnow()
    insert_rows(
        SignatureEvent,
        [
            {
                "signature_id": signature.id,
                "action": "approved",
                "revision_id": revision.id,
                "email": signature.email,
                "details": {"sha256": revision.content_sha256},
                "created_at": now,
            }
            for signature in signatures
        ],
    )
    record_events(
        [_approved_event(s, revision, SignatureSource.IMPORT) for s in signatures],
        letter_id=letter.id,
    )
    return signatures


def decline(letter: Letter, invitation: Invitation, *, reason: str | None, email: str) -> Signature:
    """The organisation says no. Kept as a signature row so the history shows it."""
    if not letter.accepts_signatures:
        raise SignatureError("Signing is closed for this letter.")
    signature = _own_signature(invitation)
    if signature is None:
        signature = Signature(
            letter=letter,
            invitation=invitation,
            source=SignatureSource.INVITATION,
            kind=SignatoryKind.NGO,
            email=email,
            status=SignatureStatus.DECLINED,
        )
        signature.rename(invitation.organisation_name)
        db.session.add(signature)
    elif signature.status == SignatureStatus.DECLINED:
        return signature
    signature.status = SignatureStatus.DECLINED
    signature.decline_reason = reason or None
    signature.last_activity_at = utcnow()
    head = letter.head()
    _event(signature, "declined", head, email, reason=reason or None)
    invitation.status = InvitationStatus.DECLINED
    invitation.last_activity_at = utcnow()
    db.session.flush()
    record_event(
        "signature.declined",
        letter_id=letter.id,
        actor_label=email,
        signature=signature.name,
        reason=reason or None,
        printed=printed_records(signature),
    )
    notices.notify(letter, NoticeKind.DECLINED, _with_reason(f"{signature.name} declined", reason))
    db.session.flush()
    return signature


def _with_reason(summary: str, reason: str | None) -> str:
    return f"{summary}: “{reason}”" if reason else summary


def withdraw(
    signature: Signature, *, reason: str | None, email: str | None, actor_label: str | None = None
) -> None:
    """Take an approval back. The approval stays in the history; the name leaves the list."""
    _lock(Signature, signature.id)
    db.session.refresh(signature)
    if signature.status != SignatureStatus.APPROVED:
        raise SignatureError("Only an approval can be withdrawn.")
    signature.status = SignatureStatus.WITHDRAWN
    signature.withdrawn_at = utcnow()
    signature.withdraw_reason = reason or None
    signature.last_activity_at = utcnow()
    _event(signature, "withdrawn", signature.revision, email, reason=reason or None)
    late = late_withdrawals.flag_if_late(signature, signature.letter, email)
    if signature.invitation is not None and signature.invitation.revoked_at is None:
        signature.invitation.status = InvitationStatus.WITHDRAWN
        signature.invitation.last_activity_at = utcnow()
    record_event(
        "signature.withdrawn",
        letter_id=signature.letter_id,
        actor_label=actor_label or email or "system",
        signature=signature.name,
        reason=reason or None,
        after_list_final=late or None,
        printed=printed_records(signature),
    )
    late_note = " after the list was final" if late else ""
    notices.notify(
        signature.letter,
        NoticeKind.WITHDRAWN,
        _with_reason(f"{signature.name} withdrew their approval{late_note}", reason),
    )
    db.session.flush()
