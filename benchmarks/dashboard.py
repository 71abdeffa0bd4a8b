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
import pstats
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import select

from benchmarks.harness import (
    Timing,
    count_statements,
    load_average,
    logged_in,
    postgresql_schema,
    preamble,
    settings,
    time_request,
)
from signon import create_app
from signon.core import transaction
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures import counts
from tests.factories import make_user
from tests.signatures.dashboard_data import bulk_signatories, three_revision_letter

#: What is timed, per letter: (label, path after /letters/<slug>/).
REQUESTS: tuple[tuple[str, str], ...] = (
    ("page", "signatories"),
    ("filtered", "signatories?state=approved_current&state=approved_earlier&sort=activity&q=org"),
    ("last page", "signatories?page=1000"),
    ("csv", "signatories.csv"),
)
#: Timed last: the page while the letter's maintained counts are fresh (``flask scheduler``
#: keeps them so; here they are stamped an hour ahead to stay fresh through the runs).
KEPT = ("page, kept", "signatories")


@dataclass(frozen=True)
class Figure:
    database: str
    size: int
    request: str
    timing: Timing
    statements: int


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


def _keep_counts(app: Flask, slug: str) -> None:
    """Refresh the letter's maintained counts, stamped an hour ahead (fresh meanwhile)."""
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        assert letter is not None
        counts.refresh(letter, utcnow() + timedelta(hours=1))
        transaction.commit()
        db.session.remove()


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
        app = create_app(settings(database_url, folder))
        session_id, slugs = _build(app, sizes)
        client = logged_in(app, session_id)
        figures = []
        for size in sizes:
            for name, page in (*REQUESTS, KEPT):
                if (name, page) == KEPT:
                    _keep_counts(app, slugs[size])
                path = f"/letters/{slugs[size]}/{page}"
                timing = time_request(client, path, warmup=warmup, runs=runs)
                figures.append(
                    Figure(label, size, name, timing, count_statements(app, client, path))
                )
                print(f"  {size:>6} {name:<10} {timing.median_ms:8.1f} ms", flush=True)
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
        f"{'max ms':>8} {'CPU ms':>7} {'1st byte':>8} {'SQL':>4} {'bytes':>10}"
    )
    for f in figures:
        t = f.timing
        print(
            f"{f.database:<11} {f.size:>6} {f.request:<10} {t.median_ms:>10.1f} {t.min_ms:>8.1f} "
            f"{t.max_ms:>8.1f} {t.cpu_ms:>7.1f} {t.first_byte_ms:>8.1f} {f.statements:>4} "
            f"{t.response_bytes:>10,}"
        )
    small, large = min(sizes), max(sizes)
    if small == large:
        return
    print(f"\nRatio {large:,} vs {small:,} organisations (median wall-clock server time):")
    by_key = {(f.database, f.size, f.request): f for f in figures}
    for database in dict.fromkeys(f.database for f in figures):
        for name, _ in (*REQUESTS, KEPT):
            a, b = by_key[(database, small, name)], by_key[(database, large, name)]
            print(
                f"  {database:<11} {name:<10} {b.timing.median_ms / a.timing.median_ms:6.1f}×  "
                f"({a.timing.median_ms:.1f} → {b.timing.median_ms:.1f} ms; "
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
    print(preamble(args.runs, args.warmup))
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
        with postgresql_schema(args.database_url, "bench_dashboard") as url:
            figures += measure("PostgreSQL", url, sizes, args.runs, args.warmup, args.profile)
    report(figures, sizes)
    print(f"\nLoad average at the end: {load_average()}")


if __name__ == "__main__":
    main()
