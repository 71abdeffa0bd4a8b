"""The audit log × every visitor: coordinators only; others on the team 403, the rest 404."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.audit.operations import record_event
from signon.core.permissions import TeamRole
from signon.core.transaction import commit
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user

ROLES = ["anonymous", "outsider", "viewer", "drafter", "coordinator"]


@dataclass(frozen=True)
class Route:
    endpoint: str
    method: str
    path: str
    expected: dict[str, int]


ROUTES = [
    Route(
        "audit.letter_log",
        "GET",
        "/letters/{slug}/audit",
        dict(zip(ROLES, (302, 404, 403, 403, 200), strict=True)),
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.endpoint}")
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
        if role != "anonymous":
            login(client, users[role])
        response = client.open(route.path.format(slug=letter.slug), method=route.method)
        assert response.status_code == route.expected[role], f"{role}: {response.status_code}"
        body = response.get_data(as_text=True)
        if role == "anonymous":
            assert response.location.startswith("/login")
        if role == "coordinator":
            assert "s3cr3t-d3tail" in body
        else:
            assert "s3cr3t-d3tail" not in body


def test_every_audit_route_is_in_the_matrix(app: Flask) -> None:
    covered = {(r.endpoint, r.method) for r in ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("audit."):
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                assert (rule.endpoint, method) in covered, f"{method} {rule.rule} untested"
