"""Server time of the coordinators' dashboard and its CSV export, at 50 and 5,000 organisations.

Builds a fresh database (SQLite in a temporary folder; with ``--database-url``, also
PostgreSQL, in a throw-away schema of that database that is dropped afterwards),
creates one letter per size with a realistic mix of states
(``tests.signatures.dashboard_data.bulk_signatories``, bulk Core inserts), then
times requests through ``app.test_client()`` logged in as the coordinator: a few
warm-up requests, then the median of ``--runs`` requests. Prints the figures, the
SQL statements per request and the ratio of the largest size to the smallest. No
assertions: this measures, it does not judge. Run it from the project's root:

    .venv/bin/python -m benchmarks.dashboard
    .venv/bin/python -m benchmarks.dashboard --database-url postgresql://postgres@127.0.0.1:5432/db
    .venv/bin/python -m benchmarks.dashboard --sizes 50 5000 20000 --runs 30 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, text

from signon import create_app
from signon.config import Settings
from signon.core import transaction
from signon.extensions import db
from tests.factories import make_user
from tests.signatures.dashboard_data import bulk_signatories, three_revision_letter

#: What is timed, per letter: (label, path after /letters/<slug>/).
REQUESTS: tuple[tuple[str, str], ...] = (
    ("page", "signatories"),
    ("filtered", "signatories?state=approved_current&state=approved_earlier&sort=activity&q=org"),
    ("last page", "signatories?page=1000"),
    ("csv", "signatories.csv"),
)


@dataclass(frozen=True)
class Figure:
    database: str
    size: int
    request: str
    median_ms: float
    min_ms: float
    max_ms: float
    cpu_ms: float  # median CPU time of this process (less disturbed by a busy machine)
    statements: int
    response_bytes: int


def _settings(database_url: str, folder: str) -> Settings:
    return Settings(
        secret_key=secrets.token_hex(32),
        database_url=database_url,
        testing=False,
        base_url="http://localhost",
        mail_outbox=str(Path(folder) / "outbox"),
        storage_dir=str(Path(folder) / "storage"),
        ratelimit_enabled=False,
        wtf_csrf_enabled=False,
    )


@contextmanager
def _postgresql_schema(database_url: str) -> Iterator[str]:
    """A fresh schema in the given PostgreSQL database, dropped afterwards; yields a URL
    whose connections use it (``search_path``)."""
    schema = f"bench_dashboard_{secrets.token_hex(4)}"
    driver_url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(driver_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _build(app: Flask, sizes: Sequence[int]) -> tuple[str, dict[int, str]]:
    """The schema (through the migrations), a coordinator and one letter per size."""
    with app.app_context():
        upgrade()
        coordinator = make_user(email="coordinator@bench.example.org")
        slugs = {}
        for size in sizes:
            started = time.perf_counter()
            letter = three_revision_letter(coordinator, slug=f"bench-{size}")
            tally = bulk_signatories(letter, size, seed=size)
            slugs[size] = letter.slug
            print(
                f"  built {size:>6} organisations in {time.perf_counter() - started:5.1f} s "
                f"({', '.join(f'{k} {v}' for k, v in sorted(tally.items()))})",
                flush=True,
            )
        session_id = coordinator.get_id()
        transaction.commit()
        db.session.remove()
    return session_id, slugs


def _client(app: Flask, session_id: str) -> FlaskClient:
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    return client


def _time(
    client: FlaskClient, path: str, warmup: int, runs: int
) -> tuple[list[float], list[float], int]:
    """Wall-clock and CPU milliseconds of each request, and the response's size."""
    size = 0
    for _ in range(warmup):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        response.get_data()  # a streamed download ends (and lets its request go) when read
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        size = len(response.get_data())
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu, size


def _statements(app: Flask, client: FlaskClient, path: str) -> int:
    with app.app_context():
        engine = db.engine
    count = 0

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal count
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            count += 1  # the queries, not SQLite's BEGIN IMMEDIATE (as tests/querycount.py)

    event.listen(engine, "before_cursor_execute", before)
    try:
        client.get(path).get_data()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return count


def _profile(client: FlaskClient, path: str) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        client.get(path).get_data()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    print(out.getvalue())


def measure(
    label: str, database_url: str, sizes: Sequence[int], runs: int, warmup: int, profile: bool
) -> list[Figure]:
    print(f"\n{label}: building…", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(_settings(database_url, folder))
        session_id, slugs = _build(app, sizes)
        client = _client(app, session_id)
        figures = []
        for size in sizes:
            for name, page in REQUESTS:
                path = f"/letters/{slugs[size]}/{page}"
                timings, cpu, body = _time(client, path, warmup, runs)
                figures.append(
                    Figure(
                        label,
                        size,
                        name,
                        statistics.median(timings),
                        min(timings),
                        max(timings),
                        statistics.median(cpu),
                        _statements(app, client, path),
                        body,
                    )
                )
                print(f"  {size:>6} {name:<10} {figures[-1].median_ms:8.1f} ms", flush=True)
        if profile:
            print(f"\nProfile of 5 × GET dashboard, {max(sizes)} organisations ({label}):")
            _profile(client, f"/letters/{slugs[max(sizes)]}/signatories")
        with app.app_context():
            db.engine.dispose()
    return figures


def report(figures: Sequence[Figure], sizes: Sequence[int]) -> None:
    print()
    print(
        f"{'database':<11} {'orgs':>6} {'request':<10} {'median ms':>10} {'min ms':>8} "
        f"{'max ms':>8} {'CPU ms':>7} {'SQL':>4} {'bytes':>10}"
    )
    for f in figures:
        print(
            f"{f.database:<11} {f.size:>6} {f.request:<10} {f.median_ms:>10.1f} {f.min_ms:>8.1f} "
            f"{f.max_ms:>8.1f} {f.cpu_ms:>7.1f} {f.statements:>4} {f.response_bytes:>10,}"
        )
    small, large = min(sizes), max(sizes)
    if small == large:
        return
    print(f"\nRatio {large:,} vs {small:,} organisations (median wall-clock server time):")
    by_key = {(f.database, f.size, f.request): f for f in figures}
    for database in dict.fromkeys(f.database for f in figures):
        for name, _ in REQUESTS:
            a, b = by_key[(database, small, name)], by_key[(database, large, name)]
            print(
                f"  {database:<11} {name:<10} {b.median_ms / a.median_ms:6.1f}×  "
                f"({a.median_ms:.1f} → {b.median_ms:.1f} ms; "
                f"SQL statements {a.statements} → {b.statements})"
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 5000])
    parser.add_argument("--runs", type=int, default=15, help="timed requests per figure")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--database-url",
        help="also measure on this PostgreSQL database (in a temporary schema, dropped after)",
    )
    parser.add_argument("--profile", action="store_true", help="profile the largest page")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.sizes))
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(
        f"Python {sys.version.split()[0]}; {os.cpu_count()} CPUs, load average {load}; "
        f"{args.runs} timed runs after {args.warmup} warm-ups"
    )
    with tempfile.TemporaryDirectory() as folder:
        figures = measure(
            "SQLite",
            f"sqlite:///{Path(folder) / 'bench.db'}",
            sizes,
            args.runs,
            args.warmup,
            args.profile,
        )
    if args.database_url:
        with _postgresql_schema(args.database_url) as url:
            figures += measure("PostgreSQL", url, sizes, args.runs, args.warmup, args.profile)
    report(figures, sizes)
    print("\nLoad average at the end: " + ", ".join(f"{n:.1f}" for n in os.getloadavg()))


if __name__ == "__main__":
    main()
