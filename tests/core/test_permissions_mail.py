"""The letter's "mail problems" page (signon.signatures.mail_views) × every visitor kind.

Coordinators only; outsiders get 404 (the letter does not exist for them), other team
members 403. A message of another letter is 404 even for a coordinator of this one.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from signon.core.mail import queue_mail
from signon.core.outbox import OutboxMessage
from signon.core.permissions import TeamRole
from signon.core.transaction import commit, discard_after_commit_callbacks
from signon.extensions import db
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user
from tests.faults.helpers import production_like_app
from tests.permissions import (
    MANAGE_PAGE,
    MANAGE_POST,
    ROLES,
    Route,
    assert_status,
    request_route,
    route_id,
)
from tests.smtp import MailCatcher

ROUTES = [
    Route("mail.problems", "GET", "/letters/{slug}/mail", MANAGE_PAGE),
    Route("mail.retry", "POST", "/letters/{slug}/mail/{message_id}/retry", MANAGE_POST),
]


@pytest.fixture
def mail_app(database_url: str, mail_catcher: MailCatcher) -> Flask:
    return production_like_app(database_url, mail_catcher)


def _failed_message(letter: Any, to: str) -> OutboxMessage:
    message = queue_mail(to, "Please sign", "test_message", user=letter.created_by, letter=letter)
    discard_after_commit_callbacks()
    message.attempts, message.last_error = 1, "Refused by the mail server: 550 5.1.1 no"
    db.session.flush()
    return message


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
@pytest.mark.parametrize("role", ROLES)
def test_mail_routes(
    app: Flask, mail_app: Flask, outbox: MailCatcher, route: Route, role: str
) -> None:
    with app.test_request_context():
        coordinator = make_user()
        letter = make_letter(coordinator)
        message = _failed_message(letter, "invitee@ngo.example.org")
        visitor = None
        if role == "coordinator":
            visitor = coordinator
        elif role != "anonymous":
            visitor = make_user()
            if role in ("viewer", "drafter"):
                add_team_member(letter, role=TeamRole(role), user=visitor)
        values = {"slug": letter.slug, "message_id": message.id}
        message_id = message.id
        commit()
        client = mail_app.test_client()
        if visitor is not None:
            visitor.get_id()
            login(client, visitor)
    response = request_route(client, route, values)
    assert_status(response, route, role)
    if route.method == "POST":
        with app.test_request_context():
            sent = db.session.get(OutboxMessage, message_id)
            assert sent is not None
            assert (sent.sent_at is not None) == (role == "coordinator")
        assert len(outbox.to("invitee@ngo.example.org")) == (1 if role == "coordinator" else 0)


def test_a_message_of_another_letter_is_not_found(app: Flask, mail_app: Flask) -> None:
    with app.test_request_context():
        coordinator = make_user()
        mine = make_letter(coordinator)
        other = make_letter(make_user())
        theirs = _failed_message(other, "other@ngo.example.org")
        slug, message_id = mine.slug, theirs.id
        commit()
        coordinator.get_id()  # loaded before the client's own request context
        client = login(mail_app.test_client(), coordinator)
    assert client.post(f"/letters/{slug}/mail/{message_id}/retry").status_code == 404
    assert client.post(f"/letters/{slug}/mail/999999/retry").status_code == 404
