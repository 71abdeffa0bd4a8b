"""Every model, imported in one place so that Alembic and ``db check`` see them all."""

from signon.accounts.models import (
    Membership,
    Organisation,
    OrganisationInvitation,
    User,
    UserToken,
)
from signon.letters.models import Letter, Revision, TeamMember, UnresolvedDraft

__all__ = [
    "Letter",
    "Membership",
    "Organisation",
    "OrganisationInvitation",
    "Revision",
    "TeamMember",
    "UnresolvedDraft",
    "User",
    "UserToken",
]
