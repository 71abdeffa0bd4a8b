"""Comment routes × every kind of visitor.

Team routes (``/letters/<slug>/comments...``): anonymous (sent to log in), outsider and the
coordinator or a drafter of ANOTHER letter (404: the letter does not exist for them),
viewer (403: reads comments, writes none), drafter and coordinator (allowed). In an invited
organisation's thread only coordinators reply (a drafter gets 403); the team (drafters and
coordinators) resolves and reopens any thread. A thread of another letter, asked for
through this letter: 404. Settings: coordinators only.

Invitation-link routes (``/sign/<token>/comments...``) are public; what matters is the
token: this organisation's (allowed), another organisation's, for whom this thread does
not exist (404), a revoked one (410), a tampered one (404). An organisation replies to,
resolves and reopens its own threads, never the team's. Nobody logged in on the team gets
anything more from them.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from signon.core.permissions import TeamRole
from signon.drafting.comments import operations as ops
from signon.drafting.comments.models import Comment, CommentThread
from signon.extensions import db
from signon.signatures.invitations import links
from tests.conftest import login
from tests.drafting.comments.helpers import comment_on, open_to_invitees, team_letter
from tests.factories import add_team_member, make_letter, make_user
from tests.permissions import (
    MANAGE_POST,
    VISITORS,
    Route,
    World,
    check_route,
    expect,
    path_id,
    untested_rules,
    with_other_coordinator,
)
from tests.signatures.factories import commit, make_invitation

#: ``VISITORS`` and a drafter of another letter, who is but an outsider here.
TEAM_VISITORS = [*VISITORS, "other_drafter"]


def _for_team(expected: dict[str, int]) -> dict[str, int]:
    with_other = with_other_coordinator(expected)
    return {**with_other, "other_drafter": expected["outsider"]}


#: drafters and coordinators write; viewers read only
COMMENT_POST = _for_team(expect(302, 404, 403, 302, 302))
#: an invited organisation's thread: coordinators only
COORDINATOR_POST = _for_team(expect(302, 404, 403, 403, 302))
#: a thread of another letter through this letter's URL: no such thread here
NO_SUCH_THREAD = _for_team(expect(302, 404, 403, 404, 404))
SETTINGS_POST = _for_team(dict(MANAGE_POST))
#: the team for the @mention autocomplete: to those who may comment
PEOPLE_GET = _for_team(expect(302, 404, 403, 200, 200))

NEW = {"comment-revision": "1", "comment-quote": "public hearing", "comment-body": "A date?"}

TEAM_ROUTES = [
    Route("drafting.create_thread", "POST", "/letters/{slug}/comments", COMMENT_POST, NEW),
    Route(
        "drafting.reply",
        "POST",
        "/letters/{slug}/comments/{thread}/replies",
        COMMENT_POST,
        {"reply-{thread}-body": "Agreed."},
    ),
    Route(
        "drafting.reply",
        "POST",
        "/letters/{slug}/comments/{org_thread}/replies",
        COORDINATOR_POST,
        {"reply-{org_thread}-body": "Thanks."},
    ),
    Route(
        "drafting.reply",
        "POST",
        "/letters/{slug}/comments/{foreign_thread}/replies",
        NO_SUCH_THREAD,
        {"reply-{foreign_thread}-body": "Hello?"},
    ),
    Route("drafting.resolve", "POST", "/letters/{slug}/comments/{thread}/resolve", COMMENT_POST),
    Route(
        "drafting.resolve",
        "POST",
        "/letters/{slug}/comments/{org_thread}/resolve",
        COMMENT_POST,
    ),
    Route(
        "drafting.resolve",
        "POST",
        "/letters/{slug}/comments/{foreign_thread}/resolve",
        NO_SUCH_THREAD,
    ),
    Route("drafting.reopen", "POST", "/letters/{slug}/comments/{thread}/reopen", COMMENT_POST),
    Route(
        "drafting.reopen",
        "POST",
        "/letters/{slug}/comments/{org_thread}/reopen",
        COMMENT_POST,
    ),
    Route("drafting.mention_people", "GET", "/letters/{slug}/comments/people", PEOPLE_GET),
    Route(
        "drafting.comment_settings",
        "POST",
        "/letters/{slug}/comments/settings",
        SETTINGS_POST,
        {"invitees": "y", "revision": "1"},
    ),
]


def build_world() -> World:
    team = team_letter()
    open_to_invitees(team)
    thread = comment_on(team, "public hearing")
    org_thread = ops.start_thread(
        team.letter,
        team.letter.head(),
        quote="river basin",
        body="Which one?",
        invitation=team.invitation,
    )
    outsider = make_user()
    make_letter(make_user())  # the outsider is on no team; others coordinate their own
    other_coordinator = make_user()
    elsewhere = make_letter(other_coordinator, body="Public hearing, elsewhere.\n")
    other_drafter = make_user()
    add_team_member(elsewhere, role=TeamRole.DRAFTER, user=other_drafter)
    foreign = ops.start_thread(
        elsewhere,
        elsewhere.head(),
        quote="Public hearing",
        body="Ours",
        author=other_coordinator,
    )
    db.session.flush()
    return World(
        {
            "coordinator": team.coordinator,
            "drafter": team.drafter,
            "viewer": team.viewer,
            "outsider": outsider,
            "other_coordinator": other_coordinator,
            "other_drafter": other_drafter,
        },
        {
            "slug": team.letter.slug,
            "thread": thread.id,
            "org_thread": org_thread.id,
            "foreign_thread": foreign.id,
        },
    )


@pytest.mark.parametrize("visitor", TEAM_VISITORS)
@pytest.mark.parametrize("route", TEAM_ROUTES, ids=path_id)
def test_team_route_permissions(
    app: Flask, client: FlaskClient, route: Route, visitor: str
) -> None:
    with app.test_request_context():
        check_route(client, route, build_world(), visitor)


# --- The invitation link's routes ----------------------------------------------------------

LINK_KINDS = ["own", "other_organisation", "revoked", "tampered", "own_logged_in_drafter"]


def _link_world() -> dict[str, Any]:
    team = team_letter()
    open_to_invitees(team)
    own = ops.start_thread(
        team.letter,
        team.letter.head(),
        quote="river basin",
        body="Which one?",
        invitation=team.invitation,
    )
    internal = comment_on(team, "public hearing", "Internal")
    revoked = make_invitation(team.letter, revoked=True)
    return {
        "team": team,
        "own_thread": own.id,
        "internal_thread": internal.id,
        "tokens": {
            "own": links.invitation_token(team.invitation),
            "own_logged_in_drafter": links.invitation_token(team.invitation),
            "other_organisation": links.invitation_token(team.other_invitation),
            "revoked": links.invitation_token(revoked),
            "tampered": links.invitation_token(team.invitation)[:-2] + "xx",
        },
    }


LINK_ROUTES: list[tuple[str, str, dict[str, int]]] = [
    # (path after /sign/<token>, thread placeholder or "", status per kind of link)
    (
        "/comments",
        "",
        {
            "own": 302,
            "own_logged_in_drafter": 302,
            "other_organisation": 302,
            "revoked": 410,
            "tampered": 404,
        },
    ),
    (
        "/comments/{own_thread}/replies",
        "own_thread",
        {
            "own": 302,
            "own_logged_in_drafter": 302,
            "other_organisation": 404,
            "revoked": 410,
            "tampered": 404,
        },
    ),
    (
        "/comments/{internal_thread}/replies",
        "internal_thread",
        {
            "own": 404,
            "own_logged_in_drafter": 404,
            "other_organisation": 404,
            "revoked": 410,
            "tampered": 404,
        },
    ),
]

#: For the check that no route lacks a matrix (tests/core/test_permissions.py): the team's
#: routes, and the link's, whose statuses are ``LINK_ROUTES``.
ROUTES = [
    *TEAM_ROUTES,
    Route("drafting.invitee_create_thread", "POST", "/sign/{token}/comments", {}),
    Route("drafting.invitee_reply", "POST", "/sign/{token}/comments/{thread}/replies", {}),
    Route("drafting.invitee_resolve", "POST", "/sign/{token}/comments/{thread}/resolve", {}),
    Route("drafting.invitee_reopen", "POST", "/sign/{token}/comments/{thread}/reopen", {}),
]


@pytest.mark.parametrize("kind", LINK_KINDS)
@pytest.mark.parametrize(
    ("suffix", "thread", "expected"), LINK_ROUTES, ids=[r[0] for r in LINK_ROUTES]
)
def test_link_route_permissions(
    app: Flask, client: FlaskClient, suffix: str, thread: str, expected: dict[str, int], kind: str
) -> None:
    with app.test_request_context():
        world = _link_world()
        if kind == "own_logged_in_drafter":
            login(client, world["team"].drafter)
        path = "/sign/" + world["tokens"][kind] + suffix.format(**world)
        data = (
            {"comment-revision": "1", "comment-quote": "three cities", "comment-body": "Hm"}
            if not thread
            else {f"reply-{world[thread]}-body": "Hm"}
        )
        response = client.post(path, data=data)
        assert response.status_code == expected[kind], (kind, path, response.status_code)
        written = db.session.scalar(select(func.count(Comment.id)).where(Comment.body == "Hm"))
        if response.status_code == 302:
            assert response.location.startswith("/sign/")
            assert written == 1
        else:
            assert written == 0


#: Resolve and reopen through the link: its own thread only (the link is the proof).
SETTLE_THROUGH_LINK = {
    "own_thread": {
        "own": 302,
        "own_logged_in_drafter": 302,
        "other_organisation": 404,
        "revoked": 410,
        "tampered": 404,
    },
    "internal_thread": {
        "own": 404,
        "own_logged_in_drafter": 404,
        "other_organisation": 404,
        "revoked": 410,
        "tampered": 404,
    },
}


@pytest.mark.parametrize("kind", LINK_KINDS)
@pytest.mark.parametrize("thread", list(SETTLE_THROUGH_LINK))
@pytest.mark.parametrize("verb", ["resolve", "reopen"])
def test_link_resolve_and_reopen_permissions(
    app: Flask, client: FlaskClient, verb: str, thread: str, kind: str
) -> None:
    with app.test_request_context():
        world = _link_world()
        target = db.session.get(CommentThread, world[thread])
        assert target is not None
        if verb == "reopen":
            ops.resolve_thread(target, world["team"].coordinator)
        commit()  # a refused request rolls back; the world stays to be looked at
        was_resolved = target.is_resolved
        if kind == "own_logged_in_drafter":
            login(client, world["team"].drafter)
        path = f"/sign/{world['tokens'][kind]}/comments/{target.id}/{verb}"
        response = client.post(path)
        expected = SETTLE_THROUGH_LINK[thread][kind]
        assert response.status_code == expected, (kind, path, response.status_code)
        db.session.refresh(target)
        changed = target.is_resolved != was_resolved
        assert changed == (expected == 302), (kind, path)
        if changed and verb == "resolve":
            assert target.resolved_by_id is None
            assert target.resolved_by_invitation_id == world["team"].invitation.id


def test_every_comment_route_is_in_the_matrix(app: Flask) -> None:
    ours = {
        endpoint
        for endpoint, view in app.view_functions.items()
        if view.__module__ == "signon.drafting.comments.views"
    }
    assert "drafting.invitee_reply" in ours
    assert untested_rules(app, ROUTES, endpoints=ours) == []
