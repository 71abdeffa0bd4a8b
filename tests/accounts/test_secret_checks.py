"""Every check of a secret made while logged in (the current password, a code from the
app, a recovery code) is limited: rate-limited per client address like the login, and
each wrong answer counts toward the same per-address back-off as a wrong password at
login (issue 9, item 6). And no secret of the two-step set-up ever travels in the
session cookie, which is signed but not encrypted (item 9).

The limiter is on here (``tests/conftest.py::limited``): memory storage, fresh per test.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from signon.accounts import operations, totp
from signon.accounts.models import PendingTwoStepSecret, User
from signon.audit.models import AuditEvent
from signon.core.passwords import verify_password
from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from tests.accounts.test_two_step import (
    codes_on_page,
    make_two_step_user,
    now_code,
    reload,
    secret_on_page,
    wrong_code,
)
from tests.accounts.test_views import text
from tests.conftest import AppFactory, login
from tests.factories import DEFAULT_PASSWORD, make_user

WRONG = "definitely not my password"
NEW_PASSWORD = "a brand new passphrase 77"


@pytest.fixture
def limited_app(limited: AppFactory) -> Flask:
    return limited()


def _from(n: int) -> dict[str, Any]:
    """A different client address each time, so the per-client limit stays out of the way."""
    return {"environ_base": {"REMOTE_ADDR": f"10.9.{n // 250}.{n % 250 + 1}"}}


def _change_password(client: FlaskClient, current: str, n: int = 0) -> TestResponse:
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
        **_from(n),
    )


def _failed_checks(action: str) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        )
        or 0
    )


# --- The current password on the change-password page -------------------------------------------


def test_wrong_current_passwords_count_toward_the_login_back_off(limited_app: Flask) -> None:
    with limited_app.test_request_context():
        user = make_user("changer@example.org")
        db.session.commit()
        client = login(limited_app.test_client(), user)
        for n in range(4):
            wrong = _change_password(client, WRONG, n)
            assert wrong.status_code == 200, n
            assert "This is not your current password." in text(wrong)
        fifth = _change_password(client, WRONG, 4)
        assert fifth.status_code == 429 and fifth.mimetype == "text/html"
        assert 58 <= int(fifth.headers["Retry-After"]) <= 60
        assert "too many wrong passwords or codes" in text(fifth)
        assert "please wait a minute" in text(fifth)
        # now even the right password is refused unchecked, and nothing changes
        right = _change_password(client, DEFAULT_PASSWORD, 5)
        assert right.status_code == 429
        assert verify_password(reload(user).password_hash, DEFAULT_PASSWORD)
        # ... and the login form backs off for this address too
        other = limited_app.test_client()
        login_form = other.post(
            "/login", data={"email": user.email, "password": DEFAULT_PASSWORD}, **_from(6)
        )
        assert login_form.status_code == 429
        assert operations.login_backoff_remaining(user.email) > 0
        # the wrong ones answered 200 are audited (the 429 rolled back, as at login)
        assert _failed_checks("account.password_check_failed") == 4


def test_twenty_five_wrong_current_passwords_from_one_client(limited_app: Flask) -> None:
    """The issue's reproduction: 25 wrong current passwords in a row from one address."""
    with limited_app.test_request_context():
        user = make_user("target@example.org")
        db.session.commit()
        client = login(limited_app.test_client(), user)
        statuses = [_change_password(client, WRONG).status_code for _ in range(25)]
        assert statuses[:4] == [200] * 4
        assert statuses[4:] == [429] * 21
        assert verify_password(reload(user).password_hash, DEFAULT_PASSWORD)


def test_the_change_password_page_is_limited_per_client_address(limited_app: Flask) -> None:
    """Even without a wrong password (here: the new one typed twice differently, so no
    check is made at all), one address gets AUTH_LIMIT's 10 a minute."""
    with limited_app.test_request_context():
        user = make_user()
        db.session.commit()
        client = login(limited_app.test_client(), user)
        mismatch = {
            "current_password": DEFAULT_PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD + "x",
        }
        for n in range(10):
            answer = client.post("/account/password", data=mismatch)
            assert answer.status_code == 200 and "do not match" in text(answer), n
        assert client.post("/account/password", data=mismatch).status_code == 429
        assert _change_password(client, DEFAULT_PASSWORD, 99).status_code == 302


