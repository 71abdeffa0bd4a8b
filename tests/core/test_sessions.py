"""Issue 9, item 10: sessions end when idle (12 h) and after an absolute lifetime (30 days).

One hook (signon/core/sessions.py) checks the login and last-seen times on every request,
against the app's clock, which these tests move by hand.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.config import Settings
from signon.core.sessions import LOGGED_IN_AT, SEEN_AT, browser_draft_name
from signon.extensions import db
from signon.letters.models import Revision
from tests.accounts.test_views import flashes, log_in
from tests.factories import make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")

HOUR = 3600
DAY = 24 * HOUR
START = 1_800_000_000.0
IDLE_MESSAGE = "Your session ended after 12 hours without activity; log in again."
KEPT = "Text you were editing is kept in this browser."


@dataclass
class Clock:
    now: float = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _use_settings(app: Flask, monkeypatch: pytest.MonkeyPatch, **changes: object) -> None:
    settings: Settings = app.config["SIGNON"]
    monkeypatch.setitem(app.config, "SIGNON", settings.with_(**changes))


@pytest.fixture
def clock(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    clock = Clock()
    settings: Settings = app.config["SIGNON"]
    _use_settings(app, monkeypatch, extra={**settings.extra, "clock": clock})
    yield clock


def _logged_in(client: FlaskClient) -> FlaskClient:
    user = make_user()
    response = log_in(client, user.email)
    assert response.status_code == 302, "the login form let the user in"
    return client


def _login_redirect(response: object) -> str | None:
    """The ``next`` of a redirect to the login page (``""`` when there is none)."""
    location = getattr(response, "location", "") or ""
    parts = urlsplit(location)
    assert parts.path == "/login", location
    return parse_qs(parts.query).get("next", [""])[0]


def test_login_records_when_the_session_started(client: FlaskClient, clock: Clock) -> None:
    _logged_in(client)
    with client.session_transaction() as session:
        assert session[LOGGED_IN_AT] == session[SEEN_AT] == int(START)


def test_an_idle_session_ends_with_a_clear_message_and_comes_back(
    client: FlaskClient, clock: Clock
) -> None:
    _logged_in(client)
    # Active now and then: each request counts as activity.
    for _ in range(3):
        clock.advance(12 * HOUR - 60)
        assert client.get("/letters/").status_code == 200
    clock.advance(12 * HOUR + 1)
    response = client.get("/letters/?page=2")
    assert response.status_code == 303
    assert _login_redirect(response) == "/letters/?page=2"
    assert IDLE_MESSAGE in " ".join(flashes(client))
    with client.session_transaction() as session:
        assert "_user_id" not in session and LOGGED_IN_AT not in session
    # Logged out for good: the next page asks to log in in the usual way.
    assert client.get("/letters/").status_code == 302


def test_the_idle_time_is_a_setting(
    app: Flask, client: FlaskClient, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_settings(app, monkeypatch, session_idle_hours=1)
    _logged_in(client)
    clock.advance(HOUR - 1)
    assert client.get("/letters/").status_code == 200
    clock.advance(HOUR + 1)
    assert client.get("/letters/").status_code == 303
    assert "after 1 hours without activity" in " ".join(flashes(client))


def test_an_active_session_ends_after_its_absolute_lifetime(
    client: FlaskClient, clock: Clock
) -> None:
    _logged_in(client)
    for _ in range(30 * 2):  # every 12 hours minus a minute, for 30 days minus a bit
        clock.advance(12 * HOUR - 60)
        assert client.get("/letters/").status_code == 200
    clock.advance(DAY)
    response = client.get("/letters/")
    assert response.status_code == 303
    assert "it is 30 days since you logged in" in " ".join(flashes(client))


def test_the_absolute_lifetime_is_a_setting(
    app: Flask, client: FlaskClient, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_settings(app, monkeypatch, session_max_days=1)
    _logged_in(client)
    clock.advance(11 * HOUR)
    assert client.get("/letters/").status_code == 200
    clock.advance(11 * HOUR)
    assert client.get("/letters/").status_code == 200
    clock.advance(3 * HOUR)
    assert client.get("/letters/").status_code == 303


def test_a_save_posted_after_expiry_saves_nothing_and_returns_to_the_editor(
    client: FlaskClient, clock: Clock
) -> None:
    user = make_user()
    letter = make_letter(user, body="Before.\n")
    head = letter.head()
    assert head is not None
    assert log_in(client, user.email).status_code == 302
    edit_url = f"/letters/{letter.slug}/edit"
    assert client.get(edit_url).status_code == 200
    clock.advance(13 * HOUR)
    response = client.post(
        edit_url,
        data={"title": letter.title, "body": "Typed before lunch.\n", "base_revision": head.id},
        headers={"Referer": f"http://localhost{edit_url}"},
    )
    assert response.status_code == 303
    assert _login_redirect(response) == edit_url
    assert IDLE_MESSAGE in " ".join(flashes(client))
    assert db.session.query(Revision).filter_by(letter_id=letter.id).count() == 1
    # Logging in again brings the person back to the editor.
    back = log_in(client, user.email, next_url=edit_url)
    assert back.status_code == 302 and back.location == edit_url


def test_a_public_page_is_shown_to_an_expired_session_as_to_anyone(
    client: FlaskClient, clock: Clock
) -> None:
    user = make_user()
    letter = make_letter(user, is_public=True)
    assert log_in(client, user.email).status_code == 302
    clock.advance(12 * HOUR + 1)
    assert client.get(f"/p/{letter.slug}").status_code == 200
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_no_remember_me_cookie_is_issued_and_a_forged_one_is_refused(
    app: Flask, client: FlaskClient, clock: Clock
) -> None:
    user = make_user()
    response = log_in(client, user.email)
    assert "remember_token" not in " ".join(response.headers.getlist("Set-Cookie"))
    # A remember cookie (signed with the app's key) carries no login time: refused.
    from flask_login.utils import encode_cookie

    fresh = app.test_client()
    fresh.set_cookie("remember_token", encode_cookie(str(user.get_id())))
    assert fresh.get("/letters/").status_code == 302


def test_the_page_after_a_save_clears_the_editors_browser_copy(
    client: FlaskClient, clock: Clock
) -> None:
    user = make_user()
    letter = make_letter(user, body="Before.\n")
    head = letter.head()
    assert head is not None
    assert log_in(client, user.email).status_code == 302
    response = client.post(
        f"/letters/{letter.slug}/edit",
        data={"title": letter.title, "body": "After.\n", "base_revision": head.id},
        follow_redirects=True,
    )
    name = browser_draft_name(letter.id, head.id, user_id=user.id)
    assert f'<meta name="signon-saved-draft" content="{name}">' in response.get_data(as_text=True)
    # Once only.
    assert "signon-saved-draft" not in client.get("/letters/").get_data(as_text=True)


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNON_SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("SIGNON_SESSION_IDLE_HOURS", "2")
    monkeypatch.setenv("SIGNON_SESSION_MAX_DAYS", "7")
    settings = Settings.from_env()
    assert (settings.session_idle_hours, settings.session_max_days) == (2, 7)
    defaults = Settings(secret_key="x")
    assert (defaults.session_idle_hours, defaults.session_max_days) == (12, 30)


def test_the_live_preview_of_an_expired_session_gets_the_message_as_json(
    client: FlaskClient, clock: Clock
) -> None:
    _logged_in(client)
    assert client.post("/preview", data={"body": "*Hi*"}).status_code == 200
    clock.advance(12 * HOUR + 1)
    response = client.post(
        "/preview", data={"body": "*Hi*"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 401
    assert response.get_json() == {"errors": {"body": [IDLE_MESSAGE + " " + KEPT]}}


def test_the_editors_browser_copies_are_the_persons_and_logging_out_deletes_them(
    client: FlaskClient, clock: Clock
) -> None:
    """A copy of unsaved text kept in the browser is named after its person (someone else
    logging in on the same browser is never offered it), and the page after logging out
    names whose copies the browser deletes (static/js/signon.js; in Chromium:
    tests/e2e/test_session_expiry.py)."""
    user, other = make_user(), make_user()
    letter = make_letter(user, body="Before.\n")
    assert log_in(client, user.email).status_code == 302
    edit = client.get(f"/letters/{letter.slug}/edit?live=off").get_data(as_text=True)
    assert f'data-editor-draft="user-{user.id}:letter-{letter.id}"' in edit
    assert f'data-browser-copies="user-{user.id}:"' in edit  # the Log out form asks first
    new = client.get("/letters/new").get_data(as_text=True)
    assert f'data-editor-draft="user-{user.id}:new-letter"' in new
    assert "signon-forget-copies" not in edit + new

    after = client.post("/logout", follow_redirects=True).get_data(as_text=True)
    assert f'<meta name="signon-forget-copies" content="user-{user.id}:">' in after
    assert "signon-forget-copies" not in client.get("/login").get_data(as_text=True)  # once
    assert log_in(client, other.email).status_code == 302
    page = client.get("/letters/").get_data(as_text=True)
    assert "signon-forget-copies" not in page
    assert f'data-browser-copies="user-{other.id}:"' in page
