"""With Redis (production), a request hands its mail to ``flask worker`` instead of sending it.

A web worker that sends mail after its response is busy for an SMTP conversation and
two database transactions per request; with ``SIGNON_REDIS_URL`` the request only
pushes the outbox ids onto a Redis list, and the worker's mail thread
(``core.mail.send_handed_over``) sends them in batches. Real Redis (DB 8, a key of
its own per test), real SMTP, the outbox as the source of truth.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update
from sqlalchemy.exc import OperationalError

from signon.config import Settings
from signon.core import jobs, mail, transaction
from signon.core.mail import handed_over_key, send_handed_over
from signon.core.outbox import OutboxMessage
from signon.db import utcnow
from signon.extensions import db
from signon.extensions import mail as mail_extension
from tests.conftest import StartWorker
from tests.core.factories import make_outbox_messages
from tests.factories import make_user
from tests.faults.helpers import free_port, mail_port
from tests.redis_urls import redis_db
from tests.smtp import MailCatcher

REDIS_URL = redis_db(8)


@pytest.fixture
def with_redis(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app with Redis configured (a queue name of its own); the list emptied after."""
    settings: Settings = app.config["SIGNON"]
    queue = f"signon-test-{uuid.uuid4().hex}"
    monkeypatch.setitem(app.config, "SIGNON", settings.with_(redis_url=REDIS_URL, job_queue=queue))
    monkeypatch.delitem(app.extensions, "signon_jobs_redis", raising=False)
    yield f"{queue}:mail"
    redis.Redis.from_url(REDIS_URL).delete(f"{queue}:mail")
    app.extensions.pop("signon_jobs_redis", None)


def _rows() -> list[OutboxMessage]:
    """The outbox as it is now, in a unit of work over when this returns (as in
    tests/core/test_mail_after_response.py)."""
    db.session.expire_all()
    rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    db.session.expunge_all()
    db.session.commit()
    return rows


def test_a_request_hands_its_mail_to_the_worker_which_sends_it_once(
    app: Flask, client: FlaskClient, outbox: MailCatcher, with_redis: str
) -> None:
    make_user("me@example.org")
    response = client.post("/forgot-password", data={"email": "me@example.org"})
    assert response.status_code == 302
    [row] = _rows()
    assert row.sent_at is None and len(outbox) == 0  # handed over, not sent
    assert handed_over_key() == with_redis
    assert [int(i) for i in jobs.redis_connection().lrange(with_redis, 0, -1)] == [row.id]

    jobs.redis_connection().rpush(with_redis, row.id)  # handed over twice: mailed once
    report = send_handed_over(wait_seconds=1)
    assert (report.sent, report.failed) == (1, 0)
    assert [m["To"] for m in outbox.messages] == ["me@example.org"]
    [row] = _rows()
    assert row.sent_at is not None and row.attempts == 1
    assert jobs.redis_connection().llen(with_redis) == 0
    nothing = send_handed_over(wait_seconds=0.1)
    assert (nothing.sent, nothing.failed) == (0, 0)
    assert len(outbox) == 1


