"""The coordinator chooses who may sign on the public page, at 1280 and at 390 px, in
Chromium (issue 12 items 6 and 9): through the moderation page's "Public page" form (not
the factory), they switch the page on for individuals only, then organisations only, then
both; after each choice a visitor's public page offers exactly those sign-on forms. Every
page is checked with axe-core (tests/e2e/conftest.py)."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Page, ViewportSize, expect

from signon.accounts.models import User
from signon.core import transaction
from signon.extensions import db
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewPage
from tests.e2e.helpers import assert_fits_the_width, create_user, login_directly
from tests.factories import make_letter

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]

#: The organisation form's name field and the individual form's (prefix ``person-``).
ORGANISATION_FIELD = "#name"
PERSON_FIELD = "#person-name"


@pytest.mark.parametrize(
    "viewport", [pytest.param(DESKTOP, id="1280px"), pytest.param(PHONE, id="390px")]
)
def test_the_coordinator_chooses_who_may_sign_publicly(
    app: Flask, live_server: LiveServer, new_page: NewPage, viewport: ViewportSize
) -> None:
    coordinator = create_user(app, name="Carla Coordinator")
    with app.app_context():
        letter = make_letter(
            db.session.get(User, coordinator.id),
            is_public=False,
            addressee="The Assembly of States Parties",
        )
        slug = letter.slug
        transaction.commit()
    moderator = new_page(viewport)
    login_directly(moderator, coordinator, f"/letters/{slug}/moderation")
    public = moderator.get_by_role("region", name="Public page")
    expect(public.get_by_label("Organisations only")).to_be_checked()  # the default
    assert_fits_the_width(moderator, viewport["width"])

    # Individuals only, and the page switched on in the same form.
    public.get_by_label("Publish a public page").check()
    public.get_by_label("Individuals only").check()
    public.get_by_role("button", name="Save").click()
    expect(moderator.locator(".flash-success")).to_contain_text("The public page is on")
    public = moderator.get_by_role("region", name="Public page")
    expect(public.get_by_label("Individuals only")).to_be_checked()
    visitor = new_page(viewport)
    visitor.goto(f"/p/{slug}")
    _offers(visitor, organisations=False, individuals=True)
    assert_fits_the_width(visitor, viewport["width"])

    # Organisations only: the individuals' form is gone.
    public.get_by_label("Organisations only").check()
    public.get_by_role("button", name="Save").click()
    public = moderator.get_by_role("region", name="Public page")
    expect(public.get_by_label("Organisations only")).to_be_checked()
    visitor.reload()
    _offers(visitor, organisations=True, individuals=False)

    # Both: two forms, each under its own heading.
    public.get_by_label("Organisations and individuals").check()
    public.get_by_role("button", name="Save").click()
    public = moderator.get_by_role("region", name="Public page")
    expect(public.get_by_label("Organisations and individuals")).to_be_checked()
    visitor.reload()
    _offers(visitor, organisations=True, individuals=True)
    sign = visitor.locator("#sign")
    expect(sign.get_by_role("heading", name="For an organisation")).to_be_visible()
    expect(sign.get_by_role("heading", name="As an individual")).to_be_visible()
    assert_fits_the_width(visitor, viewport["width"])


def _offers(page: Page, *, organisations: bool, individuals: bool) -> None:
    """The public page's "Sign this letter" offers exactly the forms asked for."""
    sign = page.locator("#sign")
    expect(sign.get_by_role("heading", name="Sign this letter")).to_be_visible()
    expect(sign.locator(ORGANISATION_FIELD)).to_have_count(1 if organisations else 0)
    expect(sign.locator(PERSON_FIELD)).to_have_count(1 if individuals else 0)
    expect(sign.locator("form")).to_have_count(int(organisations) + int(individuals))
    if individuals:
        # the individuals' form asks for no country and no "on behalf of" confirmation
        person = sign.locator("form", has=page.locator(PERSON_FIELD))
        expect(person.locator("input[name$=country], input[name$=authority]")).to_have_count(0)
    if organisations:
        organisation = sign.locator("form", has=page.locator(ORGANISATION_FIELD))
        expect(organisation.locator("input[name$=authority]")).to_have_count(1)
