"""Journey 3, in a real browser: a coordinator opens the export page, sees the preview and
who is left out, exports the PDF, downloads it, and the file is the signed statement."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from pypdf import PdfReader

import signon.exports.pdf.views  # noqa: F401  (registers the routes; see the report)
from signon.core import transaction
from signon.exports.models import Layout
from signon.exports.pdf import operations as pdf_operations
from signon.signatures.approvals.operations import SignatoryDetails, approve
from signon.signatures.models import Moderation, SignatureSource
from tests.e2e.conftest import PHONE, LiveServer, NewPage
from tests.e2e.helpers import TestUser, axe_violations, login_directly
from tests.exports.factories import demo_letter
from tests.factories import make_user

pytestmark = pytest.mark.real_commits


PENDING = "Awaiting Moderation Collective"


def _letter(app: Flask) -> tuple[TestUser, str]:
    """The demo statement with its eleven approvals, and one request still in moderation."""
    with app.app_context():
        user = make_user(password="export-journey-password")
        letter = demo_letter(user)
        approve(
            letter,
            letter.head(),
            SignatoryDetails(name=PENDING),
            email="someone@example.org",
            source=SignatureSource.PUBLIC,
            moderation=Moderation.PENDING,
        )
        slug = letter.slug
        created = TestUser(user.id, user.email, "export-journey-password", user.display_name)
        transaction.commit()
    return created, slug


def test_coordinator_previews_sees_who_is_left_out_exports_and_downloads(
    app: Flask, live_server: LiveServer, page: Page
) -> None:
    user, slug = _letter(app)
    login_directly(page, user, f"/letters/{slug}/export")
    expect(page.get_by_role("heading", name="Export as PDF")).to_be_visible()
    expect(page.get_by_text(re.compile(r"11\s+signatories\s+will be listed"))).to_be_visible()
    left_out = page.get_by_role("table", name="Approvals that are not listed, and why")
    expect(left_out).to_contain_text(PENDING)
    expect(left_out).to_contain_text("awaiting moderation")

    preview = page.get_by_role("img", name="Preview of the first two pages of the PDF")
    expect(preview).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=preview.element_handle(), timeout=30_000
    )

    # the settings come first, and apply to the export without a separate save
    settings = page.get_by_role("heading", name="Settings").bounding_box()
    shown = page.get_by_role("heading", name="Preview").bounding_box()
    assert settings is not None and shown is not None and settings["y"] < shown["y"]
    audit = page.get_by_role("checkbox", name=re.compile(r"Add an audit page"))
    expect(audit).not_to_be_checked()  # off by default: the publishable PDF first
    audit.check()
    page.get_by_role("button", name="Export PDF").click()
    expect(page.get_by_text(re.compile(r"The PDF is ready \(\d+ pages\)"))).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    document = PdfReader(download.path())
    text = " ".join(" ".join(p.extract_text().split()) for p in document.pages)
    assert "On behalf of: Al-Haq; Amnesty International;" in text
    assert "No Peace Without Justice; and REDRESS" in text
    assert PENDING not in text
    assert "Audit record" in text  # the box ticked just before “Export PDF”
    with app.app_context():
        from signon.letters import queries

        letter = queries.letter_by_slug(slug)
        [record] = pdf_operations.records_of(letter)
        assert record.file_sha256 is not None
        assert download.path().read_bytes() == pdf_operations.stored_pdf(record)


def test_the_export_page_works_on_a_phone(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    user, slug = _letter(app)
    page = new_page(viewport=PHONE)
    login_directly(page, user, f"/letters/{slug}/export")
    expect(page.get_by_role("button", name="Export PDF")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"the page scrolls sideways ({width}px)"


def test_each_setting_applies_to_the_preview_as_it_changes(
    app: Flask, live_server: LiveServer, page: Page
) -> None:
    """No “Save settings” step: changing a setting saves it and reloads the preview."""
    user, slug = _letter(app)
    login_directly(page, user, f"/letters/{slug}/export")
    preview = page.get_by_role("img", name="Preview of the first two pages of the PDF")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=preview.element_handle(), timeout=30_000
    )
    before = preview.get_attribute("src")
    page.get_by_label("Layout", exact=True).select_option("letter")
    expect(
        page.get_by_role("status").filter(has_text="The preview shows your settings")
    ).to_be_visible(timeout=30_000)
    assert preview.get_attribute("src") != before
    with app.app_context():
        from signon.letters import queries

        letter = queries.letter_by_slug(slug)
        assert pdf_operations.settings_for(letter).layout == Layout.LETTER
    assert page.url.endswith(f"/letters/{slug}/export")  # the page was not reloaded
    assert axe_violations(page) == []
