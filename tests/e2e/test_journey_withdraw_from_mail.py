"""Journey, in a real browser: a change is carried to an organisation's approval, it withdraws.

"We SUPPORT" became "We OPPOSE". The Changes page proposes "substantive"; the coordinator
classifies it editorial anyway, which the page refuses until a reason is given. The
organisation is mailed the change with the reason and a one-click withdraw link; it
opens the link in a fresh, phone-sized browser, confirms, and is no longer listed.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from signon.accounts.models import User
from signon.core import transaction
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations import operations as ops
from signon.signatures.models import Signature, SignatureStatus
from tests.e2e.conftest import PHONE, BrowserProblems, LiveServer, NewPage
from tests.e2e.helpers import create_user, login_directly
from tests.factories import add_revision, make_letter
from tests.smtp import MailCatcher

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]

INVITEE = "jo@justice.example.org"
SUPPORT = "We **SUPPORT** the repeal of the law.\n\nWe thank the Assembly.\n"
OPPOSE = "We **OPPOSE** the repeal of the law.\n\nWe thank the Assembly.\n"
REASON = "The members agreed this wording by phone."


def _approved_then_changed(app: Flask, coordinator_id: int) -> str:
    with app.app_context():
        coordinator = db.session.get(User, coordinator_id)
        letter = make_letter(coordinator, title="On the repeal", body=SUPPORT, is_public=True)
        invitation = ops.invite_organisation(
            letter, organisation_name="Justice NGO", email=INVITEE, invited_by=coordinator
        )
        ops.approve_invitation(
            invitation,
            letter.head(),
            SignatoryDetails(name="Justice NGO", authority_confirmed=True),
        )
        add_revision(letter, coordinator, OPPOSE)
        slug = letter.slug
        transaction.commit()
    return slug


def test_organisation_withdraws_with_the_link_from_the_mail(
    app: Flask,
    live_server: LiveServer,
    page: Page,
    new_page: NewPage,
    mail_catcher: MailCatcher,
    browser_problems: BrowserProblems,
) -> None:
    browser_problems.allow(r"/classify.*status of 400")  # the form sent back without a reason
    coordinator = create_user(app, name="Cora Coordinator")
    slug = _approved_then_changed(app, coordinator.id)
    mail_catcher.clear()

    # The Changes page proposes "substantive" and shows the change as read.
    login_directly(page, coordinator, f"/letters/{slug}/changes")
    change = page.locator("article.lc-change")
    expect(change).to_contain_text("Proposed: Substantive")
    expect(change.locator(".diff del")).to_have_text("SUPPORT")
    expect(change.locator(".diff ins")).to_have_text("OPPOSE")
    expect(change).not_to_contain_text("**")
    expect(change.get_by_role("button").first).to_have_text("Substantive: ask to re-confirm")

    # Against the proposal: refused without a reason, then accepted with one.
    change.get_by_text("Classify against the proposal").click()
    change.get_by_role("button", name="Editorial: approvals carry forward").click()
    expect(page.get_by_role("alert").filter(has_text="give a reason")).to_be_visible()
    assert mail_catcher.to(INVITEE) == []
    page.locator("article.lc-change textarea[name=reason]").fill(REASON)
    page.locator("article.lc-change").get_by_role(
        "button", name="Editorial: approvals carry forward"
    ).click()
    expect(page.get_by_text("Revision 2 is marked editorial.")).to_be_visible()
    expect(page.get_by_text("1 organisation was told by e-mail")).to_be_visible()

    # The organisation's mail: the change, the reason, a link to withdraw.
    (message,) = mail_catcher.to(INVITEE)
    text = MailCatcher.text_of(message)
    assert REASON in text and "We OPPOSE the repeal" in text
    found = re.search(r"\S+/sign/[A-Za-z0-9_-]+/withdraw", text)
    assert found is not None and found.group(0).startswith(live_server.url)

    # One click in a fresh browser: a confirmation page, then the button.
    invitee = new_page(viewport=PHONE)
    invitee.goto(found.group(0))
    expect(
        invitee.get_by_role("heading", name="Withdraw your approval of “On the repeal”")
    ).to_be_visible()
    with app.app_context():
        assert _status(slug) == SignatureStatus.APPROVED  # opening the link changed nothing
    invitee.get_by_role("button", name="Withdraw my approval").click()
    expect(invitee.get_by_text("Your approval is withdrawn")).to_be_visible()

    with app.app_context():
        assert _status(slug) == SignatureStatus.WITHDRAWN
    public = new_page()
    public.goto(live_server(f"/p/{slug}"))
    expect(public.get_by_role("heading", name="On the repeal", level=1)).to_be_visible()
    expect(public.locator("body")).not_to_contain_text("Justice NGO")


def _status(slug: str) -> SignatureStatus:
    letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
    assert letter is not None
    signature = db.session.scalars(select(Signature).where(Signature.letter_id == letter.id)).one()
    db.session.refresh(signature)
    return signature.status
