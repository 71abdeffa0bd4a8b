"""A coordinator decides on several public sign-ons at once, in a real browser (issue 12 item 6):
"Select all on this page", untick one, reject the rest after a confirmation that counts them
(cancelling it decides nothing), then accept the one left.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Dialog, ViewportSize, expect

from signon.core import transaction
from tests.e2e.conftest import DESKTOP, PHONE, NewPage
from tests.e2e.helpers import create_user, login_directly
from tests.signatures.factories import ask_and_confirm, make_public_letter

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]

NAMES = ("Spam Org One", "Spam Org Two", "Real Coalition")


def _letter_with_pending(app: Flask, coordinator_id: int) -> str:
    with app.app_context():
        from signon.accounts.models import User
        from signon.extensions import db

        letter = make_public_letter(db.session.get(User, coordinator_id))
        for i, name in enumerate(NAMES):
            ask_and_confirm(letter, name, email=f"contact@org{i}.example.org")
        slug = letter.slug
        transaction.commit()
    return slug


@pytest.mark.parametrize(
    "viewport", [pytest.param(DESKTOP, id="1280px"), pytest.param(PHONE, id="390px")]
)
def test_a_coordinator_rejects_and_accepts_a_selection(
    app: Flask, new_page: NewPage, viewport: ViewportSize
) -> None:
    coordinator = create_user(app, name="Carla Coordinator")
    slug = _letter_with_pending(app, coordinator.id)
    page = new_page(viewport)
    login_directly(page, coordinator, f"/letters/{slug}/moderation")
    questions: list[str] = []
    answers = [False, True]  # cancel the first confirmation, accept the second

    def answer(dialog: Dialog) -> None:
        questions.append(dialog.message)
        if answers.pop(0):
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", answer)
    select_all = page.get_by_label("Select all on this page")
    expect(select_all).to_be_visible()  # shown by static/js/signon.js
    select_all.check()
    for name in NAMES:
        expect(page.get_by_label(f"Select “{name}”")).to_be_checked()
    page.get_by_label("Select “Real Coalition”").uncheck()
    reject = page.get_by_role("button", name="Reject the selected")

    reject.click()  # cancelled: nothing is sent
    expect(page.locator(".flashes")).to_have_count(0)
    for name in NAMES:
        expect(page.get_by_role("article", name=name)).to_be_visible()

    reject.click()
    expect(page.get_by_text("2 signatures rejected: never shown publicly.")).to_be_visible()
    assert questions == ["Reject the 2 selected? They will never be shown."] * 2
    expect(page.locator("article.moderation-item")).to_have_count(1)
    page.get_by_label("Select “Real Coalition”").check()
    page.get_by_role("button", name="Accept and publish the selected").click()
    expect(page.get_by_text("1 signature accepted and now listed publicly.")).to_be_visible()
    expect(page.get_by_text("No signature awaits moderation.")).to_be_visible()
    assert questions == ["Reject the 2 selected? They will never be shown."] * 2  # no more

    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    public = new_page(viewport)
    public.goto(f"/p/{slug}")
    expect(public.locator("#signatories")).to_contain_text("Real Coalition")
    expect(public.locator("#signatories")).not_to_contain_text(re.compile("Spam Org"))
