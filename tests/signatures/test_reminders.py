"""Reminders before the deadline: due points, never twice, overlapping runs, the command."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from signon import create_app
from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, LetterStatus
from signon.signatures.approvals.operations import decline, withdraw
from signon.signatures.invitations.links import invitation_token
from signon.signatures.invitations.reminders import due_points, in_words, send_reminders
from signon.signatures.models import Invitation, InvitationStatus, ReminderSent
from tests.conftest import make_settings
from tests.factories import add_revision, make_letter, make_user
from tests.signatures.factories import (
    approve_through,
    classify,
    endpoint_of,
    make_invitation,
)
from tests.smtp import MailCatcher
from tests.threads import run_together

POINTS = (168, 48, 12)
TEXT = "We call on the States to cooperate.\n\nWe thank the Court.\n"


def _deadline() -> datetime:
    return (utcnow() + timedelta(days=30)).replace(second=0, microsecond=0)


_DEFAULT = object()


def _letter(deadline=_DEFAULT, **fields) -> Letter:
    if deadline is _DEFAULT:
        deadline = _deadline()
    return make_letter(make_user(), body=TEXT, deadline=deadline, **fields)


def _rows(invitation: Invitation) -> list[int]:
    return sorted(
        db.session.scalars(
            select(ReminderSent.hours_before).where(ReminderSent.invitation_id == invitation.id)
        ),
        reverse=True,
    )


# --- pure helpers ---------------------------------------------------------------------------


def test_due_points() -> None:
    d = _deadline()
    h = timedelta(hours=1)
    assert due_points(d, d - 169 * h, POINTS) == []
    assert due_points(d, d - 168 * h, POINTS) == [168]
    assert due_points(d, d - 47 * h, POINTS) == [168, 48]
    assert due_points(d, d - timedelta(minutes=1), POINTS) == [168, 48, 12]
    assert due_points(d, d, POINTS) == []
    assert due_points(d, d + h, POINTS) == []


@pytest.mark.parametrize(
    ("hours", "words"),
    [
        (167.95, "in 7 days"),
        (47.9, "in 2 days"),
        (36, "in 2 days"),
        (30, "in 30 hours"),
        (11.95, "in 12 hours"),
        (1.5, "in 2 hours"),
        (0.5, "in 30 minutes"),
        (1 / 60, "in 1 minute"),
    ],
)
def test_deadline_in_words(hours: float, words: str) -> None:
    assert in_words(timedelta(hours=hours)) == words


# --- one run, then the next ---------------------------------------------------------------------


@pytest.mark.usefixtures("app_context")
def test_one_mail_for_the_most_urgent_point_and_never_twice(
    app: Flask, outbox: MailCatcher
) -> None:
    letter = _letter()
    deadline = letter.deadline
    invitation = make_invitation(letter, organisation_name="Justice NGO", email="jo@justice.org")
    summary = send_reminders(deadline - timedelta(hours=47))
    commit()
    assert (summary.letters_scanned, summary.total, summary.sent[48]) == (1, 1, 1)
    assert _rows(invitation) == [168, 48], "every due point is recorded as done"
    (message,) = outbox.to("jo@justice.org")
    assert message["Subject"].strip() == f"Reminder: signing “{letter.title}” closes in 2 days"
    text = MailCatcher.text_of(message)
    assert "signing closes in 2 days" in text
    assert f"{deadline.day} {deadline:%B %Y, %H:%M} UTC" in text
    assert "Justice NGO has not approved the letter yet" in text
    link = next(word for word in text.split() if "/sign/" in word)
    assert endpoint_of(app, link) == ("signatures.sign", {"token": invitation_token(invitation)})
    assert "signing closes in 2 days" in MailCatcher.html_of(message)

    # the same run again, a few minutes later: nothing new
    again = send_reminders(deadline - timedelta(hours=46, minutes=55))
    commit()
    assert again.total == 0 and len(outbox.messages) == 1

    # the last point
    last = send_reminders(deadline - timedelta(hours=11))
    commit()
    assert last.sent[12] == 1 and len(outbox.messages) == 2
    assert "closes in 11 hours" in outbox.messages[1]["Subject"]
    assert _rows(invitation) == [168, 48, 12]
    assert send_reminders(deadline - timedelta(hours=1)).total == 0


@pytest.mark.usefixtures("app_context")
def test_nothing_before_the_first_point_nor_after_the_deadline(outbox: MailCatcher) -> None:
    letter = _letter()
    invitation = make_invitation(letter)
    deadline = letter.deadline
    assert send_reminders(deadline - timedelta(hours=169)).total == 0
    after = send_reminders(deadline + timedelta(minutes=1))
    assert after.letters_scanned == 0 and after.total == 0
    commit()
    assert outbox.messages == [] and _rows(invitation) == []


@pytest.mark.usefixtures("app_context")
def test_who_is_reminded(outbox: MailCatcher) -> None:
    letter = _letter()
    deadline = letter.deadline
    invited = make_invitation(letter, email="invited@a.org")
    opened = make_invitation(letter, email="opened@b.org", status=InvitationStatus.OPENED)
    current = make_invitation(letter, email="current@c.org")
    approve_through(current)
    earlier = make_invitation(letter, email="earlier@d.org", organisation_name="Earlier NGO")
    approve_through(earlier)
    carried = make_invitation(letter, email="carried@e.org")
    declined = make_invitation(letter, email="declined@f.org")
    decline(letter, declined, reason=None, email=declined.email)
    withdrawn = make_invitation(letter, email="withdrawn@g.org")
    withdraw(approve_through(withdrawn), reason=None, email=withdrawn.email)
    make_invitation(letter, email="revoked@h.org", revoked=True)
    make_invitation(letter, email="failed@i.org", status=InvitationStatus.FAILED)
    make_invitation(letter, email="queued@j.org", status=InvitationStatus.QUEUED)
    make_invitation(letter, email="expired@k.org", expires_at=deadline - timedelta(days=3))
    # earlier approved revision 1; 2 is substantive, then "current" and "carried" approve 2
    r2 = add_revision(letter, None, TEXT.replace("call on", "urge"))
    classify(r2, ChangeKind.SUBSTANTIVE)
    approve_through(current)
    approve_through(carried)
    classify(
        add_revision(letter, None, TEXT.replace("call on", "urge") + "\n"), ChangeKind.EDITORIAL
    )
    summary = send_reminders(deadline - timedelta(hours=10))
    commit()
    # (the coordinator's notices: tests/signatures/test_notices.py)
    coordinator = letter.created_by
    assert coordinator is not None
    assert sorted(str(m["To"]) for m in outbox.messages if m["To"] != coordinator.email) == [
        "earlier@d.org",
        "invited@a.org",
        "opened@b.org",
    ]
    assert summary.sent[12] == 3
    text = MailCatcher.text_of(outbox.to("earlier@d.org")[0])
    assert "Earlier NGO approved revision 1" in text and "now revision 3" in text
    assert "Before:\r\nWe call on the States to cooperate." in text
    assert "After:\r\nWe urge the States to cooperate." in text
    assert "urge</ins>" in MailCatcher.html_of(outbox.to("earlier@d.org")[0])
    assert _rows(invited) == [168, 48, 12] and _rows(opened) == [168, 48, 12]
    assert _rows(current) == [] and _rows(declined) == []


@pytest.mark.usefixtures("app_context")
def test_a_second_contact_of_an_organisation_that_approved_is_not_reminded(
    outbox: MailCatcher,
) -> None:
    letter = _letter()
    first = make_invitation(letter, organisation_name="Justice NGO", email="a@justice.org")
    make_invitation(letter, organisation_name="  justice ngo ", email="b@justice.org")
    make_invitation(letter, organisation_name="Other NGO", email="c@other.org")
    approve_through(first)
    summary = send_reminders(letter.deadline - timedelta(hours=10))
    commit()
    assert summary.total == 1
    assert [str(m["To"]) for m in outbox.messages] == ["c@other.org"]


@pytest.mark.usefixtures("app_context")
@pytest.mark.parametrize(
    "status", [LetterStatus.CLOSED, LetterStatus.PUBLISHED], ids=["closed", "published"]
)
def test_letters_that_do_not_accept_signatures_are_skipped(
    status: LetterStatus, outbox: MailCatcher
) -> None:
    letter = _letter(status=status)
    make_invitation(letter)
    summary = send_reminders(letter.deadline - timedelta(hours=10))
    commit()
    assert summary.letters_scanned == 0 and outbox.messages == []


@pytest.mark.usefixtures("app_context")
def test_open_and_drafting_letters_are_reminded(outbox: MailCatcher) -> None:
    deadline = _deadline()
    for status in (LetterStatus.DRAFTING, LetterStatus.OPEN):
        make_invitation(_letter(deadline=deadline, status=status))
    _letter(deadline=None)  # no deadline: never reminded
    summary = send_reminders(deadline - timedelta(hours=10))
    commit()
    assert summary.letters_scanned == 2 and len(outbox.messages) == 2


@pytest.mark.usefixtures("app_context")
def test_points_passed_before_the_invitation_was_sent_are_not_mailed(
    outbox: MailCatcher,
) -> None:
    letter = _letter()
    deadline = letter.deadline
    # invited 30 hours before the deadline: the 168 and 48 hour points had passed
    late = make_invitation(letter, sent_at=deadline - timedelta(hours=30))
    summary = send_reminders(deadline - timedelta(hours=29))
    commit()
    assert summary.total == 0 and summary.recorded_silently == 2
    assert outbox.messages == [] and _rows(late) == [168, 48]
    # but the 12 hour point came after it: reminded then
    assert send_reminders(deadline - timedelta(hours=11)).sent[12] == 1
    commit()
    assert len(outbox.messages) == 1


@pytest.mark.usefixtures("app_context")
def test_a_new_less_urgent_point_after_a_more_urgent_one_sends_nothing(
    app: Flask, outbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    letter = _letter()
    deadline = letter.deadline
    invitation = make_invitation(letter)
    send_reminders(deadline - timedelta(hours=10))
    commit()
    assert len(outbox.messages) == 1
    # the configuration gains a 24-hour point: it is due, but 12 was already mailed
    settings = app.config["SIGNON"].with_(reminder_hours=(168, 48, 24, 12))
    monkeypatch.setitem(app.config, "SIGNON", settings)
    summary = send_reminders(deadline - timedelta(hours=9))
    commit()
    assert summary.total == 0 and summary.recorded_silently == 1
    assert len(outbox.messages) == 1 and _rows(invitation) == [168, 48, 24, 12]


@pytest.mark.usefixtures("app_context")
def test_dry_run_records_and_sends_nothing(outbox: MailCatcher) -> None:
    letter = _letter()
    invitation = make_invitation(letter)
    summary = send_reminders(letter.deadline - timedelta(hours=10), dry_run=True)
    commit()
    assert summary.sent[12] == 1 and summary.recorded_silently == 2
    assert "Reminders that would be sent: 1" in "\n".join(summary.lines(POINTS))
    assert outbox.messages == [] and _rows(invitation) == []


# --- overlapping runs, with real commits ------------------------------------------------


@pytest.mark.real_commits
def test_overlapping_runs_send_each_reminder_once(app: Flask, outbox: MailCatcher) -> None:
    organisations = 12
    with app.app_context():
        letter = _letter()
        deadline = letter.deadline
        for _ in range(organisations):
            make_invitation(letter)
        db.session.commit()
    barrier = threading.Barrier(2)
    totals: list[int] = []

    def cron() -> None:
        with app.test_request_context():
            barrier.wait()
            summary = send_reminders(deadline - timedelta(hours=10))
            commit()
            totals.append(summary.total)
            db.session.remove()

    run_together([cron, cron])
    assert sum(totals) == organisations, totals
    assert len(outbox.messages) == organisations
    assert len({str(m["To"]) for m in outbox.messages}) == organisations
    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(ReminderSent))
        assert rows == organisations * 3


# --- the command ----------------------------------------------------------------------------------


@pytest.mark.real_commits
def test_the_command(
    app: Flask, outbox: MailCatcher, database_url: str, mail_catcher: MailCatcher
) -> None:
    with app.app_context():
        letter = make_letter(make_user(), body=TEXT, deadline=utcnow() + timedelta(hours=47))
        invitation = make_invitation(letter, email="jo@justice.org")
        token = invitation_token(invitation)
        invitation_id = invitation.id
        db.session.commit()
    # The command's links come from the canonical address (SIGNON_BASE_URL), as in cron.
    site = create_app(
        make_settings(database_url, mail_catcher, base_url="https://signon.example.org")
    )
    runner = site.test_cli_runner()

    dry = runner.invoke(args=["send-reminders", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Letters scanned: 1" in dry.output
    assert "Reminders that would be sent: 1 (168 h before: 0, 48 h before: 1, 12 h before: 0)" in (
        dry.output
    )
    assert outbox.messages == []

    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert "Reminders sent: 1 (168 h before: 0, 48 h before: 1, 12 h before: 0)" in result.output
    (message,) = outbox.to("jo@justice.org")
    link = next(w for w in MailCatcher.text_of(message).split() if "/sign/" in w)
    assert link == f"https://signon.example.org/sign/{token}"
    assert endpoint_of(app, link) == ("signatures.sign", {"token": token})

    again = runner.invoke(args=["send-reminders"])
    assert again.exit_code == 0 and "Reminders sent: 0" in again.output
    assert len(outbox.messages) == 1
    with app.app_context():
        rows = db.session.scalars(
            select(ReminderSent.hours_before).where(ReminderSent.invitation_id == invitation_id)
        )
        assert sorted(rows) == [48, 168]
    with site.app_context():
        db.engine.dispose()
