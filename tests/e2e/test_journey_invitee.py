"""Journey 2, in a real browser: an organisation is invited, approves, re-confirms, withdraws.

The coordinator invites through the invitations page; the mail arrives in the SMTP
catcher, saying it may be forwarded to colleagues of the organisation; the invitee opens
the link in a fresh browser (no account; at 1280 and at 390 px); the page records
"opened" (seen on the coordinator's page); the invitee fills the form with a logo and
approves; the confirmation shows the revision and its fingerprint; the coordinator's page
shows "Approved" and offers no "Re-send" to it (and, on the default settings, mails the
coordinator nothing yet: approvals wait for the digest). Then the coordinator changes the
text in the editor and is mailed at once that a change waits to be classified; classifies
it substantive; the invitee is mailed the rendered changes (HTML, and a readable
plain-text part), reads them on their page, approves the new revision, and finally
withdraws, which the coordinator is mailed at once. Every page is checked with axe-core
(tests/e2e/conftest.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import FilePayload, Page, ViewportSize, expect
from sqlalchemy import select

from signon.accounts.models import User
from signon.core import transaction
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.models import Signature, SignatureStatus
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewPage
from tests.e2e.helpers import (
    create_user,
    editor_set_text,
    editor_text,
    login_directly,
    mail_from_signon,
)
from tests.factories import make_letter
from tests.signatures.factories import image_bytes, link_in
from tests.smtp import MailCatcher

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]

INVITEE = "director@redress.example.org"
BODY = (
    "We welcome the focus on asset recovery.\n\n"
    "We urge every state party to **cooperate fully** with the Court.\n"
)


def _letter(app: Flask, coordinator_id: int) -> tuple[str, int, str]:
    with app.app_context():
        coordinator = db.session.get(User, coordinator_id)
        letter = make_letter(
            coordinator,
            title="Joint statement on cooperation",
            body=BODY,
            addressee="Assembly of States Parties",
        )
        head = letter.head()
        found = (letter.slug, head.number, head.content_sha256)
        transaction.commit()
    return found


@pytest.fixture
def storage(live_server: LiveServer, tmp_path: Path) -> Iterator[Path]:
    """Logos go to a temporary folder, not the project's instance folder."""
    settings = live_server.app.config["SIGNON"]
    live_server.app.config["SIGNON"] = settings.with_(storage_dir=str(tmp_path))
    yield tmp_path
    live_server.app.config["SIGNON"] = settings


