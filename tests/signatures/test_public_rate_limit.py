"""Rate limits on public sign-on, with the limiter switched on (the other tests run without).

The limiter is one extension object shared by every app built in the test
session: switching it on for an app switches it on for the others too, so the
fixture puts it back the way it was (and empties its counters) afterwards.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from signon.extensions import db
from signon.signatures.models import PublicSignRequest
from tests.conftest import AppFactory
from tests.signatures.factories import make_public_letter
from tests.smtp import MailCatcher


@pytest.fixture
def limited_app(limited: AppFactory) -> Flask:
    return limited()


def _form(head_id: int, email: str, name: str) -> dict[str, str]:
    return {
        "name": name,
        "country": "Chile",
        "kind": "ngo",
        "representative_name": "Rosa Díaz",
        "email": email,
        "authority": "y",
        "revision_id": str(head_id),
    }


def test_the_sixth_request_from_one_address_gets_a_friendly_429(
    limited_app: Flask, outbox: MailCatcher
) -> None:
    with limited_app.test_request_context():
        letter = make_public_letter()
        slug, head_id = letter.slug, letter.head().id
        client = limited_app.test_client()
        for n in range(5):
            response = client.post(
                f"/p/{slug}/sign",
                data=_form(head_id, "Rosa@Limited.example.org", f"Organisation {n}"),
                environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},  # other IPs: the address counts
            )
            assert response.status_code == 302, n
            # an accepted request carries no limit headers (their window is not read again)
            assert "X-RateLimit-Remaining" not in response.headers, n
        sixth = client.post(
            f"/p/{slug}/sign",
            data=_form(head_id, " rosa@limited.example.org", "Organisation 6"),
            environ_base={"REMOTE_ADDR": "198.51.100.77"},
        )
        assert sixth.status_code == 429
        html = sixth.get_data(as_text=True)
        assert "Please wait a little" in html
        assert "inbox" in html and "try again in an hour" in html
        assert 0 < int(sixth.headers["Retry-After"]) <= 3600
        assert sixth.headers["X-RateLimit-Limit"] == "5"
        assert sixth.headers["X-RateLimit-Remaining"] == "0"
        count = db.session.scalar(select(func.count(PublicSignRequest.id)))
        assert count == 5
        # another address from the same network is still welcome
        other = client.post(
            f"/p/{slug}/sign",
            data=_form(head_id, "someone@else.example.org", "Organisation 7"),
            environ_base={"REMOTE_ADDR": "198.51.100.77"},
        )
        assert other.status_code == 302


def test_one_ip_may_not_send_more_than_twenty_requests_an_hour(limited_app: Flask) -> None:
    with limited_app.test_request_context():
        letter = make_public_letter()
        slug, head_id = letter.slug, letter.head().id
        client = limited_app.test_client()
        statuses = [
            client.post(
                f"/p/{slug}/sign",
                data=_form(head_id, f"person{n}@example.org", f"Organisation {n}"),
                environ_base={"REMOTE_ADDR": "203.0.113.9"},
            ).status_code
            for n in range(21)
        ]
        assert statuses == [302] * 20 + [429]


def test_confirmation_links_are_limited_per_ip(limited_app: Flask) -> None:
    with limited_app.test_request_context():
        letter = make_public_letter()
        client = limited_app.test_client()
        statuses = [
            client.get(
                f"/p/{letter.slug}/confirm/guess{n}",
                environ_base={"REMOTE_ADDR": "203.0.113.10"},
            ).status_code
            for n in range(31)
        ]
        assert statuses == [404] * 30 + [429]


def test_the_per_ip_limits_are_settings_that_a_load_test_may_raise(
    limited: AppFactory,
) -> None:
    """``SIGNON_PUBLIC_SIGN_LIMIT_PER_IP`` / ``SIGNON_PUBLIC_CONFIRM_LIMIT_PER_IP``: the
    limits the other tests check are the defaults; another value is the one applied."""
    app = limited(
        settings={
            "public_sign_limit_per_ip": "25 per hour",
            "public_confirm_limit_per_ip": "2/hour",
        }
    )
    with app.test_request_context():
        letter = make_public_letter()
        slug, head_id = letter.slug, letter.head().id
        client = app.test_client()
        signs = [
            client.post(
                f"/p/{slug}/sign",
                data=_form(head_id, f"load{n}@example.org", f"Organisation {n}"),
                environ_base={"REMOTE_ADDR": "203.0.113.11"},
            ).status_code
            for n in range(26)
        ]
        confirms = [
            client.get(
                f"/p/{slug}/confirm/guess{n}", environ_base={"REMOTE_ADDR": "203.0.113.11"}
            ).status_code
            for n in range(3)
        ]
    assert signs == [302] * 25 + [429]
    assert confirms == [404, 404, 429]


def test_the_default_per_ip_limits_are_the_documented_ones() -> None:
    from signon.config import Settings

    settings = Settings(secret_key="x")
    assert (settings.public_sign_limit_per_ip, settings.public_confirm_limit_per_ip) == (
        "20 per hour",
        "30 per hour",
    )
