"""The letter's navigation in Chromium at 1280 and 390 px: groups (Text, Signatures,
Publish, Settings), the current group's pages below them, a click through every group
and page; at phone width the site header, the letter's header and its navigation end
within the top 40 % of the first screen (they took 600 of 844 px before; now about 270);
axe-core finds nothing on any page visited (``axe_every_page``)."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import expect

from signon.core import transaction
from signon.demo import COORDINATOR_EMAIL, DEMO_PASSWORD, DEMO_SLUG, seed_demo
from tests.e2e.conftest import LiveServer, NewPage
from tests.e2e.helpers import login_via_form

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", list(SIZES))
def test_the_letter_navigation_at_desktop_and_phone_width(
    app: Flask, live_server: LiveServer, new_page: NewPage, size: str
) -> None:
    with app.app_context():
        seed_demo()
        transaction.commit()
    viewport = SIZES[size]
    page = new_page(viewport=viewport)
    login_via_form(page, live_server.url, COORDINATOR_EMAIL, DEMO_PASSWORD)
    page.goto(f"/letters/{DEMO_SLUG}/")
    nav = page.get_by_role("navigation", name="Letter")
    groups = nav.locator("li.nav-group > a")
    expect(groups).to_have_text(["Text", "Signatures", "Publish", "Settings"])
    bottom = nav.evaluate("n => n.getBoundingClientRect().bottom")
    if size == "phone":  # was 600 of the first 844 px with 7 tabs and 10 links
        assert bottom <= 0.4 * viewport["height"], bottom
        assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
    for label in ["Signatures", "Publish", "Settings", "Text"]:
        nav.get_by_role("link", name=label, exact=True).click()
        current = nav.locator("li.nav-group.is-current > a")
        expect(current).to_have_text(label)
        pages = nav.locator(".subtabs a")
        for index in range(pages.count()):
            link = pages.nth(index)
            name = link.inner_text()
            link.click()
            expect(nav.locator('.subtabs a[aria-current="page"]')).to_have_text(name)
            expect(page.locator("h1")).to_be_visible()  # axe-core checked it first
