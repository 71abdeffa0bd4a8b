"""The cost of one public sign-on, step by step, in one process (no HTTP server, no load).

    .venv/bin/python -m benchmarks.load.profile_signon [--database-url postgresql://...]
        [--signatories 5000] [--runs 30] [--profile submit|confirm|form|confirm-page|...]
        [--handover] [--calls]

For each of a person's four requests (the form page, its submission, the mailed link's
page, the confirmation), and for a reader's (the public page, the embed, the API's letter
and its first page, each as a new visitor, after the counts are refreshed as ``flask
scheduler`` does; shared page copies in this process: the app has no ``redis_url``) it
prints the median wall-clock and CPU milliseconds of this process, the SQL statements and
the transactions (commits) per request, and the time the mail takes after the response
(``response.close()``, as gunicorn calls it). With
``--profile`` it prints pyinstrument's profile of that step over all runs; with
``--calls``, the median number of Python function calls of each step (cProfile), which
compares two versions of the code on a busy machine where CPU times do not. The database
is a scratch one (a new PostgreSQL database on the server of ``--database-url``, dropped
afterwards; or SQLite in a temporary folder), built like the load test's
(:mod:`benchmarks.load.data`); the limits count in Redis (``--redis-url``), raised as in
the load test; mail goes to a real SMTP server in this process (``tests/smtp.py``).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event, select
from werkzeug.test import TestResponse

from benchmarks.load.data import build_letter
from signon import create_app
from signon.config import Settings
from signon.core import transaction
from signon.core.outbox import OutboxMessage
from signon.extensions import db
from signon.signatures import counts
from tests.smtp import MailCatcher

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REVISION = re.compile(r'name="revision_id"[^>]*value="(\d+)"')
LINK = re.compile(r"/p/[^/\s]+/confirm/[A-Za-z0-9_\-]+")
SIGN_ON_STEPS = ("form", "submit", "confirm-page", "confirm")
#: What the load test's readers load (each a new visitor), and the embed.
READER_STEPS = ("reader: page", "reader: embed", "reader: API letter", "reader: API page 1")
STEPS = SIGN_ON_STEPS + READER_STEPS
RAISED_LIMIT = "1000000 per hour"


@dataclass
class Step:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)
    after_cpu: list[float] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    commits: list[int] = field(default_factory=list)


class Counter:
    """SQL statements and commits on the app's engine (SQLite's BEGIN not counted)."""

    def __init__(self, app: Flask) -> None:
        with app.app_context():
            self.engine = db.engine
        self.statements = 0
        self.commits = 0
        self.seen: list[str] = []
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            self.statements += 1
            self.seen.append(" ".join(statement.split())[:150])

    def _commit(self, _conn: Any) -> None:
        self.commits += 1

    def reset(self) -> None:
        self.statements = self.commits = 0
        self.seen = []


@contextmanager
def scratch(database_url: str | None) -> Iterator[str]:
    if database_url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'profile.db'}"
        return
    server, name = database_url.rsplit("/", 1)[0], f"load_profile_{secrets.token_hex(4)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_app(
    database_url: str,
    folder: str,
    catcher: MailCatcher,
    redis_url: str,
    *,
    shared: bool = True,
    handover: str = "",
) -> Flask:
    """The app as the load test runs it; ``handover``: a job queue name, with which the
    app gets ``redis_url`` as ``SIGNON_REDIS_URL`` (as ``make run-prod``): the mail and the
    audit seal are handed to a worker (none runs here) instead of done after the response,
    and the shared page copies are kept in Redis."""
    settings = Settings(
        redis_url=redis_url if handover else "",
        job_queue=handover or Settings.job_queue,
        shared_page_cache=shared,
        secret_key=secrets.token_hex(32),
        database_url=database_url,
        base_url="http://localhost",
        mail_server="127.0.0.1",
        mail_port=catcher.port,
        storage_dir=str(Path(folder) / "storage"),
        mail_outbox=str(Path(folder) / "outbox"),
        ratelimit_storage_url=redis_url,
        public_sign_limit_per_ip=RAISED_LIMIT,
        public_confirm_limit_per_ip=RAISED_LIMIT,
    )
    return create_app(settings)


def _fields(response: TestResponse) -> dict[str, str]:
    html = response.get_data(as_text=True)
    token, revision = CSRF.search(html), REVISION.search(html)
    assert response.status_code == 200 and token and revision, response.status_code
    return {"csrf_token": token.group(1), "revision_id": revision.group(1)}


def _link(app: Flask, address: str) -> str:
    with app.app_context():
        text = db.session.scalar(
            select(OutboxMessage.text)
            .where(OutboxMessage.recipient == address)
            .order_by(OutboxMessage.id.desc())
        )
        db.session.remove()
    found = LINK.search(text or "")
    assert found, f"no link mailed to {address}"
    return found.group(0)


def _timer(
    steps: dict[str, Step], counter: Counter, profiled: Callable[[str], Any]
) -> Callable[[str, Callable[[], TestResponse]], TestResponse]:
    """``timed(name, request)``: make the request, recording its figures under ``name``."""

    def timed(name: str, request: Callable[[], TestResponse]) -> TestResponse:
        counter.reset()
        started, cpu = time.perf_counter(), time.process_time()
        with profiled(name):
            response = request()
        wall_ms = (time.perf_counter() - started) * 1000
        cpu_ms = (time.process_time() - cpu) * 1000
        statements, commits = counter.statements, counter.commits
        step = steps[name]
        step.seen = counter.seen
        closed, closed_cpu = time.perf_counter(), time.process_time()
        response.close()  # what gunicorn does after writing the body: the mail goes now
        step.after.append((time.perf_counter() - closed) * 1000)
        step.after_cpu.append((time.process_time() - closed_cpu) * 1000)
        step.wall.append(wall_ms)
        step.cpu.append(cpu_ms)
        step.statements.append(statements)
        step.commits.append(commits)
        return response

    return timed


def one_person(
    app: Flask,
    client: FlaskClient,
    slug: str,
    steps: dict[str, Step],
    counter: Counter,
    profiled: Callable[[str], Any],
) -> None:
    person = uuid.uuid4().hex[:12]
    address = f"signer-{person}@load.example.org"
    client._cookies.clear()  # a new person
    timed = _timer(steps, counter, profiled)

    form = _fields(timed("form", lambda: client.get(f"/p/{slug}")))
    data = {
        **form,
        "name": f"Load Test Organisation {person}",
        "country": "Kenya",
        "kind": "ngo",
        "representative_name": "Amina Otieno",
        "representative_title": "Director",
        "email": address,
        "authority": "y",
    }
    submitted = timed("submit", lambda: client.post(f"/p/{slug}/sign", data=data))
    assert submitted.status_code == 302, submitted.status_code
    link = _link(app, address)
    page = _fields(timed("confirm-page", lambda: client.get(link)))
    confirmed = timed("confirm", lambda: client.post(link, data=page))
    assert confirmed.status_code == 302, confirmed.status_code


def _refresh_counts(app: Flask) -> None:
    with app.app_context():
        counts.refresh_public_counts()
        transaction.commit()
        db.session.remove()


def one_reader(
    client: FlaskClient,
    slug: str,
    steps: dict[str, Step],
    counter: Counter,
    profiled: Callable[[str], Any],
) -> None:
    """A reader of the load test (the public page, the API) and the embed, each as a new
    visitor (no cookies): what a burst of readers costs per request."""
    timed = _timer(steps, counter, profiled)
    paths = (
        f"/p/{slug}",
        f"/p/{slug}/embed",
        f"/api/v1/letters/{slug}",
        f"/api/v1/letters/{slug}/signatories",
    )
    # A reader of their own: the API's per-address limit (in Redis) counts per reader.
    address = {"REMOTE_ADDR": f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.1"}
    for name, path in zip(READER_STEPS, paths, strict=True):
        client._cookies.clear()
        response = timed(name, lambda path=path: client.get(path, environ_base=address))  # type: ignore[misc]
        assert response.status_code == 200, (name, response.status_code)


@contextmanager
def _counting_calls(into: list[int]) -> Iterator[None]:
    """Count the Python function calls of the block (cProfile): a figure of the work a
    request does that the machine's load does not move, unlike its CPU time."""
    counting = cProfile.Profile()
    counting.enable()
    try:
        yield
    finally:
        counting.disable()
        into.append(pstats.Stats(counting).total_calls)  # type: ignore[attr-defined]


