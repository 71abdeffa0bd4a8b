"""Every suggestions route × every role.

Every team member may suggest (a viewer too: nothing becomes text until a drafter or
coordinator accepts it); deciding is editing. Outsiders get 404: the letter does not
exist for them.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.core.permissions import TeamRole
from signon.drafting.suggestions import operations
from signon.extensions import db
from tests.factories import add_team_member, make_letter, make_user
from tests.permissions import (
    READ,
    ROLES,
    Route,
    World,
    check_route,
    expect,
    route_id,
    untested_rules,
)

#: the team suggests
SUGGEST_POST = expect(302, 404, 302, 302, 302)
#: drafters and coordinators decide
DECIDE = expect(302, 404, 403, 302, 302)
#: the author (the viewer, in this world) withdraws; nobody else
WITHDRAW = expect(302, 404, 302, 403, 403)

ROUTES = [
    Route(
        "drafting.suggest",
        "POST",
        "/letters/{slug}/suggest",
        SUGGEST_POST,
        {"body": "One, two.\n\nThree.\n", "base_revision": "{head_id}"},
    ),
    Route("drafting.suggestions", "GET", "/letters/{slug}/suggestions", READ),
    Route(
        "drafting.accept_suggestion",
        "POST",
        "/letters/{slug}/suggestions/{suggestion_id}/accept",
        DECIDE,
    ),
    Route(
        "drafting.reject_suggestion",
        "POST",
        "/letters/{slug}/suggestions/{suggestion_id}/reject",
        DECIDE,
    ),
    Route(
        "drafting.withdraw_suggestion",
        "POST",
        "/letters/{slug}/suggestions/{suggestion_id}/withdraw",
        WITHDRAW,
    ),
    Route(
        "drafting.accept_all_suggestions", "POST", "/letters/{slug}/suggestions/accept-all", DECIDE
    ),
    Route(
        "drafting.reject_all_suggestions", "POST", "/letters/{slug}/suggestions/reject-all", DECIDE
    ),
]


def build_world() -> World:
    coordinator, drafter, viewer, outsider = (make_user() for _ in range(4))
    letter = make_letter(coordinator, body="One.\n\nTwo.\n")
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    make_letter(outsider)  # the outsider coordinates another letter: nothing here
    (suggestion,) = operations.suggest_changes(
        letter, viewer, base=letter.head(), body="One!\n\nTwo.\n"
    )
    db.session.flush()
    return World(
        {"coordinator": coordinator, "drafter": drafter, "viewer": viewer, "outsider": outsider},
        {"slug": letter.slug, "head_id": letter.head().id, "suggestion_id": suggestion.id},
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_route_permissions(app: Flask, client: FlaskClient, route: Route, role: str) -> None:
    with app.test_request_context():
        check_route(client, route, build_world(), role)


def test_every_suggestions_route_is_in_the_matrix(app: Flask) -> None:
    endpoints = {route.endpoint for route in ROUTES} | {
        rule.endpoint for rule in app.url_map.iter_rules() if "suggest" in rule.rule
    }
    assert untested_rules(app, ROUTES, endpoints=endpoints) == []
