"""The foundation: login required by default, headers, the transaction boundary, mail."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from signon.accounts.models import User
from signon.core.mail import queue_mail
from signon.core.transaction import commit
from signon.extensions import db
from tests.conftest import login
from tests.factories import make_user
from tests.smtp import MailCatcher


def test_home_is_public_and_carries_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_private_pages_redirect_to_login(client: FlaskClient) -> None:
    response = client.get("/letters/")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


def test_preview_renders_safe_markdown(client: FlaskClient, app_context: None) -> None:
    login(client, make_user())
    response = client.post("/preview", data={"body": "**bold** <script>alert(1)</script>"})
    assert response.status_code == 200
    html = response.get_json()["html"]
    assert "<strong>bold</strong>" in html
    assert "<script>" not in html


def test_preview_refuses_text_over_the_limit(
    client: FlaskClient, app: Flask, app_context: None
) -> None:
    login(client, make_user())
    too_long = "x" * (app.config["SIGNON"].max_body_chars + 1)
    response = client.post("/preview", data={"body": too_long})
    assert response.status_code == 400
    assert "limit" in str(response.get_json()["errors"])


def test_mail_is_sent_over_real_smtp_only_after_commit(app: Flask, outbox: MailCatcher) -> None:
    with app.test_request_context():
        user = make_user(email="someone@example.org")
        queue_mail(user.email, "Hello", "test_message", user=user)
        assert len(outbox) == 0, "nothing may be sent before the commit"
        commit()
    assert len(outbox) == 1
    message = outbox.messages[0]
    assert message["Subject"] == "Hello"
    assert "Hello User" in MailCatcher.text_of(message)
    assert "<p>Hello User" in MailCatcher.html_of(message)


def test_mail_is_not_sent_when_commit_fails(app: Flask, outbox: MailCatcher) -> None:
    with app.test_request_context():
        first = make_user(email="dup@example.org")
        db.session.expunge(first)  # leave a row behind that the duplicate will hit
        queue_mail("dup@example.org", "Should not go", "test_message", user=first)
        db.session.add(User(email="dup@example.org", display_name="x", password_hash="x"))
        with pytest.raises(IntegrityError):
            commit()
    assert len(outbox) == 0


def test_mail_queued_in_a_savepoint_rolled_back_is_not_sent(
    app: Flask, outbox: MailCatcher, caplog: pytest.LogCaptureFixture
) -> None:
    """queue_mail leaves its row to the next flush: one queued in a savepoint that was
    rolled back (the request going on) was never stored and is not sent, without an
    error; the one queued after it is."""
    with app.test_request_context():
        user = make_user(email="kept@example.org")
        with pytest.raises(RuntimeError), db.session.begin_nested():
            queue_mail("gone@example.org", "Rolled back", "test_message", user=user)
            raise RuntimeError("the savepoint's work fails")
        queue_mail(user.email, "Kept", "test_message", user=user)
        with caplog.at_level(logging.WARNING):
            commit()
    assert [m["To"] for m in outbox.messages] == ["kept@example.org"]
    assert "callback failed" not in caplog.text


def test_each_test_starts_with_an_empty_database(app: Flask) -> None:
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
