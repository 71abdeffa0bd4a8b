"""What does crediting a live version per author cost? Prints figures (issue 13 item 3).

    .venv/bin/python -m benchmarks.live_save [--runs 3] [--database-url postgresql://...]

"Save version" makes one revision per person who typed since the last version
(``drafting.live.operations.save_live_version``): it replays the unsaved updates to see
who added and deleted what (``drafting.live.authorship.versions_by_author``), then saves
one revision per author (``letters.operations.save_revision``: audit event, comment
threads carried, notices). For a 30-page letter with 1,000 unsaved edits (a word inserted
at a random place; every tenth edit deletes a few characters instead), typed by 1, 2, 10
and 30 people in turn (each update by the next person: the most changes of author to
read), each person with their own Yjs document as in their browser, it prints:

- ``load``: loading the document from its rows (``crdt.load``, what the save did before);
- ``split``: ``versions_by_author`` alone (pure, median of ``--runs``);
- ``save``: the whole save, commit included, as the coordinator (who typed nothing)
  presses "Save version" (median over ``--runs`` letters, each saved once), with its
  SQL statements and the revisions it made.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import upgrade
from pycrdt import Text
from sqlalchemy import event

from benchmarks.harness import load_average, postgresql_schema, settings
from benchmarks.live_editing import PAGE
from signon import create_app
from signon.accounts.models import User
from signon.core.permissions import TeamRole
from signon.core.transaction import commit
from signon.drafting.live import authorship, crdt, operations, queries
from signon.extensions import db
from signon.letters.models import Letter
from tests.factories import add_team_member, make_letter, make_user

ROOT = Path(__file__).resolve().parent.parent
EDITS = 1000


@dataclass(frozen=True)
class Typed:
    letter_id: int
    coordinator_id: int
    snapshot: bytes
    updates: list[tuple[int | None, bytes]]


def type_in_turn(app: Flask, people: int, seed: int) -> Typed:
    """A 30-page letter, and EDITS unsaved updates typed by ``people`` drafters in turn."""
    with app.app_context():
        coordinator = make_user()
        letter = make_letter(coordinator, body=PAGE * 30)
        drafters = [make_user() for _ in range(people)]
        for drafter in drafters:
            add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
        live, _doc, _ = operations.open_document(letter)
        docs = [crdt.load([live.snapshot]) for _ in drafters]
        rng = random.Random(seed)
        updates: list[tuple[int | None, bytes]] = []
        for n in range(EDITS):
            index = n % people
            doc = docs[index]
            text = doc.get(crdt.TEXT_NAME, type=Text)
            current = str(text)
            at = len(current[: rng.randrange(len(current) - 10)].encode())
            before = doc.get_state()
            if n % 10 == 9:
                del text[at : at + 4]
            else:
                text.insert(at, f"edit{n} ")
            update = doc.get_update(before)
            for other in docs:
                if other is not doc:
                    other.apply_update(update)
            operations.record_update(letter.id, update, drafters[index].id)
            updates.append((drafters[index].id, update))
        typed = Typed(letter.id, coordinator.id, live.snapshot, updates)
        commit()
        return typed


def median_ms(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def save(app: Flask, typed: Typed) -> tuple[float, int, int]:
    """Save version as the coordinator: (ms, SQL statements, revisions made)."""
    count = 0

    def counted(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal count
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            count += 1

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", counted)
        try:
            started = time.perf_counter()
            letter = db.session.get(Letter, typed.letter_id)
            saver = db.session.get(User, typed.coordinator_id)
            assert letter is not None and saver is not None
            result = operations.save_live_version(letter, saver)
            commit()
            elapsed = (time.perf_counter() - started) * 1000
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        assert not queries.pending_updates(typed.letter_id)
        db.session.remove()
    return elapsed, count, len(result.revisions)


def measure(app: Flask, people: int, runs: int) -> str:
    letters = [type_in_turn(app, people, seed) for seed in range(runs)]
    first = letters[0]
    rows = [data for _, data in first.updates]
    load = median_ms(lambda: crdt.load([first.snapshot, *rows]), runs)
    split = median_ms(lambda: authorship.versions_by_author(first.snapshot, first.updates), runs)
    saves = [save(app, typed) for typed in letters]
    size = len(crdt.text_of(crdt.load([first.snapshot, *rows])))
    return (
        f"| {people:>6} | {size:>6} | {load:>7.1f} | {split:>8.1f} | "
        f"{statistics.median(s[0] for s in saves):>7.1f} | {saves[0][1]:>10} | {saves[0][2]:>9} |"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL (a throw-away schema); else SQLite")
    parser.add_argument("--people", type=int, nargs="+", default=[1, 2, 10, 30])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="signon-live-save-")
    schema = postgresql_schema(args.database_url) if args.database_url else nullcontext(None)
    with schema as pg_url:
        app = create_app(settings(pg_url or f"sqlite:///{folder}/bench.db", folder))
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        print(
            f"Python {sys.version.split()[0]}; load average {load_average()}; database "
            f"{'PostgreSQL' if pg_url else 'SQLite'}; {EDITS} unsaved edits, {args.runs} runs"
        )
        print("| people | chars  | load ms | split ms | save ms | statements | revisions |")
        print("|-------:|-------:|--------:|---------:|--------:|-----------:|----------:|")
        for people in args.people:
            print(measure(app, people, args.runs), flush=True)
        print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
