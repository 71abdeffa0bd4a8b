"""Server time and SQL statements of the list pages at 50, 5,000 and 20,000 signatories.

Issue 11 item 5: every page and API response should answer in under 200 ms of server
time at 20,000 signatories, with the same number of SQL statements as at 50. Builds a
fresh database (SQLite in a temporary folder; with ``--database-url``, also
PostgreSQL, in a throw-away schema dropped afterwards), one public letter per size
with that many listed signatories (bulk Core inserts: the stored sort keys come from
the column defaults) plus ten awaiting moderation and a twentieth approving an earlier
text (left out), then times requests through
``app.test_client()`` (the coordinator's session for the coordinators' pages): a few
warm-ups, then the median of ``--runs``. A trivial page (``/healthz``) is measured in
the same run as the baseline. No assertions: this measures. From the project's root:

    .venv/bin/python -m benchmarks.list_pages
    .venv/bin/python -m benchmarks.list_pages --database-url postgresql://postgres@127.0.0.1:5432/db
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import insert, select

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
from signon.core import names, transaction
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, Revision
from signon.signatures.models import Moderation, SignatoryKind, Signature, SignatureSource
from signon.signatures.models import SignatureStatus as Status
from tests.factories import add_revision, make_letter, make_user

#: What is timed: (label, path; ``{slug}`` is the letter's, ``{last}`` the API's last page).
REQUESTS: tuple[tuple[str, str], ...] = (
    ("baseline", "/healthz"),
    ("public page", "/p/{slug}"),
    ("public p.2", "/p/{slug}?page=2"),
    ("embed", "/p/{slug}/embed"),
    ("api letter", "/api/v1/letters/{slug}"),
    ("api page 1", "/api/v1/letters/{slug}/signatories"),
    ("api last", "/api/v1/letters/{slug}/signatories?page={last}"),
    ("coord list", "/letters/{slug}/export/signatories"),
    ("csv", "/letters/{slug}/export/signatories.csv"),
    ("json", "/letters/{slug}/export/signatories.json"),
    ("moderation", "/letters/{slug}/moderation"),
)
#: Public sign-ons awaiting moderation, whatever the size (the moderation page offers every
#: other signatory as a merge target for each of them: it grows with both).
PENDING = 10
WORDS = ("Friends", "Alliance", "Coalition", "Centre", "Institute", "Network", "Union", "Forum")
COUNTRIES = ("Kenya", "Austria", "Égypte", "Chile", "Nepal", "Peru", None)


@dataclass(frozen=True)
class Figure:
    database: str
    size: int
    request: str
    timing: Timing
    statements: int


def _rows(letter: Letter, size: int, seed: int) -> list[dict[str, Any]]:
    """``size`` listed approvals of the head, a twentieth approving the first text (left out),
    and :data:`PENDING` public sign-ons awaiting moderation."""
    revisions = list(
        db.session.scalars(
            select(Revision).where(Revision.letter_id == letter.id).order_by(Revision.number)
        )
    )
    head, first = revisions[-1], revisions[0]
    rng = random.Random(seed)
    now = utcnow()
    rows = []
    extra = max(size // 20, 1)
    for i in range(size + PENDING + extra):
        name = f"{rng.choice(WORDS)} of {rng.choice(WORDS)} {i:05d}"
        pending = size <= i < size + PENDING
        earlier = i >= size + PENDING
        rows.append(
            {
                "letter_id": letter.id,
                "source": SignatureSource.PUBLIC if pending else SignatureSource.IMPORT,
                "status": Status.APPROVED,
                "moderation": Moderation.PENDING if pending else Moderation.NOT_NEEDED,
                "name": name,
                "name_key": names.name_key(name),
                "country": rng.choice(COUNTRIES),
                "kind": rng.choice(list(SignatoryKind)),
                "email": f"contact@org{i:05d}.example.org",
                "authority_confirmed": True,
                "revision_id": (first if earlier else head).id,
                "approved_sha256": (first if earlier else head).content_sha256,
                "approved_at": now,
                "last_activity_at": now,
            }
        )
    return rows


def _build(app: Flask, sizes: Sequence[int]) -> tuple[str, dict[int, str]]:
    with app.app_context():
        upgrade()
        coordinator = make_user(email="coordinator@bench.example.org")
        slugs = {}
        for size in sizes:
            started = time.perf_counter()
            letter = make_letter(coordinator, body="One.\n", slug=f"list-{size}", is_public=True)
            second = add_revision(letter, coordinator, "One, fixed.\n")
            second.change_kind = ChangeKind.SUBSTANTIVE
            db.session.flush()
            rows = _rows(letter, size, seed=size)
            for start in range(0, len(rows), 1000):
                db.session.execute(insert(Signature), rows[start : start + 1000])
            slugs[size] = letter.slug
            print(f"  built {size:>6} signatories in {time.perf_counter() - started:5.1f} s")
        session_id = coordinator.get_id()
        transaction.commit()
        db.session.remove()
    return session_id, slugs


def measure(
    label: str, database_url: str, sizes: Sequence[int], runs: int, warmup: int
) -> list[Figure]:
    print(f"\n{label}: building…", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(settings(database_url, folder))
        session_id, slugs = _build(app, sizes)
        coordinator = logged_in(app, session_id)
        anonymous = app.test_client()
        figures = []
        for size in sizes:
            for name, template in REQUESTS:
                path = template.format(slug=slugs[size], last=max(1, -(-size // 50)))
                client = coordinator if path.startswith("/letters/") else anonymous
                timing = time_request(client, path, warmup=warmup, runs=runs)
                figures.append(
                    Figure(label, size, name, timing, count_statements(app, client, path))
                )
                print(f"  {size:>6} {name:<12} {timing.median_ms:8.1f} ms", flush=True)
        with app.app_context():
            db.engine.dispose()
    return figures


def report(figures: Sequence[Figure], sizes: Sequence[int]) -> None:
    print()
    print(
        f"{'database':<11} {'size':>6} {'request':<12} {'median ms':>10} {'CPU ms':>7} "
        f"{'1st byte':>8} {'× base':>7} {'SQL':>4} {'bytes':>10}"
    )
    base = {(f.database, f.size): f.timing.median_ms for f in figures if f.request == "baseline"}
    for f in figures:
        t = f.timing
        ratio = t.median_ms / base[(f.database, f.size)]
        print(
            f"{f.database:<11} {f.size:>6} {f.request:<12} {t.median_ms:>10.1f} {t.cpu_ms:>7.1f} "
            f"{t.first_byte_ms:>8.1f} {ratio:>7.1f} {f.statements:>4} {t.response_bytes:>10,}"
        )
    small, large = min(sizes), max(sizes)
    if small == large:
        return
    print(f"\n{large:,} vs {small:,} signatories (median server time; SQL statements):")
    by_key = {(f.database, f.size, f.request): f for f in figures}
    for database in dict.fromkeys(f.database for f in figures):
        for name, _ in REQUESTS:
            a, b = by_key[(database, small, name)], by_key[(database, large, name)]
            print(
                f"  {database:<11} {name:<12} {a.timing.median_ms:7.1f} → "
                f"{b.timing.median_ms:7.1f} ms; SQL {a.statements} → {b.statements}"
            )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 5000, 20000])
    parser.add_argument("--runs", type=int, default=9, help="timed requests per figure")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--database-url",
        help="also measure on this PostgreSQL database (in a temporary schema, dropped after)",
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.sizes))
    print(preamble(args.runs, args.warmup))
    figures: list[Figure] = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            figures += measure("SQLite", url, sizes, args.runs, args.warmup)
    if args.database_url:
        with postgresql_schema(args.database_url, "bench_lists") as url:
            figures += measure("PostgreSQL", url, sizes, args.runs, args.warmup)
    report(figures, sizes)
    print(f"\nLoad average at the end: {load_average()}")


if __name__ == "__main__":
    main()