def test_a_right_password_after_a_few_wrong_ones_still_works(limited_app: Flask) -> None:
    with limited_app.test_request_context():
        user = make_user()
        db.session.commit()
        client = login(limited_app.test_client(), user)
        for n in range(3):
            assert _change_password(client, WRONG, n).status_code == 200
        done = _change_password(client, DEFAULT_PASSWORD, 3)
        assert done.status_code == 302 and done.location == "/account"
        assert verify_password(reload(user).password_hash, NEW_PASSWORD)


# --- Two-step set-up, turning it off, new recovery codes ----------------------------------------

Post = Callable[[FlaskClient, str, str, int], TestResponse]


def _setup(client: FlaskClient, password: str, code: str, n: int) -> TestResponse:
    return client.post(
        "/account/two-step/setup",
        data={"current_password": password, "code": code},
        **_from(n),
    )


def _disable(client: FlaskClient, password: str, code: str, n: int) -> TestResponse:
    return client.post(
        "/account/two-step/disable",
        data={"disable-current_password": password, "disable-code": code},
        **_from(n),
    )


def _new_codes(client: FlaskClient, password: str, code: str, n: int) -> TestResponse:
    return client.post(
        "/account/two-step/new-codes",
        data={"newcodes-current_password": password, "newcodes-code": code},
        **_from(n),
    )


def _two_step_user_for(route: str) -> tuple[User, str]:
    """A user ready for ``route``, and the secret of their (pending or enabled) set-up."""
    if route == "setup":
        user = make_user()
        operations.start_two_step_setup(user)
        secret = db.session.scalar(select(PendingTwoStepSecret.secret))
        assert secret is not None
        return user, secret
    user, secret, _codes = make_two_step_user()
    return user, secret


@pytest.mark.parametrize(
    ("route", "post"), [("setup", _setup), ("disable", _disable), ("new-codes", _new_codes)]
)
def test_wrong_passwords_and_codes_in_two_step_settings_count_toward_the_back_off(
    limited_app: Flask, route: str, post: Post
) -> None:
    with limited_app.test_request_context():
        user, secret = _two_step_user_for(route)
        db.session.commit()
        client = login(limited_app.test_client(), user)
        was_on = user.two_step_enabled
        answers = [
            post(client, WRONG, now_code(secret), 0),
            post(client, DEFAULT_PASSWORD, wrong_code(secret), 1),
            post(client, WRONG, now_code(secret), 2),
            post(client, DEFAULT_PASSWORD, wrong_code(secret), 3),
        ]
        assert [a.status_code for a in answers] == [200] * 4
        assert "This is not your current password." in text(answers[0])
        assert "This code is not right" in text(answers[1])
        fifth = post(client, DEFAULT_PASSWORD, wrong_code(secret), 4)
        assert fifth.status_code == 429 and "Retry-After" in fifth.headers
        assert "too many wrong passwords or codes" in text(fifth)
        # the right password and code are refused unchecked while it backs off
        right = post(client, DEFAULT_PASSWORD, now_code(secret), 5)
        assert right.status_code == 429
        assert reload(user).two_step_enabled is was_on
        assert operations.login_backoff_remaining(user.email) > 0
        assert _failed_checks("account.password_check_failed") == 2
        assert _failed_checks("account.second_factor_failed") == 2


@pytest.mark.parametrize("post", [_setup, _disable, _new_codes])
def test_two_step_settings_are_limited_per_client_address(limited_app: Flask, post: Post) -> None:
    with limited_app.test_request_context():
        user = make_user()
        db.session.commit()
        client = login(limited_app.test_client(), user)
        # no set-up under way / two-step login off: each is turned away without a check
        for _ in range(10):
            assert post(client, DEFAULT_PASSWORD, "123456", 0).status_code == 302
        assert post(client, DEFAULT_PASSWORD, "123456", 0).status_code == 429
        assert post(client, DEFAULT_PASSWORD, "123456", 1).status_code == 302


# --- No secret in the cookie --------------------------------------------------------------------


