"""A public signatory's changes after acceptance, in a real browser: they wait for review.

A public sign-on is accepted; the signatory opens the private link from the acceptance
mail and renames the organisation; the public page keeps the accepted name until a
coordinator accepts the change (or keeps it for good when the change is rejected).
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from signon.core import transaction
from tests.e2e.conftest import LiveServer, NewPage
from tests.e2e.helpers import TestUser, create_user, login_directly, mailed_link
from tests.smtp import MailCatcher

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]

CHOIR = "Friendly Neighbourhood Choir"
MINISTRY = "Ministry of Truth (official endorsement)"


def _accepted_public_signature(live_server: LiveServer, coordinator: TestUser, email: str) -> str:
    """A public letter whose sign-on by ``email`` (as the choir) was accepted; its slug.

    Built in the live server's app, so that the mailed links lead to it.
    """
    with live_server.app.app_context():
        from signon.accounts.models import User
        from signon.extensions import db
        from signon.signatures.public_signon import operations as public
        from tests.signatures.factories import ask_and_confirm, make_public_letter

        user = db.session.get(User, coordinator.id)
        assert user is not None
        letter = make_public_letter(user, title="Sing for the Court")
        signature = ask_and_confirm(letter, CHOIR, email)
        public.accept_signature(signature, moderator=user)
        slug = letter.slug
        transaction.commit()  # the acceptance mail (with the private link) goes out
    return slug


def _rename_through_the_private_link(page: Page, link: str) -> None:
    page.goto(link)
    form = page.locator("form", has=page.get_by_role("button", name="Save changes"))
    form.get_by_label(re.compile(r"^Name of the organisation")).fill(MINISTRY)
    form.get_by_label(re.compile(r"may sign on behalf")).check()
    form.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Your changes are sent to the coordinators for review")).to_be_visible()
    held = page.locator(".held-change")
    expect(held).to_contain_text("Your changes await review")
    expect(held).to_contain_text(CHOIR)
    expect(held).to_contain_text(MINISTRY)


def _journey_until_the_review(
    app: Flask, live_server: LiveServer, new_page: NewPage, mail_catcher: MailCatcher, email: str
) -> tuple[str, Page, Page]:
    mail_catcher.clear()
    coordinator = create_user(app, name="Coral Coordinator")
    slug = _accepted_public_signature(live_server, coordinator, email)
    signatory = new_page()
    _rename_through_the_private_link(signatory, mailed_link(mail_catcher, email, "/sign/"))
    # the public page still lists the accepted name
    signatory.goto(f"/p/{slug}")
    expect(signatory.locator("#signatories")).to_contain_text(CHOIR)
    expect(signatory.locator("#signatories")).not_to_contain_text(MINISTRY)
    coordinator_page = new_page()
    login_directly(coordinator_page, coordinator, f"/letters/{slug}/moderation")
    item = coordinator_page.locator("article.held-change", has_text=CHOIR)
    expect(item.locator("del", has_text=CHOIR)).to_be_visible()
    expect(item.locator("ins", has_text=MINISTRY)).to_be_visible()
    return slug, signatory, coordinator_page


def test_an_accepted_change_is_listed_only_once_accepted(
    app: Flask, live_server: LiveServer, new_page: NewPage, mail_catcher: MailCatcher
) -> None:
    email = "choir@choir.example.org"
    slug, signatory, coordinator = _journey_until_the_review(
        app, live_server, new_page, mail_catcher, email
    )
    coordinator.locator("article.held-change", has_text=CHOIR).get_by_role(
        "button", name="Accept the change"
    ).click()
    expect(coordinator.get_by_text("The change is accepted")).to_be_visible()
    expect(coordinator.get_by_text("No change awaits review.")).to_be_visible()
    signatory.goto(f"/p/{slug}")
    expect(signatory.locator("#signatories")).to_contain_text(MINISTRY)
    expect(signatory.locator("#signatories")).not_to_contain_text(CHOIR)


def test_a_rejected_change_is_never_listed(
    app: Flask, live_server: LiveServer, new_page: NewPage, mail_catcher: MailCatcher
) -> None:
    email = "choir2@choir.example.org"
    slug, signatory, coordinator = _journey_until_the_review(
        app, live_server, new_page, mail_catcher, email
    )
    item = coordinator.locator("article.held-change", has_text=CHOIR)
    item.get_by_text("Reject the change", exact=True).first.click()  # opens the <details>
    item.get_by_label(re.compile(r"^Reason")).fill("Not the same organisation")
    item.get_by_role("button", name="Reject the change").click()
    expect(coordinator.get_by_text("The change is rejected")).to_be_visible()
    signatory.goto(f"/p/{slug}")
    expect(signatory.locator("#signatories")).to_contain_text(CHOIR)
    expect(signatory.locator("#signatories")).not_to_contain_text(MINISTRY)
    assert any(
        "did not accept your change" in MailCatcher.text_of(m) for m in mail_catcher.to(email)
    )
