"""The load test's SMTP server: keeps no message, counts them in Redis and hands the
confirmation links to the simulated people.

    python -m benchmarks.load.mailcatcher --port 2525 --redis-url redis://127.0.0.1:6379/8

For every message it receives it adds one to ``load:mails`` under ``<recipient>|<kind>``
(``confirm`` for "Please confirm", ``received`` for "Thank you", ``other``), so that
``run.py`` can check afterwards that every mail the outbox holds arrived exactly once;
for a confirmation it stores the link's path under ``load:link:<recipient>``, where the
simulated person who asked reads it (as a person reads their mail).

Its CPU is the benchmark harness's, not Signon's (it stands in for the signers' mail
servers, on the same two cores), so it does as little as it can per message: the
recipient is the envelope's (the address the SMTP conversation gave, as a mail server
delivers it), the kind comes from the Subject header alone, and the link is found in
the raw message (Signon's parts are 8-bit text, the link is there as written); only a
confirmation whose link is not found that way (an encoded part) is parsed as MIME.
"""

from __future__ import annotations

import argparse
import email
import email.header
import email.policy
import re
import signal
import threading
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import redis
from aiosmtpd.controller import Controller

MAILS = "load:mails"
LINK_PREFIX = "load:link:"
LINK = re.compile(r"https?://\S+/p/[^/\s]+/confirm/[A-Za-z0-9_\-]+")
RAW_LINK = re.compile(LINK.pattern.encode())
#: The Subject header in the raw message's head, with its folded continuation lines.
SUBJECT = re.compile(rb"^Subject:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.MULTILINE | re.IGNORECASE)


def kind_of(subject: str) -> str:
    if subject.startswith("Please confirm"):
        return "confirm"
    if subject.startswith("Thank you"):
        return "received"
    return "other"


def subject_of(content: bytes) -> str:
    """The decoded Subject of a raw message (its RFC 2047 words decoded), from the head."""
    head = content.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = SUBJECT.search(head)
    if not found:
        return ""
    raw = re.sub(rb"\r?\n[ \t]", b" ", found.group(1)).decode("ascii", "replace").strip()
    return str(email.header.make_header(email.header.decode_header(raw))).strip()


def link_of(content: bytes) -> str | None:
    """The confirmation link's path: found in the raw message, else in its parsed text part."""
    found = RAW_LINK.search(content)
    if found:
        return urlsplit(found.group(0).decode("ascii")).path
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    text = LINK.search(str(part.get_content()) if part is not None else "")
    return urlsplit(text.group(0)).path if text else None


class _Handler:
    def __init__(self, store: redis.Redis) -> None:
        self.store = store

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        kind = kind_of(subject_of(envelope.content))
        link = link_of(envelope.content) if kind == "confirm" else None
        pipe = self.store.pipeline(transaction=False)
        for address in envelope.rcpt_tos:
            recipient = str(address).strip().lower()
            pipe.hincrby(MAILS, f"{recipient}|{kind}", 1)
            if link:
                pipe.set(LINK_PREFIX + recipient, link, ex=3600)
        pipe.execute()
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    args = parser.parse_args()
    controller = Controller(
        _Handler(redis.Redis.from_url(args.redis_url)), hostname="127.0.0.1", port=args.port
    )
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"mail catcher on 127.0.0.1:{args.port}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
