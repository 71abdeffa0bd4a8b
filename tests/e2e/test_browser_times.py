"""Times the browser writes itself read as the server's (issue 12 item 8: one format, the
reader's zone): the editor's "unsaved text from …" and the live page's "saved …" go
through static/js/timefmt.js, which writes "5 December 2026, 09:30 GMT+9" in the
account's zone when the page names it, else in the browser's. They were the browser's
locale and zone ("5 Dec 2026, 19:30" / "at 07:30 PM")."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import expect

from signon.accounts.models import User
from signon.core import transaction
from signon.extensions import db
from tests.e2e.conftest import DESKTOP, LiveServer, NewPage
from tests.e2e.helpers import create_user, login_directly
from tests.factories import make_letter

pytestmark = pytest.mark.real_commits

SAVED_AT = "2026-12-05T00:30:00Z"  # 09:30 in Tokyo, 19:30 the day before in New York
FORMAT = "moment => window.signonTime(new Date(moment), true)"


def test_the_browsers_times_are_the_apps_format_in_the_accounts_zone(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    user = create_user(app, timezone="Asia/Tokyo")
    with app.app_context():
        letter = make_letter(db.session.get(User, user.id), body="We call for action.\n")
        slug = letter.slug
        transaction.commit()
    page = new_page(viewport=DESKTOP, timezone_id="America/New_York")
    page.goto("/login")  # nobody's account: the browser's zone
    assert page.evaluate(FORMAT, SAVED_AT) == "4 December 2026, 19:30 GMT-5"
    login_directly(page, user, f"/letters/{slug}/edit?live=off")
    assert page.evaluate(FORMAT, SAVED_AT) == "5 December 2026, 09:30 GMT+9"
    name = page.locator("textarea[data-editor-draft]").get_attribute("data-editor-draft")
    page.evaluate(
        "([key, savedAt]) => localStorage.setItem(key, JSON.stringify("
        "{body: 'We call for immediate action.', savedAt: savedAt}))",
        [f"signon-draft:{name}", SAVED_AT],
    )
    page.reload()
    banner = page.get_by_role("alert").filter(has_text="You have unsaved text from")
    expect(banner).to_contain_text("You have unsaved text from 5 December 2026, 09:30 GMT+9:")
