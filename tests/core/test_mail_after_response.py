"""Mail leaves only after the response has been sent (``mail_after_response``).

Sending in the request, right after the commit, made ``POST /forgot-password`` slower
for an address with an account than for one without: its timing told who has an
account. Now a request's mail is handed to ``response.close()``, which the WSGI server
(gunicorn, Werkzeug) calls once it has written the whole response. Werkzeug's test
client calls it only when the test closes the response, which is what these tests do
(the rest of the suite keeps the setting off and sees mail at once).
"""

from __future__ import annotations

import asyncio
import http.client
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.serving import make_server

from signon import create_app
from signon.config import Settings
from signon.core.commands import send_mail_command
from signon.core.mail import queue_mail
from signon.core.outbox import OutboxMessage
from signon.core.transaction import (
    after_response,
    commit,
    hand_over_after_response_callbacks,
)
from signon.db import utcnow
from signon.extensions import db
from tests.conftest import make_settings
from tests.factories import make_user
from tests.faults.helpers import flaky_mail_server, free_port, mail_port
from tests.smtp import MailCatcher


@pytest.fixture
def after_response_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    settings: Settings = app.config["SIGNON"]
    monkeypatch.setitem(app.config, "SIGNON", settings.with_(mail_after_response=True))
    yield


def _rows() -> list[OutboxMessage]:
    """The outbox as it is now, read in a unit of work that is over when this returns
    (the test's session would otherwise hold a savepoint that the sending, on the same
    test connection, writes into and that closing the session then rolls back)."""
    db.session.expire_all()
    rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    db.session.expunge_all()
    db.session.commit()
    return rows


