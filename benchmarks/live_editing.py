"""Live co-editing measured (issue 13, item 5): not part of the test suite.

Serves the app as production does (gunicorn, ``gunicorn.conf.py``, a gthread worker) on a
fresh database (SQLite in a temporary folder; with ``--database-url``, a throw-away schema
of that PostgreSQL database), and drives it with Python editors that speak y-websocket
(``tests/drafting/live/client.py``, a pycrdt document each, as the browser's Yjs one):

1. **propagation**: 2, 10 and 30 editors on one letter, all typing at once (each a word
   every ``--interval`` seconds, ``--edits`` words each); for every word, the time from the
   moment its editor typed it to the moment each other editor's document has it: p50, p99;
2. **memory per open document**: the worker's resident memory before and after 20 letters
   are opened (one socket each), divided by 20; for a 2-page and a 30-page letter;
3. **load time**: a 30-page letter (about 70,000 characters) with 1,000 unsaved edits in
   the database: from opening the socket to having the document (sync step 2), the first
   socket (read from the database) and a second one (the document already in memory).

    .venv/bin/python -m benchmarks.live_editing [--database-url postgresql://...]

The editors run in this process, on the same 2 cores as the server: the figures include
their own work (decoding and applying every update), as a real editor's browser would.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from flask_migrate import upgrade
from pycrdt import Doc, Text

from benchmarks.harness import load_average, postgresql_schema, settings
from signon import create_app
from signon.core.permissions import TeamRole
from signon.core.transaction import commit
from signon.drafting.live import crdt, operations
from tests.drafting.live.client import LiveClient
from tests.factories import add_team_member, make_letter, make_user

ROOT = Path(__file__).resolve().parent.parent
PARAGRAPH = (
    "We, the undersigned organisations, call on the government to act now on the matters "
    "set out below, and to report publicly on its progress every six months. "
) * 3
#: A page of a letter: about 3,000 characters.
PAGE = "\n\n".join([PARAGRAPH.strip()] * 5) + "\n\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class World:
    app: Flask
    slug: str
    coordinator: str  # session ids (User.get_id()): of every letter's coordinator
    editors: list[str]  # of the first letter's drafters
    small: list[str]  # slugs of 2-page letters
    large: list[str]  # slugs of 30-page letters
    loaded: str  # the 30-page letter with 1,000 unsaved edits


def build(app: Flask, max_editors: int) -> World:
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        coordinator = make_user()
        users = [make_user() for _ in range(max_editors)]
        letter = make_letter(coordinator, body=PAGE * 2)
        for user in users:
            add_team_member(letter, role=TeamRole.DRAFTER, user=user)
        small = [make_letter(coordinator, body=PAGE * 2).slug for _ in range(20)]
        large = [make_letter(coordinator, body=PAGE * 30).slug for _ in range(20)]
        loaded = make_letter(coordinator, body=PAGE * 30)
        live, _doc, _ = operations.open_document(loaded)
        doc: Doc[Any] = crdt.load([live.snapshot])
        text = doc.get(crdt.TEXT_NAME, type=Text)
        rng = random.Random(13)
        for n in range(1000):
            before = doc.get_state()
            at = rng.randrange(len(str(text)))
            text.insert(len(str(text)[:at].encode()), f"edit{n} ")
            operations.record_update(loaded.id, doc.get_update(before), coordinator.id)
        world = World(
            app,
            letter.slug,
            coordinator.get_id(),
            [u.get_id() for u in users],
            small,
            large,
            loaded.slug,
        )
        commit()
        return world


@contextmanager
def gunicorn(database_url: str, secret: str, threads: int) -> Iterator[tuple[str, int]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SIGNON_ENV": "production",
        "SIGNON_SECRET_KEY": secret,
        "SIGNON_DATABASE_URL": database_url,
        "SIGNON_BASE_URL": url,
        "SIGNON_BIND": f"127.0.0.1:{port}",
        "SIGNON_WEB_WORKERS": "1",
        "SIGNON_WEB_THREADS": str(threads),
        "SIGNON_ACCESS_LOG": "/dev/null",
        "SIGNON_LOG_FORMAT": "text",
        "SIGNON_RATELIMIT_ENABLED": "false",
    }
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url + "/healthz", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()


def cookie(app: Flask, session_id: str) -> str:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return str(serializer.dumps({"_user_id": session_id, "_fresh": True}))


def connect(url: str, app: Flask, slug: str, session_id: str) -> LiveClient:
    client = LiveClient(url, slug, cookie(app, session_id))
    if not client.synced.wait(60):
        raise RuntimeError("no sync step 2 within 60 s")
    return client


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def propagation(url: str, world: World, editors: int, edits: int, interval: float) -> str:
    clients = [connect(url, world.app, world.slug, s) for s in world.editors[:editors]]
    sent: dict[str, float] = {}
    seen: list[set[str]] = [set() for _ in clients]
    latencies: list[float] = []
    lock = threading.Lock()

    def watcher(index: int) -> Any:
        def on_update(client: LiveClient) -> None:
            now = time.perf_counter()
            body = client.body
            with lock:
                for marker, at in sent.items():
                    if marker not in seen[index] and marker in body:
                        seen[index].add(marker)
                        latencies.append(now - at)

        return on_update

    for index, client in enumerate(clients):
        client.on_update = watcher(index)

    def type_words(index: int) -> None:
        rng = random.Random(index)
        time.sleep(rng.random() * interval)
        for n in range(edits):
            marker = f" w{index}x{n}."
            with lock:
                sent[marker] = time.perf_counter()
                seen[index].add(marker)
            clients[index].append(marker)
            time.sleep(interval)

    threads = [threading.Thread(target=type_words, args=(i,)) for i in range(editors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = editors * edits * (editors - 1)
    deadline = time.monotonic() + 60
    while len(latencies) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    converged = len({c.body for c in clients}) == 1
    for client in clients:
        client.close()
    ms = [v * 1000 for v in latencies]
    return (
        f"{editors:>3} editors  {len(ms):>6} deliveries of {expected:>6}  "
        f"p50 {percentile(ms, 0.5):7.1f} ms  p99 {percentile(ms, 0.99):7.1f} ms  "
        f"max {max(ms):7.1f} ms  converged {converged}"
    )


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def worker_pid(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def memory(url: str, master: int, world: World, slugs: list[str], label: str) -> str:
    worker = worker_pid(master)
    before = rss_kib(worker)
    clients = [connect(url, world.app, slug, world.coordinator) for slug in slugs]
    time.sleep(1)
    after = rss_kib(worker)
    size = len(clients[0].body)
    for client in clients:
        client.close()
    per = (after - before) / len(slugs)
    return f"{label:<16} {size:>7} chars: {per:8.0f} KiB per open document ({len(slugs)} opened)"


def load_time(url: str, world: World, runs: int = 5) -> list[str]:
    cold, warm = [], []
    for _ in range(runs):
        start = time.perf_counter()
        first = connect(url, world.app, world.loaded, world.coordinator)
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        second = connect(url, world.app, world.loaded, world.coordinator)
        warm.append(time.perf_counter() - start)
        size = len(first.body)
        first.close()
        second.close()
        time.sleep(0.5)  # the last socket gone, the server drops the document
    return [
        f"30-page letter ({size} chars) with 1,000 unsaved edits, {runs} runs:",
        f"  first socket (read from the database): median {statistics.median(cold) * 1000:.0f} ms"
        f", max {max(cold) * 1000:.0f} ms",
        f"  second socket (document in memory):    median {statistics.median(warm) * 1000:.0f} ms"
        f", max {max(warm) * 1000:.0f} ms",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL (a throw-away schema); else SQLite")
    parser.add_argument("--editors", type=int, nargs="+", default=[2, 10, 30])
    parser.add_argument("--edits", type=int, default=20, help="words typed by each editor")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between words")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="signon-live-bench-")
    schema = postgresql_schema(args.database_url) if args.database_url else nullcontext(None)
    with schema as pg_url:
        database_url = pg_url or f"sqlite:///{folder}/bench.db"
        secret = secrets.token_hex(32)
        app = create_app(settings(database_url, folder).with_(secret_key=secret))
        world = build(app, max(args.editors))
        threads = max(args.editors) + 30
        print(
            f"Python {sys.version.split()[0]}; {os.cpu_count()} CPUs; load average "
            f"{load_average()}; database {'PostgreSQL' if pg_url else 'SQLite'}; gunicorn "
            f"gthread, 1 worker x {threads} threads"
        )
        with gunicorn(database_url, secret, threads) as (url, master):
            every = f"a word every {args.interval} s, {args.edits} words each"
            print(f"Propagation: every editor types at once, {every}")
            for editors in args.editors:
                print(propagation(url, world, editors, args.edits, args.interval), flush=True)
            print("Memory (the worker's resident set):")
            print(memory(url, master, world, world.small, "2-page letter"), flush=True)
            print(memory(url, master, world, world.large, "30-page letter"), flush=True)
            print("Load time:")
            for line in load_time(url, world):
                print(line)
        print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
