"""Two-step login in a real browser, at phone width: a user turns it on from the account
settings (reading the key off the page and computing codes with pyotp, as an authenticator
app would), keeps the recovery codes, logs out, and logs in again with password and code.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, LiveServer, NewPage
from tests.e2e.helpers import EMAIL_LABEL, PASSWORD_LABEL, create_user, login_via_form

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]

CURRENT_PASSWORD_LABEL = re.compile(r"^\s*Current password\b")
APP_CODE_LABEL = re.compile(r"^\s*6-digit code from the app\b")


def _fits_the_screen(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def _clear_of_a_step_change() -> None:
    """Wait if a new 30-second step is about to begin, so that a code stays the one meant."""
    if time.time() % 30 > 27:
        time.sleep(30 - time.time() % 30 + 0.2)


def test_turn_on_two_step_login_then_log_in_with_a_code(
    new_page: NewPage, app: Flask, live_server: LiveServer
) -> None:
    user = create_user(app, name="Ines Two-Step")
    page = new_page(PHONE)
    login_via_form(page, live_server.url, user.email, user.password)

    page.goto("/account")
    section = page.get_by_role("region", name="Two-step login")
    expect(section).to_contain_text("a password reset does not turn it off")
    section.get_by_role("button", name="Set up two-step login").click()

    expect(page).to_have_url(re.compile(r"/account/two-step/setup$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-step login")
    qr = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0  # the data: URI loaded (CSP allows it)
    _fits_the_screen(page)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    app_side = pyotp.TOTP(secret)
    code_field = page.get_by_label(APP_CODE_LABEL)
    expect(code_field).to_have_attribute("autocomplete", "one-time-code")
    expect(code_field).to_have_attribute("inputmode", "numeric")

    # A wrong code first: a clear error, and the same key (no need to scan again).
    page.get_by_label(CURRENT_PASSWORD_LABEL).fill(user.password)
    wrong = "000000" if app_side.now() != "000000" else "111111"
    code_field.fill(wrong)
    page.get_by_role("button", name="Turn on two-step login").click()
    expect(page.locator(".errors")).to_contain_text("This code is not right")
    assert page.locator("#totp-secret").inner_text().replace(" ", "") == secret

    # The code of the step before now (accepted: clocks drift), so that the code of now
    # is still unused when logging in below.
    _clear_of_a_step_change()
    page.get_by_label(CURRENT_PASSWORD_LABEL).fill(user.password)
    page.get_by_label(APP_CODE_LABEL).fill(app_side.at(time.time() - 30))
    page.get_by_role("button", name="Turn on two-step login").click()

    # The codes come in the answer to the form itself (no redirect: they are never kept
    # anywhere in the clear, not even for the next request).
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    expect(page).to_have_url(re.compile(r"/account/two-step/setup$"))
    expect(page.get_by_role("status")).to_contain_text("Two-step login is on")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    expect(page.get_by_text("this is the only time they are shown")).to_be_visible()
    _fits_the_screen(page)
    page.get_by_role("link", name="I have kept them safe").click()
    expect(page.get_by_role("region", name="Two-step login")).to_contain_text("10 unused")

    page.get_by_role("navigation", name="Main").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Log in")

    # The password alone is not enough any more.
    page.goto("/login")
    page.get_by_label(EMAIL_LABEL).fill(user.email)
    page.get_by_label(PASSWORD_LABEL).fill(user.password)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login/code"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    expect(page.get_by_role("navigation", name="Main")).not_to_contain_text(user.display_name)
    _fits_the_screen(page)
    page.get_by_label(APP_CODE_LABEL).fill(app_side.now())
    page.get_by_role("button", name="Log in", exact=True).click()

    expect(page).not_to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(user.display_name)
    expect(page.get_by_role("status")).to_contain_text("Welcome back, Ines Two-Step.")
