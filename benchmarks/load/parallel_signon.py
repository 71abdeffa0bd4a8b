"""Do public sign-ons on one letter wait for each other? Confirmations at once, in threads.

``make load`` on this shared 2-core machine is bound by CPU (every process competes for
it), which hides whether sign-ons queue on a lock. This measures that alone, in one
process against PostgreSQL: N people asked to sign one public letter (committed), then
their N confirmations (the operation, committed: what the confirm POST does) made by 1
thread and by T threads, each on its own connection. Every SQL statement is followed by a
pause of ``--latency-ms`` (a database on another host, or a descheduled thread: time that
threads can overlap unless a lock makes them take turns; pausing releases the GIL).

Printed: confirmations/s with 1 thread and with T, and their ratio (the speed-up). Sign-ons
that queue on the letter's row lock and its audit chain stay near 1x whatever T; sign-ons
that do not, approach T x (less what the GIL and the 2 cores take). Both in the same run,
so the load of the machine weighs on both. Then the proof: one signature per confirmation.

    .venv/bin/python -m benchmarks.load.parallel_signon \\
        --database-url postgresql://postgres@127.0.0.1:5432/postgres [--people 48] [--threads 8]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from typing import Any

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import event, func, select

from benchmarks.harness import load_average
from benchmarks.load.data import build_letter
from benchmarks.load.profile_signon import make_app, scratch
from signon.core import transaction
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.models import PublicSignRequest, Signature
from signon.signatures.public_signon import operations
from tests.signatures.factories import sign_data
from tests.smtp import MailCatcher


def _ask(app: Flask, slug: str, people: list[str]) -> list[str]:
    """Each person asks to sign (committed); their confirmation tokens."""
    tokens = []
    with app.test_request_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        assert letter is not None
        for person in people:
            result = operations.request_public_signature(
                letter,
                letter.head(),
                sign_data(f"Parallel Organisation {person}"),
                email=f"{person}@parallel.example.org",
            )
            assert result.token is not None
            tokens.append(result.token)
        transaction.commit()
        db.session.remove()
    return tokens


def _confirm(app: Flask, slug: str, token: str) -> None:
    with app.test_request_context():
        try:
            letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
            assert letter is not None
            request = operations.find_request(letter, token)
            assert request is not None
            operations.confirm_public_request(request, letter.head())
            transaction.commit()
        finally:
            db.session.remove()


def _confirm_all(app: Flask, slug: str, tokens: list[str], threads: int) -> float:
    """Confirm every token with ``threads`` threads; returns confirmations per second."""
    queue = list(tokens)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        while True:
            with lock:
                if not queue:
                    return
                token = queue.pop()
            try:
                _confirm(app, slug, token)
            except BaseException as error:  # reported below
                errors.append(error)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    assert not errors, errors[:3]
    return len(tokens) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL server URL")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--signatories", type=int, default=200)
    parser.add_argument("--people", type=int, default=48, help="confirmations per round")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2, help="each: 1 thread, then T")
    args = parser.parse_args()

    catcher = MailCatcher()
    catcher.start()
    try:
        with scratch(args.database_url) as url, tempfile.TemporaryDirectory() as folder:
            app = make_app(url, folder, catcher, args.redis_url)
            with app.app_context():
                upgrade()
                slug = build_letter(args.signatories).slug
                engine = db.engine
                db.session.remove()

            def pause(*_: Any) -> None:
                time.sleep(args.latency_ms / 1000)

            event.listen(engine, "after_cursor_execute", pause)
            print(
                f"confirmations at once on one letter ({args.signatories:,} signatories), "
                f"PostgreSQL, {args.latency_ms} ms after each statement; load {load_average()}"
            )
            rates: dict[int, list[float]] = {1: [], args.threads: []}
            for round_number in range(args.rounds):
                for threads in (1, args.threads):
                    people = [f"r{round_number}t{threads}p{i}" for i in range(args.people)]
                    tokens = _ask(app, slug, people)
                    rates[threads].append(_confirm_all(app, slug, tokens, threads))
                    print(
                        f"  round {round_number + 1}, {threads} thread(s): "
                        f"{rates[threads][-1]:.1f} confirmations/s; load {load_average()}"
                    )
            event.remove(engine, "after_cursor_execute", pause)
            one, many = max(rates[1]), max(rates[args.threads])
            print(
                f"best of {args.rounds}: 1 thread {one:.1f}/s, {args.threads} threads {many:.1f}/s"
            )
            print(f"speed-up with {args.threads} threads: {many / one:.2f} x")
            with app.app_context():
                confirmed = db.session.scalar(
                    select(func.count(PublicSignRequest.id)).where(
                        PublicSignRequest.confirmed_at.is_not(None)
                    )
                )
                signed = db.session.scalar(
                    select(func.count(func.distinct(PublicSignRequest.signature_id)))
                )
                public = db.session.scalar(
                    select(func.count(Signature.id)).where(Signature.name.like("Parallel %"))
                )
                expected = args.rounds * 2 * args.people
                print(
                    f"proof: {confirmed} requests confirmed, {signed} distinct signatures, "
                    f"{public} stored (expected {expected} each)"
                )
                assert confirmed == signed == public == expected
                db.session.remove()
    finally:
        catcher.stop()


if __name__ == "__main__":
    main()
