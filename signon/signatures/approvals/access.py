"""Opening an invitation link: the invitation it names, or the page saying why it cannot be used.

Every route reached through an invitation link (the invitee page, its answers, the comments an
invited organisation writes) starts here, so a revoked, expired or unknown link is refused the
same way everywhere.
"""

from __future__ import annotations

import enum

from flask import abort, make_response, render_template

from signon.core.http_cache import keep_link_private
from signon.signatures.invitations import links
from signon.signatures.models import Invitation, InvitationStatus


class LinkProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"


def usable_invitation(token: str) -> Invitation:
    """The invitation this link opens, or a page saying why it cannot be used (404/410)."""
    invitation = links.find_invitation(token)
    if invitation is None:
        problem = LinkProblem.UNKNOWN
    elif invitation.status == InvitationStatus.REVOKED or invitation.revoked_at is not None:
        problem = LinkProblem.REVOKED
    elif invitation.is_expired:
        problem = LinkProblem.EXPIRED
    else:
        return invitation
    page = render_template(
        "signatures/sign_problem.html",
        problem=problem.value,
        invitation=invitation if problem != LinkProblem.UNKNOWN else None,
        token=token,
    )
    code = 404 if problem == LinkProblem.UNKNOWN else 410
    abort(keep_link_private(make_response(page, code)))
