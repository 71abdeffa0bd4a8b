"""An individual signs a public letter, at 1280 and at 390 px, in Chromium (issue 12 item 6):
the signatory-side journey's public sign-on. They give name, title and affiliation (no
country, no "on behalf of"), confirm from the mail, a coordinator accepts, and the public
page lists them apart, under "Individual signatories", with the affiliation "for
identification only". A namesake signs too (allowed; moderation shows the possible
duplicate), and two more people: the coordinator accepts the three as a selection, and
the list is sorted by family name. Every page is checked with axe-core
(tests/e2e/conftest.py)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import select

from signon.accounts.models import User
from signon.core import transaction
from signon.extensions import db
from signon.letters.models import PublicSignatories
from signon.signatures.models import PublicSignRequest
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewPage
from tests.e2e.helpers import assert_fits_the_width, create_user, login_directly, mailed_link
from tests.signatures.factories import make_public_letter
from tests.smtp import MailCatcher

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]


@pytest.mark.parametrize(
    "viewport", [pytest.param(DESKTOP, id="1280px"), pytest.param(PHONE, id="390px")]
)
def test_an_individual_signs_on(
    app: Flask,
    live_server: LiveServer,
    new_page: NewPage,
    mail_catcher: MailCatcher,
    viewport: ViewportSize,
) -> None:
    mail_catcher.clear()
    coordinator = create_user(app, name="Carla Coordinator")
    with app.app_context():
        letter = make_public_letter(
            db.session.get(User, coordinator.id), public_signatories=PublicSignatories.BOTH
        )
        slug = letter.slug
        transaction.commit()
    page = new_page(viewport=viewport)
    page.goto(f"{live_server.url}/p/{slug}")
    expect(page.get_by_role("heading", name="As an individual")).to_be_visible()
    name = page.locator("#person-name")
    name.fill("Ольга Иванова")
    page.locator("#person-representative_title").fill("Professor of Law")
    page.locator("#person-affiliation").fill("University of Nairobi")
    page.locator("#person-email").fill("olga@example.org")
    for field in ("#person-name", "#person-affiliation", "#person-email"):
        box = page.locator(field).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
    # the individuals' form asks for no country and no "on behalf of" confirmation
    form = page.locator("form", has=name)
    expect(form.locator("input[name$=country], input[name$=authority]")).to_have_count(0)
    form.get_by_role("button", name="Sign and confirm by e-mail").click()
    expect(page).to_have_url(re.compile(rf"/p/{slug}/check-email(#sign)?$"))
    with app.app_context():
        asked = db.session.scalars(
            select(PublicSignRequest).where(PublicSignRequest.email == "olga@example.org")
        ).one()
        assert asked.data["kind"] == "individual"
        assert asked.data["affiliation"] == "University of Nairobi"

    # The mailed link, then the button; a coordinator accepts; the public page lists them.
    page.goto(mailed_link(mail_catcher, "olga@example.org", "/confirm/"))
    page.get_by_role("button", name="Confirm and sign").click()
    expect(page.get_by_text("your e-mail address is confirmed")).to_be_visible()
    moderator = new_page(viewport)
    login_directly(moderator, coordinator, f"/letters/{slug}/moderation")
    item = moderator.locator("article.moderation-item", has_text="Ольга Иванова")
    expect(item).to_contain_text("University of Nairobi (for identification only)")
    expect(item).not_to_contain_text("website's domain")  # an organisation's check only
    item.get_by_role("button", name="Accept and publish").click()
    expect(moderator.get_by_text("No signature awaits moderation.")).to_be_visible()
    assert_fits_the_width(moderator, viewport["width"])

    # Three more people: another Ольга Иванова (a namesake is allowed; moderation sees the
    # possible duplicate), Bruno Young and Zoe Adams (listed by family name: Adams, Young).
    for person, address in (
        ("Ольга Иванова", "olga.i@example.net"),
        ("Bruno Young", "bruno@example.net"),
        ("Zoe Adams", "zoe@example.net"),
    ):
        _sign_as_individual(new_page(viewport), mail_catcher, slug, person, address)
    moderator.reload()
    namesake = moderator.locator("article.moderation-item", has_text="olga.i@example.net")
    expect(namesake.locator(".flash-warning")).to_contain_text("Possible duplicate")
    expect(namesake.locator(".flash-warning")).to_contain_text("Ольга Иванова")
    moderator.get_by_label("Select all on this page").check()
    moderator.get_by_role("button", name="Accept and publish the selected").click()
    expect(moderator.get_by_text("3 signatures accepted")).to_be_visible()

    reader = new_page(viewport)  # another visitor
    reader.goto(f"/p/{slug}")
    listed = reader.locator("#signatories")
    expect(listed.locator("h3.signatory-group")).to_have_text("Individual signatories")
    expect(listed).to_contain_text(
        "Ольга Иванова, Professor of Law, University of Nairobi (for identification only)"
    )
    entries = listed.locator("li")
    expect(entries).to_have_count(4)
    expect(entries.nth(0)).to_contain_text("Zoe Adams")  # not Bruno first: family names
    expect(entries.nth(1)).to_contain_text("Bruno Young")
    expect(entries.filter(has_text="Ольга Иванова")).to_have_count(2)
    assert_fits_the_width(reader, viewport["width"])


def _sign_as_individual(
    page: Page, mail_catcher: MailCatcher, slug: str, name: str, email: str
) -> None:
    """Sign the public letter as an individual and confirm from the mailed link."""
    page.goto(f"/p/{slug}")
    page.locator("#person-name").fill(name)
    page.locator("#person-email").fill(email)
    form = page.locator("form", has=page.locator("#person-name"))
    form.get_by_role("button", name="Sign and confirm by e-mail").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    page.goto(mailed_link(mail_catcher, email, "/confirm/"))
    page.get_by_role("button", name="Confirm and sign").click()
    expect(page.get_by_text("your e-mail address is confirmed")).to_be_visible()
