"""An individual signs a public letter on a phone (390 px), in Chromium (issue 12 item 6)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from signon.core import transaction
from signon.extensions import db
from signon.letters.models import PublicSignatories
from signon.signatures.models import PublicSignRequest
from tests.e2e.conftest import LiveServer, NewPage
from tests.signatures.factories import make_public_letter

pytestmark = pytest.mark.real_commits

IPHONE = {"width": 390, "height": 844}


def test_an_individual_signs_on_a_phone(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    with app.app_context():
        letter = make_public_letter(public_signatories=PublicSignatories.BOTH)
        slug = letter.slug
        transaction.commit()
    page = new_page(viewport=IPHONE)
    page.goto(f"{live_server.url}/p/{slug}")
    expect(page.get_by_role("heading", name="As an individual")).to_be_visible()
    name = page.locator("#person-name")
    name.fill("Ольга Иванова")
    page.locator("#person-representative_title").fill("Professor of Law")
    page.locator("#person-affiliation").fill("University of Nairobi")
    page.locator("#person-email").fill("olga@example.org")
    for field in ("#person-name", "#person-affiliation", "#person-email"):
        box = page.locator(field).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= IPHONE["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= IPHONE["width"]
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
