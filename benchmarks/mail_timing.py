"""Does the response time of ``POST /forgot-password`` tell who has an account?

    .venv/bin/python -m benchmarks.mail_timing [--runs 40] [--smtp-delay-ms 0]

Issue 9 item 5: the reset mail used to be sent in the request, right after the commit,
so the answer for an address with an account came back later than for one without, by
the time of an SMTP conversation. Now (``SIGNON_MAIL_AFTER_RESPONSE``, on by default)
the mail is handed to ``response.close()``, which the WSGI server calls once the
response has been written.

It serves the app with Werkzeug's WSGI server (which, like gunicorn, calls ``close()``
after writing the body) on a fresh SQLite database in a temporary folder, in a process
of its own with a real SMTP server (aiosmtpd, as in ``tests/smtp.py``;
``--smtp-delay-ms`` makes it answer the message that much later, like a distant
server), and measures from this process, so that the sending after the response does
not compete with the measuring for the interpreter. For each setting ("before": mail
sent in the request; "after": after the response) it posts known and unknown addresses
in random order over new HTTP connections, waits between requests until the server is
idle again (the mail arrived and was recorded as sent), and prints the median, min and
max time until the whole response was read, and the median time until the mail arrived
(known addresses).

Wall-clock times on a shared machine are noisy; the difference known - unknown, measured
in the same run, is the figure that matters.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import logging
import multiprocessing
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

KNOWN = "known@example.org"
UNKNOWN = "unknown@example.org"


class _SlowHandler:
    """Counts every message (in memory shared with the benchmark's process), answering
    DATA ``delay`` seconds late."""

    def __init__(self, delay: float, received: Any) -> None:
        self.delay = delay
        self.received = received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.received.get_lock():
            self.received.value += 1
        return "250 Message accepted for delivery"


def _serve(
    folder: Path,
    label: str,
    after_response: bool,
    http_port: int,
    smtp_delay: float,
    received: Any,
    ready: Any,
) -> None:
    """The server's process: the SMTP server and the app under Werkzeug's WSGI server."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    logging.getLogger("alembic").setLevel(logging.WARNING)

    from aiosmtpd.controller import Controller
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from signon import create_app
    from signon.config import Settings
    from signon.core.transaction import commit
    from tests.factories import make_user
    from tests.smtp import _free_port

    smtp_port = _free_port()
    smtp = Controller(_SlowHandler(smtp_delay, received), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    app = create_app(
        Settings(
            secret_key="benchmark",  # noqa: S106 - a throwaway app
            database_url=f"sqlite:///{folder / f'{label}.db'}",
            storage_dir=str(folder / "storage"),
            base_url=f"http://127.0.0.1:{http_port}",
            mail_server="127.0.0.1",
            mail_port=smtp_port,
            ratelimit_enabled=False,
            wtf_csrf_enabled=False,
            mail_after_response=after_response,
        )
    )
    with app.app_context():
        upgrade()
        make_user(KNOWN)
        commit()
    server = make_server("127.0.0.1", http_port, app)
    ready.set()
    server.serve_forever()


def _post(port: int, email: str) -> float:
    """Seconds until the whole response to ``POST /forgot-password`` was read."""
    body = urlencode({"email": email})
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        "POST",
        "/forgot-password",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    response = connection.getresponse()
    response.read()  # reads Content-Length bytes: does not wait for the server's close
    elapsed = time.perf_counter() - started
    connection.close()
    assert response.status == 302, response.status
    return elapsed


def _wait_for(received: Any, count: int, timeout: float = 30) -> None:
    started = time.perf_counter()
    while received.value < count:
        if time.perf_counter() - started > timeout:
            raise RuntimeError("the mail did not arrive")
        time.sleep(0.0005)


def _wait_until_idle(database: Path, timeout: float = 30) -> None:
    """Until the server has recorded every mail as sent (its last write of a request)."""
    started = time.perf_counter()
    with sqlite3.connect(database) as connection:
        while connection.execute(
            "SELECT count(*) FROM outbox_messages WHERE sent_at IS NULL"
        ).fetchone()[0]:
            if time.perf_counter() - started > timeout:
                raise RuntimeError("the server did not record the mail")
            time.sleep(0.001)
    time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="requests per address and setting")
    parser.add_argument(
        "--smtp-delay-ms", type=float, default=0, help="how late the SMTP server answers DATA"
    )
    args = parser.parse_args()

    from tests.smtp import _free_port

    context = multiprocessing.get_context("fork")
    folder = Path(tempfile.mkdtemp(prefix="signon-bench-"))
    print(
        f"POST /forgot-password, {args.runs} requests per address and setting, SMTP server "
        f"answering {args.smtp_delay_ms:g} ms late; times in ms\n"
    )
    print(
        f"{'setting':7} {'address':8} {'median':>7} {'min':>7} {'max':>7} "
        f"{'known-unknown':>14} {'mail arrived':>13}"
    )
    for label, after_response in (("before", False), ("after", True)):
        http_port = _free_port()
        received = context.Value("i", 0)
        ready = context.Event()
        server = context.Process(
            target=_serve,
            args=(
                folder,
                label,
                after_response,
                http_port,
                args.smtp_delay_ms / 1000,
                received,
                ready,
            ),
            daemon=True,
        )
        server.start()
        times: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
        arrived: list[float] = []
        try:
            if not ready.wait(120):
                raise RuntimeError("the server did not start")
            for run in range(args.runs + 3):
                for email in random.sample((KNOWN, UNKNOWN), 2):  # either may go first
                    before = received.value
                    started = time.perf_counter()
                    elapsed = _post(http_port, email)
                    if email == KNOWN:
                        _wait_for(received, before + 1)
                        arrived.append(time.perf_counter() - started)
                    _wait_until_idle(folder / f"{label}.db")
                    if run >= 3:  # three warm-up rounds
                        times[email].append(elapsed)
        finally:
            server.terminate()
            server.join()
        gap = statistics.median(times[KNOWN]) - statistics.median(times[UNKNOWN])
        for email, name in ((KNOWN, "known"), (UNKNOWN, "unknown")):
            values = [t * 1000 for t in times[email]]
            row = (
                f"{label:7} {name:8} {statistics.median(values):7.1f} "
                f"{min(values):7.1f} {max(values):7.1f}"
            )
            if email == KNOWN:
                mail = statistics.median(arrived[3:]) * 1000
                row += f" {gap * 1000:14.1f} {mail:13.1f}"
            print(row)


if __name__ == "__main__":
    main()
