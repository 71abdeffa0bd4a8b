"""Users, organisations, memberships and the one-time tokens that accounts use."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime, timedelta

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signon.core import fields
from signon.core.notices import Delivery, NoticeKind
from signon.core.permissions import Action, OrganisationRole, organisation_role_allows
from signon.core.tokens import hash_token, new_token
from signon.db import TimestampMixin, enum_column, utcnow
from signon.extensions import db


class User(UserMixin, TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    email_confirmed_at: Mapped[datetime | None]
    #: Changes at password change and logout-everywhere: sessions carrying an older
    #: value are no longer accepted (see ``get_id`` and the user loader).
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    last_login_at: Mapped[datetime | None]
    #: Two-step login (TOTP, RFC 6238): the base32 secret shared with the authenticator
    #: app, set only once the person has confirmed a code from it; ``None`` when off.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    #: The time step (Unix time // 30) of the last code accepted: that code and older
    #: ones are refused, so a code seen over someone's shoulder cannot be replayed.
    totp_last_step: Mapped[int | None]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", foreign_keys="Membership.user_id"
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def two_step_enabled(self) -> bool:
        return self.totp_secret is not None and self.totp_enabled_at is not None

    def rotate_session_token(self) -> None:
        self.session_token = secrets.token_hex(16)

    #: the one rule (:func:`signon.core.fields.normalise_email`), where models need it
    normalise_email = staticmethod(fields.normalise_email)

    @classmethod
    def find_by_email(cls, email: str) -> User | None:
        return db.session.scalar(select(cls).where(cls.email == cls.normalise_email(email)))


class Organisation(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    #: Lower-cased name, unique: "Amnesty International" and "amnesty international" are one.
    name_key: Mapped[str] = mapped_column(String(300), unique=True)
    short_name: Mapped[str | None] = mapped_column(String(80))
    country: Mapped[str | None] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r}>"

    @staticmethod
    def key_for(name: str) -> str:
        return " ".join(name.split()).casefold()

    def role_of(self, user: object) -> OrganisationRole | None:
        if not isinstance(user, User) or not user.is_authenticated:
            return None
        role = db.session.scalar(
            select(Membership.role).where(
                Membership.organisation_id == self.id, Membership.user_id == user.id
            )
        )
        return role

    def can(self, user: object, action: Action) -> bool:
        return organisation_role_allows(self.role_of(user), action)

    def admin_count(self) -> int:
        return (
            db.session.scalar(
                select(func.count())
                .select_from(Membership)
                .where(
                    Membership.organisation_id == self.id,
                    Membership.role == OrganisationRole.ADMIN,
                )
            )
            or 0
        )


class Membership(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[OrganisationRole] = mapped_column(
        enum_column(OrganisationRole), default=OrganisationRole.MEMBER
    )

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")

    def __repr__(self) -> str:
        return f"<Membership user={self.user_id} org={self.organisation_id} {self.role}>"


class TokenPurpose(enum.StrEnum):
    CONFIRM_EMAIL = "confirm_email"
    RESET_PASSWORD = "reset_password"


class UserToken(db.Model):  # type: ignore[name-defined,misc]
    """A single-use, expiring token mailed to a user. Only its SHA-256 is stored."""

    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(enum_column(TokenPurpose))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<UserToken {self.id} {self.purpose} user={self.user_id}>"

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > utcnow()

    @classmethod
    def issue(cls, user: User, purpose: TokenPurpose, lifetime: timedelta) -> tuple[UserToken, str]:
        raw = new_token()
        token = cls(
            user=user,
            purpose=purpose,
            token_hash=hash_token(raw),
            expires_at=utcnow() + lifetime,
        )
        db.session.add(token)
        return token, raw

    @classmethod
    def find(cls, raw: str, purpose: TokenPurpose) -> UserToken | None:
        return db.session.scalar(
            select(cls).where(cls.token_hash == hash_token(raw), cls.purpose == purpose)
        )


class RecoveryCode(db.Model):  # type: ignore[name-defined,misc]
    """A single-use code that stands in for the authenticator app (lost phone).

    Only its SHA-256 is stored; the person saw the code once, when it was made."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        state = "used" if self.used_at else "unused"
        return f"<RecoveryCode {self.id} user={self.user_id} {state}>"


class PendingTwoStepSecret(db.Model):  # type: ignore[name-defined,misc]
    """A TOTP secret made by "Set up two-step login", waiting for a code from the app.

    Kept here rather than in the session cookie (signed, not encrypted: anyone who saw
    the cookie could read the secret). One per user; it counts only while the user's
    ``session_token`` is the one it was made under (logging out or changing the password
    ends it with the session) and for :attr:`LIFETIME`."""

    __tablename__ = "pending_two_step_secrets"

    #: A set-up left half-done is forgotten after this long.
    LIFETIME = timedelta(hours=1)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret: Mapped[str] = mapped_column(String(64))
    session_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<PendingTwoStepSecret {self.id} user={self.user_id}>"

    def is_usable_by(self, user: User) -> bool:
        return (
            self.user_id == user.id
            and self.session_token == user.session_token
            and self.created_at > utcnow() - self.LIFETIME
        )


class OrganisationInvitation(db.Model):  # type: ignore[name-defined,misc]
    """An invitation for a colleague to join an organisation, mailed with a hashed token."""

    __tablename__ = "organisation_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[OrganisationRole] = mapped_column(
        enum_column(OrganisationRole), default=OrganisationRole.MEMBER
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    def __repr__(self) -> str:
        return f"<OrganisationInvitation {self.id} {self.email} org={self.organisation_id}>"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > utcnow()

    @property
    def email_hint(self) -> str:
        """The invited address with all but the first letter of its local part hidden
        (``a***@example.org``): enough for the invitee to recognise, little for anyone
        else who got hold of the link."""
        return mask_email(self.email)


def mask_email(address: str) -> str:
    """``amira@example.org`` -> ``a***@example.org``."""
    local, _at, domain = address.rpartition("@")
    if not local:
        return "***"
    return f"{local[0]}***@{domain}"


class CoordinatorMail(db.Model):  # type: ignore[name-defined,misc]
    """Mails sent to other people's addresses on a user's say-so (invitations to sign,
    re-sends, re-confirmation requests, drafting-team and organisation invitations): the
    durable count behind the daily allowances (:mod:`signon.accounts.mail_allowance`).
    One row per send, with how many mails it queued. ``letter_id`` is empty for
    organisation invitations, which belong to no letter."""

    __tablename__ = "coordinator_mails"
    __table_args__ = (
        Index("ix_coordinator_mails_user_id_created_at", "user_id", "created_at"),
        Index("ix_coordinator_mails_letter_id_created_at", "letter_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    #: invitation, resend, reconfirmation, team_invitation, organisation_invitation
    kind: Mapped[str] = mapped_column(String(30))
    count: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<CoordinatorMail {self.id} letter={self.letter_id} n={self.count}>"


class NotificationPreference(db.Model):  # type: ignore[name-defined,misc]
    """How a person wants to hear of one kind of notice on the letters of their teams.

    No row: the default of ``core.notices.default_delivery`` for their role.
    """

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NoticeKind] = mapped_column(enum_column(NoticeKind))
    delivery: Mapped[Delivery] = mapped_column(enum_column(Delivery))

    def __repr__(self) -> str:
        return f"<NotificationPreference user={self.user_id} {self.kind}={self.delivery}>"
