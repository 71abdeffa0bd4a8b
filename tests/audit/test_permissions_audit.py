"""The audit log × every visitor: coordinators only; others on the team 403, the rest 404."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.audit.models import AuditCheckpoint
from signon.audit.operations import record_event
from signon.core.permissions import TeamRole
from signon.core.transaction import commit
from signon.extensions import db
from tests.factories import add_team_member, make_letter, make_user
from tests.permissions import (
    MANAGE_PAGE,
    MANAGE_POST,
    ROLES,
    Route,
    World,
    check_route,
    route_id,
    untested_rules,
)

ROUTES = [
    Route("audit.letter_log", "GET", "/letters/{slug}/audit", MANAGE_PAGE),
    Route("audit.check_letter_log_in_full", "POST", "/letters/{slug}/audit/check", MANAGE_POST),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_route_permissions(app: Flask, client: FlaskClient, route: Route, role: str) -> None:
    with app.test_request_context():
        coordinator, drafter, viewer, outsider = (make_user() for _ in range(4))
        letter = make_letter(coordinator)
        add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
        add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
        make_letter(outsider)  # coordinating another letter gives nothing here
        record_event(
            "letter.frozen", letter_id=letter.id, actor=coordinator, secret="s3cr3t-d3tail"
        )
        users = {"coordinator": coordinator, "drafter": drafter, "viewer": viewer}
        users["outsider"] = outsider
        commit()
        response = check_route(client, route, World(users, {"slug": letter.slug}), role)
        body = response.get_data(as_text=True)
        checked = db.session.get(AuditCheckpoint, f"letter:{letter.id}") is not None
        if role == "coordinator":
            assert route.method == "POST" or "s3cr3t-d3tail" in body
            assert checked  # the page or the button checked the chain
        else:
            assert "s3cr3t-d3tail" not in body
            assert not checked


def test_every_audit_route_is_in_the_matrix(app: Flask) -> None:
    assert untested_rules(app, ROUTES, prefixes=("audit.",)) == []
