"""What the permission matrices (``tests/**/test_permissions*.py``) have in common.

A matrix lists its routes in a module-level ``ROUTES`` (tests/core/test_permissions.py
reads it to find routes no matrix covers), each with the status every kind of visitor
should get; it builds a world (the users to log in as and the ids its paths name) and
checks every route × visitor with ``check_route``. Why a visitor gets 404 rather than
403 is each matrix's own story, told in its docstring; this module only holds the
vocabulary and the runner they share. Not a matrix itself: it lists no routes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from signon.accounts.models import User
from signon.letters.models import Letter
from tests.conftest import login

ANONYMOUS = "anonymous"
#: The visitors of a letter's routes: nobody logged in, someone off the team (who
#: coordinates a letter of their own) and the three team roles.
ROLES = [ANONYMOUS, "outsider", "viewer", "drafter", "coordinator"]
#: ``ROLES`` and the coordinator of another letter, who is but an outsider here.
VISITORS = [*ROLES, "other_coordinator"]


def expect(
    anonymous: int, outsider: int, viewer: int, drafter: int, coordinator: int
) -> dict[str, int]:
    """The status each of ``ROLES`` should get."""
    return dict(zip(ROLES, (anonymous, outsider, viewer, drafter, coordinator), strict=True))


def with_other_coordinator(expected: Mapping[str, int]) -> dict[str, int]:
    """``expected`` for ``VISITORS``: another letter's coordinator gets what outsiders get."""
    return {**expected, "other_coordinator": expected["outsider"]}


EVERYONE_200 = expect(200, 200, 200, 200, 200)
EVERYONE_302 = expect(302, 302, 302, 302, 302)
EVERYONE_404 = expect(404, 404, 404, 404, 404)
#: the team reads; outsiders do not know the letter exists
READ = expect(302, 404, 200, 200, 200)
#: coordinators only: a page, and a form that redirects when it is done
MANAGE_PAGE = expect(302, 404, 403, 403, 200)
MANAGE_POST = expect(302, 404, 403, 403, 302)


@dataclass(frozen=True)
class Route:
    """One route of a matrix: what to request, and the status each visitor should get."""

    endpoint: str
    method: str
    #: ``{placeholders}`` are filled in with the world's ids
    path: str
    expected: Mapping[str, int]
    #: the form to send; its keys and values may hold placeholders too
    data: Mapping[str, Any] | None = None


@dataclass
class World:
    """What a matrix's world offers its checks: users by role and the ids paths name."""

    users: Mapping[str, User]
    ids: Mapping[str, Any]


@dataclass
class LetterWorld(World):
    """A world, and the letter it is about (for a matrix's checks beyond the status)."""

    letter: Letter


def route_id(route: Route) -> str:
    """A test id naming the route by its endpoint."""
    return f"{route.method} {route.endpoint}"


def path_id(route: Route) -> str:
    """A test id naming the route by its path (for endpoints a matrix requests twice)."""
    return f"{route.method} {route.path}"


def log_in_as(client: FlaskClient, users: Mapping[str, Any], role: str) -> None:
    """Log the user of ``role`` in on ``client``; anonymous visitors stay logged out."""
    if role != ANONYMOUS:
        login(client, users[role])


def fill_in(template: object, ids: Mapping[str, Any]) -> str:
    """``template`` with its ``{placeholders}`` replaced by the world's ids."""
    return str(template).format(**ids)


def form_data(route: Route, ids: Mapping[str, Any]) -> dict[str, str]:
    """The form of ``route``, keys and values filled in with ``ids``."""
    return {fill_in(key, ids): fill_in(value, ids) for key, value in (route.data or {}).items()}


def request_route(client: FlaskClient, route: Route, ids: Mapping[str, Any]) -> TestResponse:
    """Request ``route`` with its path and form filled in with ``ids``."""
    path = fill_in(route.path, ids)
    return client.open(path, method=route.method, data=form_data(route, ids))


def assert_status(response: TestResponse, route: Route, visitor: str) -> None:
    """``visitor`` got the status the matrix expects for them on ``route``."""
    assert response.status_code == route.expected[visitor], (
        f"{visitor} {route.method} {route.path}: {response.status_code}"
    )


def assert_sent_to_login(response: TestResponse) -> None:
    """``response`` redirects to the login page."""
    assert response.location.startswith("/login"), response.location


def check_route(
    client: FlaskClient, route: Route, world: World, role: str, *, login_redirect: bool = True
) -> TestResponse:
    """Request ``route`` as ``role`` and check the status it gets.

    An anonymous visitor who is redirected must be sent to the login page, unless the
    route redirects everyone elsewhere (``login_redirect=False``). The response is
    returned for the matrix's own checks.
    """
    log_in_as(client, world.users, role)
    response = request_route(client, route, world.ids)
    assert_status(response, route, role)
    if login_redirect and role == ANONYMOUS and response.status_code == 302:
        assert_sent_to_login(response)
    return response


def untested_rules(
    app: Flask,
    routes: Iterable[Route],
    *,
    prefixes: tuple[str, ...] = (),
    endpoints: Collection[str] = (),
) -> list[str]:
    """The rules of a matrix's endpoints that have a method none of ``routes`` covers.

    A matrix's endpoints are those it names in ``endpoints`` and those that start with one
    of ``prefixes``.
    """
    covered = {(route.endpoint, route.method) for route in routes}
    return [
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint in endpoints or rule.endpoint.startswith(prefixes)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        if (rule.endpoint, method) not in covered
    ]
