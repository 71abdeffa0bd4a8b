"""CPU per mail in ``flask worker``'s mail thread (issue 11 item 6: the mail side of a sign-on).

    .venv/bin/python -m benchmarks.mail_worker \\
        --database-url postgresql://postgres@127.0.0.1:5432/test_i \\
        --redis-url redis://127.0.0.1:6407/0 [--mails 2000] [--batch 1] [--profile]

A public sign-on sends two mails (the confirmation link, then the thank-you), each handed
over by its request as one outbox id pushed onto a Redis list; ``flask worker``'s mail
thread takes the ids and sends them. This benchmark runs exactly that thread's rounds
(:func:`signon.core.mail.mail_rounds`) in this process against a scratch schema in the
given PostgreSQL database (the outbox filled with ``--mails`` real sign-on mails, half
confirmation links, half thank-yous, rendered from their templates), while another
process hands the ids over ``--batch`` at a time, the next ones once the previous ones
arrived, so that every round of the thread finds exactly that many (in the load test's
burst a round finds one or a few: a sign-on's request hands over one mail; 100, the
most a round takes, is a backlog) and a third runs the SMTP server (aiosmtpd), which
counts messages and connections.

It prints this process's CPU per mail (``time.process_time``: the mail thread is all this
process does, the pusher and the SMTP server are other processes), SQL statements and
commits per mail, SMTP connections, and checks that every mail arrived exactly once and
is marked sent. CPU times on a shared machine vary with the load; the counts do not.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import redis
from flask import Flask
from sqlalchemy import event, func, select

from benchmarks.harness import load_average, postgresql_schema, settings
from signon import create_app
from signon.core import mail
from signon.core.outbox import OutboxMessage
from signon.extensions import db


class _Sink:
    """The SMTP server's handler: counts messages and connections (EHLO) in shared memory."""

    def __init__(self, messages: Any, connections: Any) -> None:
        self.messages = messages
        self.connections = connections

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        with self.connections.get_lock():
            self.connections.value += 1
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.messages.get_lock():
            self.messages.value += 1
        return "250 Message accepted for delivery"


