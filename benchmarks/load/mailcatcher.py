"""The load test's SMTP server: keeps no message, counts them in Redis and hands the
confirmation links to the simulated people.

    python -m benchmarks.load.mailcatcher --port 2525 --redis-url redis://127.0.0.1:6379/8

For every message it receives it adds one to ``load:mails`` under ``<recipient>|<kind>``
(``confirm`` for "Please confirm", ``received`` for "Thank you", ``other``), so that
``run.py`` can check afterwards that every mail the outbox holds arrived exactly once;
for a confirmation it stores the link's path under ``load:link:<recipient>``, where the
simulated person who asked reads it (as a person reads their mail).
"""

from __future__ import annotations

import argparse
import email
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


def kind_of(subject: str) -> str:
    if subject.startswith("Please confirm"):
        return "confirm"
    if subject.startswith("Thank you"):
        return "received"
    return "other"


class _Handler:
    def __init__(self, store: redis.Redis) -> None:
        self.store = store

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        recipient = str(message["To"]).strip().lower()
        kind = kind_of(str(message["Subject"]).strip())
        pipe = self.store.pipeline()
        pipe.hincrby(MAILS, f"{recipient}|{kind}", 1)
        if kind == "confirm":
            part = message.get_body(preferencelist=("plain",))
            found = LINK.search(str(part.get_content()) if part is not None else "")
            if found:
                pipe.set(LINK_PREFIX + recipient, urlsplit(found.group(0)).path, ex=3600)
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
