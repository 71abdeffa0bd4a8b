"""Refused authorizations are logged (ASVS 16.3.2): who, what, on which object, which answer.

They go to the ``signon.security`` logger (an operator's log), not to the audit chain: an
outsider probing ids must not be able to grow a letter's chain.
"""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.core.permissions import Action, TeamRole, log_refusal
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_organisation, make_user

pytestmark = pytest.mark.usefixtures("app_context")


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "signon.security" and record.levelno == logging.WARNING
    ]


def test_a_hidden_letter_refused_to_an_outsider_is_logged_as_404(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    letter = make_letter(make_user())
    outsider = make_user()
    login(client, outsider)
    with caplog.at_level(logging.WARNING, logger="signon.security"):
        assert client.get(f"/letters/{letter.slug}/settings").status_code == 404
    (line,) = refusals(caplog)
    assert f"user={outsider.id} " in line
    assert "action=letter:manage " in line
    assert f"<Letter {letter.id} {letter.slug}>" in line
    assert "answer=404" in line
    assert f"request='GET /letters/{letter.slug}/settings'" in line


def test_a_team_member_without_the_right_is_logged_as_403(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    letter = make_letter(make_user())
    viewer = make_user()
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    login(client, viewer)
    with caplog.at_level(logging.WARNING, logger="signon.security"):
        response = client.post(f"/letters/{letter.slug}/settings", data={"language": "en"})
    assert response.status_code == 403
    (line,) = refusals(caplog)
    assert f"user={viewer.id} " in line and "action=letter:manage " in line
    assert "answer=403" in line and "request='POST " in line


def test_allowed_requests_log_no_refusal(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    login(client, coordinator)
    with caplog.at_level(logging.WARNING, logger="signon.security"):
        assert client.get(f"/letters/{letter.slug}/settings").status_code == 200
    assert refusals(caplog) == []


def test_names_and_paths_cannot_forge_log_lines(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """A newline in an organisation's name or in the path stays escaped inside one line."""
    organisation = make_organisation("Evil NGO\nauthorization granted: user=1")
    with (
        app.test_request_context("/organisations/1%0Aauthorization%20granted"),
        caplog.at_level(logging.WARNING, logger="signon.security"),
    ):
        log_refusal(organisation, make_user(), Action.ORGANISATION_MANAGE, 403)
    (line,) = refusals(caplog)
    assert "\n" not in line
    assert "Evil NGO\\nauthorization granted" in line
    assert "/organisations/1\\nauthorization granted" in line
