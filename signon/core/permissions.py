"""Every permission in one place: the actions, the roles, and which role grants what.

Models answer ``letter.can(user, Action.LETTER_EDIT)``; views call
:func:`require` which turns a refusal into 403 (or 404 for objects the user may
not even know exist).
"""

from __future__ import annotations

import enum
import logging
from typing import Protocol

from flask import abort, has_request_context, request

security_log = logging.getLogger("signon.security")


class Action(enum.StrEnum):
    LETTER_VIEW = "letter:view"
    LETTER_EDIT = "letter:edit"
    LETTER_MANAGE = "letter:manage"
    LETTER_MANAGE_TEAM = "letter:manage_team"
    #: propose changes to the text as suggestions (tracked changes); accepting or
    #: rejecting them is editing (``LETTER_EDIT``)
    LETTER_SUGGEST = "letter:suggest"
    #: Comment on passages of the text, reply, resolve and reopen threads (issue 13).
    LETTER_COMMENT = "letter:comment"
    #: Write into the shared live document (drafting/live); reading it is letter:view.
    LETTER_LIVE_EDIT = "letter:live_edit"
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
    # Every team member may suggest changes (tracked changes, issue 13): a viewer's
    # suggestion becomes text only when a drafter or coordinator accepts it.
    TeamRole.VIEWER: frozenset({Action.LETTER_VIEW, Action.LETTER_SUGGEST}),
    TeamRole.DRAFTER: frozenset(
        {
            Action.LETTER_VIEW,
            Action.LETTER_SUGGEST,
            Action.LETTER_EDIT,
            Action.LETTER_COMMENT,
            Action.LETTER_LIVE_EDIT,
        }
    ),
    TeamRole.COORDINATOR: frozenset(
        {
            Action.LETTER_VIEW,
            Action.LETTER_SUGGEST,
            Action.LETTER_EDIT,
            Action.LETTER_COMMENT,
            Action.LETTER_LIVE_EDIT,
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
    status = 404 if hide is not None and not obj.can(user, hide) else 403
    log_refusal(obj, user, action, status)
    abort(status)


def log_refusal(obj: object, user: object, action: Action, status: int) -> None:
    """Every refused authorization is a log line (ASVS 16.3.2): who, what, where, answer.

    A log line, not an audit event: refusals are mostly GETs, which change no state, and an
    outsider probing ids must not be able to grow a letter's audit chain.
    """
    user_id = getattr(user, "id", None)
    where = f"{request.method} {request.path}" if has_request_context() else "-"
    security_log.warning(
        "authorization refused: user=%s action=%s object=%r answer=%s request=%r",
        user_id if user_id is not None else "anonymous",
        action.value,
        obj,
        status,
        where,
    )
