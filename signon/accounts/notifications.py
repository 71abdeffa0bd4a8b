"""E-mails of the accounts feature. Each one has a .txt and a .html template under
``templates/emails/accounts/``; links are absolute and carry the raw token, which is
never stored.
"""

from __future__ import annotations

from signon.accounts.models import OrganisationInvitation, User
from signon.core.mail import queue_mail
from signon.core.urls import canonical_url


def describe_hours(hours: int) -> str:
    """72 -> "3 days", 2 -> "2 hours", 24 -> "1 day"."""
    if hours % 24 == 0:
        days = hours // 24
        return f"{days} day" if days == 1 else f"{days} days"
    return f"{hours} hour" if hours == 1 else f"{hours} hours"


def mail_email_confirmation(
    user: User, raw_token: str, valid_hours: int, next_url: str | None = None
) -> None:
    link = canonical_url("accounts.confirm_email", token=raw_token, next=next_url)
    queue_mail(
        user.email,
        "Confirm your email address for Signon",
        "accounts/confirm_email",
        user=user,
        link=link,
        valid_for=describe_hours(valid_hours),
    )


def mail_password_reset(user: User, raw_token: str, valid_hours: int) -> None:
    link = canonical_url("accounts.reset_password", token=raw_token)
    queue_mail(
        user.email,
        "Reset your Signon password",
        "accounts/reset_password",
        user=user,
        link=link,
        valid_for=describe_hours(valid_hours),
    )


def mail_registration_attempt(user: User, next_url: str | None = None) -> None:
    """Someone tried to register with the address of ``user``'s account: tell its owner
    (the registration page answered as if it were new, so nobody else learns of it)."""
    queue_mail(
        user.email,
        "Someone tried to register with your address on Signon",
        "accounts/registration_attempt",
        user=user,
        login_link=canonical_url("accounts.login", next=next_url),
        reset_link=canonical_url("accounts.forgot_password"),
    )


def mail_password_changed(user: User) -> None:
    link = canonical_url("accounts.forgot_password")
    queue_mail(
        user.email,
        "Your Signon password was changed",
        "accounts/password_changed",
        user=user,
        link=link,
    )


def mail_organisation_invitation(
    invitation: OrganisationInvitation, raw_token: str, valid_hours: int
) -> None:
    link = canonical_url("accounts.organisation_invitation", token=raw_token)
    organisation = invitation.organisation
    queue_mail(
        invitation.email,
        f"Join {organisation.name} on Signon",
        "accounts/organisation_invitation",
        invitation=invitation,
        organisation=organisation,
        inviter=invitation.invited_by,
        link=link,
        valid_for=describe_hours(valid_hours),
    )
