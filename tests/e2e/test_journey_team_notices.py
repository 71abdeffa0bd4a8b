"""Each person on the team chooses how they hear of things, at 1280 and at 390 px, in
Chromium (issue 12 items 1 and 9). A drafter (not a coordinator) asks on their account
page for changes waiting for classification at once and for deadlines near in the
digest; the coordinator wants no mail at all about changes waiting (their default is
"at once"). The coordinator saves a revision after an organisation approved: the drafter
is mailed at once, the coordinator is not. Then the reminder command runs as cron would
(``send_reminders``, then the commit, as ``flask send-reminders``): "deadline near"
is mailed to nobody at once, it is in both people's daily digests and in the letter's
Activity feed. Every page is checked with axe-core (tests/e2e/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, ViewportSize, expect

from signon.accounts.models import User
from signon.core import transaction
from signon.core.permissions import TeamRole
from signon.db import utcnow
from signon.extensions import db
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewPage
from tests.e2e.helpers import (
    TestUser,
    assert_fits_the_width,
    create_user,
    editor_set_text,
    editor_text,
    login_directly,
    mail_from_signon,
)
from tests.letters.factories import add_team_member, make_letter
from tests.signatures.factories import make_signature
from tests.smtp import MailCatcher

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]

CHANGES = "Changes waiting for classification"
DEADLINES = "Deadlines near"


def _subjects(mail_catcher: MailCatcher, address: str) -> list[str]:
    return [" ".join(str(m["Subject"]).split()) for m in mail_catcher.to(address)]


def _choose(page: Page, viewport: ViewportSize, choices: dict[str, str]) -> None:
    """On the account page, choose how to hear of each kind; the choices are shown back."""
    page.goto("/account")
    settings = page.get_by_role("region", name="Notifications")
    for kind, delivery in choices.items():
        settings.get_by_label(kind).select_option(label=delivery)
    settings.get_by_role("button", name="Save notification settings").click()
    expect(page.get_by_text("Your notification settings are saved.")).to_be_visible()
    settings = page.get_by_role("region", name="Notifications")
    for kind, delivery in choices.items():
        chosen = settings.get_by_label(kind).locator("option:checked")
        expect(chosen).to_have_text(delivery)
    assert_fits_the_width(page, viewport["width"])


@pytest.mark.parametrize(
    "viewport", [pytest.param(DESKTOP, id="1280px"), pytest.param(PHONE, id="390px")]
)
def test_a_drafter_chooses_their_mail_and_the_deadline_reaches_the_coordinator(
    app: Flask,
    live_server: LiveServer,
    new_page: NewPage,
    mail_catcher: MailCatcher,
    viewport: ViewportSize,
) -> None:
    coordinator = create_user(app, name="Cora Coordinator")
    drafter = create_user(app, name="Dara Drafter")
    with app.app_context():
        letter = make_letter(
            db.session.get(User, coordinator.id),
            title="Joint statement on cooperation",
            body="We urge every state party to cooperate fully with the Court.\n",
            deadline=utcnow() + timedelta(hours=30),  # within the 48 h reminder point
        )
        add_team_member(letter, role=TeamRole.DRAFTER, user=db.session.get(User, drafter.id))
        make_signature(letter, "Redress Trust")  # approved revision 1
        slug = letter.slug
        transaction.commit()
    mail_catcher.clear()

    drafting = new_page(viewport)
    login_directly(drafting, drafter, "/account")
    _choose(drafting, viewport, {CHANGES: "Immediately", DEADLINES: "In the daily digest"})
    coordinating = new_page(viewport)
    login_directly(coordinating, coordinator, "/account")
    _choose(coordinating, viewport, {CHANGES: "Not at all"})

    # The coordinator changes the approved text: the drafter hears of it at once.
    _save_a_revision(coordinating, slug)
    waiting = mail_from_signon(mail_catcher, drafter.email, CHANGES)
    assert "Revision 2 by Cora Coordinator" in " ".join(MailCatcher.text_of(waiting).split())
    # the same request's mails leave together, after its commit: the coordinator's would be here
    assert not any(s.startswith(CHANGES) for s in _subjects(mail_catcher, coordinator.email))

    # The reminder command finds the deadline near: nobody is mailed about it at once
    # (the coordinator's default and the drafter's choice are the digest) ...
    with live_server.app.app_context():
        from signon.signatures.invitations.reminders import send_reminders

        send_reminders(utcnow())
        transaction.commit()
    for person in (coordinator, drafter):
        assert not any(s.startswith(DEADLINES) for s in _subjects(mail_catcher, person.email))
    # ... it is on the letter's Activity feed ...
    coordinating.goto(f"/letters/{slug}/")
    expect(coordinating.get_by_role("region", name="Activity")).to_contain_text("Signing closes")
    assert_fits_the_width(coordinating, viewport["width"])
    # ... and in each one's daily digest.
    with live_server.app.app_context():
        from signon.letters.notices import send_digests

        assert send_digests() == 2
        transaction.commit()
    for person in (coordinator, drafter):
        _in_the_digest(mail_catcher, person, f"{DEADLINES}: Signing closes in")


def _save_a_revision(page: Page, slug: str) -> None:
    page.goto(f"/letters/{slug}/edit?live=off")
    editor_set_text(page, editor_text(page).replace("cooperate fully", "cooperate promptly"))
    page.get_by_role("button", name="Save revision").click()
    expect(page.get_by_text("Saved as revision 2.")).to_be_visible()


def _in_the_digest(mail_catcher: MailCatcher, person: TestUser, *words: str) -> None:
    digests = [m for m in mail_catcher.to(person.email) if str(m["Subject"]).startswith("Signon: ")]
    assert len(digests) == 1, _subjects(mail_catcher, person.email)
    text = " ".join(MailCatcher.text_of(digests[0]).split())
    for word in words:
        assert word.lower() in text.lower(), (person.email, text)
