"""Journey 3, in a real browser, at 1280 and at 390 px: the coordinator's day.

They choose how they hear of things (account page: approvals at once, the rest in the
daily digest), invite a colleague to the team by address, invite organisations; an
approval arrives by mail at once, a decline waits for the digest, and both are in the
letter's Activity feed; "Re-send" is offered only to the organisation that has not
answered; the signatories dashboard fits a phone; then the export page (settings first,
the preview, who is left out) produces the PDF, read back with pypdf, and the Word file,
read back with python-docx. Every page is checked with axe-core (tests/e2e/conftest.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docx import Document
from flask import Flask
from playwright.sync_api import Page, ViewportSize, expect
from pypdf import PdfReader
from sqlalchemy import select

import signon.exports.pdf.views  # noqa: F401  (registers the routes; see the report)
from signon.core import transaction
from signon.demo import load_bundle
from signon.exports.models import Layout
from signon.exports.pdf import operations as pdf_operations
from signon.exports.pdf import render
from signon.signatures.approvals.operations import SignatoryDetails, approve
from signon.signatures.models import Moderation, SignatureSource
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewPage
from tests.e2e.helpers import TestUser, assert_fits_the_width, axe_violations, login_directly
from tests.exports.factories import demo_letter
from tests.factories import make_user
from tests.smtp import MailCatcher

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]


PENDING = "Awaiting Moderation Collective"
TITLE = load_bundle()["title"]
ADDRESSEE = load_bundle()["addressee"]


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


VIEWPORTS = [pytest.param(DESKTOP, id="1280px"), pytest.param(PHONE, id="390px")]
COLLEAGUE = "sam@coalition.example.org"
ORGANISATIONS = {
    "Approving Alliance": "office@approving.example.org",
    "Declining Union": "office@declining.example.org",
    "Silent Society": "office@silent.example.org",
}


def _render_ms(live_server: LiveServer) -> float:
    """How long to wait for a PDF, a preview or a Word file made on the spot (no job queue
    in the tests): the app's own limit for making one (``SIGNON_PDF_TIMEOUT``), plus 10 s
    to serve it. On a busy machine a cold first render takes tens of seconds; the page is
    right to take that long, so the journey waits as long as the app would."""
    limit = live_server.app.config.get("SIGNON_PDF_TIMEOUT", render.DEFAULT_TIMEOUT)
    return (float(limit) + 10) * 1000


def _fits(page: Page, viewport: ViewportSize) -> None:
    assert_fits_the_width(page, viewport["width"])


def _answer_invitations(live_server: LiveServer, slug: str) -> None:
    """Approving Alliance approves and Declining Union declines, through their links'
    operations (the invitee's own pages are journey 2)."""
    with live_server.app.app_context():
        from signon.extensions import db
        from signon.letters import queries
        from signon.signatures.invitations import operations as invitations
        from signon.signatures.models import Invitation

        letter = queries.letter_by_slug(slug)
        found = db.session.scalars(select(Invitation).where(Invitation.letter_id == letter.id))
        by_name = {i.organisation_name: i for i in found}
        invitations.approve_invitation(
            by_name["Approving Alliance"],
            letter.head(),
            SignatoryDetails(
                name="Approving Alliance",
                representative_name="Ana Rep",
                representative_title="Director",
                authority_confirmed=True,
            ),
        )
        invitations.decline_invitation(by_name["Declining Union"], reason="Not our topic")
        transaction.commit()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_coordinators_day_from_notifications_to_the_published_pdf_and_docx(
    app: Flask,
    live_server: LiveServer,
    new_page: NewPage,
    mail_catcher: MailCatcher,
    viewport: ViewportSize,
) -> None:
    user, slug = _letter(app)
    mail_catcher.clear()
    page = new_page(viewport)

    # How they hear of things: approvals at once, declines in the daily digest.
    login_directly(page, user, "/account")
    settings = page.get_by_role("region", name="Notifications")
    settings.get_by_label("Approvals").select_option(label="Immediately")
    settings.get_by_label("Declines").select_option(label="In the daily digest")
    settings.get_by_role("button", name="Save notification settings").click()
    expect(page.get_by_text("Your notification settings are saved.")).to_be_visible()
    expect(
        page.get_by_role("region", name="Notifications").get_by_label("Approvals")
    ).to_have_value("immediate")
    _fits(page, viewport)

    # A colleague without an account is invited to the team by address.
    page.goto(f"/letters/{slug}/team")
    adding = page.get_by_role("region", name="Add a person")
    adding.get_by_label("E-mail address").fill(COLLEAGUE)
    adding.get_by_label("Role").select_option("drafter")
    adding.get_by_role("button", name="Invite to the team").click()
    expect(page.get_by_role("status")).to_contain_text(f"Invitation sent to {COLLEAGUE}")
    expect(page.get_by_role("table", name="Invitations waiting")).to_contain_text(COLLEAGUE)
    assert mail_catcher.to(COLLEAGUE), "the colleague was not mailed"
    _fits(page, viewport)

    # Three organisations invited through the page; one approves, one declines.
    page.goto(f"/letters/{slug}/invitations")
    one = page.locator(
        "form", has=page.get_by_role("button", name="Send the invitation", exact=True)
    )
    for organisation, address in ORGANISATIONS.items():
        one.get_by_label(re.compile(r"^\s*Organisation")).fill(organisation)
        one.get_by_label(re.compile(r"^\s*E-mail address")).fill(address)
        one.get_by_role("button", name="Send the invitation", exact=True).click()
        expect(page.get_by_text(f"{organisation} is invited")).to_be_visible()
    _answer_invitations(live_server, slug)
    page.reload()
    for organisation, resend in (
        ("Approving Alliance", 0),
        ("Declining Union", 0),
        ("Silent Society", 1),
    ):
        row = page.locator("tr", has=page.get_by_role("rowheader", name=re.compile(organisation)))
        expect(row.get_by_role("button", name="Re-send")).to_have_count(resend)
    _fits(page, viewport)

    # The approval came by mail at once; the decline did not.
    subjects = [" ".join(m["Subject"].split()) for m in mail_catcher.to(user.email)]
    assert any(s.startswith("Approvals: ") and "Approving Alliance" in s for s in subjects), (
        subjects
    )
    assert not any(s.startswith("Declines: ") for s in subjects), subjects

    # Both are in the letter's Activity feed ...
    page.goto(f"/letters/{slug}/")
    feed = page.get_by_role("region", name="Activity")
    expect(feed).to_contain_text("Approving Alliance")
    expect(feed).to_contain_text("Declining Union")
    _fits(page, viewport)

    # ... and the decline in the daily digest, sent once however often the command runs.
    with live_server.app.app_context():
        from signon.letters.notices import send_digests

        assert send_digests() >= 1
        transaction.commit()
        assert send_digests() == 0
    mails = mail_catcher.to(user.email)
    (digest,) = [m for m in mails if m["Subject"].strip().startswith("Signon: ")]
    assert "Declining Union" in MailCatcher.text_of(digest)

    # The dashboard, chart included, fits the screen.
    page.goto(f"/letters/{slug}/signatories")
    chart = page.get_by_role("region", name="Approvals over time")
    expect(chart).to_be_visible()
    _fits(page, viewport)

    page.goto(f"/letters/{slug}/export", wait_until="domcontentloaded")  # not the preview
    expect(page.get_by_role("heading", name="PDF and Word")).to_be_visible()
    expect(page.get_by_text(re.compile(r"12\s+signatories\s+will be listed"))).to_be_visible()
    left_out = page.get_by_role("table", name="Approvals that are not listed, and why")
    expect(left_out).to_contain_text(PENDING)
    expect(left_out).to_contain_text("awaiting moderation")

    preview = page.get_by_role("img", name="Preview of the first two pages of the PDF")
    expect(preview).to_be_visible(timeout=_render_ms(live_server))  # rendered on the spot
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=preview.element_handle(),
        timeout=_render_ms(live_server),
    )

    # the settings come first, and apply to the export without a separate save
    settings_box = page.get_by_role("heading", name="Settings").bounding_box()
    shown = page.get_by_role("heading", name="Preview").bounding_box()
    assert settings_box is not None and shown is not None and settings_box["y"] < shown["y"]
    _fits(page, viewport)
    audit = page.get_by_role("checkbox", name=re.compile(r"Add an audit page"))
    expect(audit).not_to_be_checked()  # off by default: the publishable PDF first
    audit.check()
    page.get_by_role(
        "checkbox", name=re.compile(r"^Print each organisation's representative")
    ).check()
    # the POST makes the PDF before it answers: the click waits for that navigation
    page.get_by_role("button", name="Export PDF").click(timeout=_render_ms(live_server))
    expect(page.get_by_text(re.compile(r"The PDF is ready \(\d+ pages\)"))).to_be_visible(
        timeout=_render_ms(live_server)
    )
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
    assert "Approving Alliance (Ana Rep, Director)" in text, text  # and this one
    # the statement layout: the title and the addressee first, then “On behalf of:”
    first_page = " ".join(document.pages[0].extract_text().split())
    assert first_page.startswith(f"{TITLE} {ADDRESSEE}"), first_page[:300]
    assert first_page.index(ADDRESSEE) < first_page.index("On behalf of:")
    with app.app_context():
        from signon.letters import queries

        letter = queries.letter_by_slug(slug)
        [record] = pdf_operations.records_of(letter)
        assert record.file_sha256 is not None
        assert download.path().read_bytes() == pdf_operations.stored_pdf(record)

    # The same text, ordering and groups as an editable Word file (the approval of the
    # morning included).
    page.goto(f"/letters/{slug}/export", wait_until="domcontentloaded")
    with page.expect_download(timeout=_render_ms(live_server)) as info:
        page.get_by_role("button", name="Download as an editable Word file (.docx)").click()
    assert info.value.suggested_filename.endswith(".docx")
    words = " ".join(p.text for p in Document(str(info.value.path())).paragraphs)
    assert "Al-Haq" in words and "REDRESS" in words and "Approving Alliance" in words
    assert words.index("Al-Haq") < words.index("REDRESS")
    assert PENDING not in words and "Declining Union" not in words
    page.goto(f"/letters/{slug}/export", wait_until="domcontentloaded")
    exports = page.get_by_role("table", name="Every PDF and Word file exported, newest first")
    expect(exports.get_by_role("link", name="Download Word file")).to_have_count(1)
    expect(exports.get_by_role("link", name="Download PDF")).to_have_count(1)


