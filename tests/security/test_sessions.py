"""Sessions: a fresh one at login, and ended server-side at logout and password change.

Flask keeps the session in a signed cookie, so "ending" it means the server stops
accepting it: the cookie names the user's ``session_token``, and logout, a password
change or a reset rotate that token. An attacker who copied the cookie is then out.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from signon.accounts.models import TokenPurpose, User, UserToken
from signon.extensions import db
from tests.conftest import RequestIsolatingClient
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.usefixtures("app_context")

NEW_PASSWORD = "an entirely different passphrase"


def _client(app: Flask) -> FlaskClient:
    app.test_client_class = RequestIsolatingClient
    return app.test_client()


def _log_in(client: FlaskClient, user: User, password: str = DEFAULT_PASSWORD) -> TestResponse:
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def _session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _stolen_copy(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser carrying a copy of ``client``'s session cookie."""
    thief = _client(app)
    thief.set_cookie("session", _session_cookie(client))
    return thief


def _logged_in(client: FlaskClient) -> bool:
    response = client.get("/account")
    if response.status_code == 302:
        assert "/login" in response.location
        return False
    assert response.status_code == 200
    return True


def test_login_starts_a_new_session_whatever_was_planted_before(app: Flask) -> None:
    user = make_user()
    client = _client(app)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["_user_id"] = "999999:forged"
    before = _session_cookie(client)
    assert not _logged_in(client), "a forged user id with a wrong token is refused"
    _log_in(client, user)
    after = _session_cookie(client)
    assert after != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == user.get_id()
    # the cookie from before login does not carry the login
    old = _client(app)
    old.set_cookie("session", before)
    assert not _logged_in(old)
    assert _logged_in(client)


def test_a_copied_session_cookie_stops_working_at_logout(app: Flask) -> None:
    user = make_user()
    client = _client(app)
    _log_in(client, user)
    thief = _stolen_copy(app, client)
    assert _logged_in(thief), "the copy works while the session lasts"
    token_before = user.session_token
    response = client.post("/logout")
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.session_token != token_before
    assert not _logged_in(client)
    assert not _logged_in(thief)


def test_logging_out_on_one_device_logs_out_every_device(app: Flask) -> None:
    user = make_user()
    laptop, phone = _client(app), _client(app)
    _log_in(laptop, user)
    _log_in(phone, user)
    assert _logged_in(laptop) and _logged_in(phone)
    laptop.post("/logout")
    assert not _logged_in(phone)
    _log_in(phone, user)
    assert _logged_in(phone), "logging in again works as usual"


def test_a_copied_session_cookie_stops_working_at_password_change(app: Flask) -> None:
    user = make_user()
    client = _client(app)
    _log_in(client, user)
    thief = _stolen_copy(app, client)
    assert _logged_in(thief)
    response = client.post(
        "/account/password",
        data={
            "current_password": DEFAULT_PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _logged_in(client), "the person who changed it stays logged in"
    assert not _logged_in(thief)
    # the thief cannot come back with the old password either
    refused = thief.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert refused.status_code == 200 and not _logged_in(thief)


def test_a_copied_session_cookie_stops_working_at_password_reset(app: Flask) -> None:
    user = make_user()
    client = _client(app)
    _log_in(client, user)
    thief = _stolen_copy(app, client)
    assert _logged_in(thief)
    _token, raw = UserToken.issue(user, TokenPurpose.RESET_PASSWORD, timedelta(hours=1))
    db.session.flush()
    stranger = _client(app)
    response = stranger.post(
        f"/reset-password/{raw}", data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _logged_in(stranger)
    assert not _logged_in(client)
    assert not _logged_in(thief)


def test_login_sets_no_remember_me_cookie(app: Flask) -> None:
    client = _client(app)
    response = _log_in(client, make_user())
    assert client.get_cookie("remember_token") is None
    assert all(
        not header.startswith("remember_token=")
        for header in response.headers.getlist("Set-Cookie")
    )
