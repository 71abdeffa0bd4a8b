"""Two-step login with an authenticator app (TOTP) and recovery codes: the operations, the
set-up pages, the second step of logging in, turning it off and new recovery codes.

No mocks: codes are computed from the secret with the same RFC 6238 arithmetic the app
uses (``totp.code_at``), and time is real. A user's ``totp_last_step`` is set a minute
back where a test needs the code of "now" to be a fresh one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from signon.accounts import operations, totp
from signon.accounts.models import PendingTwoStepSecret, RecoveryCode, TokenPurpose, User, UserToken
from signon.accounts.views import PENDING_LOGIN
from signon.audit.models import AuditEvent
from signon.core.transaction import commit
from signon.extensions import db
from tests.accounts.test_views import html, is_logged_in, log_in, text
from tests.conftest import AppFactory, login
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")


def make_two_step_user(**fields: Any) -> tuple[User, str, list[str]]:
    """A user with two-step login on, set up (as it were) a minute ago."""
    user = make_user(**fields)
    secret = totp.new_secret()
    codes = operations.enable_two_step(user, secret, totp.code_at(secret, totp.time_step()))
    user.totp_last_step = totp.time_step() - 2
    db.session.flush()
    return user, secret, codes


def now_code(secret: str) -> str:
    return totp.code_at(secret, totp.time_step())


def wrong_code(secret: str) -> str:
    """Six digits that are not the code of any step in the window."""
    window = {totp.code_at(secret, totp.time_step() + d) for d in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in window)


def events(action: str, user: User | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    if user is not None:
        query = query.where(AuditEvent.actor_id == user.id)
    return list(db.session.scalars(query))


def reload(user: User) -> User:
    db.session.expire_all()
    found = db.session.get(User, user.id)
    assert found is not None
    return found


def send_code(client: FlaskClient, code: str, next_url: str | None = None) -> TestResponse:
    query = {"next": next_url} if next_url is not None else {}
    return client.post("/login/code", query_string=query, data={"code": code})


def send_recovery_code(client: FlaskClient, code: str) -> TestResponse:
    return client.post("/login/code", data={"recovery_code": code})


def secret_on_page(response: TestResponse) -> str:
    found = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html(response))
    assert found, html(response)
    return found.group(1).replace(" ", "")


def codes_on_page(response: TestResponse) -> list[str]:
    return re.findall(r"<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>", html(response))


# --- The arithmetic ----------------------------------------------------------------------------


def test_codes_match_what_an_authenticator_app_computes() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32 and re.fullmatch(r"[A-Z2-7]+", secret)
    app_side = pyotp.TOTP(secret)  # an app's defaults: SHA-1, 6 digits, 30 seconds
    step = totp.time_step()
    assert totp.code_at(secret, step) == app_side.at(step * 30 + 29)
    uri = totp.provisioning_uri(secret, "ada@example.org")
    assert uri.startswith("otpauth://totp/Signon:ada%40example.org?")
    assert f"secret={secret}" in uri and "issuer=Signon" in uri
    parsed = pyotp.parse_uri(uri)
    assert parsed.secret == secret and parsed.issuer == "Signon"
    assert totp.qr_code_data_uri(uri).startswith("data:image/svg+xml;")
    assert totp.grouped("ABCDEFGHIJKL") == "ABCD EFGH IJKL"


def test_a_code_is_accepted_one_step_either_side_and_no_further() -> None:
    secret = totp.new_secret()
    now = totp.time_step()
    t = now * totp.INTERVAL + 1
    for delta in (-1, 0, 1):
        assert totp.matching_step(secret, totp.code_at(secret, now + delta), t) == now + delta
    for delta in (-2, 2):
        code = totp.code_at(secret, now + delta)
        if code not in {totp.code_at(secret, now + d) for d in (-1, 0, 1)}:
            assert totp.matching_step(secret, code, t) is None
    spaced = totp.code_at(secret, now)
    assert totp.matching_step(secret, f" {spaced[:3]} {spaced[3:]} ", t) == now
    assert totp.matching_step(secret, "12345", t) is None
    assert totp.matching_step(secret, "abcdef", t) is None


def test_recovery_codes_are_random_and_forgiving_in_how_they_are_typed() -> None:
    codes = {totp.new_recovery_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(re.fullmatch(r"[a-z2-7]{5}-[a-z2-7]{5}", c) for c in codes)
    code = next(iter(codes))
    assert totp.hash_recovery_code(code) == totp.hash_recovery_code(code.upper().replace("-", " "))
    assert totp.looks_like_recovery_code(code) and not totp.looks_like_totp_code(code)


# --- Operations --------------------------------------------------------------------------------


def test_enable_with_a_wrong_code_stores_nothing() -> None:
    user = make_user()
    secret = totp.new_secret()
    with pytest.raises(operations.InvalidCodeError):
        operations.enable_two_step(user, secret, wrong_code(secret))
    user = reload(user)
    assert user.totp_secret is None and not user.two_step_enabled
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    assert events("account.two_step_enabled") == []


def test_enable_stores_the_secret_and_ten_hashed_recovery_codes() -> None:
    user = make_user()
    secret = totp.new_secret()
    codes = operations.enable_two_step(user, secret, now_code(secret))
    user = reload(user)
    assert user.two_step_enabled and user.totp_secret == secret
    assert user.totp_last_step is not None and user.totp_enabled_at is not None
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = set(db.session.scalars(select(RecoveryCode.code_hash)))
    assert stored == {totp.hash_recovery_code(c) for c in codes}
    assert not stored & set(codes)
    assert len(events("account.two_step_enabled", user)) == 1
    with pytest.raises(operations.TwoStepStateError):
        operations.enable_two_step(user, secret, now_code(secret))


def test_the_password_alone_does_not_log_in_and_the_code_does() -> None:
    user, secret, _codes = make_two_step_user()
    result = operations.attempt_login(user.email, DEFAULT_PASSWORD)
    assert result.status is operations.LoginStatus.SECOND_FACTOR_NEEDED
    assert events("account.login", user) == [] and user.last_login_at is None
    bad = operations.complete_login(user, wrong_code(secret))
    assert bad.status is operations.LoginStatus.BAD_CODE
    assert [e.details for e in events("account.second_factor_failed", user)] == [
        {"during": "login"}
    ]
    good = operations.complete_login(user, now_code(secret))
    assert good.status is operations.LoginStatus.OK and good.second_factor == "totp"
    assert [e.details for e in events("account.login", user)] == [{"second_factor": "totp"}]
    assert user.last_login_at is not None


def test_a_code_is_accepted_once_and_older_ones_never() -> None:
    user, secret, _codes = make_two_step_user()
    step = totp.time_step()
    assert operations.complete_login(user, totp.code_at(secret, step)).status.name == "OK"
    assert user.totp_last_step is not None and user.totp_last_step >= step
    again = operations.complete_login(user, totp.code_at(secret, step))
    older = operations.complete_login(user, totp.code_at(secret, step - 1))
    assert again.status is older.status is operations.LoginStatus.BAD_CODE


def test_a_recovery_code_works_once() -> None:
    user, _secret, codes = make_two_step_user()
    result = operations.complete_login(user, codes[3].upper())
    assert result.status is operations.LoginStatus.OK
    assert result.second_factor == "recovery_code"
    assert operations.complete_login(user, codes[3]).status is operations.LoginStatus.BAD_CODE
    assert operations.complete_login(user, codes[4]).status is operations.LoginStatus.OK
    used = db.session.scalars(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None)))
    assert len(list(used)) == 2


def test_another_users_recovery_code_does_not_work() -> None:
    user, _secret, _codes = make_two_step_user()
    _other, _other_secret, other_codes = make_two_step_user()
    assert operations.complete_login(user, other_codes[0]).status is operations.LoginStatus.BAD_CODE


def test_disable_needs_a_right_code_and_removes_everything() -> None:
    user, secret, codes = make_two_step_user()
    with pytest.raises(operations.InvalidCodeError):
        operations.disable_two_step(user, DEFAULT_PASSWORD, wrong_code(secret))
    assert reload(user).two_step_enabled
    with pytest.raises(operations.WrongPasswordError):
        operations.disable_two_step(user, "not my password", codes[0])
    assert reload(user).two_step_enabled
    operations.disable_two_step(user, DEFAULT_PASSWORD, codes[0])
    user = reload(user)
    assert not user.two_step_enabled and user.totp_secret is None and user.totp_last_step is None
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    assert [e.details for e in events("account.two_step_disabled", user)] == [
        {"second_factor": "recovery_code"}
    ]
    result = operations.attempt_login(user.email, DEFAULT_PASSWORD)
    assert result.status is operations.LoginStatus.OK
    with pytest.raises(operations.TwoStepStateError):
        operations.disable_two_step(user, DEFAULT_PASSWORD, now_code(secret))


def test_new_recovery_codes_replace_the_old_ones() -> None:
    user, secret, old = make_two_step_user()
    with pytest.raises(operations.InvalidCodeError):
        operations.regenerate_recovery_codes(user, DEFAULT_PASSWORD, old[0] + "x")
    new = operations.regenerate_recovery_codes(user, DEFAULT_PASSWORD, now_code(secret))
    assert len(new) == 10 and not set(new) & set(old)
    assert operations.complete_login(user, old[1]).status is operations.LoginStatus.BAD_CODE
    assert operations.complete_login(user, new[1]).status is operations.LoginStatus.OK
    assert len(events("account.recovery_codes_regenerated", user)) == 1


# --- Setting it up in the settings -------------------------------------------------------------


def test_settings_offer_set_up_and_say_a_reset_keeps_it(client: FlaskClient) -> None:
    login(client, make_user())
    page = client.get("/account")
    assert "Two-step login" in text(page)
    assert 'action="/account/two-step"' in html(page)
    assert "a password reset does not turn it off" in text(page)


def test_set_up_with_wrong_password_or_code_keeps_the_same_secret(client: FlaskClient) -> None:
    user = make_user()
    login(client, user)
    start = client.post("/account/two-step")
    assert start.status_code == 302 and start.location == "/account/two-step/setup"
    page = client.get("/account/two-step/setup")
    assert page.status_code == 200
    secret = secret_on_page(page)
    assert 'src="data:image/svg+xml;' in html(page)
    assert 'autocomplete="one-time-code"' in html(page) and 'inputmode="numeric"' in html(page)
    # the secret waits server-side, for this user, not yet as their secret
    assert reload(user).totp_secret is None
    assert db.session.scalars(select(PendingTwoStepSecret.secret)).all() == [secret]

    wrong_password = client.post(
        "/account/two-step/setup",
        data={"current_password": "not my password", "code": now_code(secret)},
    )
    assert wrong_password.status_code == 200
    assert "This is not your current password." in text(wrong_password)
    assert secret_on_page(wrong_password) == secret

    wrong = client.post(
        "/account/two-step/setup",
        data={"current_password": DEFAULT_PASSWORD, "code": wrong_code(secret)},
    )
    assert wrong.status_code == 200
    assert "This code is not right" in text(wrong)
    assert secret_on_page(wrong) == secret
    not_digits = client.post(
        "/account/two-step/setup", data={"current_password": DEFAULT_PASSWORD, "code": "12ab"}
    )
    assert "The code from the app has 6 digits." in text(not_digits)
    # pressing "Set up" again keeps the secret the app may have already
    client.post("/account/two-step")
    assert secret_on_page(client.get("/account/two-step/setup")) == secret
    assert reload(user).totp_secret is None


def test_set_up_turns_it_on_and_shows_the_recovery_codes_once(client: FlaskClient) -> None:
    user = make_user()
    login(client, user)
    client.post("/account/two-step")
    secret = secret_on_page(client.get("/account/two-step/setup"))
    done = client.post(
        "/account/two-step/setup",
        data={"current_password": DEFAULT_PASSWORD, "code": now_code(secret)},
    )
    # shown in the answer to the POST itself, which no cache keeps
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    assert "Two-step login is on." in text(done)
    assert "this is the only time they are shown" in text(done)
    codes = codes_on_page(done)
    assert len(codes) == 10
    assert set(db.session.scalars(select(RecoveryCode.code_hash))) == {
        totp.hash_recovery_code(c) for c in codes
    }
    assert reload(user).totp_secret == secret
    assert db.session.scalar(select(func.count()).select_from(PendingTwoStepSecret)) == 0
    # sending the form again shows nothing new
    again = client.post(
        "/account/two-step/setup",
        data={"current_password": DEFAULT_PASSWORD, "code": now_code(secret)},
    )
    assert again.status_code == 302 and again.location == "/account"
    settings = client.get("/account")
    assert "since" in text(settings) and "10 unused recovery codes" in text(settings)
    # set up twice: already on
    assert client.post("/account/two-step").location == "/account"


def test_the_set_up_page_needs_a_pending_secret(client: FlaskClient) -> None:
    login(client, make_user())
    assert client.get("/account/two-step/setup").location == "/account"


# --- Logging in --------------------------------------------------------------------------------


def test_a_user_without_two_step_logs_in_as_before(client: FlaskClient) -> None:
    user = make_user()
    response = log_in(client, user.email)
    assert response.status_code == 302 and response.location == "/"
    assert is_logged_in(client)


def test_login_needs_the_code_then_follows_next(client: FlaskClient) -> None:
    user, secret, _codes = make_two_step_user()
    commit()
    response = log_in(client, user.email, next_url="/letters/")
    assert response.status_code == 302
    assert response.location == "/login/code?next=/letters/"
    assert not is_logged_in(client)
    page = client.get(response.location)
    assert page.status_code == 200 and "Enter your code" in text(page)
    assert 'autocomplete="one-time-code"' in html(page) and 'inputmode="numeric"' in html(page)
    assert '<label for="code">' in html(page) and '<label for="recovery_code">' in html(page)

    wrong = send_code(client, wrong_code(secret), "/letters/")
    assert wrong.status_code == 200 and "This code is not right" in text(wrong)
    assert not is_logged_in(client)
    assert len(events("account.second_factor_failed", user)) == 1

    good = send_code(client, now_code(secret), "/letters/")
    assert good.status_code == 302 and good.location == "/letters/"
    assert is_logged_in(client)
    with client.session_transaction() as session:
        assert PENDING_LOGIN not in session
        assert session["_user_id"] == reload(user).get_id()
    assert events("account.login", user)[-1].details == {"second_factor": "totp"}


def test_the_code_page_refuses_an_outside_next(client: FlaskClient) -> None:
    user, secret, _codes = make_two_step_user()
    commit()
    log_in(client, user.email)
    response = send_code(client, now_code(secret), "https://evil.example/")
    assert response.status_code == 302 and response.location == "/"


def test_a_recovery_code_logs_in_once(client: FlaskClient) -> None:
    user, _secret, codes = make_two_step_user()
    commit()
    log_in(client, user.email)
    response = send_recovery_code(client, codes[0].upper())
    assert response.status_code == 302
    settings = client.get("/account")
    assert settings.status_code == 200 and "9 of them are left" in text(settings)
    assert events("account.login", user)[-1].details == {"second_factor": "recovery_code"}
    client.post("/logout")
    log_in(client, user.email)
    again = send_recovery_code(client, codes[0])
    assert again.status_code == 200 and "used already" in text(again)
    assert '<details class="card" open>' in html(again)
    assert not is_logged_in(client)


def test_a_replayed_code_is_refused(client: FlaskClient) -> None:
    user, secret, _codes = make_two_step_user()
    commit()
    code = now_code(secret)
    log_in(client, user.email)
    assert send_code(client, code).status_code == 302
    client.post("/logout")
    log_in(client, user.email)
    replay = send_code(client, code)
    assert replay.status_code == 200 and "used already" in text(replay)
    assert not is_logged_in(client)


def test_the_half_done_login_expires_after_five_minutes(client: FlaskClient) -> None:
    user, secret, _codes = make_two_step_user()
    commit()
    log_in(client, user.email)
    with client.session_transaction() as session:
        session[PENDING_LOGIN] = {
            **session[PENDING_LOGIN],
            "at": session[PENDING_LOGIN]["at"] - 301,
        }
    response = send_code(client, now_code(secret))
    assert response.status_code == 302 and response.location == "/login"
    assert "More than 5 minutes passed" in text(client.get("/login"))
    assert not is_logged_in(client)
    assert client.get("/login/code").location == "/login"


def test_logging_out_everywhere_ends_a_half_done_login(client: FlaskClient) -> None:
    user, secret, _codes = make_two_step_user()
    commit()
    log_in(client, user.email)
    user.rotate_session_token()  # "log out everywhere" or a password change elsewhere
    commit()
    assert send_code(client, now_code(secret)).location == "/login"
    assert not is_logged_in(client)


def test_the_code_page_without_a_login_under_way(client: FlaskClient) -> None:
    assert client.get("/login/code").location == "/login"
    assert client.post("/login/code", data={"code": "123456"}).location == "/login"


def test_a_password_in_a_second_browser_does_not_log_in_the_first(client: FlaskClient) -> None:
    """Someone logged in who types another account's password is logged out first."""
    logged_in = make_user()
    other, _secret, _codes = make_two_step_user()
    commit()
    login(client, logged_in)
    assert is_logged_in(client)
    assert log_in(client, other.email).location == "/login/code"
    assert not is_logged_in(client)


