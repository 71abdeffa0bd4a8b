"""The signatory-list routes (page, CSV, JSON) × every visitor kind.

Only coordinators (Action.LETTER_EXPORT) may read the list; other team members get
403, people outside the team 404 (the letter does not exist for them), anonymous
visitors are sent to the login page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.core.permissions import TeamRole
from signon.core.transaction import commit
from signon.signatures.approvals.operations import SignatoryDetails, approve
from tests.factories import add_team_member, make_letter, make_organisation, make_user
from tests.permissions import MANAGE_PAGE, ROLES, World, check_route, untested_rules
from tests.permissions import Route as MatrixRoute

#: ``ROLES`` and a coordinator through their organisation's place on the team
VISITORS = [*ROLES, "org_coordinator"]
EXPECTED = {**MANAGE_PAGE, "org_coordinator": 200}


@dataclass(frozen=True)
class Route(MatrixRoute):
    #: a text only the allowed get to see
    marker: bytes = field(kw_only=True)


ROUTES = [
    Route(
        "exports.signatory_list_page",
        "GET",
        "/letters/{slug}/export/signatories",
        EXPECTED,
        marker=b"Listed (1)",
    ),
    Route(
        "exports.signatories_csv",
        "GET",
        "/letters/{slug}/export/signatories.csv?bom=1",
        EXPECTED,
        marker=b"Secret Signatory",
    ),
    Route(
        "exports.signatories_json",
        "GET",
        "/letters/{slug}/export/signatories.json?order=country",
        EXPECTED,
        marker=b"Secret Signatory",
    ),
]


@pytest.mark.parametrize("role", VISITORS)
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
        response = check_route(client, route, World(users, {"slug": letter.slug}), role)
        if response.status_code == 200:
            assert route.marker in response.data
        else:
            assert b"Secret Signatory" not in response.data


def test_every_signatory_list_route_is_in_the_matrix(app: Flask) -> None:
    mine = {"exports.signatory_list_page", "exports.signatories_csv", "exports.signatories_json"}
    assert untested_rules(app, ROUTES, endpoints=mine) == []
    assert {route.endpoint for route in ROUTES} == mine
