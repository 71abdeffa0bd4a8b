"""Live editing's routes × every role.

The socket is opened for real (a WebSocket handshake to an app server): 101 means it
opened. Readers (viewers) get a read-only socket, which tests/drafting/live/test_socket.py
shows; outsiders get 404 (the letter does not exist for them); nobody logged in is sent
to the login page. "Save version" is for those who may write: a viewer gets 403. The page
that follows the live text (read only) is for readers; editors are sent to the editor.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.core.permissions import TeamRole
from tests.drafting.live.client import handshake_status
from tests.drafting.live.conftest import Serve
from tests.factories import add_team_member, make_letter, make_user
from tests.permissions import (
    ANONYMOUS,
    ROLES,
    Route,
    World,
    check_route,
    expect,
    route_id,
    untested_rules,
)

SOCKET = Route(
    "drafting.live_socket", "GET", "/letters/{slug}/live", expect(302, 404, 101, 101, 101)
)
SAVE = Route(
    "drafting.live_save", "POST", "/letters/{slug}/live/save", expect(302, 404, 403, 302, 302)
)
#: The read-only page that follows the live text: for those who may read the letter but
#: not edit it; whoever may edit is sent to the editor, where the live text is.
FOLLOW = Route(
    "drafting.live_follow",
    "GET",
    "/letters/{slug}/live/follow",
    expect(302, 404, 200, 302, 302),
)
ROUTES = [SOCKET, SAVE, FOLLOW]


def build_world() -> World:
    coordinator, drafter, viewer, outsider = (make_user() for _ in range(4))
    letter = make_letter(coordinator)
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    make_letter(outsider)
    users = {"coordinator": coordinator, "drafter": drafter, "viewer": viewer, "outsider": outsider}
    return World(users, {"slug": letter.slug})


@pytest.mark.parametrize("role", ROLES)
def test_save_version_permissions(app: Flask, client: FlaskClient, role: str) -> None:
    with app.test_request_context():
        check_route(client, SAVE, build_world(), role)


@pytest.mark.parametrize("role", ROLES)
def test_follow_page_permissions(app: Flask, client: FlaskClient, role: str) -> None:
    with app.test_request_context():
        check_route(client, FOLLOW, build_world(), role)


@pytest.mark.real_commits
@pytest.mark.usefixtures("app_context")
@pytest.mark.parametrize("role", ROLES)
def test_socket_permissions(serve: Serve, role: str) -> None:
    from signon.core.transaction import commit

    world = build_world()
    slug = world.ids["slug"]
    session_id = None if role == ANONYMOUS else world.users[role].get_id()
    commit()
    server = serve()
    cookie = server.cookie(session_id) if session_id else None
    status = handshake_status(server.url, slug, cookie, origin=server.url)
    assert status == SOCKET.expected[role], f"{role}: {status}"


def test_every_live_route_is_in_the_matrix(app: Flask) -> None:
    assert untested_rules(app, ROUTES, prefixes=("drafting.live",)) == []


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_routes_are_guarded(app: Flask, route: Route) -> None:
    from signon.letters.guard import guard_of

    assert guard_of(app.view_functions[route.endpoint]) is not None
