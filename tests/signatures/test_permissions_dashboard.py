"""The dashboard and its CSV × every visitor: coordinators only (they show e-mail addresses).

Anonymous visitors are sent to log in; people who cannot see the letter (outsiders,
coordinators of another letter) get 404; viewers and drafters 403.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from signon.core import transaction
from signon.core.permissions import TeamRole
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user
from tests.signatures.dashboard_data import every_state

pytestmark = pytest.mark.usefixtures("app_context")

VISITORS = ["anonymous", "outsider", "viewer", "drafter", "coordinator", "other_coordinator"]


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    path: str  # formatted with slug
    expected: dict[str, int]


COORDINATORS_ONLY = {
    "anonymous": 302,
    "outsider": 404,
    "viewer": 403,
    "drafter": 403,
    "coordinator": 200,
    "other_coordinator": 404,
}

ROUTES = [
    Route("signatures.dashboard", "GET", "/letters/{slug}/signatories", COORDINATORS_ONLY),
    Route(
        "signatures.dashboard",
        "GET",
        "/letters/{slug}/signatories?state=declined&q=x&sort=state&page=2",
        COORDINATORS_ONLY,
    ),
    Route("signatures.dashboard_csv", "GET", "/letters/{slug}/signatories.csv", COORDINATORS_ONLY),
    Route(
        "signatures.dashboard_csv",
        "GET",
        "/letters/{slug}/signatories.csv?bom=1&state=approved_current",
        COORDINATORS_ONLY,
    ),
]


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_dashboard_permissions(client: FlaskClient, route: Route, visitor: str) -> None:
    coordinator, drafter, viewer, outsider, other = (make_user() for _ in range(5))
    world = every_state(coordinator)
    add_team_member(world.letter, role=TeamRole.DRAFTER, user=drafter)
    add_team_member(world.letter, role=TeamRole.VIEWER, user=viewer)
    make_letter(other)  # coordinates another letter: that gives nothing here
    users = {
        "outsider": outsider,
        "viewer": viewer,
        "drafter": drafter,
        "coordinator": coordinator,
        "other_coordinator": other,
    }
    transaction.commit()  # a refusal rolls back the request's session
    if visitor != "anonymous":
        login(client, users[visitor])
    path = route.path.format(slug=world.letter.slug)
    response = client.open(path, method=route.method)
    assert response.status_code == route.expected[visitor], f"{visitor} {path}"
    body = response.get_data(as_text=True)
    if visitor == "anonymous":
        assert response.location.startswith("/login")
    if response.status_code != 200:
        # nobody but a coordinator sees a representative's address
        assert "current@current.example.org" not in body
    elif route.endpoint == "signatures.dashboard_csv":
        assert response.headers["Content-Disposition"].startswith("attachment")


def test_unknown_letter_is_404(client: FlaskClient) -> None:
    user = make_user()
    transaction.commit()
    login(client, user)
    assert client.get("/letters/no-such-letter/signatories").status_code == 404
    assert client.get("/letters/no-such-letter/signatories.csv").status_code == 404
