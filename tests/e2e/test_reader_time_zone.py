"""An invitee (no account) reads times in their browser's zone, in Chromium."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import expect

from signon.core import transaction
from tests.e2e.conftest import PHONE, LiveServer, NewPage
from tests.signatures.factories import coordinated_letter, invited, sign_path

pytestmark = pytest.mark.real_commits


def test_the_invitee_page_shows_times_in_the_browsers_zone(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    with app.app_context():
        coordinator, letter = coordinated_letter()
        invitation = invited(letter, coordinator)
        path, expires = sign_path(invitation), invitation.expires_at
        transaction.commit()
    tokyo = expires.astimezone(ZoneInfo("Asia/Tokyo"))
    shown = f"{tokyo.day} {tokyo:%B %Y, %H:%M} JST"
    page = new_page(viewport=PHONE, timezone_id="Asia/Tokyo")
    page.goto(path)  # the first page sets the cookie (times in UTC until then)
    page.goto(path)
    expect(page.get_by_text("This link is personal")).to_contain_text(shown)
