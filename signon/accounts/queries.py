"""Read-only lookups for accounts and organisations."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from signon.accounts.models import (
    Membership,
    NotificationPreference,
    Organisation,
    OrganisationInvitation,
    PendingTwoStepSecret,
    RecoveryCode,
    User,
)
from signon.core.notices import Delivery, NoticeKind
from signon.core.permissions import OrganisationRole
from signon.core.tokens import hash_token
from signon.db import utcnow
from signon.extensions import db


@cache
def timezone_names() -> tuple[str, ...]:
    """Every IANA zone ("Europe/Berlin"), UTC first."""
    names = set(available_timezones()) - {"UTC"}
    return ("UTC", *sorted(name for name in names if not name.startswith(("posix/", "right/"))))


def memberships_of(user: User) -> list[Membership]:
    """The user's memberships, with their organisations, by organisation name."""
    return list(
        db.session.scalars(
            select(Membership)
            .join(Membership.organisation)
            .options(joinedload(Membership.organisation))
            .where(Membership.user_id == user.id)
            .order_by(Organisation.name_key)
        )
    )


def members_of(organisation: Organisation) -> list[Membership]:
    """Memberships of an organisation with their users: admins first, then by name."""
    memberships = db.session.scalars(
        select(Membership)
        .join(Membership.user)
        .options(joinedload(Membership.user))
        .where(Membership.organisation_id == organisation.id)
        .order_by(User.display_name, User.email)
    )
    return sorted(memberships, key=lambda m: m.role != OrganisationRole.ADMIN)


def pending_invitations(organisation: Organisation) -> list[OrganisationInvitation]:
    return list(
        db.session.scalars(
            select(OrganisationInvitation)
            .options(joinedload(OrganisationInvitation.invited_by))
            .where(
                OrganisationInvitation.organisation_id == organisation.id,
                OrganisationInvitation.accepted_at.is_(None),
                OrganisationInvitation.revoked_at.is_(None),
                OrganisationInvitation.expires_at > utcnow(),
            )
            .order_by(OrganisationInvitation.created_at)
        )
    )


def membership_in(organisation: Organisation, membership_id: int) -> Membership | None:
    """A membership looked up within its organisation."""
    return db.session.scalar(
        select(Membership).where(
            Membership.id == membership_id, Membership.organisation_id == organisation.id
        )
    )


def membership_of(organisation: Organisation, user: User) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(
            Membership.organisation_id == organisation.id, Membership.user_id == user.id
        )
    )


def invitation_in(organisation: Organisation, invitation_id: int) -> OrganisationInvitation | None:
    """An invitation looked up within its organisation."""
    return db.session.scalar(
        select(OrganisationInvitation).where(
            OrganisationInvitation.id == invitation_id,
            OrganisationInvitation.organisation_id == organisation.id,
        )
    )


def invitation_by_token(raw: str) -> OrganisationInvitation | None:
    return db.session.scalar(
        select(OrganisationInvitation).where(OrganisationInvitation.token_hash == hash_token(raw))
    )


def unused_recovery_codes(user: User) -> int:
    """How many of the user's recovery codes are still unused."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def pending_two_step_secret(user: User) -> str | None:
    """The TOTP secret waiting for a code from ``user``'s app, if it is still usable
    (made under the current session token, within its lifetime)."""
    pending = db.session.scalar(
        select(PendingTwoStepSecret).where(PendingTwoStepSecret.user_id == user.id)
    )
    return pending.secret if pending is not None and pending.is_usable_by(user) else None


def notification_choices(user: User) -> dict[NoticeKind, Delivery]:
    """The kinds for which the person chose something (the others: their default)."""
    return dict(
        db.session.execute(
            select(NotificationPreference.kind, NotificationPreference.delivery).where(
                NotificationPreference.user_id == user.id
            )
        )
        .tuples()
        .all()
    )
