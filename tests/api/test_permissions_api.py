"""Every API and API-token route × every visitor.

Site visitors (session cookies): anonymous, outsider (coordinates another
letter), viewer, drafter, coordinator. The JSON API ignores sessions: it answers
public letters to everyone and private letters to their own tokens only. API
token visitors: none, a valid token of this letter, a revoked one, and a live
token of another letter.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.api.tokens import create_api_token, revoke_api_token
from signon.core import transaction
from signon.core.permissions import TeamRole
from tests.api.factories import sign
from tests.factories import add_team_member, make_letter, make_user
from tests.permissions import (
    EVERYONE_200,
    EVERYONE_404,
    MANAGE_PAGE,
    MANAGE_POST,
    ROLES,
    Route,
    World,
    check_route,
    expect,
    path_id,
    untested_rules,
)

TOKENS = ["none", "valid", "revoked", "another_letter"]

ROUTES = [
    # A session is no API credential: a private letter is "not found" even for its coordinator.
    Route("api.letter", "GET", "/api/v1/letters/{private}", EVERYONE_404),
    Route("api.letter", "GET", "/api/v1/letters/{public}", EVERYONE_200),
    Route("api.signatories", "GET", "/api/v1/letters/{private}/signatories", EVERYONE_404),
    Route("api.signatories", "GET", "/api/v1/letters/{public}/signatories", EVERYONE_200),
    Route("api.openapi", "GET", "/api/v1/openapi.json", EVERYONE_200),
    Route("api.not_found", "GET", "/api/v1/", EVERYONE_404),
    Route("api.not_found", "GET", "/api/v1/letters/{public}/elsewhere", EVERYONE_404),
    Route("api_admin.token_list", "GET", "/letters/{private}/api-tokens", MANAGE_PAGE),
    Route(
        "api_admin.token_create",
        "POST",
        "/letters/{private}/api-tokens",
        expect(302, 404, 403, 403, 200),
        {"name": "Website"},
    ),
    Route(
        "api_admin.token_revoke",
        "POST",
        "/letters/{private}/api-tokens/{token_id}/revoke",
        MANAGE_POST,
    ),
]


@dataclass
class TokenWorld(World):
    """The world, and an API token of each of ``TOKENS`` (``None``: no token)."""

    tokens: dict[str, str | None]


def build_world() -> TokenWorld:
    coordinator, drafter, viewer, outsider = (make_user() for _ in range(4))
    private = make_letter(coordinator, slug="private-letter")
    add_team_member(private, role=TeamRole.DRAFTER, user=drafter)
    add_team_member(private, role=TeamRole.VIEWER, user=viewer)
    public = make_letter(coordinator, slug="public-letter", is_public=True)
    elsewhere = make_letter(outsider, slug="outsiders-letter")
    sign(private, "Private Ally")
    sign(public, "Public Ally")
    token, valid = create_api_token(private, name="Valid", created_by=coordinator)
    old, revoked = create_api_token(private, name="Revoked", created_by=coordinator)
    revoke_api_token(old, revoked_by=coordinator)
    _, foreign = create_api_token(elsewhere, name="Elsewhere", created_by=outsider)
    transaction.commit()
    return TokenWorld(
        {"coordinator": coordinator, "drafter": drafter, "viewer": viewer, "outsider": outsider},
        {"private": private.slug, "public": public.slug, "token_id": token.id},
        {"none": None, "valid": valid, "revoked": revoked, "another_letter": foreign},
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=path_id)
def test_route_permissions(app: Flask, client: FlaskClient, route: Route, role: str) -> None:
    with app.test_request_context():
        response = check_route(client, route, build_world(), role)
        if route.endpoint.startswith("api."):
            assert response.is_json, "the API answers JSON, errors included"


# (path, expected for: none, valid, revoked, another_letter)
TOKEN_MATRIX = [
    ("/api/v1/letters/{private}", (404, 200, 401, 404)),
    ("/api/v1/letters/{private}/signatories", (404, 200, 401, 404)),
    ("/api/v1/letters/{public}", (200, 200, 401, 200)),
    ("/api/v1/letters/{public}/signatories", (200, 200, 401, 200)),
    ("/api/v1/letters/no-such-letter", (404, 404, 401, 404)),
    ("/api/v1/openapi.json", (200, 200, 200, 200)),
]


@pytest.mark.parametrize("kind", TOKENS)
@pytest.mark.parametrize(("path", "expected"), TOKEN_MATRIX)
def test_api_tokens(
    app: Flask, client: FlaskClient, path: str, expected: tuple[int, ...], kind: str
) -> None:
    with app.test_request_context():
        world = build_world()
        token = world.tokens[kind]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.get(path.format(**world.ids), headers=headers)
        assert response.status_code == expected[TOKENS.index(kind)], f"{kind} {path}"
        if response.status_code == 200 and "signatories" in path:
            names = [item["name"] for item in response.get_json()["items"]]
            assert names == (["Private Ally"] if "private" in path else ["Public Ally"])


def test_every_api_route_is_in_the_matrix(app: Flask) -> None:
    assert untested_rules(app, ROUTES, prefixes=("api.", "api_admin.")) == []
