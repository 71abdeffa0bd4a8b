"""Public pages render in a real browser, at desktop and phone width, with nothing in the
console, no CSP violation, a skip link and a main landmark."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Page, ViewportSize, expect

from tests.e2e.conftest import DESKTOP, PHONE, BrowserProblems, LiveServer, NewPage
from tests.e2e.helpers import (
    EMAIL_LABEL,
    PASSWORD_LABEL,
    AxeOnEveryPage,
    create_user,
    login_via_form,
)
from tests.e2e.testapp import AXE_VIOLATION_URL, CSP_VIOLATION_URL

pytestmark = pytest.mark.real_commits

VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


def assert_page_basics(page: Page, viewport: ViewportSize) -> None:
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    # The skip link is the first thing the keyboard reaches, and it becomes visible.
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_have_attribute("href", "#main")
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    # Nothing is wider than the screen (no sideways scrolling on a phone).
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= viewport["width"], f"page is {scroll_width}px wide"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_home_page(new_page: NewPage, viewport: ViewportSize) -> None:
    page = new_page(viewport)
    response = page.goto("/")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in (response.header_value("content-security-policy") or "")
    expect(page).to_have_title("Collaborative sign-on letters · Signon")
    assert_page_basics(page, viewport)
    expect(page.get_by_role("link", name="Create an account").first).to_be_visible()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_login_page(new_page: NewPage, viewport: ViewportSize) -> None:
    page = new_page(viewport)
    response = page.goto("/login")
    assert response is not None and response.status == 200
    assert_page_basics(page, viewport)
    expect(page.get_by_label(EMAIL_LABEL)).to_be_visible()
    expect(page.get_by_label(PASSWORD_LABEL)).to_be_visible()
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()


def test_login_via_form_helper(page: Page, app: Flask, live_server: LiveServer) -> None:
    user = create_user(app, name="Ada Organiser")
    login_via_form(page, live_server.url, user.email, user.password)
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Ada Organiser")


def test_the_fixtures_catch_csp_violations(page: Page, browser_problems: BrowserProblems) -> None:
    """The teardown check is real: an inline script is refused and reported."""
    page.goto(CSP_VIOLATION_URL)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert page.title() != "inline script ran"
    page.wait_for_timeout(100)  # let the violation report arrive
    problems = browser_problems.take()
    assert any("script-src" in p for p in problems), problems


@pytest.mark.axe_every_page
def test_axe_runs_on_every_page_the_test_visits(
    page: Page, live_server: LiveServer, axe: AxeOnEveryPage
) -> None:
    """The teardown check is real: a page is checked before the test acts on it, and a
    violation names the rule, the element and the page."""
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert axe.checked == [live_server("/")]
    page.goto(AXE_VIOLATION_URL)  # left without any action on it: checked by ``goto``
    page.goto("/login")
    assert axe.checked == [live_server(p) for p in ("/", AXE_VIOLATION_URL)]
    assert any(
        v.startswith(live_server(AXE_VIOLATION_URL) + ": label (critical) on input")
        for v in axe.violations
    ), axe.violations
    axe.violations.clear()
