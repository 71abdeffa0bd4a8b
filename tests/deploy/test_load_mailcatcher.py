"""The load test's mail catcher (``benchmarks/load/mailcatcher.py``) stands in for the
signers' inboxes: real SMTP in, and out through Redis a count per recipient and kind
(the load test's exactly-once proof) and each confirmation link (what the simulated
person opens). It reads as little of each message as it can; these tests hold it to
the messages Signon really sends."""

from __future__ import annotations

import email
import re
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
import redis
from aiosmtpd.controller import Controller
from flask import Flask

from benchmarks.load.mailcatcher import LINK_PREFIX, MAILS, _Handler
from benchmarks.mail_worker import sign_on_mails
from signon.core import mail
from signon.core.transaction import commit
from signon.extensions import db
from tests.faults.helpers import free_port, mail_port
from tests.redis_urls import redis_db

pytestmark = pytest.mark.usefixtures("app_context")


@pytest.fixture
def catcher() -> Iterator[tuple[int, redis.Redis]]:
    store = redis.Redis.from_url(redis_db(12), decode_responses=True)
    store.flushdb()
    controller = Controller(_Handler(store), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, store
    controller.stop()
    store.flushdb()


def test_it_counts_signons_mails_and_hands_over_the_confirmation_link(
    app: Flask, catcher: tuple[int, redis.Redis], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signon's own mails are read without parsing their MIME (the catcher's CPU is the
    benchmark's, taken from the app it measures)."""
    port, store = catcher

    def parsed(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a Signon mail was parsed as MIME")

    monkeypatch.setattr(email, "message_from_bytes", parsed)
    rows = sign_on_mails(4)  # two people: a confirmation and a thank-you each
    rows[0].recipient = "Person0@Signers.example.org"  # the address as typed
    other = mail.outbox_message(
        "someone@ngo.example.org",
        "About “the letter”",
        "test_message",
        letter_id=None,
        user=SimpleNamespace(display_name="Someone"),
    )
    db.session.add_all([*rows, other])
    commit()
    with mail_port(app, port):  # sent as flask worker sends them
        report = mail.send_outbox([row.id for row in [*rows, other]])
    assert (report.sent, report.failed) == (5, 0)
    assert store.hgetall(MAILS) == {
        "person0@signers.example.org|confirm": "1",
        "person0@signers.example.org|received": "1",
        "person1@signers.example.org|confirm": "1",
        "person1@signers.example.org|received": "1",
        "someone@ngo.example.org|other": "1",
    }
    for n in range(2):
        mailed = re.search(r"http://\S+(/p/\S+/confirm/\S+)", rows[2 * n].text)
        assert mailed is not None
        assert store.get(f"{LINK_PREFIX}person{n}@signers.example.org") == mailed.group(1)
    assert store.get(f"{LINK_PREFIX}someone@ngo.example.org") is None


def test_an_encoded_confirmation_is_read_as_mime(catcher: tuple[int, redis.Redis]) -> None:
    """A part in base64 hides the link from the raw search: the catcher parses that one."""
    port, store = catcher
    message = EmailMessage()
    message["From"] = "signon@example.org"
    message["To"] = "enc@signers.example.org"
    message["Subject"] = "Please confirm your signature of “Ünïcode”"
    message.set_content(
        "Open http://127.0.0.1:8000/p/a-letter/confirm/Tok_en-9 to confirm.", cte="base64"
    )
    with smtplib.SMTP("127.0.0.1", port) as client:
        client.send_message(message)
    assert store.hgetall(MAILS) == {"enc@signers.example.org|confirm": "1"}
    assert store.get(f"{LINK_PREFIX}enc@signers.example.org") == "/p/a-letter/confirm/Tok_en-9"
