"""The changes page and the status page through the test client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.accounts.models import User
from signon.audit.models import AuditEvent
from signon.core.permissions import TeamRole
from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, LetterStatus
from signon.signatures.invitations.links import invitation_token
from signon.signatures.lifecycle import operations as lifecycle
from tests.conftest import login
from tests.factories import add_revision, add_team_member, make_letter, make_user
from tests.signatures.factories import (
    approve_through,
    classify,
    endpoint_of,
    make_invitation,
)
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")

TEXT_1 = "We call on the States to cooperate.\n\nWe thank the Court.\n"
TEXT_2 = "We urge the States to cooperate fully.\n\nWe thank the Court.\n"


def _world() -> tuple[User, User, Letter]:
    coordinator = make_user(name="Cora Coordinator")
    letter = make_letter(coordinator, body=TEXT_1, title="Joint statement")
    drafter = make_user(name="Dan Drafter")
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    return coordinator, drafter, letter


def _status(letter: Letter) -> LetterStatus:
    db.session.refresh(letter)
    return letter.status


def _audit(letter: Letter, action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.letter_id == letter.id, AuditEvent.action == action)
            .order_by(AuditEvent.seq)
        )
    )


# --- the changes page --------------------------------------------------------------------------


def test_changes_page_shows_pending_revisions_with_their_diff(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    approve_through(make_invitation(letter))
    add_revision(letter, coordinator, TEXT_2, note="Stronger wording")
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/changes").get_data(as_text=True)
    assert "Awaiting classification (1)" in page
    assert "Revision 2" in page and "Stronger wording" in page
    assert "<del>call on</del><ins>urge</ins>" in page
    assert " <ins>fully</ins>" in page
    assert "1 approval depends" in page
    assert f"/letters/{letter.slug}/changes/2/classify" in page
    assert 'name="kind" value="editorial"' in page and 'name="kind" value="substantive"' in page
    assert "0 of 1 approval covers the current text" in page


def test_changes_page_for_a_drafter_has_no_buttons(client: FlaskClient) -> None:
    coordinator, drafter, letter = _world()
    approve_through(make_invitation(letter))
    add_revision(letter, coordinator, TEXT_2)
    login(client, drafter)
    page = client.get(f"/letters/{letter.slug}/changes").get_data(as_text=True)
    assert "<ins>urge</ins>" in page
    assert "/classify" not in page


def test_changes_page_empty_states(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/changes").get_data(as_text=True)
    assert "Nothing awaits classification" in page
    assert "No change has been classified yet." in page
    assert "No organisation has approved the text yet." in page


def test_changes_saved_before_any_approval_are_optional(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    add_revision(letter, coordinator, TEXT_2)
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/changes").get_data(as_text=True)
    assert "Saved before anyone approved (1)" in page
    assert "Nothing awaits classification" in page


def test_classified_revisions_show_who_and_when(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    revision = add_revision(letter, coordinator, TEXT_2)
    revision.classified_by = coordinator
    classify(revision, ChangeKind.EDITORIAL)
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/changes").get_data(as_text=True)
    classified = page.split('id="classified-heading"')[1]
    assert "Revision 2" in classified and "Editorial" in classified
    assert "Cora Coordinator" in classified and "<time" in classified
    assert "Mark substantive" in classified


def test_classify_substantive_through_the_page_mails_the_organisation(
    app: Flask, client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator, _drafter, letter = _world()
    invitation = make_invitation(letter, organisation_name="Justice NGO", email="jo@justice.org")
    approve_through(invitation)
    add_revision(letter, coordinator, TEXT_2)
    login(client, coordinator)
    response = client.post(
        f"/letters/{letter.slug}/changes/2/classify", data={"kind": "substantive"}
    )
    assert response.status_code == 302
    assert response.location == f"/letters/{letter.slug}/changes"
    page = client.get(response.location).get_data(as_text=True)
    assert "Revision 2 is marked substantive." in page
    assert "1 organisation was asked by e-mail to re-confirm" in page
    (message,) = outbox.to("jo@justice.org")
    text = MailCatcher.text_of(message)
    assert "Before:\r\nWe call on the States to cooperate." in text
    assert "After:\r\nWe urge the States to cooperate fully." in text
    html = MailCatcher.html_of(message)
    assert "call on</del>" in html and "urge</ins>" in html
    link = next(word for word in text.split() if "/sign/" in word)
    assert endpoint_of(app, link) == ("signatures.sign", {"token": invitation_token(invitation)})
    # the invitee's page at that link answers (it is another engineer's page)
    assert client.get(link.removeprefix("http://localhost")).status_code == 200


def test_classify_with_a_bad_kind_changes_nothing(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    revision = add_revision(letter, coordinator, TEXT_2)
    login(client, coordinator)
    response = client.post(f"/letters/{letter.slug}/changes/2/classify", data={"kind": "major"})
    assert response.status_code == 302
    assert "Choose editorial or substantive." in client.get(response.location).get_data(
        as_text=True
    )
    db.session.refresh(revision)
    assert revision.change_kind is None


def test_classify_an_unknown_or_first_revision(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    commit()  # the 404 below rolls the request back
    login(client, coordinator)
    response = client.post(f"/letters/{letter.slug}/changes/9/classify", data={"kind": "editorial"})
    assert response.status_code == 404
    response = client.post(f"/letters/{letter.slug}/changes/1/classify", data={"kind": "editorial"})
    assert response.status_code == 302
    assert "nothing to classify" in client.get(response.location).get_data(as_text=True)


def test_reclassify_through_the_page(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    add_revision(letter, coordinator, TEXT_2)
    login(client, coordinator)
    url = f"/letters/{letter.slug}/changes/2/classify"
    client.post(url, data={"kind": "editorial", "reason": "A rewording only"})
    response = client.post(url, data={"kind": "substantive"})
    page = client.get(response.location).get_data(as_text=True)
    assert "Revision 2 is now marked substantive (it was editorial)." in page
    events = _audit(letter, lifecycle.REVISION_CLASSIFIED)
    assert [e.details.get("previous") for e in events] == [None, "editorial"]


def test_the_letter_page_banner_function(app: Flask) -> None:
    """templates/letters/show.html can call ``pending_classification(letter)``."""
    coordinator, _drafter, letter = _world()
    approve_through(make_invitation(letter))
    revision = add_revision(letter, coordinator, TEXT_2)
    function: Any = app.jinja_env.globals["pending_classification"]
    assert function(letter) == [revision]


# --- the status page --------------------------------------------------------------------------


def test_status_page_for_a_drafting_letter(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/status").get_data(as_text=True)
    assert "Freeze the text" in page and f"/letters/{letter.slug}/status/freeze" in page
    assert "data-confirm" in page
    assert "Set a deadline" in page
    assert "No status change yet" in page


def test_status_page_for_a_drafter_only_reads(client: FlaskClient) -> None:
    _coordinator, drafter, letter = _world()
    letter.status = LetterStatus.OPEN
    login(client, drafter)
    page = client.get(f"/letters/{letter.slug}/status").get_data(as_text=True)
    assert "Open for signature" in page
    assert "/status/unfreeze" not in page and "/status/deadline" not in page


def test_freeze_through_the_page(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    login(client, coordinator)
    response = client.post(f"/letters/{letter.slug}/status/freeze")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "The text is frozen" in page
    assert "Froze the text at revision 1" in page and "Cora Coordinator" in page
    assert _status(letter) == LetterStatus.OPEN
    # the editor refuses now
    assert client.get(f"/letters/{letter.slug}/edit").status_code == 302
    # freezing again: a clear message, nothing changes
    response = client.post(f"/letters/{letter.slug}/status/freeze")
    assert "can only be frozen while drafting" in client.get(response.location).get_data(
        as_text=True
    )
    assert len(_audit(letter, lifecycle.FROZEN)) == 1


def test_freeze_with_unclassified_changes_through_the_page(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    approve_through(make_invitation(letter))
    add_revision(letter, coordinator, TEXT_2)
    login(client, coordinator)
    status_page = client.get(f"/letters/{letter.slug}/status").get_data(as_text=True)
    assert "First classify the change saved after organisations approved" in status_page
    response = client.post(f"/letters/{letter.slug}/status/freeze")
    page = client.get(response.location).get_data(as_text=True)
    assert "Classify every change first: revision 2 was saved after" in page
    assert _status(letter) == LetterStatus.DRAFTING


def test_unfreeze_needs_a_reason(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    letter.status = LetterStatus.OPEN
    login(client, coordinator)
    response = client.post(f"/letters/{letter.slug}/status/unfreeze", data={"unfreeze-reason": " "})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Give a reason" in page and 'aria-invalid="true"' in page
    assert _status(letter) == LetterStatus.OPEN
    response = client.post(
        f"/letters/{letter.slug}/status/unfreeze",
        data={"unfreeze-reason": "The Court's registry asked for a correction <b>now</b>"},
    )
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "The text is unfrozen" in page
    assert "Unfroze the text" in page
    assert "The Court&#39;s registry asked for a correction &lt;b&gt;now&lt;/b&gt;" in page
    assert _status(letter) == LetterStatus.DRAFTING


def test_unfreeze_a_drafting_letter_is_refused(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    login(client, coordinator)
    response = client.post(
        f"/letters/{letter.slug}/status/unfreeze", data={"unfreeze-reason": "why not"}
    )
    assert "Only a frozen text" in client.get(response.location).get_data(as_text=True)
    assert _audit(letter, lifecycle.UNFROZEN) == []


def test_close_and_reopen_through_the_page(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    letter.status = LetterStatus.OPEN
    letter.deadline = utcnow() + timedelta(days=3)
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/status").get_data(as_text=True)
    assert "Close signing" in page and "Unfreeze the text" in page
    response = client.post(
        f"/letters/{letter.slug}/status/close", data={"close-reason": "Delivered to the ASP"}
    )
    page = client.get(response.location).get_data(as_text=True)
    assert "Signing is closed" in page and "Delivered to the ASP" in page
    assert "Reopen signing" in page
    assert _status(letter) == LetterStatus.CLOSED
    response = client.post(f"/letters/{letter.slug}/status/reopen", data={"reopen-reason": ""})
    page = client.get(response.location).get_data(as_text=True)
    assert "Signing is open again." in page and "Reopened signing" in page
    assert _status(letter) == LetterStatus.OPEN


def test_reopening_after_the_deadline_warns(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    letter.status = LetterStatus.CLOSED
    letter.deadline = utcnow() - timedelta(hours=1)
    login(client, coordinator)
    response = client.post(f"/letters/{letter.slug}/status/reopen", data={})
    page = client.get(response.location).get_data(as_text=True)
    assert "The deadline has passed" in page


def test_extend_the_deadline_in_the_readers_time_zone(client: FlaskClient) -> None:
    coordinator, _drafter, letter = _world()
    coordinator.timezone = "Europe/Paris"
    old = (utcnow() - timedelta(days=1)).replace(second=0, microsecond=0)
    letter.deadline = old
    invitation = make_invitation(letter, expires_at=old)
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/status").get_data(as_text=True)
    assert "passed: signing is closed" in page and "Extend the deadline" in page
    year = utcnow().year + 1
    response = client.post(
        f"/letters/{letter.slug}/status/deadline", data={"deadline-deadline": f"{year}-01-10T10:00"}
    )
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "The deadline is extended. 1 invitation follows it." in page
    assert "Extended the deadline from" in page
    expected = datetime(year, 1, 10, 9, 0, tzinfo=UTC)  # 10:00 in Paris in winter
    db.session.refresh(letter)
    db.session.refresh(invitation)
    assert letter.deadline == expected and invitation.expires_at == expected
    assert letter.accepts_signatures


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Choose a date and time."),
        ("not a date", "Choose a date and time."),
        ("2001-01-01T10:00", "The new deadline must be in the future."),
        ("{soon}", "Choose a time after the current deadline"),
    ],
)
def test_extend_the_deadline_with_bad_input(client: FlaskClient, value: str, message: str) -> None:
    coordinator, _drafter, letter = _world()
    current = (utcnow() + timedelta(days=10)).replace(second=0, microsecond=0)
    letter.deadline = current
    login(client, coordinator)
    soon = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/letters/{letter.slug}/status/deadline",
        data={"deadline-deadline": value.format(soon=soon)},
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.refresh(letter)
    assert letter.deadline == current
    assert _audit(letter, lifecycle.DEADLINE_EXTENDED) == []


def test_the_log_shows_reminders_and_re_confirmations(client: FlaskClient) -> None:
    from signon.signatures.invitations.reminders import send_reminders

    coordinator, _drafter, letter = _world()
    letter.deadline = (utcnow() + timedelta(days=5)).replace(microsecond=0)
    invitation = make_invitation(letter)
    approve_through(invitation)
    revision = add_revision(letter, coordinator, TEXT_2)
    lifecycle.classify_revision(revision, ChangeKind.SUBSTANTIVE, coordinator)
    send_reminders(letter.deadline - timedelta(hours=10))
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/status").get_data(as_text=True)
    assert "Marked revision 2 substantive" in page
    assert "Asked 1 organisation to re-confirm revision 2" in page
    assert "Sent 1 reminder before the deadline (12 h)" in page


def test_many_optional_revisions_show_only_the_latest_diffs(client: FlaskClient) -> None:
    from signon.signatures.lifecycle.views import OPTIONAL_DIFFS

    coordinator, _drafter, letter = _world()
    for n in range(OPTIONAL_DIFFS + 3):
        add_revision(letter, coordinator, TEXT_1 + f"\nVersion {n}.\n")
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/changes").get_data(as_text=True)
    assert f"Saved before anyone approved ({OPTIONAL_DIFFS + 3})" in page
    shown = '<div class="diff diff-rendered letter-text" lang="en" dir="ltr">'
    assert page.count(shown) == OPTIONAL_DIFFS
    assert page.count("/classify") == OPTIONAL_DIFFS + 3  # one form, two buttons each
    summaries = re.findall(r"<summary>Revision (\d+)", page)
    assert summaries == [str(n) for n in range(OPTIONAL_DIFFS + 4, 1, -1)], "newest first"
