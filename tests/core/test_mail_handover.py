"""With Redis (production), a request hands its mail to ``flask worker`` instead of sending it.

A web worker that sends mail after its response is busy for an SMTP conversation and
two database transactions per request; with ``SIGNON_REDIS_URL`` the request only
pushes the outbox ids onto a Redis list, and the worker's mail thread
(``core.mail.send_handed_over``) sends them in batches. Real Redis (DB 8, a key of
its own per test), real SMTP, the outbox as the source of truth.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.config import Settings
from signon.core import jobs, transaction
from signon.core.mail import handed_over_key, send_handed_over
from signon.core.outbox import OutboxMessage
from signon.extensions import db
from tests.conftest import StartWorker
from tests.factories import make_user
from tests.faults.helpers import free_port
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
