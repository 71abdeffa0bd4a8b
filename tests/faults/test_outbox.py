"""The mail outbox: recorded with the change, sent after the commit, retried with
back-off, visible when it fails, never sent twice. Real SMTP servers throughout."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from signon.core import mail
from signon.core.commands import send_mail_command
from signon.core.mail import queue_mail, send_due
from signon.core.outbox import OutboxMessage
from signon.core.transaction import commit, rollback
from signon.db import utcnow
from signon.extensions import db
from tests.core.factories import make_outbox_messages
from tests.factories import make_letter, make_user
from tests.faults.helpers import flaky_mail_server, free_port, mail_port
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")


def _messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_message_is_a_row_of_the_transaction_and_is_sent_after_the_commit(
    outbox: MailCatcher,
) -> None:
    user = make_user()
    letter = make_letter(user)
    queue_mail(
        "someone@ngo.example.org", "About the letter", "test_message", user=user, letter=letter
    )
    [row] = _messages()
    assert row.letter_id == letter.id and row.sent_at is None and row.attempts == 0
    assert "This message checks that mail works." in row.text and "<" in row.html
    assert len(outbox) == 0  # nothing leaves before the commit
    commit()
    [message] = outbox.to("someone@ngo.example.org")
    assert message["Subject"] == "About the letter"
    assert "This message checks that mail works." in MailCatcher.text_of(message)
    [row] = _messages()
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None
    assert mail.failed_messages(letter.id) == []


def test_a_rolled_back_unit_of_work_records_and_sends_nothing(outbox: MailCatcher) -> None:
    user = make_user()
    commit()
    queue_mail("nobody@ngo.example.org", "Never", "test_message", user=user)
    rollback()
    assert _messages() == []
    commit()
    assert len(outbox) == 0


def test_a_refused_message_is_kept_visible_and_sent_once_the_server_accepts_it(
    app: Flask, outbox: MailCatcher
) -> None:
    user = make_user()
    letter = make_letter(user)
    with flaky_mail_server(app) as server:
        queue_mail(
            "refused@ngo.example.org", "Please sign", "test_message", user=user, letter=letter
        )
        commit()
        [row] = _messages()
        assert row.sent_at is None and row.attempts == 1
        assert row.last_error is not None and "550" in row.last_error
        assert row.next_attempt_at is not None and row.next_attempt_at > utcnow()
        assert row.claim_token is None  # released for the next attempt
        assert [m.id for m in mail.failed_messages(letter.id)] == [row.id]
        assert server.accepted == []

        # Not due yet: the back-off is respected.
        assert send_due().sent == 0 and server.accepted == []
        # Still refusing when due: a second failure, a longer wait.
        later = row.next_attempt_at + timedelta(seconds=1)
        report = send_due(later)
        assert (report.sent, report.failed) == (0, 1)
        [row] = _messages()
        assert row.attempts == 2 and row.next_attempt_at is not None
        assert row.next_attempt_at - utcnow() > timedelta(minutes=2) - timedelta(
            seconds=5
        )  # 1, 2, 4...

        server.refusing = False  # the server comes back
        report = send_due(row.next_attempt_at + timedelta(seconds=1))
        assert (report.sent, report.failed) == (1, 0)
        assert server.accepted == ["refused@ngo.example.org"]
        [row] = _messages()
        assert row.sent_at is not None and row.attempts == 3 and row.last_error is None
        assert mail.failed_messages(letter.id) == []

        # Running again (cron) sends nothing more.
        assert send_due(utcnow() + timedelta(days=30)).sent == 0
        assert server.accepted == ["refused@ngo.example.org"]
    assert len(outbox) == 0


def test_an_unreachable_server_is_recorded_and_the_message_sent_later(
    app: Flask, outbox: MailCatcher
) -> None:
    user = make_user()
    letter = make_letter(user)
    with mail_port(app, free_port()):  # nothing listens there
        queue_mail("later@ngo.example.org", "Later", "test_message", user=user, letter=letter)
        commit()
    [row] = _messages()
    assert row.sent_at is None and row.last_error is not None
    assert row.last_error.startswith("Could not reach the mail server")
    assert len(outbox) == 0
    assert send_due(utcnow() + timedelta(hours=1)).sent == 1
    assert len(outbox.to("later@ngo.example.org")) == 1
    assert send_due(utcnow() + timedelta(days=1)).sent == 0
    assert len(outbox) == 1


def test_after_the_last_automatic_attempt_it_stays_visible_for_a_manual_retry(
    app: Flask, outbox: MailCatcher
) -> None:
    user = make_user()
    letter = make_letter(user)
    queue_mail("stuck@ngo.example.org", "Stuck", "test_message", user=user, letter=letter)
    rows = _messages()
    rows[0].attempts = mail.MAX_AUTOMATIC_ATTEMPTS
    rows[0].last_error = "Refused by the mail server: 550 no"
    db.session.flush()
    from signon.core.transaction import discard_after_commit_callbacks

    discard_after_commit_callbacks()  # as if every automatic attempt had failed
    commit()
    assert send_due(utcnow() + timedelta(days=365)).sent == 0
    [failed] = mail.failed_messages(letter.id)
    mail.retry_message(failed)
    commit()
    assert len(outbox.to("stuck@ngo.example.org")) == 1
    assert mail.failed_messages(letter.id) == []


def test_a_message_claimed_by_another_sender_is_left_alone_until_the_claim_expires(
    outbox: MailCatcher,
) -> None:
    user = make_user()
    row = queue_mail("claimed@ngo.example.org", "Claimed", "test_message", user=user)
    row.claimed_at, row.claim_token = utcnow(), "someone-else"
    db.session.flush()
    commit()  # the request's own attempt finds it claimed: it does not send it
    assert len(outbox) == 0
    assert send_due().sent == 0 and len(outbox) == 0
    row = _messages()[0]
    row.claimed_at = utcnow() - timedelta(seconds=mail.CLAIM_SECONDS + 1)  # that sender died
    commit()
    assert send_due().sent == 1 and len(outbox) == 1


def test_the_send_mail_command(app: Flask, outbox: MailCatcher) -> None:
    user = make_user()
    with mail_port(app, free_port()):
        queue_mail("cli@ngo.example.org", "By cron", "test_message", user=user)
        commit()
    row = _messages()[0]
    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    commit()
    runner = app.test_cli_runner()
    with mail_port(app, free_port()):
        result = runner.invoke(send_mail_command)
    assert result.exit_code == 1 and "0 sent, 1 failed" in result.output
    row = _messages()[0]
    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    commit()
    result = runner.invoke(send_mail_command)
    assert result.exit_code == 0 and "1 sent, 0 failed" in result.output
    assert len(outbox.to("cli@ngo.example.org")) == 1
    result = runner.invoke(send_mail_command)
    assert result.exit_code == 0 and "0 sent, 0 failed" in result.output
    assert len(outbox) == 1


@pytest.mark.real_commits
def test_concurrent_senders_never_send_a_message_twice(app: Flask, outbox: MailCatcher) -> None:
    """Four ``send-mail`` runs (and no request) at the same moment over 40 due messages."""
    with app.test_request_context():
        make_outbox_messages(40)
        commit()
        db.session.remove()
    outbox.clear()
    barrier = threading.Barrier(4)
    reports: list[mail.SendReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait()
                reports.append(send_due())
                db.session.remove()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sum(r.sent for r in reports) == 40 and sum(r.failed for r in reports) == 0
    recipients = sorted(str(m["To"]) for m in outbox.messages)
    assert recipients == sorted(f"r{i}@ngo.example.org" for i in range(40))
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.attempts == 1)
            )
            == 40
        )
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None))
            )
            == 0
        )
