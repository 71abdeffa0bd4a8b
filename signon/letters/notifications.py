"""E-mails of the letters feature. Each one has a .txt and a .html template under
``templates/emails/letters/``; links are absolute."""

from __future__ import annotations

from flask import url_for

from signon.core.mail import queue_mail
from signon.core.urls import canonical_url
from signon.letters.models import TeamInvitation


def mail_team_invitation(invitation: TeamInvitation, valid_days: int) -> None:
    """One mail for every address, with or without an account: how to join either way."""
    letter = invitation.letter
    queue_mail(
        invitation.email,
        f"Join the drafting team of “{letter.title}” on Signon",
        "letters/team_invitation",
        letter=letter,
        invitation=invitation,
        inviter=invitation.invited_by,
        accept_link=canonical_url("letters.team_invitations"),
        register_link=canonical_url(
            "accounts.register", next=url_for("letters.show", slug=letter.slug)
        ),
        valid_for=f"{valid_days} days",
    )
