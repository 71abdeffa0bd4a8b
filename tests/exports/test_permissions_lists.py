"""The signatory-list routes (page, CSV, JSON) × every visitor kind.

Only coordinators (Action.LETTER_EXPORT) may read the list; other team members get
403, people outside the team 404 (the letter does not exist for them), anonymous
visitors are sent to the login page.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.core.permissions import TeamRole
from signon.core.transaction import commit
from signon.signatures.operations import SignatoryDetails, approve
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_organisation, make_user

ROLES = ["anonymous", "outsider", "viewer", "drafter", "coordinator", "org_coordinator"]


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    path: str
    #: a text only the allowed get to see
    marker: bytes


ROUTES = [
    Route(
        "exports.signatory_list_page", "GET", "/letters/{slug}/export/signatories", b"Listed (1)"
    ),
    Route(
        "exports.signatories_csv",
        "GET",
        "/letters/{slug}/export/signatories.csv?bom=1",
        b"Secret Signatory",
    ),
    Route(
        "exports.signatories_json",
        "GET",
        "/letters/{slug}/export/signatories.json?order=country",
        b"Secret Signatory",
    ),
]

EXPECTED = {
    "anonymous": 302,
    "outsider": 404,
    "viewer": 403,
    "drafter": 403,
    "coordinator": 200,
    # a coordinator through their organisation's place on the team
    "org_coordinator": 200,
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.endpoint)
def test_signatory_list_permissions(
    app: Flask, client: FlaskClient, route: Route, role: str
) -> None:
    with app.test_request_context():
        coordinator, drafter, viewer, outsider, org_member = (make_user() for _ in range(5))
        letter = make_letter(coordinator)
        add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
        add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
        add_team_member(
            letter,
            role=TeamRole.COORDINATOR,
            organisation=make_organisation(members=(org_member,)),
        )
        make_letter(outsider)  # coordinating another letter gives nothing here
        approve(
            letter,
            letter.head(),
            SignatoryDetails(name="Secret Signatory", authority_confirmed=True),
            email="sign@secret.example",
        )
        commit()
        users = {
            "outsider": outsider,
            "viewer": viewer,
            "drafter": drafter,
            "coordinator": coordinator,
            "org_coordinator": org_member,
        }
        if role != "anonymous":
            login(client, users[role])
        response = client.open(route.path.format(slug=letter.slug), method=route.method)
        assert response.status_code == EXPECTED[role], f"{role}: {response.status_code}"
        if response.status_code == 200:
            assert route.marker in response.data
        else:
            assert b"Secret Signatory" not in response.data
        if role == "anonymous":
            assert response.location.startswith("/login")


def test_every_signatory_list_route_is_in_the_matrix(app: Flask) -> None:
    covered = {(r.endpoint, r.method) for r in ROUTES}
    mine = {"exports.signatory_list_page", "exports.signatories_csv", "exports.signatories_json"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in mine:
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                assert (rule.endpoint, method) in covered
    assert {endpoint for endpoint, _ in covered} == mine
