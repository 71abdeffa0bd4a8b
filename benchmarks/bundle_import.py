"""Time of ``flask import-letter`` on generated bundles of 5,000 and 20,000 signatories.

Generates a bundle per size (two revisions, the second editorial) whose signatories are
half "as exported" (an approval record of revision 1 or 2 and a history of two events,
a few declined or withdrawn) and half "from a list" (no approval record: they approve
the imported current text, each with its own audit event). Imports each file with the
real command (``app.test_cli_runner()``: JSON parsing, checks, inserts, one commit) into
a fresh database (SQLite in a temporary folder; with ``--database-url``, also
PostgreSQL, in a throw-away schema dropped afterwards), then runs the audit check of the
new letter (``verify_letter``) to show the chain is what ``verify-audit`` expects, and
times the letter's audit log page (first view, the scheduler's checkpoint upkeep, later views).
Prints seconds (wall clock; and CPU seconds of this process and of the PostgreSQL server
processes serving it, which a busy machine disturbs far less) and rows per second;
asserts nothing. Run it from the project's root:

    .venv/bin/python -m benchmarks.bundle_import
    .venv/bin/python -m benchmarks.bundle_import --database-url postgresql://postgres@127.0.0.1:5432/db
    .venv/bin/python -m benchmarks.bundle_import --sizes 5000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import upgrade

from benchmarks.harness import BackendClock, load_average, logged_in, postgresql_schema, settings
from signon import create_app
from signon.audit import checkpoints
from signon.audit.verify import verify_letter
from signon.core import transaction
from signon.extensions import db
from signon.letters.models import Letter, Revision
from tests.factories import make_user

OWNER = "owner@bench.example.org"
BODY_1 = "We call on every state to act.\n\nSecond paragraph.\n"
BODY_2 = "We call on every state to act now.\n\nSecond paragraph.\n"
KINDS = ("ngo", "network", "union", "individual", "business")
COUNTRIES = ("Chile", "Kenya", "France", "India", "Brazil", "Japan", None)


@dataclass(frozen=True)
class Figure:
    database: str
    size: int
    seconds: float
    cpu_seconds: float  # of this process (Python's share; the database server's is apart)
    server_cpu_seconds: float  # of the PostgreSQL server processes serving it (0 on SQLite)
    rows: int  # signatures, their events and audit events written
    intact: bool
    #: The audit log page of the imported letter: the first view (no checkpoint yet: a
    #: chain longer than checkpoints.VIEW_CHECK_LIMIT is left to the background check),
    #: the background check that ``flask scheduler`` runs (audit-checkpoints: the whole
    #: chain and the records, once), and the median of five later views (incremental).
    first_view_ms: float = 0.0
    upkeep_ms: float = 0.0
    later_view_ms: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def _iso(day: int) -> str:
    return f"2026-{1 + day % 12:02d}-{1 + day % 28:02d}T12:00:00Z"


def _signatory(index: int, hashes: dict[int, str]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": f"Organisation {index:05d} for Rights",
        "kind": KINDS[index % len(KINDS)],
        "country": COUNTRIES[index % len(COUNTRIES)],
        "representative_name": f"Person {index}",
        "representative_title": "Director",
        "website": f"https://org{index}.example.org",
        "email": f"contact@org{index}.example.org",
        "authority_confirmed": True,
    }
    if index % 2:
        return item  # "from a list": approves the imported current text
    number = 1 if index % 4 == 0 else 2
    status = "approved"
    if index % 50 == 0:
        status = "declined"
    elif index % 70 == 0:
        status = "withdrawn"
    item.update(
        status=status,
        source="invitation",
        approved_revision={"number": number, "sha256": hashes[number]},
        approved_at=_iso(index),
        last_activity_at=_iso(index + 1),
        events=[
            {"action": "opened", "email": item["email"], "created_at": _iso(index)},
            {
                "action": "approved",
                "revision_number": number,
                "email": item["email"],
                "details": {"sha256": hashes[number]},
                "created_at": _iso(index),
            },
        ],
    )
    return item


def make_bundle(size: int) -> dict[str, Any]:
    """A letter bundle with two revisions and ``size`` signatories."""
    title = "On cooperation"
    hashes = {1: Revision.hash_content(title, BODY_1), 2: Revision.hash_content(title, BODY_2)}
    revisions = [
        {"number": n, "title": title, "body_markdown": body, "sha256": hashes[n]}
        for n, body in ((1, BODY_1), (2, BODY_2))
    ]
    revisions[1].update(change_kind="editorial", change_note="A word")
    return {
        "format": "signon-letter-bundle",
        "format_version": 1,
        "slug": f"bench-import-{size}",
        "title": title,
        "language": "en",
        "status": "open",
        "public": True,
        "revisions": revisions,
        "signatories": [_signatory(i, hashes) for i in range(size)],
    }


def _rows(bundle: dict[str, Any]) -> int:
    signatories = bundle["signatories"]
    events = sum(len(s.get("events") or [1]) for s in signatories)
    return len(signatories) + events


def measure(
    label: str, database_url: str, files: dict[int, Path], profile: bool, sort: str = "cumulative"
) -> list[Figure]:
    print(f"\n{label}:", flush=True)
    figures = []
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(settings(database_url, folder))
        server = BackendClock(app)
        with app.app_context():
            upgrade()
            session_id = make_user(email=OWNER).get_id()
            transaction.commit()
            db.session.remove()
        runner = app.test_cli_runner()
        for size, path in files.items():
            profiler = cProfile.Profile() if profile else None
            started, cpu_started = time.perf_counter(), time.process_time()
            server_started = server.seconds()
            if profiler:
                profiler.enable()
            result = runner.invoke(args=["import-letter", str(path), "--owner", OWNER])
            if profiler:
                profiler.disable()
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started
            server_seconds = server.seconds() - server_started
            assert result.exit_code == 0, result.output
            slug = result.output.strip().splitlines()[-1]
            with app.app_context():
                letter = db.session.scalars(db.select(Letter).where(Letter.slug == slug)).one()
                report = verify_letter(letter.id)
                db.session.remove()
            bundle = json.loads(path.read_text(encoding="utf-8"))
            first, upkeep, later = _audit_page_ms(app, session_id, slug)
            rows = _rows(bundle)
            figures.append(
                Figure(
                    label,
                    size,
                    seconds,
                    cpu_seconds,
                    server_seconds,
                    rows,
                    report.intact,
                    first,
                    upkeep,
                    later,
                )
            )
            print(
                f"  {size:>6} signatories: {seconds:6.1f} s (CPU: {cpu_seconds:.1f} s here, "
                f"{server_seconds:.1f} s in the database server), "
                f"{figures[-1].rows_per_second:8,.0f} rows/s, audit intact: {report.intact}",
                flush=True,
            )
            if profiler:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(30)
                print(out.getvalue())
        with app.app_context():
            db.engine.dispose()
    return figures


def _audit_page_ms(app: Flask, session_id: str, slug: str) -> tuple[float, float, float]:
    """Milliseconds of the first view of the letter's audit log, of the scheduler's
    checkpoint upkeep after it, and the median of 5 views after that."""
    client = logged_in(app, session_id)

    def view() -> float:
        started = time.perf_counter()
        response = client.get(f"/letters/{slug}/audit")
        assert response.status_code == 200, response.status_code
        return (time.perf_counter() - started) * 1000

    first = view()
    with app.app_context():
        started = time.perf_counter()
        checkpoints.advance_checkpoints()
        transaction.commit()
        upkeep = (time.perf_counter() - started) * 1000
        db.session.remove()
    return first, upkeep, statistics.median(view() for _ in range(5))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--database-url", help="also import into this PostgreSQL database")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--profile", action="store_true", help="print a cProfile per import")
    parser.add_argument("--sort", default="cumulative", help="the profile's order (e.g. tottime)")
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}; {os.cpu_count()} CPUs, load average {load_average()}")
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for size in sorted(set(args.sizes)):
            files[size] = Path(folder) / f"bundle-{size}.json"
            files[size].write_text(json.dumps(make_bundle(size)), encoding="utf-8")
        if not args.no_sqlite:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            figures += measure("SQLite", url, files, args.profile, args.sort)
        if args.database_url:
            with postgresql_schema(args.database_url, "bench_import") as url:
                figures += measure("PostgreSQL", url, files, args.profile, args.sort)
    print(
        f"\n{'database':<11} {'signatories':>11} {'seconds':>8} {'CPU s':>6} {'DB CPU':>6} "
        f"{'rows':>7} {'rows/s':>8} intact {'audit page 1st ms':>17} {'upkeep ms':>9} "
        f"{'later ms':>8}"
    )
    for f in figures:
        print(
            f"{f.database:<11} {f.size:>11,} {f.seconds:>8.1f} {f.cpu_seconds:>6.1f} "
            f"{f.server_cpu_seconds:>6.1f} {f.rows:>7,} {f.rows_per_second:>8,.0f} "
            f"{f.intact!s:>6} {f.first_view_ms:>17.0f} {f.upkeep_ms:>9.0f} "
            f"{f.later_view_ms:>8.1f}"
        )
    print(f"\nLoad average at the end: {load_average()}")


if __name__ == "__main__":
    main()