def _cookie_contents(app: Flask, response: TestResponse) -> list[str]:
    """Every Set-Cookie header as sent, and the session cookie decoded (it is only signed:
    anyone who sees it can read it)."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    found = []
    for header in response.headers.getlist("Set-Cookie"):
        found.append(header)
        name, _eq, rest = header.partition("=")
        value = rest.split(";", 1)[0]
        if name == app.config["SESSION_COOKIE_NAME"] and value:
            found.append(repr(serializer.loads(value)))
    return found


def _assert_no_secret_in_cookies(app: Flask, response: TestResponse, secrets: list[str]) -> None:
    for cookie in _cookie_contents(app, response):
        for secret in secrets:
            assert secret not in cookie, "a secret travels in a cookie"
            assert secret.replace("-", "") not in cookie.replace("-", "")


def test_two_step_set_up_sends_no_secret_in_any_cookie(app: Flask, client: FlaskClient) -> None:
    user = make_user()
    commit()
    login(client, user)
    responses = [client.post("/account/two-step")]
    page = client.get("/account/two-step/setup")
    responses.append(page)
    secret = secret_on_page(page)
    # the session still has something to say at each step (a flash, the login), so the
    # cookie is sent again: it must never carry the secret
    responses.append(_setup(client, WRONG, now_code(secret), 0))
    responses.append(_setup(client, DEFAULT_PASSWORD, wrong_code(secret), 0))
    done = _setup(client, DEFAULT_PASSWORD, now_code(secret), 0)
    responses.append(done)
    codes = codes_on_page(done)
    assert len(codes) == 10 and reload(user).two_step_enabled
    responses.append(client.get("/account"))
    assert any(r.headers.getlist("Set-Cookie") for r in responses), "cookies were looked at"
    for response in responses:
        _assert_no_secret_in_cookies(client.application, response, [secret, *codes])
    # new recovery codes: shown in the answer, never in a cookie
    user.totp_last_step = totp.time_step() - 2
    commit()
    again = _new_codes(client, DEFAULT_PASSWORD, now_code(secret), 0)
    new = codes_on_page(again)
    assert len(new) == 10 and again.headers["Cache-Control"] == "no-store"
    assert done.mimetype == again.mimetype == "text/html"
    _assert_no_secret_in_cookies(client.application, again, [secret, *new])


def test_a_pending_secret_ends_with_the_session_and_after_an_hour(client: FlaskClient) -> None:
    user = make_user()
    commit()
    login(client, user)
    client.post("/account/two-step")
    first = secret_on_page(client.get("/account/two-step/setup"))
    # "log out everywhere" (or a password change) rotates the session token
    user.rotate_session_token()
    commit()
    login(client, user)
    assert client.get("/account/two-step/setup").location == "/account"
    with pytest.raises(operations.TwoStepStateError):
        operations.finish_two_step_setup(user, DEFAULT_PASSWORD, now_code(first))
    client.post("/account/two-step")
    second = secret_on_page(client.get("/account/two-step/setup"))
    assert second != first
    assert db.session.scalar(select(func.count()).select_from(PendingTwoStepSecret)) == 1
    pending = db.session.scalar(select(PendingTwoStepSecret))
    assert pending is not None
    pending.created_at = utcnow() - PendingTwoStepSecret.LIFETIME - timedelta(seconds=1)
    commit()
    assert client.get("/account/two-step/setup").location == "/account"
    assert not reload(user).two_step_enabled


# --- The password asked with a confirmation link ----------------------------------------------


def test_wrong_passwords_with_a_confirmation_link_back_off_as_every_secret_check(
    limited_app: Flask,
) -> None:
    """Someone who registered another's address cannot guess at the account's password
    through its confirmation page: each wrong one counts toward the address's back-off,
    and while it lasts even the right one confirms nothing (then the same answer as the
    other secret checks, above the field)."""
    from signon.accounts.models import TokenPurpose, UserToken

    with limited_app.test_request_context():
        user = make_user("unconfirmed@example.org", confirmed=False)
        _token, raw = UserToken.issue(user, TokenPurpose.CONFIRM_EMAIL, timedelta(hours=1))
        db.session.commit()
        client = limited_app.test_client()
        link = f"/confirm/{raw}"
        for n in range(4):
            wrong = client.post(link, data={"password": WRONG}, **_from(n))
            assert wrong.status_code == 422 and "reset the password" in text(wrong), n
        fifth = client.post(link, data={"password": WRONG}, **_from(4))
        assert fifth.status_code == 422
        assert "too many wrong passwords or codes" in text(fifth)
        right = client.post(link, data={"password": DEFAULT_PASSWORD}, **_from(5))
        assert right.status_code == 422 and "too many wrong passwords or codes" in text(right)
        assert _is_confirmed(user) is False
        assert operations.login_backoff_remaining(user.email) > 0


def _is_confirmed(user: User) -> bool:
    db.session.expire_all()
    reloaded = db.session.get(User, user.id)
    return reloaded is not None and reloaded.is_confirmed
