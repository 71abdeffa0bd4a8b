"""Coordinators' API token pages: create (shown once), list, revoke; the token then works."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.api.models import ApiToken
from signon.api.tokens import create_api_token
from signon.audit.models import AuditEvent
from signon.core import transaction
from signon.extensions import db
from tests.conftest import login
from tests.factories import make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")


def _token_on(html: str) -> str:
    match = re.search(r'id="api-token" type="text" readonly value="(sgn_[A-Za-z0-9_-]+)"', html)
    assert match, "the new token is shown"
    return match.group(1)


def test_create_use_and_revoke_a_token(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, slug="private-one")
    transaction.commit()
    login(client, coordinator)

    page = client.get("/letters/private-one/api-tokens")
    assert page.status_code == 200
    assert "No API token yet" in page.get_data(as_text=True)

    created = client.post("/letters/private-one/api-tokens", data={"name": "Coalition website"})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    html = created.get_data(as_text=True)
    raw = _token_on(html)
    assert "shown only this once" in html
    example = f'curl -H "Authorization: Bearer {raw}" http://localhost/api/v1/letters/private-one'
    assert example in html

    # The list shows its name and prefix, never the token itself.
    listing = client.get("/letters/private-one/api-tokens").get_data(as_text=True)
    assert "Coalition website" in listing and raw[:12] in listing
    assert raw not in listing

    assert (
        client.get(
            "/api/v1/letters/private-one", headers={"Authorization": f"Bearer {raw}"}
        ).status_code
        == 200
    )

    token = db.session.scalar(select(ApiToken).where(ApiToken.letter_id == letter.id))
    revoked = client.post(f"/letters/private-one/api-tokens/{token.id}/revoke")
    assert revoked.status_code == 302
    assert revoked.location.endswith("/letters/private-one/api-tokens")
    listing = client.get("/letters/private-one/api-tokens").get_data(as_text=True)
    assert "is revoked: it no longer works" in listing and "Revoked" in listing
    assert (
        client.get(
            "/api/v1/letters/private-one", headers={"Authorization": f"Bearer {raw}"}
        ).status_code
        == 401
    )
    # revoking again changes nothing
    again = client.post(f"/letters/private-one/api-tokens/{token.id}/revoke", follow_redirects=True)
    assert "was already revoked" in again.get_data(as_text=True)
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.letter_id == letter.id).order_by(AuditEvent.seq)
    ).all()
    assert [a for a in actions if a.startswith("api_token.")] == [
        "api_token.created",
        "api_token.revoked",
    ]


def test_a_name_is_required(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    transaction.commit()
    login(client, coordinator)
    response = client.post(f"/letters/{letter.slug}/api-tokens", data={"name": "   "})
    assert response.status_code == 200
    assert "Give the token a name" in response.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken)) is None
    long = client.post(f"/letters/{letter.slug}/api-tokens", data={"name": "x" * 121})
    assert "At most 120 characters" in long.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken)) is None


def test_a_token_of_another_letter_cannot_be_revoked_here(client: FlaskClient) -> None:
    coordinator = make_user()
    mine, theirs = make_letter(coordinator), make_letter(make_user())
    foreign, _ = create_api_token(theirs, name="Theirs", created_by=coordinator)
    transaction.commit()
    login(client, coordinator)
    response = client.post(f"/letters/{mine.slug}/api-tokens/{foreign.id}/revoke")
    assert response.status_code == 404
    db.session.refresh(foreign)
    assert foreign.revoked_at is None


def test_the_page_says_whether_the_letter_is_public(client: FlaskClient) -> None:
    coordinator = make_user()
    public = make_letter(coordinator, is_public=True)
    transaction.commit()
    login(client, coordinator)
    html = client.get(f"/letters/{public.slug}/api-tokens").get_data(as_text=True)
    assert "This letter is public" in html
