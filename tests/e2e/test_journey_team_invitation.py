"""Joining a drafting team by address, in a real browser at 1280 and 390 px (issue 12,
item 2): a coordinator invites an address that has no account; the invitee follows the
mailed link, creates an account with that address, confirms it from the second mail, and
lands on the letter with the role waiting for them. Before the address is confirmed, the
role does not apply.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import ViewportSize, expect

from signon.core import transaction
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewPage
from tests.e2e.helpers import (
    EMAIL_LABEL,
    PASSWORD_LABEL,
    TestUser,
    create_user,
    login_directly,
    mailed_link,
)
from tests.factories import make_letter
from tests.smtp import MailCatcher

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]

NEWCOMER = "noor@partner.example.org"
PASSWORD = "violet harbour granite lantern"


def _letter(app: Flask, coordinator: TestUser) -> str:
    with app.app_context():
        from signon.accounts.models import User
        from signon.extensions import db

        letter = make_letter(db.session.get(User, coordinator.id), title="Climate finance now")
        slug = letter.slug
        transaction.commit()
    return slug


@pytest.mark.parametrize(
    "viewport", [pytest.param(DESKTOP, id="1280px"), pytest.param(PHONE, id="390px")]
)
def test_a_newcomer_is_invited_registers_confirms_and_lands_on_the_letter_as_drafter(
    new_page: NewPage,
    app: Flask,
    live_server: LiveServer,
    mail_catcher: MailCatcher,
    viewport: ViewportSize,
) -> None:
    coordinator = create_user(app, name="Cora Coordinator")
    slug = _letter(app, coordinator)
    mail_catcher.clear()

    # The coordinator invites an address that no account uses.
    page = new_page(viewport)
    login_directly(page, coordinator, f"/letters/{slug}/team")
    adding = page.get_by_role("region", name="Add a person")
    adding.get_by_label("E-mail address").fill(NEWCOMER)
    adding.get_by_label("Role").select_option("drafter")
    adding.get_by_role("button", name="Invite to the team").click()
    expect(page.get_by_role("status")).to_contain_text(f"Invitation sent to {NEWCOMER}")
    waiting = page.get_by_role("table", name="Invitations waiting")
    expect(waiting).to_contain_text(NEWCOMER)
    expect(waiting).to_contain_text("Drafter")

    # The newcomer, on a phone, follows the mail's link to create an account.
    phone = new_page(viewport)
    phone.goto(mailed_link(mail_catcher, NEWCOMER, "/register"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Create an account")
    phone.get_by_label(EMAIL_LABEL).fill(NEWCOMER)
    phone.get_by_label(re.compile(r"^\s*Your name\b")).fill("Noor Haddad")
    phone.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    phone.get_by_label(re.compile(r"^\s*Repeat the password\b")).fill(PASSWORD)
    phone.get_by_role("button", name="Create account").click()
    expect(phone).to_have_url(re.compile(r"/confirm"))

    # Registered but not confirmed: the role does not apply yet.
    expect(page.get_by_role("table", name="Invitations waiting")).to_contain_text(NEWCOMER)
    page.reload()
    expect(page.get_by_role("table", name="Invitations waiting")).to_contain_text(NEWCOMER)

    # The confirmation mail's link, then the password chosen and the button that confirms
    # (a GET changes nothing; the password shows that whoever confirms created the account).
    phone.goto(mailed_link(mail_catcher, NEWCOMER, "/confirm/"))
    phone.get_by_label(re.compile(r"^\s*Your password\b")).fill(PASSWORD)
    phone.get_by_role("button", name="Confirm my address").click()

    expect(phone).to_have_url(re.compile(rf"/letters/{re.escape(slug)}/$"))
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Climate finance now")
    expect(phone.get_by_role("link", name="Edit text")).to_be_visible()
    team = phone.get_by_role("region", name="Drafting team")
    expect(team).to_contain_text("Noor Haddad · Drafter")

    # The coordinator sees them on the team, and the invitation gone.
    page.reload()
    expect(page.get_by_role("table").first).to_contain_text("Noor Haddad")
    expect(page.get_by_role("table", name="Invitations waiting")).to_have_count(0)