def test_the_setting_is_on_by_default_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings(secret_key="x").mail_after_response is True
    monkeypatch.setenv("SIGNON_SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("SIGNON_MAIL_AFTER_RESPONSE", "0")
    assert Settings.from_env().mail_after_response is False
    monkeypatch.setenv("SIGNON_MAIL_AFTER_RESPONSE", "1")
    assert Settings.from_env().mail_after_response is True


@pytest.mark.usefixtures("after_response_on")
def test_no_mail_leaves_before_the_response_is_closed(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    make_user("me@example.org")
    response = client.post("/forgot-password", data={"email": "me@example.org"})
    assert response.status_code == 302
    # committed with the change, not sent yet: the response is all the client waited for
    [row] = _rows()
    assert row.recipient == "me@example.org" and row.sent_at is None and row.attempts == 0
    assert len(outbox) == 0

    response.close()  # what the WSGI server does once the body is written
    [message] = outbox.to("me@example.org")
    assert "password" in message["Subject"].lower()
    [row] = _rows()
    assert row.sent_at is not None and row.attempts == 1


@pytest.mark.usefixtures("after_response_on")
def test_known_and_unknown_addresses_get_the_same_response_and_no_mail_in_it(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    make_user("me@example.org")
    known = client.post("/forgot-password", data={"email": "me@example.org"})
    unknown = client.post("/forgot-password", data={"email": "nobody@example.org"})
    assert (known.status_code, known.location) == (unknown.status_code, unknown.location)
    assert len(outbox) == 0
    unknown.close()
    assert len(outbox) == 0
    known.close()
    assert [m["To"] for m in outbox.messages] == ["me@example.org"]


@pytest.mark.usefixtures("after_response_on")
def test_registering_an_existing_address_mails_its_owner_after_the_response(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    make_user("taken@example.org")
    response = client.post(
        "/register",
        data={
            "email": "taken@example.org",
            "display_name": "Someone",
            "password": "a long enough passphrase 42",
            "password_confirm": "a long enough passphrase 42",
            "timezone": "UTC",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert len(outbox) == 0
    response.close()
    assert [m["To"] for m in outbox.messages] == ["taken@example.org"]


@pytest.mark.usefixtures("after_response_on")
def test_a_refusal_after_the_response_is_recorded_and_sent_by_send_mail(
    app: Flask, client: FlaskClient, outbox: MailCatcher
) -> None:
    make_user("me@example.org")
    with flaky_mail_server(app) as server:
        response = client.post("/forgot-password", data={"email": "me@example.org"})
        assert response.status_code == 302
        response.close()  # the refusal is nobody's error page: it is recorded
        [row] = _rows()
        assert row.sent_at is None and row.attempts == 1
        assert row.last_error is not None and "550" in row.last_error
        assert server.accepted == []

        server.refusing = False
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(1)))
        result = app.test_cli_runner().invoke(send_mail_command)
        assert result.exit_code == 0, result.output
        assert "1 sent, 0 failed" in result.output
        assert server.accepted == ["me@example.org"]
    [row] = _rows()
    assert row.sent_at is not None and row.attempts == 2
    assert len(outbox) == 0


@pytest.mark.usefixtures("after_response_on")
def test_an_unreachable_server_or_a_response_never_closed_loses_nothing(
    app: Flask, client: FlaskClient, outbox: MailCatcher
) -> None:
    make_user("me@example.org")
    make_user("you@example.org")
    with mail_port(app, free_port()):
        unreachable = client.post("/forgot-password", data={"email": "me@example.org"})
        unreachable.close()
    # a worker that died after sending the response never closes it
    client.post("/forgot-password", data={"email": "you@example.org"})
    first, second = _rows()
    assert first.attempts == 1 and "Could not reach" in (first.last_error or "")
    assert second.attempts == 0 and second.sent_at is None
    assert len(outbox) == 0

    db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow() - timedelta(1)))
    result = app.test_cli_runner().invoke(send_mail_command)
    assert "2 sent, 0 failed" in result.output
    assert sorted(m["To"] for m in outbox.messages) == ["me@example.org", "you@example.org"]


@pytest.mark.usefixtures("after_response_on")
def test_outside_a_request_mail_is_sent_at_the_commit(app: Flask, outbox: MailCatcher) -> None:
    """The CLI (reminders, send-mail) has no response to wait for."""
    with app.app_context():
        user = make_user()
        queue_mail("cli@example.org", "From the command line", "test_message", user=user)
        commit()
        assert [m["To"] for m in outbox.messages] == ["cli@example.org"]


def test_a_failing_after_response_callback_is_logged_not_raised(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def boom() -> None:
        raise RuntimeError("boom")

    with app.test_request_context():
        response = app.response_class("ok")
        after_response(boom)
        after_response(lambda: ran.append("second"))
        hand_over_after_response_callbacks(response)
        assert ran == []
    response.close()
    assert ran == ["second"]
    assert "after-response callback failed" in caplog.text


class _HeldMailServer:
    """A real SMTP server that keeps every message waiting at DATA until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.arrived = threading.Event()
        self.received: list[str] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.release.wait, 30)
        self.received.extend(envelope.rcpt_tos)
        self.arrived.set()
        return "250 Message accepted for delivery"


@pytest.mark.real_commits
def test_a_real_wsgi_server_answers_before_the_mail_is_sent(
    app: Flask, database_url: str, mail_catcher: MailCatcher
) -> None:
    """Werkzeug's server, a real socket: the answer arrives while the mail server still
    holds the message, and the mail goes once it lets go."""
    held = _HeldMailServer()
    held.controller.start()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    live = create_app(
        make_settings(
            database_url,
            mail_catcher,
            mail_port=held.port,
            base_url=f"http://127.0.0.1:{server.server_port}",
            mail_after_response=True,
        )
    )
    server.app = live
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with live.app_context():
            make_user("me@example.org")
            commit()
            db.session.remove()
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.request(
            "POST",
            "/forgot-password",
            body=urlencode({"email": "me@example.org"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        response.read()
        assert response.status == 302
        # the answer is here, and the message is still held at the mail server
        assert held.received == [] and not held.arrived.is_set()
        held.release.set()
        assert held.arrived.wait(10)
        assert held.received == ["me@example.org"]
        connection.close()
        with live.app_context():
            for _ in range(100):  # the outcome is recorded right after the server's 250
                sent_at = db.session.scalar(select(OutboxMessage.sent_at))
                db.session.rollback()
                if sent_at is not None:
                    break
                time.sleep(0.05)
            assert sent_at is not None
            db.session.remove()
    finally:
        held.release.set()
        server.shutdown()
        thread.join(10)
        server.server_close()
        held.controller.stop()
        with live.app_context():
            db.engine.dispose()
