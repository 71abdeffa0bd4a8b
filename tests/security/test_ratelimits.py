"""Abuse limits with the limiter switched on: per client address, per e-mail address,
the per-account login back-off, trusted proxies, and the real Redis storage.

The limiter is one extension object shared by every app of the test session; the
fixture puts it back as it was (enabled flag, key prefix) and removes its own counters
(only its own keys in Redis: every run has a unique prefix).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from signon.accounts import operations
from signon.accounts.models import TokenPurpose, UserToken
from signon.extensions import db, limiter
from tests.conftest import AppFactory
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.redis_urls import TEST_REDIS_URL
from tests.smtp import MailCatcher

REDIS_URL = TEST_REDIS_URL
WRONG = "definitely not the password"


def _login(
    client: FlaskClient, email: str, password: str = WRONG, ip: str = "203.0.113.1", **headers: str
) -> TestResponse:
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": ip},
        headers=headers,
    )


def _redis_keys(prefix_part: str) -> list[bytes]:
    return list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"*{prefix_part}*"))


# --- Per client address ----------------------------------------------------------------------


@pytest.mark.parametrize("storage", ["memory://", REDIS_URL])
def test_login_is_limited_per_client_address(limited: AppFactory, storage: str) -> None:
    app = limited(storage)
    with app.test_request_context():
        client = app.test_client()
        for n in range(10):  # other accounts each time: the per-account back-off stays out
            assert _login(client, f"person{n}@example.org").status_code == 200, n
        refused = _login(client, "person99@example.org")
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers
        assert _login(client, "person99@example.org", ip="203.0.113.2").status_code == 200
        if storage == REDIS_URL:
            prefix = app.config["RATELIMIT_KEY_PREFIX"]
            assert _redis_keys(prefix), "the counters really are in Redis"


def test_registration_is_limited_per_client_address(limited: AppFactory) -> None:
    app = limited()
    with app.test_request_context():
        client = app.test_client()
        statuses = [
            client.post(
                "/register",
                data={"email": "not an address"},
                environ_base={"REMOTE_ADDR": "1.2.3.4"},
            ).status_code
            for _ in range(11)
        ]
        assert statuses == [200] * 10 + [429]


@pytest.mark.parametrize("path", ["/forgot-password", "/confirm"])
def test_mailed_links_are_limited_per_email_address(
    limited: AppFactory, outbox: MailCatcher, path: str
) -> None:
    """Five links an hour to one address, whatever client addresses ask for them."""
    app = limited()
    with app.test_request_context():
        make_user("target@example.org", confirmed=path == "/forgot-password")
        db.session.commit()
        client = app.test_client()
        for n in range(5):
            response = client.post(
                path,
                data={"email": " Target@Example.org"},
                environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
            )
            assert response.status_code == 302, n
        sixth = client.post(
            path, data={"email": "target@example.org"}, environ_base={"REMOTE_ADDR": "10.0.0.99"}
        )
        assert sixth.status_code == 429
        assert len(outbox.to("target@example.org")) == 5
        other = client.post(
            path, data={"email": "other@example.org"}, environ_base={"REMOTE_ADDR": "10.0.0.99"}
        )
        assert other.status_code == 302


# --- Trusted proxies ----------------------------------------------------------------------------


def test_without_trusted_proxies_x_forwarded_for_is_ignored(limited: AppFactory) -> None:
    app = limited()
    with app.test_request_context():
        client = app.test_client()
        for n in range(10):
            forged = {"X-Forwarded-For": f"192.0.2.{n}"}
            assert _login(client, f"p{n}@example.org", **forged).status_code == 200
        assert (
            _login(client, "p@example.org", **{"X-Forwarded-For": "192.0.2.200"}).status_code == 429
        )


def test_with_one_trusted_proxy_the_forwarded_address_is_the_client(limited: AppFactory) -> None:
    app = limited(trusted_proxies=1)
    with app.test_request_context():
        client = app.test_client()
        proxy = "10.1.1.1"
        # many clients behind one proxy: each has its own allowance
        for n in range(15):
            response = _login(
                client, f"p{n}@example.org", ip=proxy, **{"X-Forwarded-For": f"192.0.2.{n}"}
            )
            assert response.status_code == 200, n
        # a client cannot escape by prepending a forged address: only the last hop counts
        for n in range(10):
            chain = {"X-Forwarded-For": f"198.51.100.{n}, 192.0.2.250"}
            assert _login(client, f"q{n}@example.org", ip=proxy, **chain).status_code == 200
        chain = {"X-Forwarded-For": "198.51.100.99, 192.0.2.250"}
        assert _login(client, "q@example.org", ip=proxy, **chain).status_code == 429


# --- Per-account back-off -----------------------------------------------------------------------


def _backoff_message(response: TestResponse) -> str:
    page = response.get_data(as_text=True)
    start = page.index("There have been too many unsuccessful attempts")
    return page[start : page.index(".", page.index("Please wait", start)) + 1]


@pytest.mark.parametrize("storage", ["memory://", REDIS_URL])
def test_five_failures_shut_the_address_for_a_while(limited: AppFactory, storage: str) -> None:
    app = limited(storage)
    with app.test_request_context():
        user = make_user("victim@example.org")
        db.session.commit()
        client = app.test_client()
        for n in range(4):
            assert _login(client, user.email, ip=f"10.9.0.{n}").status_code == 200
        fifth = _login(client, user.email, ip="10.9.0.5")
        assert fifth.status_code == 429
        assert 58 <= int(fifth.headers["Retry-After"]) <= 60
        message = _backoff_message(fifth)
        assert "wait a minute" in message
        # even the right password is not checked now, from any address
        right = _login(client, user.email, DEFAULT_PASSWORD, ip="10.9.0.6")
        assert right.status_code == 429
        assert int(right.headers["Retry-After"]) <= 60
        # other accounts are not affected
        other = make_user("bystander@example.org")
        db.session.commit()
        assert _login(client, other.email, DEFAULT_PASSWORD, ip="10.9.0.7").status_code == 302
        # an unknown address backs off exactly the same way: nothing is revealed
        for n in range(4):
            assert _login(client, "nobody@example.org", ip=f"10.8.0.{n}").status_code == 200
        unknown = _login(client, "nobody@example.org", ip="10.8.0.9")
        assert unknown.status_code == 429
        assert _backoff_message(unknown) == message
        if storage == REDIS_URL:
            assert _redis_keys(f"{app.config['RATELIMIT_KEY_PREFIX']}/login-shut/victim@")


def _end_the_current_delay(email: str) -> None:
    """Time passing: the shut key expires (the failure count stays, as it would)."""
    _failures, shut = operations._backoff_keys(email)
    limiter.storage.clear(shut)


def test_the_delay_doubles_and_is_capped_at_fifteen_minutes(limited: AppFactory) -> None:
    app = limited()
    with app.test_request_context():
        email = "victim@example.org"
        delays = []
        for _ in range(12):
            delays.append(operations.record_login_failure(email))
            waiting = operations.login_backoff_remaining(email)
            assert waiting == delays[-1] or abs(waiting - delays[-1]) <= 1
            _end_the_current_delay(email)
        assert delays == [0, 0, 0, 0, 60, 120, 240, 480, 900, 900, 900, 900]
        assert [operations.backoff_delay(n) for n in (1, 5, 6, 9, 10, 1000)] == [
            0,
            60,
            120,
            900,
            900,
            900,
        ]


def test_normalised_addresses_share_one_counter(limited: AppFactory) -> None:
    app = limited()
    with app.test_request_context():
        for email in (
            "Victim@Example.org",
            " victim@example.org",
            "VICTIM@EXAMPLE.ORG ",
            "victim@example.org",
        ):
            assert operations.record_login_failure(email) == 0
        assert operations.record_login_failure("victim@EXAMPLE.org") == 60


def test_a_password_reset_clears_the_back_off(limited: AppFactory) -> None:
    app = limited()
    with app.test_request_context():
        user = make_user("victim@example.org")
        db.session.commit()
        client = app.test_client()
        for _n in range(9):  # an attacker has pushed the delay up
            operations.record_login_failure(user.email)
            _end_the_current_delay(user.email)
        operations.record_login_failure(user.email)
        assert operations.login_backoff_remaining(user.email) > 60
        assert _login(client, user.email, DEFAULT_PASSWORD, ip="10.7.0.1").status_code == 429
        _token, raw = UserToken.issue(user, TokenPurpose.RESET_PASSWORD, timedelta(hours=1))
        db.session.commit()
        new = "a brand new passphrase"
        reset = client.post(
            f"/reset-password/{raw}",
            data={"password": new, "password_confirm": new},
            environ_base={"REMOTE_ADDR": "10.7.0.2"},
        )
        assert reset.status_code == 302
        assert operations.login_backoff_remaining(user.email) == 0
        client.post("/logout", environ_base={"REMOTE_ADDR": "10.7.0.2"})
        assert _login(client, user.email, new, ip="10.7.0.3").status_code == 302


def test_a_successful_login_starts_the_count_again(limited: AppFactory) -> None:
    app = limited()
    with app.test_request_context():
        user = make_user("forgetful@example.org")
        db.session.commit()
        client = app.test_client()
        for n in range(4):
            assert _login(client, user.email, ip=f"10.6.0.{n}").status_code == 200
        assert _login(client, user.email, DEFAULT_PASSWORD, ip="10.6.0.9").status_code == 302
        client.post("/logout", environ_base={"REMOTE_ADDR": "10.6.0.9"})
        for n in range(4):
            assert _login(client, user.email, ip=f"10.6.1.{n}").status_code == 200


def test_user_or_address_key(app: Flask) -> None:
    """The key for limits on logged-in work (invitation sends): the account, else the address."""
    from flask_login import login_user, logout_user

    from signon.core.access import user_or_address_key

    with app.test_request_context(environ_base={"REMOTE_ADDR": "198.51.100.5"}):
        assert user_or_address_key() == "address:198.51.100.5"
        user = make_user()
        login_user(user)
        assert user_or_address_key() == f"user:{user.id}"
        logout_user()