def test_a_password_reset_keeps_two_step_login(client: FlaskClient, outbox: MailCatcher) -> None:
    user, secret, _codes = make_two_step_user()
    _token, raw = UserToken.issue(user, TokenPurpose.RESET_PASSWORD, timedelta(hours=1))
    commit()
    new = "a brand new passphrase"
    reset = client.post(f"/reset-password/{raw}", data={"password": new, "password_confirm": new})
    assert reset.status_code == 302 and reset.location == "/login/code"
    assert not is_logged_in(client)
    assert reload(user).two_step_enabled
    assert send_code(client, now_code(secret)).status_code == 302
    assert is_logged_in(client)


# --- The per-address back-off, with the limiter on ---------------------------------------------


@pytest.fixture
def limited_app(limited: AppFactory) -> Flask:
    """An app with the limiter on (memory storage); the limiter is put back afterwards."""
    return limited()


def _from(ip: str) -> dict[str, Any]:
    return {"environ_base": {"REMOTE_ADDR": ip}}


def test_wrong_codes_count_toward_the_login_back_off(limited_app: Flask) -> None:
    with limited_app.test_request_context():
        user, secret, _codes = make_two_step_user(email="victim@example.org")
        db.session.commit()
        client = limited_app.test_client()
        bad = wrong_code(secret)
        post: Callable[..., TestResponse] = client.post
        password = {"email": user.email, "password": DEFAULT_PASSWORD}
        assert post("/login", data=password, **_from("10.5.0.1")).status_code == 302
        for n in range(3):
            assert (
                post("/login/code", data={"code": bad}, **_from(f"10.5.1.{n}")).status_code == 200
            )
        # the right password again does not wipe the count of wrong codes
        assert post("/login", data=password, **_from("10.5.0.2")).status_code == 302
        assert post("/login/code", data={"code": bad}, **_from("10.5.1.8")).status_code == 200
        fifth = post("/login/code", data={"code": bad}, **_from("10.5.1.9"))
        assert fifth.status_code == 429 and fifth.mimetype == "text/html"
        assert 58 <= int(fifth.headers["Retry-After"]) <= 60
        assert "too many unsuccessful attempts" in text(fifth)
        # now even the right code is not checked, and the password form backs off too
        right = post("/login/code", data={"code": now_code(secret)}, **_from("10.5.2.1"))
        assert right.status_code == 429
        assert post("/login", data=password, **_from("10.5.2.2")).status_code == 429
        assert operations.login_backoff_remaining(user.email) > 0
        failed = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "account.second_factor_failed")
        )
        assert failed == 4  # the fifth answered 429 and rolled back, as failed passwords do


