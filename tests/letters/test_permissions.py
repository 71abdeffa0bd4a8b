"""Every letters route × every role: anonymous, outsider, viewer, drafter, coordinator.

A drafter of letter A can't touch letter B: outsiders get 404 (the letter does
not exist for them), team members without the right get 403.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.core.permissions import TeamRole
from signon.extensions import db
from signon.letters import operations
from tests.factories import add_revision, add_team_member, make_letter, make_organisation, make_user
from tests.permissions import (
    EVERYONE_302,
    MANAGE_PAGE,
    MANAGE_POST,
    READ,
    ROLES,
    Route,
    World,
    check_route,
    expect,
    route_id,
    untested_rules,
)

#: any logged-in user may start a letter
LOGGED_IN = expect(302, 200, 200, 200, 200)
EDIT_PAGE = expect(302, 404, 403, 200, 200)
#: a team invitation to the outsider's address: it does not exist for anyone else
INVITEE_ONLY = expect(302, 302, 404, 404, 404)

ROUTES = [
    Route("letters.index", "GET", "/letters/", LOGGED_IN),
    Route("letters.new", "GET", "/letters/new", LOGGED_IN),
    Route(
        "letters.new",
        "POST",
        "/letters/new",
        EVERYONE_302,
        {"title": "Another letter", "language": "en", "drafting_organisation": "0"},
    ),
    Route("letters.show", "GET", "/letters/{slug}/", READ),
    Route("letters.settings", "GET", "/letters/{slug}/settings", MANAGE_PAGE),
    Route(
        "letters.settings",
        "POST",
        "/letters/{slug}/settings",
        MANAGE_POST,
        {"addressee": "Someone", "language": "en"},
    ),
    # each team member's own choice of mail about the letter
    Route(
        "letters.letter_notifications",
        "POST",
        "/letters/{slug}/notifications",
        expect(302, 404, 302, 302, 302),
        {"letter-notify-delivery": "off"},
    ),
    Route("letters.team", "GET", "/letters/{slug}/team", READ),
    Route(
        "letters.team_add_user",
        "POST",
        "/letters/{slug}/team/users",
        MANAGE_POST,
        {"user-email": "newcomer@example.org", "user-role": "viewer"},
    ),
    Route(
        "letters.team_add_organisation",
        "POST",
        "/letters/{slug}/team/organisations",
        MANAGE_POST,
        {"org-organisation": "{spare_org_id}", "org-role": "viewer"},
    ),
    Route(
        "letters.team_change_role",
        "POST",
        "/letters/{slug}/team/{member_id}/role",
        MANAGE_POST,
        {"role": "drafter"},
    ),
    Route("letters.team_remove", "POST", "/letters/{slug}/team/{member_id}/remove", MANAGE_POST),
    Route(
        "letters.team_revoke_invitation",
        "POST",
        "/letters/{slug}/team/invitations/{invitation_id}/revoke",
        MANAGE_POST,
    ),
    Route(
        "letters.team_resend_invitation",
        "POST",
        "/letters/{slug}/team/invitations/{invitation_id}/resend",
        MANAGE_POST,
    ),
    # any logged-in user may look for invitations to their confirmed address
    Route("letters.team_invitations", "GET", "/letters/team-invitations", LOGGED_IN),
    # the invitation is to the outsider's address: nobody else may take or decline it
    Route(
        "letters.accept_team_invitation",
        "POST",
        "/letters/team-invitations/{invitation_id}/accept",
        INVITEE_ONLY,
    ),
    Route(
        "letters.decline_team_invitation",
        "POST",
        "/letters/team-invitations/{invitation_id}/decline",
        INVITEE_ONLY,
    ),
    Route("letters.edit", "GET", "/letters/{slug}/edit", EDIT_PAGE),
    Route(
        "letters.edit",
        "POST",
        "/letters/{slug}/edit",
        expect(302, 404, 403, 302, 302),
        {"title": "Letter", "body": "A new text.", "base_revision": "{head_id}"},
    ),
    Route("letters.newest", "GET", "/letters/{slug}/edit/newest?base={head_id}", EDIT_PAGE),
    # the draft belongs to the coordinator: a drafter may edit, but it is not theirs
    Route(
        "letters.draft", "GET", "/letters/{slug}/drafts/{draft_id}", expect(302, 404, 403, 404, 200)
    ),
    Route(
        "letters.draft",
        "POST",
        "/letters/{slug}/drafts/{draft_id}",
        expect(302, 404, 403, 404, 302),
        {
            "title": "Letter",
            "base_revision": "{head_id}",
            "conflicts-0-choice": "theirs",
            "conflicts-0-text": "",
        },
    ),
    Route(
        "letters.discard_draft",
        "POST",
        "/letters/{slug}/drafts/{draft_id}/discard",
        expect(302, 404, 403, 404, 302),
    ),
    Route("letters.history", "GET", "/letters/{slug}/revisions", READ),
    Route("letters.revision", "GET", "/letters/{slug}/revisions/1", READ),
    Route("letters.diff", "GET", "/letters/{slug}/diff?from=1&to=2", READ),
    Route("letters.authorship", "GET", "/letters/{slug}/authorship", READ),
]


def build_world() -> World:
    coordinator, drafter, viewer, outsider = (make_user() for _ in range(4))
    letter = make_letter(coordinator, body="One.\n\nTwo.\n")
    base = letter.head()
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    add_revision(letter, drafter, "One!\n\nTwo.\n")
    # a conflicting save by the coordinator leaves them a draft
    result = operations.save_revision(
        letter, coordinator, base=base, title=letter.title, body="One?\n\nTwo.\n"
    )
    assert result.draft is not None
    # the outsider drafts another letter: that gives them nothing here
    make_letter(outsider)
    make_user(email="newcomer@example.org")
    spare = make_organisation("Spare NGO")
    member = add_team_member(letter, role=TeamRole.VIEWER, user=make_user())
    invitation = operations.invite_to_team(
        letter, email=outsider.email, role=TeamRole.DRAFTER, invited_by=coordinator
    )
    db.session.flush()
    return World(
        {"coordinator": coordinator, "drafter": drafter, "viewer": viewer, "outsider": outsider},
        {
            "slug": letter.slug,
            "member_id": member.id,
            "draft_id": result.draft.id,
            "head_id": letter.head().id,
            "spare_org_id": spare.id,
            "invitation_id": invitation.id,
        },
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_route_permissions(app: Flask, client: FlaskClient, route: Route, role: str) -> None:
    with app.test_request_context():
        check_route(client, route, build_world(), role)


def test_every_letters_route_is_in_the_matrix(app: Flask) -> None:
    assert untested_rules(app, ROUTES, prefixes=("letters.",)) == []
