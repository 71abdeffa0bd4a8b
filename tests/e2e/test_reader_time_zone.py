"""Readers without an account read times in their browser's zone, in Chromium: an invitee
from their first page on, and every visitor of a public page whose copy is shared by all
zones (the server writes UTC there, and static/js/signon.js rewrites it)."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from signon.core import page_cache, transaction
from signon.db import utcnow
from signon.extensions import db
from signon.signatures.models import Invitation
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewPage
from tests.signatures.factories import coordinated_letter, invited, make_public_letter, sign_path

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]


def _tokyo_time(moment) -> str:
    """The time part in Tokyo, as the page shows it: "5 December 2026, 08:30"."""
    tokyo = moment.astimezone(ZoneInfo("Asia/Tokyo"))
    return f"{tokyo.day} {tokyo:%B %Y, %H:%M}"


#: The other ways the app once wrote a date (issue 12 item 8 found three): "04 Dec 2026",
#: "December 4, 2026", "Dec 4, 2026", and ISO "2026-12-04".
OTHER_DATE_FORMATS = re.compile(
    r"\b\d{1,2} [A-Z][a-z]{2} \d{4}\b"
    r"|\b[A-Z][a-z]+ \d{1,2}, \d{4}\b"
    r"|\b\d{4}-\d{2}-\d{2}\b"
)


def _only_the_one_date_format(page: Page) -> None:
    """What the page shows writes every date one way: "5 December 2026"."""
    shown = page.locator("body").inner_text()
    assert re.search(r"\b\d{1,2} [A-Z][a-z]{3,} \d{4}\b", shown), shown
    assert not OTHER_DATE_FORMATS.search(shown), OTHER_DATE_FORMATS.findall(shown)


def test_the_invitee_page_shows_times_in_the_browsers_zone_from_the_first_view(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    with app.app_context():
        coordinator, letter = coordinated_letter()
        invitation = invited(letter, coordinator)
        path, expires, invitation_id = sign_path(invitation), invitation.expires_at, invitation.id
        transaction.commit()
    page = new_page(viewport=PHONE, timezone_id="Asia/Tokyo")
    page.goto(path)  # the first view: no cookie yet, the browser localises the UTC text
    personal = page.get_by_text("This link answers for")
    expect(personal).to_contain_text(_tokyo_time(expires))
    expect(personal).not_to_contain_text("UTC")
    page.reload()  # with the cookie, the server writes the zone itself (Babel's "JST")
    expect(personal).to_contain_text(f"{_tokyo_time(expires)} JST")
    _only_the_one_date_format(page)
    with app.app_context():  # the page reported the zone for later mail
        for _ in range(50):
            zone = db.session.get(Invitation, invitation_id).timezone
            db.session.rollback()
            if zone:
                break
            page.wait_for_timeout(100)
        assert zone == "Asia/Tokyo"


def test_a_shared_public_page_shows_each_visitor_their_own_zone(
    app: Flask, live_server: LiveServer, new_page: NewPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(page_cache, "enabled", lambda: True)  # as in production
    with app.app_context():
        deadline = (utcnow() + timedelta(days=20)).replace(second=0, microsecond=0)
        letter = make_public_letter(deadline=deadline)
        slug = letter.slug
        transaction.commit()
    tokyo = new_page(viewport=DESKTOP, timezone_id="Asia/Tokyo")
    new_york_page = new_page(viewport=PHONE, timezone_id="America/New_York")
    for _ in range(2):  # the second visit of each is served the shared copy
        tokyo.goto(f"/p/{slug}")
        new_york_page.goto(f"/p/{slug}")
        expect(tokyo.get_by_text("Open for signature until")).to_contain_text(_tokyo_time(deadline))
        new_york = deadline.astimezone(ZoneInfo("America/New_York"))
        expect(new_york_page.get_by_text("Open for signature until")).to_contain_text(
            f"{new_york.day} {new_york:%B %Y, %H:%M}"
        )
        _only_the_one_date_format(tokyo)
        _only_the_one_date_format(new_york_page)
    source = tokyo.request.get(live_server(f"/p/{slug}")).text()
    assert f"{deadline.day} {deadline:%B %Y, %H:%M} UTC" in source  # the fallback, no zone
