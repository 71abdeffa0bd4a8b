"""Where each organisation stands, derived from the rows (never stored, so never stale).

An approval of revision *r* covers revision *t* (t >= r) when every revision after
*r* up to *t* was classified **editorial**. A substantive revision, or one not
classified yet, means the approval awaits re-confirmation.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from signon.db import utcnow
from signon.letters.models import ChangeKind, Revision
from signon.signatures.models import (
    Invitation,
    InvitationStatus,
    Moderation,
    Signature,
    SignatureStatus,
)


class SignatoryState(enum.StrEnum):
    INVITED = "invited"
    OPENED = "opened"
    APPROVED_CURRENT = "approved_current"
    APPROVED_EARLIER = "approved_earlier"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    NO_RESPONSE = "no_response"
    SEND_FAILED = "send_failed"
    REVOKED = "revoked"
    PENDING_MODERATION = "pending_moderation"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {
            SignatoryState.INVITED: "Invited",
            SignatoryState.OPENED: "Opened",
            SignatoryState.APPROVED_CURRENT: "Approved the current text",
            SignatoryState.APPROVED_EARLIER: "Approved an earlier text",
            SignatoryState.DECLINED: "Declined",
            SignatoryState.WITHDRAWN: "Withdrawn",
            SignatoryState.NO_RESPONSE: "No response",
            SignatoryState.SEND_FAILED: "Invitation not delivered",
            SignatoryState.REVOKED: "Invitation revoked",
            SignatoryState.PENDING_MODERATION: "Awaiting moderation",
            SignatoryState.REJECTED: "Rejected",
        }[self]


@dataclass(frozen=True)
class Coverage:
    """Which approvals still hold for a target revision.

    ``floor`` is the number of the latest revision, up to the target, that was not
    classified editorial: approvals of that revision or later (up to the target)
    cover the target.
    """

    target_number: int
    floor: int
    unclassified: tuple[int, ...]

    def covers(self, approved_number: int | None) -> bool:
        return approved_number is not None and self.floor <= approved_number <= self.target_number


def coverage(revisions: Sequence[Revision], target_number: int | None = None) -> Coverage:
    """Coverage for ``target_number`` (default: the head), from the letter's revisions."""
    ordered = sorted(revisions, key=lambda r: r.number)
    if not ordered:
        return Coverage(0, 0, ())
    target = target_number if target_number is not None else ordered[-1].number
    floor = ordered[0].number
    for revision in ordered[1:]:
        if revision.number > target:
            break
        if revision.change_kind != ChangeKind.EDITORIAL:
            floor = revision.number
    unclassified = tuple(
        r.number for r in ordered[1:] if r.number <= target and r.change_kind is None
    )
    return Coverage(target, floor, unclassified)


def state_of(
    signature: Signature | None,
    invitation: Invitation | None,
    approved_number: int | None,
    cover: Coverage,
    now: datetime | None = None,
) -> SignatoryState:
    """The state shown on the dashboard for one organisation."""
    now = now or utcnow()
    if signature is not None:
        if signature.moderation == Moderation.PENDING:
            return SignatoryState.PENDING_MODERATION
        if signature.moderation == Moderation.REJECTED:
            return SignatoryState.REJECTED
        if signature.status == SignatureStatus.APPROVED:
            if cover.covers(approved_number):
                return SignatoryState.APPROVED_CURRENT
            return SignatoryState.APPROVED_EARLIER
        if signature.status == SignatureStatus.DECLINED:
            return SignatoryState.DECLINED
        return SignatoryState.WITHDRAWN
    assert invitation is not None, "a row is a signature, an invitation, or both"
    if invitation.status == InvitationStatus.REVOKED:
        return SignatoryState.REVOKED
    if invitation.status == InvitationStatus.FAILED:
        return SignatoryState.SEND_FAILED
    if invitation.expires_at <= now:
        return SignatoryState.NO_RESPONSE
    if invitation.status == InvitationStatus.OPENED:
        return SignatoryState.OPENED
    return SignatoryState.INVITED
