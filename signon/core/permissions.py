"""Every permission in one place: the actions, the roles, and which role grants what.

Models answer ``letter.can(user, Action.LETTER_EDIT)``; views call
:func:`require` which turns a refusal into 403 (or 404 for objects the user may
not even know exist).
"""

from __future__ import annotations

import enum
from typing import Protocol

from flask import abort


class Action(enum.StrEnum):
    LETTER_VIEW = "letter:view"
    LETTER_EDIT = "letter:edit"
    LETTER_MANAGE = "letter:manage"
    LETTER_MANAGE_TEAM = "letter:manage_team"
    # Reserved for the next features (invitations, approvals, export):
    LETTER_EXPORT = "letter:export"
    INVITATION_SEND = "invitation:send"
    SIGNATURE_MODERATE = "signature:moderate"
    ORGANISATION_VIEW = "organisation:view"
    ORGANISATION_MANAGE = "organisation:manage"


class TeamRole(enum.StrEnum):
    """A role on a letter's drafting team, weakest first."""

    VIEWER = "viewer"
    DRAFTER = "drafter"
    COORDINATOR = "coordinator"

    @property
    def rank(self) -> int:
        return list(TeamRole).index(self)

    @property
    def label(self) -> str:
        return self.value.capitalize()


class OrganisationRole(enum.StrEnum):
    MEMBER = "member"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.capitalize()


LETTER_GRANTS: dict[TeamRole, frozenset[Action]] = {
    TeamRole.VIEWER: frozenset({Action.LETTER_VIEW}),
    TeamRole.DRAFTER: frozenset({Action.LETTER_VIEW, Action.LETTER_EDIT}),
    TeamRole.COORDINATOR: frozenset(
        {
            Action.LETTER_VIEW,
            Action.LETTER_EDIT,
            Action.LETTER_MANAGE,
            Action.LETTER_MANAGE_TEAM,
            Action.LETTER_EXPORT,
            Action.INVITATION_SEND,
            Action.SIGNATURE_MODERATE,
        }
    ),
}

ORGANISATION_GRANTS: dict[OrganisationRole, frozenset[Action]] = {
    OrganisationRole.MEMBER: frozenset({Action.ORGANISATION_VIEW}),
    OrganisationRole.ADMIN: frozenset({Action.ORGANISATION_VIEW, Action.ORGANISATION_MANAGE}),
}


def letter_role_allows(role: TeamRole | None, action: Action) -> bool:
    return role is not None and action in LETTER_GRANTS[role]


def organisation_role_allows(role: OrganisationRole | None, action: Action) -> bool:
    return role is not None and action in ORGANISATION_GRANTS[role]


class Guarded(Protocol):
    def can(self, user: object, action: Action) -> bool: ...


def require(obj: Guarded, user: object, action: Action, *, hide: Action | None = None) -> None:
    """Abort unless ``user`` may do ``action`` on ``obj``.

    ``hide``: when the user may not even do this action (usually "view"), answer
    404 so that the object's existence does not leak; otherwise 403.
    """
    if obj.can(user, action):
        return
    if hide is not None and not obj.can(user, hide):
        abort(404)
    abort(403)
