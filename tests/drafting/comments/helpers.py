"""A letter with a team, an invited organisation, and threads on its text."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from signon.accounts.models import User
from signon.core.permissions import TeamRole
from signon.drafting.comments import operations as ops
from signon.drafting.comments.models import CommentThread
from signon.letters.models import Letter
from signon.signatures.models import Invitation
from tests.factories import add_team_member, make_letter, make_user
from tests.signatures.factories import make_invitation

BODY = (
    "We call on the ministry to protect the river basin.\n\n"
    "The river basin feeds three cities and their farms.\n\n"
    "We ask for a public hearing before the end of the year.\n"
)


@dataclass
class Team:
    letter: Letter
    coordinator: User
    drafter: User
    viewer: User
    invitation: Invitation
    other_invitation: Invitation


_teams = itertools.count(1)


def team_letter(body: str = BODY) -> Team:
    """A letter whose team's addresses start with their first names (for @mentions)."""
    domain = f"team{next(_teams)}.example.org"
    coordinator = make_user(name="Cora Coordinator", email=f"cora@{domain}")
    letter = make_letter(coordinator, body=body)
    drafter = make_user(name="Dan Drafter", email=f"dan@{domain}")
    viewer = make_user(name="Vera Viewer", email=f"vera@{domain}")
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    return Team(
        letter,
        coordinator,
        drafter,
        viewer,
        make_invitation(letter, organisation_name="River Friends"),
        make_invitation(letter, organisation_name="Other NGO"),
    )


def comment_on(
    team: Team, quote: str, body: str = "Is this right?", *, by: User | None = None
) -> CommentThread:
    head = team.letter.head()
    assert head is not None
    return ops.start_thread(team.letter, head, quote=quote, body=body, author=by or team.drafter)


def invitee_comment_on(team: Team, quote: str, body: str = "When?") -> CommentThread:
    """A thread of the invited organisation River Friends, through its link."""
    head = team.letter.head()
    assert head is not None
    return ops.start_thread(team.letter, head, quote=quote, body=body, invitation=team.invitation)


def open_to_invitees(team: Team) -> None:
    head = team.letter.head()
    assert head is not None
    ops.update_settings(
        team.letter,
        invitees_may_comment=True,
        on_frozen=True,
        actor=team.coordinator,
        seen_revision=head.number,
    )