def test_without_redis_the_request_sends_its_mail_itself(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    make_user("me@example.org")
    assert client.post("/forgot-password", data={"email": "me@example.org"}).status_code == 302
    assert [m["To"] for m in outbox.messages] == ["me@example.org"]


def test_when_redis_cannot_be_reached_the_request_sends_the_mail_itself(
    app: Flask, client: FlaskClient, outbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings: Settings = app.config["SIGNON"]
    monkeypatch.setitem(
        app.config, "SIGNON", settings.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    )
    monkeypatch.delitem(app.extensions, "signon_jobs_redis", raising=False)
    make_user("me@example.org")
    assert client.post("/forgot-password", data={"email": "me@example.org"}).status_code == 302
    assert [m["To"] for m in outbox.messages] == ["me@example.org"]
    [row] = _rows()
    assert row.sent_at is not None
    app.extensions.pop("signon_jobs_redis", None)


@pytest.mark.real_commits
def test_a_real_flask_worker_sends_what_a_request_handed_over(
    rq_setup: tuple[Flask, StartWorker], outbox: MailCatcher
) -> None:
    """Two processes: this one serves the request, a ``flask worker`` subprocess (its mail
    thread) sends the mail, once."""
    app, start_worker = rq_setup
    with app.app_context():
        make_user("me@example.org")
        transaction.commit()
        client = app.test_client()
        assert client.post("/forgot-password", data={"email": "me@example.org"}).status_code == 302
        [row] = _rows()
        assert row.sent_at is None and len(outbox) == 0
        worker = start_worker()
        deadline = time.monotonic() + 60
        while not (outbox.to("me@example.org") and _rows()[0].sent_at is not None):
            # the SMTP server has it before the worker records it as sent: wait for both
            assert worker.poll() is None, worker.communicate()[0]
            assert time.monotonic() < deadline, "the worker did not send the mail"
            time.sleep(0.1)
        [row] = _rows()
        assert row.sent_at is not None and row.attempts == 1
        time.sleep(1.5)  # another round of the mail thread: nothing more
        assert [m["To"] for m in outbox.messages] == ["me@example.org"]
        assert jobs.redis_connection().llen(handed_over_key()) == 0
        db.session.remove()


# --- The mail thread's batches ------------------------------------------------------------


def _queued(count: int, prefix: str = "r") -> list[int]:
    """``count`` committed outbox messages (as requests leave them, handed over by nobody)."""
    rows = make_outbox_messages(count, prefix)
    transaction.commit()
    return [row.id for row in rows]


def test_the_mail_thread_sends_round_after_round_over_one_smtp_connection(
    app: Flask, outbox: MailCatcher, with_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids arriving one by one (as in a burst of sign-ons) go out over one SMTP session,
    each marked sent once; the session ends when the thread stops."""
    monkeypatch.setattr(mail, "MAIL_BATCH", 1)  # a round takes one id: three rounds
    ids = _queued(3)
    jobs.redis_connection().rpush(with_redis, *ids)
    mail.mail_rounds(app, threading.Event(), rounds=3)
    assert sorted(str(m["To"]) for m in outbox.messages) == [
        f"r{n}@ngo.example.org" for n in range(3)
    ]
    assert outbox.connections == 1
    rows = _rows()
    assert [(row.attempts, row.claim_token) for row in rows] == [(1, None)] * 3
    assert all(row.sent_at is not None for row in rows)


def test_a_connection_the_server_dropped_between_rounds_is_reopened(
    app: Flask, outbox: MailCatcher, with_redis: str
) -> None:
    smtp = mail_extension.get_connection()
    try:
        [first] = _queued(1, "first")
        jobs.redis_connection().rpush(with_redis, first)
        assert send_handed_over(smtp=smtp).sent == 1
        outbox.restart()  # the server goes away and comes back: the open session is gone
        [second] = _queued(1, "second")
        jobs.redis_connection().rpush(with_redis, second)
        report = send_handed_over(smtp=smtp)
    finally:
        smtp.close()
    assert (report.sent, report.failed) == (1, 0)
    assert [str(m["To"]) for m in outbox.messages] == [
        "first0@ngo.example.org",
        "second0@ngo.example.org",
    ]
    assert outbox.connections == 2
    assert [row.attempts for row in _rows()] == [1, 1]


class _Refusing:
    """An SMTP server's handler that refuses one address and accepts the others."""

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.accepted: list[str] = []

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == self.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.accepted.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


def test_a_batch_is_claimed_and_marked_sent_in_one_statement_each(
    app: Flask, with_redis: str
) -> None:
    """Five messages, the third refused: one UPDATE claims them, the refusal is recorded
    at once (with its back-off), one UPDATE marks the four others sent."""
    ids = _queued(5)
    handler = _Refusing("r2@ngo.example.org")
    server = Controller(handler, hostname="127.0.0.1", port=free_port())
    server.start()
    updates: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX_MESSAGES"):
            updates.append(statement)

    jobs.redis_connection().rpush(with_redis, *ids)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with mail_port(app, server.port):
            report = send_handed_over(wait_seconds=1)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
        server.stop()
    assert (report.sent, report.failed) == (4, 1)
    assert sorted(handler.accepted) == [f"r{n}@ngo.example.org" for n in (0, 1, 3, 4)]
    assert len(updates) == 3  # the claim, the refusal, the four sent
    rows = {row.recipient: row for row in _rows()}
    refused = rows.pop("r2@ngo.example.org")
    assert refused.sent_at is None and refused.attempts == 1 and refused.claim_token is None
    assert refused.last_error is not None and "550" in refused.last_error
    assert refused.next_attempt_at is not None and refused.next_attempt_at > utcnow()
    assert all(
        row.sent_at is not None and row.attempts == 1 and row.claim_token is None
        for row in rows.values()
    )


def test_messages_sent_but_not_yet_marked_are_left_to_their_claim(
    app: Flask, outbox: MailCatcher, with_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch whose marking fails (the database went away after the server accepted
    it) stays claimed: nobody sends it again before the claim expires, and then it is
    sent again (SMTP's at-least-once, which the module states), never lost."""
    ids = _queued(2)

    def database_gone(_ids: Any, _token: str, _database: Any = None) -> None:
        raise OperationalError("UPDATE", {}, Exception("server closed the connection"))

    monkeypatch.setattr(mail, "_record_sent", database_gone)
    jobs.redis_connection().rpush(with_redis, *ids)
    with pytest.raises(OperationalError):
        send_handed_over(wait_seconds=1)
    assert len(outbox) == 2
    monkeypatch.undo()
    assert all(row.claim_token is not None and row.sent_at is None for row in _rows())
    assert mail.send_due().sent == 0 and len(outbox) == 2  # claimed: left alone
    expired = utcnow() - timedelta(seconds=mail.CLAIM_SECONDS + 1)
    db.session.execute(update(OutboxMessage).values(claimed_at=expired))  # that sender died
    transaction.commit()
    assert mail.send_due().sent == 2 and len(outbox) == 4
    assert all(row.sent_at is not None for row in _rows())


@pytest.mark.real_commits
def test_the_worker_exit_lets_the_mail_thread_finish_its_round(
    app: Flask, outbox: MailCatcher, with_redis: str
) -> None:
    """``flask worker``'s mail thread, started as the worker starts it, sends what is
    handed over; at the worker's exit (atexit) it is stopped after its round."""
    with app.app_context():
        ids = _queued(3)
        db.session.remove()
        mail._start_mail_thread()
        assert mail._mail_thread is not None
        thread, _stop = mail._mail_thread
        jobs.redis_connection().rpush(with_redis, *ids)
        deadline = time.monotonic() + 30
        while not all(row.sent_at is not None for row in _rows()):
            assert time.monotonic() < deadline, "the mail thread did not send the mail"
            time.sleep(0.05)
        mail.stop_mail_thread()
        assert not thread.is_alive() and mail._mail_thread is None
        assert len(outbox) == 3 and outbox.connections == 1
        db.session.remove()


def test_the_mail_thread_outlives_a_database_down_when_it_starts(
    app: Flask, outbox: MailCatcher, with_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread's own connection cannot be had in its first round (the database is not
    up yet): the round fails and is logged, the next one takes it and sends the mail."""
    [message_id] = _queued(1)
    jobs.redis_connection().rpush(with_redis, message_id)
    attempts: list[int] = []
    real = mail.own_connection

    def database_not_up_yet() -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise OperationalError("connect", {}, Exception("the database system is starting up"))
        return real()

    monkeypatch.setattr(mail, "own_connection", database_not_up_yet)
    mail.mail_rounds(app, threading.Event(), rounds=2)
    assert len(attempts) == 2
    assert [str(m["To"]) for m in outbox.messages] == ["r0@ngo.example.org"]
    [row] = _rows()
    assert row.sent_at is not None and row.attempts == 1
