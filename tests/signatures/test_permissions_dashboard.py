"""The dashboard and its CSV × every visitor: coordinators only (they show e-mail addresses).

Anonymous visitors are sent to log in; people who cannot see the letter (outsiders,
coordinators of another letter) get 404; viewers and drafters 403.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from signon.core import transaction
from signon.core.permissions import TeamRole
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user
from tests.permissions import (
    MANAGE_PAGE,
    MANAGE_POST,
    VISITORS,
    Route,
    World,
    check_route,
    path_id,
    with_other_coordinator,
)
from tests.signatures.dashboard_data import every_state

pytestmark = pytest.mark.usefixtures("app_context")

COORDINATORS_ONLY = with_other_coordinator(MANAGE_PAGE)
COORDINATORS_POST = with_other_coordinator(MANAGE_POST)

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
    Route(
        "signatures.acknowledge_withdrawal",
        "POST",
        "/letters/{slug}/signatories/{signature_id}/acknowledge-withdrawal",
        COORDINATORS_POST,
    ),
]


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize("route", ROUTES, ids=path_id)
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
    ids = {"slug": world.letter.slug, "signature_id": world.signatures["withdrawn"].id}
    response = check_route(client, route, World(users, ids), visitor)
    if response.status_code != 200:
        # nobody but a coordinator sees a representative's address
        assert "current@current.example.org" not in response.get_data(as_text=True)
    elif route.endpoint == "signatures.dashboard_csv":
        assert response.headers["Content-Disposition"].startswith("attachment")


def test_unknown_letter_is_404(client: FlaskClient) -> None:
    user = make_user()
    transaction.commit()
    login(client, user)
    assert client.get("/letters/no-such-letter/signatories").status_code == 404
    assert client.get("/letters/no-such-letter/signatories.csv").status_code == 404
