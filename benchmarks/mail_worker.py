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
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import redis
from flask import Flask
from sqlalchemy import event, func, select

from benchmarks.harness import load_average, postgresql_schema, settings
from benchmarks.load.mailcatcher import MAILS as CAUGHT
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


class Arrived:
    """How many mails the SMTP server has received: the sink's shared counter, or with
    ``--catcher`` the load test's catcher's counts in Redis (one field per recipient and
    kind, and every mail here has its own: HLEN)."""

    def __init__(self, value: Any, redis_url: str | None) -> None:
        self.value = value
        self.redis_url = redis_url
        self._store: redis.Redis | None = None

    def __call__(self) -> int:
        if self.redis_url is None:
            return int(self.value.value)
        if self._store is None:  # one connection per process (the pusher is forked)
            self._store = redis.Redis.from_url(self.redis_url)
        return int(self._store.hlen(CAUGHT))


def _cpu_ms(pid: int) -> float:
    """A process's CPU time so far (user and system), in ms, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


@contextmanager
def _the_load_tests_catcher(port: int, redis_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """``benchmarks/load/mailcatcher.py`` as the load test runs it (this checkout's)."""
    store = redis.Redis.from_url(redis_url)
    store.delete(CAUGHT)
    command = [sys.executable, "-m", "benchmarks.load.mailcatcher", "--port", str(port)]
    catcher = subprocess.Popen(
        [*command, "--redis-url", redis_url],
        stdout=subprocess.PIPE,
    )
    try:
        assert catcher.stdout is not None
        catcher.stdout.readline()  # "mail catcher on ...": listening
        yield catcher
    finally:
        catcher.terminate()
        catcher.wait(30)
        store.delete(CAUGHT, *store.scan_iter("load:link:*"))


def _push(redis_url: str, key: str, ids: list[int], batch: int, received: Arrived) -> None:
    """Hand the ids over ``batch`` at a time (one RPUSH, so that a round takes them all),
    the next ones once the SMTP server has the previous ones: every round of the mail
    thread finds exactly ``batch`` ids."""
    store = redis.Redis.from_url(redis_url)
    for start in range(0, len(ids), batch):
        while received() < start:
            time.sleep(0.0005 if received.redis_url is None else 0.002)
        store.rpush(key, *ids[start : start + batch])


def sign_on_mails(count: int) -> list[OutboxMessage]:
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
        self.statements = self.commits = self.claims = self.checkouts = 0
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "checkout", self._checkout)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements += 1
        self.claims += " RETURNING " in statement and "claim_token" in statement

    def _commit(self, _conn: Any) -> None:
        self.commits += 1

    def _checkout(self, *_args: Any) -> None:
        self.checkouts += 1


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
    from tests.smtp import _free_port

    smtp_port = _free_port()
    with ExitStack() as servers:
        if args.catcher:
            catcher = servers.enter_context(_the_load_tests_catcher(smtp_port, args.redis_url))
            received = Arrived(None, args.redis_url)
            connections = None
            catcher_cpu = _cpu_ms(catcher.pid)
        else:
            connections = _start_sink(smtp_port, servers)
            received = Arrived(connections[0], None)
        sent = _measure(args, smtp_port, received)
        if args.catcher:
            catcher_ms = _cpu_ms(catcher.pid) - catcher_cpu
            print(
                f"the load test's mail catcher: {catcher_ms:.0f} ms of CPU = "
                f"{catcher_ms / sent:.2f} ms per mail"
            )
        else:
            assert connections is not None
            count = connections[1].value
            print(f"{count} SMTP connections ({sent / max(count, 1):.1f} mails each)")
    print(f"load average {load_average()}")


def _start_sink(port: int, servers: ExitStack) -> tuple[Any, Any]:
    """The counting SMTP server in a process of its own; its (messages, connections)."""
    context = multiprocessing.get_context("fork")
    messages, connections, ready = context.Value("i", 0), context.Value("i", 0), context.Event()
    smtp = context.Process(
        target=_serve_smtp, args=(port, messages, connections, ready), daemon=True
    )
    smtp.start()
    servers.callback(smtp.terminate)
    if not ready.wait(30):
        raise RuntimeError("the SMTP server did not start")
    return messages, connections


def _measure(args: argparse.Namespace, smtp_port: int, received: Arrived) -> int:
    """Fill the outbox, hand it over, run the mail thread until all arrived; print the
    mail thread's figures and check every mail was sent once. Returns how many."""
    context = multiprocessing.get_context("fork")
    queue = f"bench-mail-{secrets.token_hex(4)}"
    with (
        postgresql_schema(args.database_url, "mailbench") as url,
        tempfile.TemporaryDirectory(prefix="signon-mailbench-") as folder,
    ):
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
            rows = sign_on_mails(args.mails)
            db.session.add_all(rows)
            db.session.commit()
            ids = [row.id for row in rows]
            key = mail.handed_over_key()
            db.session.remove()
        counter = _Statements(app)
        pusher = context.Process(
            target=_push, args=(args.redis_url, key, ids, args.batch, received)
        )
        print(
            f"{len(ids)} sign-on mails handed over {args.batch} at a time; "
            f"load average {load_average()}"
        )
        pusher.start()
        wall, cpu = time.perf_counter(), time.process_time()
        with _profiled(args.profile):
            _send_all(app, received, len(ids))
        cpu_ms = (time.process_time() - cpu) * 1000
        wall_s = time.perf_counter() - wall
        statements, commits, rounds = counter.statements, counter.commits, counter.claims
        checkouts = counter.checkouts
        pusher.join()
        with app.app_context():
            unsent = db.session.scalar(select(func.count()).where(OutboxMessage.sent_at.is_(None)))
            twice = db.session.scalar(select(func.count()).where(OutboxMessage.attempts != 1))
            db.session.remove()
        app.extensions.pop("signon_jobs_redis", None)
    sent = received()
    print(
        f"sent {sent} in {wall_s:.1f} s; CPU of the mail thread's process "
        f"{cpu_ms:.0f} ms = {cpu_ms / sent:.2f} ms per mail; "
        f"{rounds} rounds; SQL {statements / sent:.2f} statements and {commits / sent:.2f} "
        f"commits per mail (a commit on the autocommit connection is no round trip); "
        f"{checkouts / sent:.2f} pool checkouts per mail (each pinged)"
    )
    assert sent == len(ids), f"{sent} mails received for {len(ids)} handed over"
    assert unsent == 0 and twice == 0, f"{unsent} unsent, {twice} not sent exactly once"
    print("every mail received once and marked sent once")
    return sent


def _send_all(app: Flask, received: Arrived, count: int) -> None:
    """The mail thread's rounds (in this thread) until the SMTP server has every mail: a
    round records what it sent before it returns, and the thread stops after its round."""
    stop = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 600
        while received() < count and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    mail.mail_rounds(app, stop)
    assert received() >= count, "the mail was not sent in ten minutes"


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
    parser.add_argument(
        "--catcher",
        action="store_true",
        help="send to the load test's mail catcher (and print its CPU per mail)",
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        parser.error("--database-url: a PostgreSQL database, as production")
    run(args)


if __name__ == "__main__":
    main()