def _serve_smtp(port: int, messages: Any, connections: Any, ready: Any) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(_Sink(messages, connections), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    threading.Event().wait()


def _push(redis_url: str, key: str, ids: list[int], batch: int, received: Any) -> None:
    """Hand the ids over ``batch`` at a time (one RPUSH, so that a round takes them all),
    the next ones once the SMTP server has the previous ones: every round of the mail
    thread finds exactly ``batch`` ids."""
    store = redis.Redis.from_url(redis_url)
    for start in range(0, len(ids), batch):
        while received.value < start:
            time.sleep(0.0005)
        store.rpush(key, *ids[start : start + batch])


def _sign_on_mails(count: int) -> list[OutboxMessage]:
    """``count`` outbox rows as public sign-on writes them (their real templates)."""
    letter = SimpleNamespace(id=None, title="Protect the river basin: a joint statement")
    rows = []
    for n in range(count // 2):
        address = f"person{n}@signers.example.org"
        data = SimpleNamespace(
            name=f"Friends of the River {n}",
            country="Portugal",
            kind="organisation",
            representative_name=f"Maria Exemplo {n}",
            representative_title="Director",
            affiliation="",
        )
        link = f"http://127.0.0.1:8000/p/load-letter/confirm/{secrets.token_urlsafe(32)}"
        rows.append(
            mail.outbox_message(
                address,
                f"Please confirm your signature of “{letter.title}”",
                "signatures/public_confirm",
                letter_id=None,
                letter=letter,
                data=data,
                link=link,
                valid_for="7 days",
                resent=False,
            )
        )
        rows.append(
            mail.outbox_message(
                address,
                f"Thank you for signing “{letter.title}”",
                "signatures/public_received",
                letter_id=None,
                letter=letter,
                signature=data,
                revision=SimpleNamespace(number=3),
                private_link=None,
                page_url="http://127.0.0.1:8000/p/load-letter",
            )
        )
    return rows


class _Statements:
    """SQL statements and commits on the app's engine."""

    def __init__(self, app: Flask) -> None:
        with app.app_context():
            engine = db.engine
        self.statements = self.commits = self.claims = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements += 1
        self.claims += " RETURNING " in statement and "claim_token" in statement

    def _commit(self, _conn: Any) -> None:
        self.commits += 1


@contextmanager
def _profiled(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))


def run(args: argparse.Namespace) -> None:
    context = multiprocessing.get_context("fork")
    from tests.smtp import _free_port

    smtp_port = _free_port()
    messages, connections, ready = context.Value("i", 0), context.Value("i", 0), context.Event()
    smtp = context.Process(
        target=_serve_smtp, args=(smtp_port, messages, connections, ready), daemon=True
    )
    smtp.start()
    if not ready.wait(30):
        raise RuntimeError("the SMTP server did not start")
    queue = f"bench-mail-{secrets.token_hex(4)}"
    with postgresql_schema(args.database_url, "mailbench") as url:
        folder = tempfile.mkdtemp(prefix="signon-mailbench-")
        app = create_app(
            settings(url, folder).with_(
                redis_url=args.redis_url,
                job_queue=queue,
                mail_server="127.0.0.1",
                mail_port=smtp_port,
            )
        )
        with app.app_context(), app.test_request_context():
            db.create_all()
            rows = _sign_on_mails(args.mails)
            db.session.add_all(rows)
            db.session.commit()
            ids = [row.id for row in rows]
            key = mail.handed_over_key()
            db.session.remove()
        counter = _Statements(app)
        pusher = context.Process(
            target=_push, args=(args.redis_url, key, ids, args.batch, messages)
        )
        print(
            f"{len(ids)} sign-on mails handed over {args.batch} at a time; "
            f"load average {load_average()}"
        )
        pusher.start()
        wall, cpu = time.perf_counter(), time.process_time()
        with _profiled(args.profile):
            _send_all(app, messages, len(ids))
        cpu_ms = (time.process_time() - cpu) * 1000
        wall_s = time.perf_counter() - wall
        statements, commits, rounds = counter.statements, counter.commits, counter.claims
        pusher.join()
        with app.app_context():
            unsent = db.session.scalar(select(func.count()).where(OutboxMessage.sent_at.is_(None)))
            twice = db.session.scalar(select(func.count()).where(OutboxMessage.attempts != 1))
            db.session.remove()
        app.extensions.pop("signon_jobs_redis", None)
    smtp.terminate()
    sent = messages.value
    print(
        f"sent {sent} in {wall_s:.1f} s; CPU of the mail thread's process "
        f"{cpu_ms:.0f} ms = {cpu_ms / sent:.2f} ms per mail; "
        f"{rounds} rounds; SQL {statements / sent:.2f} statements and {commits / sent:.2f} "
        f"commits per mail; {connections.value} SMTP connections "
        f"({sent / max(connections.value, 1):.1f} mails each)"
    )
    print(f"load average {load_average()}")
    assert sent == len(ids), f"{sent} mails received for {len(ids)} handed over"
    assert unsent == 0 and twice == 0, f"{unsent} unsent, {twice} not sent exactly once"
    print("every mail received once and marked sent once")


def _send_all(app: Flask, received: Any, count: int) -> None:
    """The mail thread's rounds (in this thread) until the SMTP server has every mail: a
    round records what it sent before it returns, and the thread stops after its round."""
    stop = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 600
        while received.value < count and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    mail.mail_rounds(app, stop)
    assert received.value >= count, "the mail was not sent in ten minutes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("SIGNON_TEST_DATABASE_URL", ""),
        help="a PostgreSQL database (a scratch schema is made in it and dropped)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument(
        "--batch", type=int, default=1, help="ids handed over at a time (1 to 100: a round's)"
    )
    parser.add_argument("--profile", action="store_true", help="pyinstrument's profile")
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        parser.error("--database-url: a PostgreSQL database, as production")
    run(args)


if __name__ == "__main__":
    main()