def _snapshot(page: Page, name: str) -> None:
    """With SIGNON_SCREENSHOTS=<folder>, keep a full-page screenshot (for reviewing the look)."""
    folder = os.environ.get("SIGNON_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"invitee-{name}.png"), full_page=True)


def _subjects(mail_catcher: MailCatcher, address: str) -> list[str]:
    return [" ".join(m["Subject"].split()) for m in mail_catcher.to(address)]


def _row(page: Page, organisation: str):
    return page.locator("tr", has=page.get_by_role("rowheader", name=re.compile(organisation)))


@pytest.mark.parametrize(
    "viewport", [pytest.param(DESKTOP, id="1280px"), pytest.param(PHONE, id="390px")]
)
def test_invited_organisation_approves_reconfirms_and_withdraws(
    app: Flask,
    live_server: LiveServer,
    page: Page,
    new_page: NewPage,
    mail_catcher: MailCatcher,
    storage: Path,
    viewport: ViewportSize,
) -> None:
    mail_catcher.clear()
    coordinator = create_user(app, name="Cora Coordinator")
    slug, number, sha256 = _letter(app, coordinator.id)

    # The coordinator invites one organisation through the page.
    login_directly(page, coordinator, f"/letters/{slug}/invitations")
    expect(page.get_by_role("heading", name="Invitations", exact=True)).to_be_visible()
    expect(page.get_by_text("Nobody is invited yet")).to_be_visible()
    one = page.locator(
        "form", has=page.get_by_role("button", name="Send the invitation", exact=True)
    )
    one.get_by_label(re.compile(r"^\s*Organisation")).fill("Redress Trust")
    one.get_by_label(re.compile(r"^\s*E-mail address")).fill(INVITEE)
    one.get_by_role("button", name="Send the invitation", exact=True).click()
    expect(page.get_by_text("Redress Trust is invited")).to_be_visible()
    expect(_row(page, "Redress Trust")).to_contain_text("Sent")

    # The mail arrived; its link opens the letter in a fresh browser, without an account.
    (message,) = mail_catcher.to(INVITEE)
    assert message["Subject"] == "Invitation to sign: Joint statement on cooperation"
    invitation_text = MailCatcher.text_of(message)
    assert "Cora Coordinator" in invitation_text
    assert "You may forward this message to colleagues at Redress Trust" in invitation_text
    assert "do not forward" not in invitation_text.lower()
    link = link_in(message)
    assert link.startswith(live_server.url)
    invitee = new_page(viewport=viewport)
    with invitee.expect_response(lambda r: r.url.endswith("/seen")) as seen:
        invitee.goto(link)
    assert seen.value.status == 204
    expect(
        invitee.get_by_role("heading", name="Joint statement on cooperation", level=1)
    ).to_be_visible()
    expect(invitee.get_by_text("Addressed to Assembly of States Parties")).to_be_visible()
    expect(invitee.locator("article.letter-text strong")).to_have_text("cooperate fully")

    _snapshot(invitee, "1-letter")

    # The coordinator sees that the invitation was opened.
    page.reload()
    expect(_row(page, "Redress Trust")).to_contain_text("Opened")
    _snapshot(page, "2-opened")

    # The invitee fills the form, with a logo, and approves exactly this revision.
    name = invitee.get_by_label(re.compile(r"^\s*Name of the organisation"))
    expect(name).to_have_value("Redress Trust")
    name.fill("REDRESS")
    invitee.get_by_label(re.compile(r"^\s*Country")).fill("United Kingdom")
    invitee.get_by_label(re.compile(r"^\s*Type of organisation")).select_option(
        label="Non-governmental organisation"
    )
    invitee.get_by_label(re.compile(r"^\s*Name of the person signing")).fill("Rita Rep")
    invitee.get_by_label(re.compile(r"^\s*Their title")).fill("Director")
    invitee.get_by_label(re.compile(r"^\s*Website")).fill("redress.example.org")
    invitee.get_by_label(re.compile(r"^\s*Logo")).set_input_files(
        files=FilePayload(name="logo.png", mimeType="image/png", buffer=image_bytes(64, 32))
    )
    authority = invitee.get_by_label(re.compile("may sign on behalf of this organisation"))
    expect(invitee.get_by_text("I confirm that Rita Rep may sign")).to_be_visible()
    authority.check()
    invitee.get_by_role("button", name=f"Approve revision {number}").click()

    # The confirmation shows exactly what was recorded.
    expect(invitee.get_by_text("A receipt is on its way")).to_be_visible()
    receipt = invitee.locator(".inv-receipt")
    expect(receipt).to_contain_text("Your approval is recorded")
    expect(receipt).to_contain_text(f"Revision {number}")
    expect(receipt).to_contain_text(sha256[:12])
    expect(receipt).to_contain_text(INVITEE)
    expect(invitee.get_by_role("button", name="Withdraw my approval")).to_be_visible()
    _snapshot(invitee, "3-approved")
    (mail_receipt,) = [m for m in mail_catcher.to(INVITEE) if m is not message]
    assert sha256 in MailCatcher.text_of(mail_receipt)
    # the coordinator, on the default settings, hears of approvals in the daily digest only
    assert _subjects(mail_catcher, coordinator.email) == []

    # The coordinator's page shows the approval, with the logo and the domain check.
    page.reload()
    row = _row(page, "Redress Trust")
    expect(row).to_contain_text("Revision 1 as “REDRESS”")
    expect(row).to_contain_text("domain verified")
    expect(row.get_by_role("button", name="Re-send")).to_have_count(0)  # it has answered
    _snapshot(page, "4-coordinator")
    logo = row.get_by_role("link", name="logo")
    with page.expect_response(lambda r: r.url.endswith("/logo")) as served:
        logo.click()
    assert served.value.status == 200
    assert served.value.headers["content-type"] == "image/png"

    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        (signature,) = db.session.scalars(
            select(Signature).where(Signature.letter_id == letter.id)
        ).all()
        assert signature.status == SignatureStatus.APPROVED
        assert (signature.name, signature.approved_sha256) == ("REDRESS", sha256)
        assert [p.name for p in (storage / "logos").iterdir()] == [signature.logo_filename]

    # The coordinator changes the text after the approval: a change waiting to be
    # classified blocks the freeze, so it is mailed at once (the default).
    mail_catcher.clear()
    page.goto(f"/letters/{slug}/edit?live=off")
    editor_set_text(
        page, editor_text(page).replace("cooperate fully", "cooperate fully and promptly")
    )
    page.get_by_role("button", name="Save revision").click()
    expect(page.get_by_text("Saved as revision 2.")).to_be_visible()
    waiting = mail_from_signon(
        mail_catcher, coordinator.email, "Changes waiting for classification"
    )
    assert "Revision 2 by Cora Coordinator" in " ".join(MailCatcher.text_of(waiting).split())

    # A substantive change: the coordinator says so on the Changes page.
    page.goto(f"/letters/{slug}/changes")
    change = page.locator("article.lc-change")
    expect(change.locator(".diff ins")).to_have_text("and promptly")
    expect(change).not_to_contain_text("**")
    change.get_by_role("button", name="Substantive: ask to re-confirm").click()
    expect(page.get_by_text("1 organisation was asked by e-mail to re-confirm")).to_be_visible()

    # The mail shows the change rendered (HTML) and readable (plain text), and may be forwarded.
    (reconfirm,) = mail_catcher.to(INVITEE)
    html = MailCatcher.html_of(reconfirm)
    assert "<ins" in html and "and promptly" in html and "<strong>" in html
    assert "**" not in html and "{+" not in html
    text = MailCatcher.text_of(reconfirm)
    assert "and promptly" in text and "{+" not in text and "[-" not in text
    assert "You may forward this message to colleagues at REDRESS" in text

    # The invitee reads the changes on their page and approves the new revision.
    invitee.goto(link_in(reconfirm))
    expect(invitee.get_by_text("Your approval awaits re-confirmation.")).to_be_visible()
    changes = invitee.get_by_role(
        "region", name=re.compile("What changed since the text you approved")
    )
    expect(changes.locator("ins")).to_contain_text(["and promptly"])
    expect(changes.locator("strong").first).to_contain_text("cooperate fully")
    invitee.get_by_label(re.compile("may sign on behalf of this organisation")).check()
    invitee.get_by_role("button", name="Approve revision 2").click()
    expect(invitee.locator(".inv-receipt")).to_contain_text("Revision 2")

    # And finally withdraws (after confirming in the dialog).
    invitee.once("dialog", lambda dialog: dialog.accept())
    invitee.get_by_role("button", name="Withdraw my approval").click()
    expect(invitee.get_by_text(re.compile("approval is withdrawn"))).to_be_visible()
    # a withdrawal is mailed to the coordinator at once (the default)
    withdrawn = mail_from_signon(mail_catcher, coordinator.email, "Withdrawals")
    assert "REDRESS" in MailCatcher.text_of(withdrawn)
    page.goto(f"/letters/{slug}/invitations")
    expect(_row(page, "Redress Trust")).to_contain_text("Withdrawn")
