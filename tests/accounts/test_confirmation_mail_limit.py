"""One per-address limit on confirmation mails, whatever route asks for one.

Logging in to an unconfirmed account used to mail a new link on every attempt (9
attempts, 9 mails). The limit is counted from the issued tokens, so it holds with the
rate limiter off (as in these tests), across processes and restarts.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from signon.accounts import operations as ops
from signon.accounts.models import TokenPurpose, UserToken
from signon.db import utcnow
from signon.extensions import db
from tests.accounts.helpers import link_in
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")


def _per_hour(app: Flask) -> int:
    limit: int = app.config["SIGNON"].confirmation_mails_per_hour
    return limit


def _log_in(client: FlaskClient, email: str) -> int:
    response = client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD})
    return response.status_code


def test_the_default_is_a_few_an_hour(app: Flask) -> None:
    assert 1 <= _per_hour(app) <= 10


def test_logging_in_again_and_again_to_an_unconfirmed_account_mails_at_most_the_limit(
    app: Flask, client: FlaskClient, outbox: MailCatcher
) -> None:
    make_user("slow@example.org", confirmed=False)
    for _ in range(9):
        assert _log_in(client, "slow@example.org") == 302
    limit = _per_hour(app)
    assert limit < 9
    assert len(outbox.to("slow@example.org")) == limit
    # the links already sent still work: the newest one confirms the address
    newest = outbox.to("slow@example.org")[-1]
    confirmed = client.post(link_in(newest, "/confirm/"), data={"password": DEFAULT_PASSWORD})
    assert confirmed.status_code == 302


def test_every_route_shares_the_one_limit(
    app: Flask, client: FlaskClient, outbox: MailCatcher
) -> None:
    """Registration, "send it again" and logging in draw on the same allowance."""
    response = client.post(
        "/register",
        data={
            "email": "shared@example.org",
            "display_name": "Shared Limit",
            "password": DEFAULT_PASSWORD,
            "password_confirm": DEFAULT_PASSWORD,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert len(outbox.to("shared@example.org")) == 1
    for _ in range(4):
        client.post("/confirm", data={"email": "shared@example.org"})
        assert _log_in(client, "shared@example.org") == 302
    assert len(outbox.to("shared@example.org")) == _per_hour(app)


def test_links_older_than_an_hour_no_longer_count(app: Flask, outbox: MailCatcher) -> None:
    user = make_user("patient@example.org", confirmed=False)
    for _ in range(_per_hour(app)):
        assert ops.send_email_confirmation(user) is not None
    assert ops.send_email_confirmation(user) is None
    db.session.execute(
        update(UserToken)
        .where(UserToken.user_id == user.id, UserToken.purpose == TokenPurpose.CONFIRM_EMAIL)
        .values(created_at=utcnow() - timedelta(hours=1, minutes=1))
    )
    assert ops.send_email_confirmation(user) is not None