def test_a_right_code_clears_the_count(limited_app: Flask) -> None:
    with limited_app.test_request_context():
        user, secret, _codes = make_two_step_user(email="forgetful@example.org")
        db.session.commit()
        client = limited_app.test_client()
        client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
        for _ in range(4):
            client.post("/login/code", data={"code": wrong_code(secret)})
        assert client.post("/login/code", data={"code": now_code(secret)}).status_code == 302
        assert operations.login_backoff_remaining(user.email) == 0


# --- Turning it off, new recovery codes --------------------------------------------------------


def test_turning_it_off_needs_the_password_and_a_code(client: FlaskClient) -> None:
    user, secret, _codes = make_two_step_user()
    commit()
    login(client, user)
    page = client.get("/account")
    assert "Turn two-step login off" in text(page)
    assert 'id="disable-code"' in html(page) and 'id="newcodes-code"' in html(page)
    assert "A password reset does not turn two-step login off" in text(page)
    wrong_password = client.post(
        "/account/two-step/disable",
        data={"disable-current_password": "nope", "disable-code": now_code(secret)},
    )
    assert wrong_password.status_code == 200
    assert "This is not your current password." in text(wrong_password)
    wrong = client.post(
        "/account/two-step/disable",
        data={"disable-current_password": DEFAULT_PASSWORD, "disable-code": wrong_code(secret)},
    )
    assert wrong.status_code == 200 and "This code is not right" in text(wrong)
    assert reload(user).two_step_enabled
    assert events("account.second_factor_failed", user)[-1].details == {"during": "disable"}
    done = client.post(
        "/account/two-step/disable",
        data={"disable-current_password": DEFAULT_PASSWORD, "disable-code": now_code(secret)},
    )
    assert done.status_code == 302 and done.location == "/account"
    assert not reload(user).two_step_enabled
    assert len(events("account.two_step_disabled", user)) == 1
    client.post("/logout")
    assert log_in(client, user.email).location == "/"


def test_new_recovery_codes_from_the_settings(client: FlaskClient) -> None:
    user, _secret, old = make_two_step_user()
    commit()
    login(client, user)
    wrong = client.post(
        "/account/two-step/new-codes",
        data={"newcodes-current_password": DEFAULT_PASSWORD, "newcodes-code": "abcde-fghij"},
    )
    assert wrong.status_code == 200 and "This code is not right" in text(wrong)
    done = client.post(
        "/account/two-step/new-codes",
        data={"newcodes-current_password": DEFAULT_PASSWORD, "newcodes-code": old[0]},
    )
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    new = codes_on_page(done)
    assert len(new) == 10 and not set(new) & set(old)
    assert len(events("account.recovery_codes_regenerated", user)) == 1
    client.post("/logout")
    log_in(client, user.email)
    assert send_recovery_code(client, old[1]).status_code == 200
    assert send_recovery_code(client, new[1]).status_code == 302