def _print_calls(calls: dict[str, list[int]]) -> None:
    print("\nPython function calls per request (median; the CPU ms above include cProfile's cost)")
    for name, counted in calls.items():
        print(f"{name:20} {statistics.median(counted):9,.0f}")
    per_sign_on = sum(statistics.median(calls[name]) for name in SIGN_ON_STEPS)
    print(f"{'per sign-on':20} {per_sign_on:9,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--signatories", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--profile", choices=STEPS)
    parser.add_argument("--sql", action="store_true", help="print each step's statements")
    parser.add_argument(
        "--calls",
        action="store_true",
        help="count each step's Python function calls (a figure the machine's load does not "
        "move; it slows the run)",
    )
    parser.add_argument(
        "--handover",
        action="store_true",
        help="as in production (make run-prod): the app has --redis-url as SIGNON_REDIS_URL, "
        "so a request hands its mail and its audit seal to the worker (one Redis command "
        "each; no worker runs here, the outbox keeps the mail) and the page copies are in "
        "Redis; without it the web process sends the mail and seals after the response",
    )
    parser.add_argument(
        "--render-all",
        action="store_true",
        help="no shared page copies and no maintained counts: every GET renders and counts "
        "(the read path before they came, on the same code)",
    )
    args = parser.parse_args()

    profiler: Any = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)

    calls: dict[str, list[int]] = {name: [] for name in STEPS}

    @contextmanager
    def profiled(name: str) -> Iterator[None]:
        if args.calls and measuring:
            with _counting_calls(calls[name]):
                yield
            return
        if profiler is None or name != args.profile or not measuring:
            yield
            return
        profiler.start()
        try:
            yield
        finally:
            profiler.stop()

    catcher = MailCatcher()
    catcher.start()
    measuring = False
    try:
        with scratch(args.database_url) as url, tempfile.TemporaryDirectory() as folder:
            queue = f"profile-{secrets.token_hex(4)}" if args.handover else ""
            app = make_app(
                url,
                folder,
                catcher,
                args.redis_url,
                shared=not args.render_all,
                handover=queue,
            )
            with app.app_context():
                upgrade()
                letter = build_letter(args.signatories)
                db.session.remove()
            counter = Counter(app)
            client = app.test_client()
            warm: dict[str, Step] = {name: Step() for name in STEPS}
            for _ in range(args.warmup):
                one_person(app, client, letter.slug, warm, counter, profiled)
                one_reader(client, letter.slug, warm, counter, profiled)
            measuring = True
            steps: dict[str, Step] = {name: Step() for name in STEPS}
            for _ in range(args.runs):
                if not args.render_all:
                    _refresh_counts(app)  # what `flask scheduler` does every 2 s
                one_person(app, client, letter.slug, steps, counter, profiled)
                one_reader(client, letter.slug, steps, counter, profiled)
            database = "PostgreSQL" if args.database_url else "SQLite"
            print(
                f"\none public sign-on, {args.signatories:,} signatories, {database}, "
                f"median of {args.runs}"
            )
            print(
                f"{'request':20} {'wall ms':>8} {'CPU ms':>7} {'SQL':>4} {'commits':>7} "
                f"{'after ms':>8} {'after CPU':>9}"
            )
            for name, step in steps.items():
                print(
                    f"{name:20} {statistics.median(step.wall):8.1f} "
                    f"{statistics.median(step.cpu):7.1f} {statistics.median(step.statements):4.0f} "
                    f"{statistics.median(step.commits):7.0f} {statistics.median(step.after):8.1f} "
                    f"{statistics.median(step.after_cpu):9.1f}"
                )
            total_cpu = sum(
                statistics.median(steps[name].cpu) + statistics.median(steps[name].after_cpu)
                for name in SIGN_ON_STEPS
            )
            print(
                f"CPU ms per sign-on (four requests and their mail, this process): {total_cpu:.1f}"
            )
            if args.calls:
                _print_calls(calls)
            if args.sql:
                for name, step in steps.items():
                    print(f"\n{name}:")
                    for statement in step.seen:
                        print(f"  {statement}")
            if queue:  # what was handed over to no worker
                store = redis.Redis.from_url(args.redis_url)
                store.delete(*(store.keys(f"{queue}:*") or [f"{queue}:none"]))
    finally:
        catcher.stop()
    if profiler is not None:
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
