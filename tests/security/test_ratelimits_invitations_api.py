"""Abuse limits on invitation sends (per account) and on the read-only API (per address),
with the limiter switched on.

The limiter is one extension object shared by every app of the test session: the
``limited`` fixture of tests/conftest.py puts it back as it was
(enabled flag, key prefix) and empties its counters; every app gets a unique prefix.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from signon.core.permissions import TeamRole
from signon.extensions import db
from signon.signatures.invitations.views import INVITE_LIMIT
from signon.signatures.models import Invitation
from tests.conftest import AppFactory, login
from tests.factories import add_team_member, make_user
from tests.signatures.factories import coordinated_letter, invited, make_public_letter
from tests.smtp import MailCatcher

OFFICE = "203.0.113.40"  # both coordinators work from one office address


def _invitation_count(letter_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Invitation).where(Invitation.letter_id == letter_id)
    )


def _invite(client: FlaskClient, slug: str, n: int) -> TestResponse:
    return client.post(
        f"/letters/{slug}/invitations",
        data={"one-organisation_name": f"Org {n}", "one-email": f"contact{n}@org{n}.example.org"},
        environ_base={"REMOTE_ADDR": OFFICE},
    )


def test_the_limit_is_the_one_documented() -> None:
    assert INVITE_LIMIT == "30 per minute;300 per hour"


def test_the_31st_invitation_in_a_minute_is_refused_for_that_coordinator_only(
    limited: AppFactory, outbox: MailCatcher
) -> None:
    app = limited()
    with app.test_request_context():
        coordinator, letter = coordinated_letter()
        colleague = make_user(name="Colin Coordinator")
        add_team_member(letter, user=colleague, role=TeamRole.COORDINATOR)
        db.session.commit()
        slug, letter_id = letter.slug, letter.id

        first = login(app.test_client(), coordinator)
        for n in range(30):
            assert _invite(first, slug, n).status_code == 302, n
        refused = _invite(first, slug, 30)
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers
        assert "Too many requests" in refused.get_data(as_text=True)
        assert _invitation_count(letter_id) == 30
        assert outbox.to("contact30@org30.example.org") == []

        # Same letter, same office address, another account: its own allowance.
        second = login(app.test_client(), colleague)
        assert _invite(second, slug, 31).status_code == 302
        assert _invitation_count(letter_id) == 31
        assert len(outbox.to("contact31@org31.example.org")) == 1


@pytest.mark.parametrize("route", ["bulk", "resend"])
def test_bulk_invitations_and_resends_are_limited_per_account_too(
    limited: AppFactory, route: str
) -> None:
    """Each send route has the same per-account allowance (counted per route)."""
    app = limited()
    with app.test_request_context():
        coordinator, letter = coordinated_letter()
        colleague = make_user(name="Colin Coordinator")
        add_team_member(letter, user=colleague, role=TeamRole.COORDINATOR)
        invitation = invited(letter, coordinator)
        db.session.commit()
        if route == "bulk":
            path = f"/letters/{letter.slug}/invitations/bulk"
            data = {"many-lines": ""}  # refused by the form: no mail, still counted
            allowed = 200
        else:
            path = f"/letters/{letter.slug}/invitations/{invitation.id}/resend"
            data = {}
            allowed = 302

        first = login(app.test_client(), coordinator)
        statuses = [
            first.post(path, data=data, environ_base={"REMOTE_ADDR": OFFICE}).status_code
            for _ in range(31)
        ]
        assert statuses == [allowed] * 30 + [429]
        second = login(app.test_client(), colleague)
        assert (
            second.post(path, data=data, environ_base={"REMOTE_ADDR": OFFICE}).status_code
            == allowed
        )


def test_the_121st_api_request_in_a_minute_gets_a_json_429(limited: AppFactory) -> None:
    app = limited()
    with app.test_request_context():
        letter = make_public_letter()
        db.session.commit()
        client = app.test_client()
        address = {"REMOTE_ADDR": "198.51.100.77"}
        path = f"/api/v1/letters/{letter.slug}"
        statuses = [client.get(path, environ_base=address).status_code for _ in range(120)]
        assert statuses == [200] * 120
        refused = client.get(path, environ_base=address)
        assert refused.status_code == 429
        assert refused.is_json
        body = refused.get_json()
        assert body["status"] == 429 and set(body) == {"error", "status"}
        # The blueprint's JSON error handler answers, not the HTML error page.
        assert body["error"] == "120 per 1 minute"
        assert refused.headers["Cache-Control"] == "no-store"
        assert "Retry-After" in refused.headers
        # Another client address is not affected.
        other = client.get(path, environ_base={"REMOTE_ADDR": "198.51.100.78"})
        assert other.status_code == 200
        assert other.get_json()["slug"] == letter.slug


def test_the_api_allowance_is_shared_by_every_api_address(limited: AppFactory) -> None:
    """One allowance for the whole API (a shared limit), not 120 per route."""
    app = limited()
    with app.test_request_context():
        letter = make_public_letter()
        db.session.commit()
        client = app.test_client()
        address = {"REMOTE_ADDR": "198.51.100.90"}
        letter_path = f"/api/v1/letters/{letter.slug}"
        list_path = f"{letter_path}/signatories"
        for _ in range(60):
            assert client.get(letter_path, environ_base=address).status_code == 200
            assert client.get(list_path, environ_base=address).status_code == 200
        assert client.get(list_path, environ_base=address).status_code == 429
        assert client.get("/api/v1/openapi.json", environ_base=address).status_code == 429


def test_the_editor_preview_is_limited_per_account(limited: AppFactory) -> None:
    """Issue 9 item 12: each preview renders up to the text bound (about 2 s at worst), so
    one account gets PREVIEW_LIMIT's 120 a minute, from any address; another is unaffected."""
    app = limited()
    with app.test_request_context():
        drafter, other = make_user(), make_user()
        db.session.commit()
        client = login(app.test_client(), drafter)
        for n in range(120):
            answer = client.post(
                "/preview",
                data={"body": "**bold**"},
                environ_base={"REMOTE_ADDR": f"10.7.{n // 250}.{n % 250 + 1}"},
            )
            assert answer.status_code == 200, n
        refused = client.post("/preview", data={"body": "**bold**"})
        assert refused.status_code == 429
        assert "Retry-After" in refused.headers
        other_client = login(app.test_client(), other)
        assert other_client.post("/preview", data={"body": "**bold**"}).status_code == 200
