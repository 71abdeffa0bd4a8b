"""Public sign-on and moderation routes × visitors.

The public routes answer everyone alike (anonymous or logged in, on the team or
not) while the letter's public page is on, and 404 for everyone when it is off.
The moderation routes are for the letter's coordinators: outsiders (and the
coordinators of another letter) get 404, other team members 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.accounts.models import User
from signon.core import transaction
from signon.core.permissions import TeamRole
from signon.db import utcnow
from signon.letters.models import Letter
from signon.signatures import public as ops
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user
from tests.signatures.test_public_factories import ask, make_public_letter, make_signature

ROLES = ["anonymous", "outsider", "viewer", "drafter", "coordinator"]


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    path: str  # formatted with the ids of the world below
    expected: dict[str, int]
    data: dict[str, str] | None = None


def expect(
    anonymous: int, outsider: int, viewer: int, drafter: int, coordinator: int
) -> dict[str, int]:
    return dict(zip(ROLES, (anonymous, outsider, viewer, drafter, coordinator), strict=True))


EVERYONE_200 = expect(200, 200, 200, 200, 200)
EVERYONE_302 = expect(302, 302, 302, 302, 302)
MODERATE_PAGE = expect(302, 404, 403, 403, 200)
MODERATE_POST = expect(302, 404, 403, 403, 302)

SIGN_FORM = {
    "name": "Visiting Organisation",
    "country": "Chile",
    "kind": "ngo",
    "representative_name": "Rosa Díaz",
    "email": "rosa@visiting.example.org",
    "authority": "y",
    "revision_id": "{head_id}",
}

ROUTES = [
    Route("signatures.public_page", "GET", "/p/{slug}", EVERYONE_200),
    Route("signatures.public_sign", "POST", "/p/{slug}/sign", EVERYONE_302, SIGN_FORM),
    Route("signatures.public_check_email", "GET", "/p/{slug}/check-email", EVERYONE_200),
    Route("signatures.public_confirm", "GET", "/p/{slug}/confirm/{token}", EVERYONE_200),
    Route(
        "signatures.public_confirm",
        "POST",
        "/p/{slug}/confirm/{token}",
        EVERYONE_302,
        {"revision_id": "{head_id}"},
    ),
    Route("signatures.public_embed", "GET", "/p/{slug}/embed", EVERYONE_200),
    Route("signatures.public_logo", "GET", "/p/{slug}/logos/{listed_id}", EVERYONE_200),
    Route("signatures.moderation", "GET", "/letters/{slug}/moderation", MODERATE_PAGE),
    Route(
        "signatures.moderation_public_settings",
        "POST",
        "/letters/{slug}/moderation/public",
        MODERATE_POST,
        {"is_public": "y"},
    ),
    Route(
        "signatures.moderation_accept",
        "POST",
        "/letters/{slug}/moderation/{pending_id}/accept",
        MODERATE_POST,
    ),
    Route(
        "signatures.moderation_reject",
        "POST",
        "/letters/{slug}/moderation/{pending_id}/reject",
        MODERATE_POST,
        {"reject-{pending_id}-reason": "Spam"},
    ),
    Route(
        "signatures.moderation_merge",
        "POST",
        "/letters/{slug}/moderation/{pending_id}/merge",
        MODERATE_POST,
        {"merge-{pending_id}-target": "{listed_id}"},
    ),
]
PUBLIC_ROUTES = [r for r in ROUTES if r.path.startswith("/p/")]
MODERATION_ROUTES = [r for r in ROUTES if r.path.startswith("/letters/")]


@dataclass
class World:
    letter: Letter
    users: dict[str, User]
    ids: dict[str, Any]


@pytest.fixture
def logo_storage(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setitem(app.config, "SIGNON", app.config["SIGNON"].with_(storage_dir=str(tmp_path)))
    (tmp_path / "logos").mkdir()
    (tmp_path / "logos" / "listed.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    return tmp_path


def build_world(*, public: bool = True) -> World:
    coordinator, drafter, viewer, outsider = (make_user() for _ in range(4))
    letter = make_public_letter(coordinator, is_public=True)
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    make_letter(outsider)  # coordinating another letter gives nothing here
    listed = make_signature(letter, "Listed Org", logo_filename="listed.png")
    pending = ops.confirm_public_request(ask(letter, "Pending Org").request, letter.head())
    token = ask(letter, "Asking Org", email="asking@example.org").token
    letter.is_public = public
    transaction.commit()  # responses >= 400 roll back: the world must survive them
    return World(
        letter,
        {"coordinator": coordinator, "drafter": drafter, "viewer": viewer, "outsider": outsider},
        {
            "slug": letter.slug,
            "head_id": letter.head().id,
            "token": token,
            "listed_id": listed.id,
            "pending_id": pending.id,
        },
    )


def _call(client: FlaskClient, world: World, route: Route) -> Any:
    path = route.path.format(**world.ids)
    data = {k.format(**world.ids): v.format(**world.ids) for k, v in (route.data or {}).items()}
    return client.open(path, method=route.method, data=data)


@pytest.mark.usefixtures("logo_storage")
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.endpoint}")
def test_route_permissions(app: Flask, client: FlaskClient, route: Route, role: str) -> None:
    with app.test_request_context():
        world = build_world()
        if role != "anonymous":
            login(client, world.users[role])
        response = _call(client, world, route)
        assert response.status_code == route.expected[role], (
            f"{role} {route.method} {route.path}: {response.status_code}"
        )
        if role == "anonymous" and response.status_code == 302 and route in MODERATION_ROUTES:
            assert response.location.startswith("/login")


@pytest.mark.usefixtures("logo_storage")
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", PUBLIC_ROUTES, ids=lambda r: f"{r.method} {r.endpoint}")
def test_public_routes_answer_404_to_everyone_when_the_page_is_off(
    app: Flask, client: FlaskClient, route: Route, role: str
) -> None:
    with app.test_request_context():
        world = build_world(public=False)
        if role != "anonymous":
            login(client, world.users[role])
        assert _call(client, world, route).status_code == 404


@pytest.mark.parametrize("route", MODERATION_ROUTES, ids=lambda r: f"{r.method} {r.endpoint}")
def test_another_letters_coordinator_gets_404(
    app: Flask, client: FlaskClient, route: Route
) -> None:
    with app.test_request_context():
        world = build_world()
        other_coordinator = make_user()
        make_public_letter(other_coordinator)
        transaction.commit()
        login(client, other_coordinator)
        assert _call(client, world, route).status_code == 404


@pytest.mark.parametrize(
    ("link", "status"),
    [("valid", 200), ("expired", 410), ("used", 410), ("other_letter", 404), ("tampered", 404)],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_confirmation_links(
    app: Flask, client: FlaskClient, link: str, status: int, method: str
) -> None:
    with app.test_request_context():
        world = build_world()
        letter = world.letter
        token = world.ids["token"]
        slug = letter.slug
        if link == "expired":
            ops.find_request(letter, token).expires_at = utcnow()
        elif link == "used":
            ops.confirm_public_request(ops.find_request(letter, token), letter.head())
        elif link == "other_letter":
            slug = make_public_letter().slug
        elif link == "tampered":
            token = token[:-3] + "abc"
        transaction.commit()
        response = client.open(
            f"/p/{slug}/confirm/{token}",
            method=method,
            data={"revision_id": str(world.ids["head_id"])},
        )
        expected = 302 if (link == "valid" and method == "POST") else status
        assert response.status_code == expected


def test_every_public_route_is_in_the_matrix(app: Flask) -> None:
    mine = {
        "signatures.public_page",
        "signatures.public_sign",
        "signatures.public_check_email",
        "signatures.public_confirm",
        "signatures.public_embed",
        "signatures.public_logo",
        "signatures.moderation",
        "signatures.moderation_public_settings",
        "signatures.moderation_accept",
        "signatures.moderation_reject",
        "signatures.moderation_merge",
    }
    covered = {(r.endpoint, r.method) for r in ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in mine:
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert (rule.endpoint, method) in covered, f"{method} {rule.rule} is not tested"