def test_each_setting_applies_to_the_preview_as_it_changes(
    app: Flask, live_server: LiveServer, page: Page
) -> None:
    """No “Save settings” step: changing a setting saves it and reloads the preview."""
    user, slug = _letter(app)
    login_directly(page, user, f"/letters/{slug}/export")
    preview = page.get_by_role("img", name="Preview of the first two pages of the PDF")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=preview.element_handle(),
        timeout=_render_ms(live_server),
    )
    before = preview.get_attribute("src")
    page.get_by_label("Layout", exact=True).select_option("letter")
    expect(
        page.get_by_role("status").filter(has_text="The preview shows your settings")
    ).to_be_visible(timeout=_render_ms(live_server))
    assert preview.get_attribute("src") != before
    with app.app_context():
        from signon.letters import queries

        letter = queries.letter_by_slug(slug)
        assert pdf_operations.settings_for(letter).layout == Layout.LETTER
    assert page.url.endswith(f"/letters/{slug}/export")  # the page was not reloaded
    assert axe_violations(page) == []


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_letterhead_logo_applies_when_chosen_and_is_uploaded_once(
    app: Flask,
    live_server: LiveServer,
    new_page: NewPage,
    tmp_path: Path,
    viewport: ViewportSize,
) -> None:
    """Choosing the logo file saves it at once (the page comes back with it and a box to
    remove it); later changes, saved in the background, do not upload and store it again.
    The exported PDF prints it on its first page. A file that is not an image is refused
    with its reason, the other settings kept."""
    from PIL import Image

    from signon.letters import queries

    user, slug = _letter(app)

    def stored_logo() -> str | None:
        with app.app_context():
            settings = pdf_operations.settings_for(queries.letter_by_slug(slug))
            name = (settings.options or {}).get("letterhead_logo")
            return str(name) if name else None

    page = new_page(viewport)
    login_directly(page, user, f"/letters/{slug}/")
    page.goto(f"/letters/{slug}/export", wait_until="domcontentloaded")  # not the preview
    page.get_by_label("Layout", exact=True).select_option("letter")
    expect(
        page.get_by_role("status").filter(has_text="The preview shows your settings")
    ).to_be_visible(timeout=_render_ms(live_server))
    logo = tmp_path / "logo.png"
    Image.new("RGB", (600, 120), (20, 90, 160)).save(logo)
    with page.expect_navigation():
        page.get_by_label("Letterhead logo (Letter layout)").set_input_files(str(logo))
    expect(page.get_by_label("Remove the letterhead logo")).to_be_visible()
    first = stored_logo()
    assert first is not None
    page.get_by_label("Number the signatories (numbers run across groups)").uncheck()
    expect(
        page.get_by_role("status").filter(has_text="The preview shows your settings")
    ).to_be_visible(timeout=_render_ms(live_server))
    assert stored_logo() == first  # the background save sent no file
    _fits(page, viewport)
    # the PDF prints it: an image of the logo's proportions (600 x 120) on the first page
    page.get_by_role("button", name="Export PDF").click(timeout=_render_ms(live_server))
    expect(page.get_by_text(re.compile(r"The PDF is ready \(\d+ pages\)"))).to_be_visible(
        timeout=_render_ms(live_server)
    )
    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    images = PdfReader(info.value.path()).pages[0].images
    shapes = [image.image.size for image in images if image.image is not None]
    assert any(abs(width / height - 5) < 0.1 for width, height in shapes), shapes
    page.goto(f"/letters/{slug}/export", wait_until="domcontentloaded")  # not the preview
    bad = tmp_path / "not-a-logo.png"
    bad.write_bytes(b"<svg onload=alert(1)>")
    page.get_by_label("Date printed on the letter (empty: the day of the export)").fill(
        "14 December 2026, The Hague"
    )
    with page.expect_navigation():
        page.get_by_label("Letterhead logo (Letter layout)").set_input_files(str(bad))
    expect(page.get_by_text("This file is not a PNG, JPEG or WebP image")).to_be_visible()
    expect(
        page.get_by_label("Date printed on the letter (empty: the day of the export)")
    ).to_have_value("14 December 2026, The Hague")
    assert stored_logo() == first
    assert axe_violations(page) == []
