"""What the request benchmarks share: a throw-away app and database, a logged-in client, and
the timing of requests (wall clock, this process's CPU, time to the first byte of the body,
SQL statements), so that every benchmark measures a request the same way.

A request is timed with its body read to the end (a streamed download queries as it is
read, and a body left unread would keep its request context open into the next request).
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text

from signon.config import Settings
from signon.extensions import db


def settings(database_url: str, folder: str) -> Settings:
    """The app's settings for a benchmark: its own database and folders, no rate limits,
    no CSRF (the benchmarks post nothing a browser would), and no shared copies of public
    pages: a benchmark that asks for a page measures its rendering, not the copy of an
    earlier request (``benchmarks/load/profile_signon.py`` measures the copies)."""
    return Settings(
        secret_key=secrets.token_hex(32),
        database_url=database_url,
        testing=False,
        base_url="http://localhost",
        mail_outbox=str(Path(folder) / "outbox"),
        storage_dir=str(Path(folder) / "storage"),
        ratelimit_enabled=False,
        wtf_csrf_enabled=False,
        shared_page_cache=False,
    )


@contextmanager
def postgresql_schema(database_url: str, prefix: str = "bench") -> Iterator[str]:
    """A fresh schema in the given PostgreSQL database, dropped afterwards; yields a URL
    whose connections use it (``search_path``)."""
    schema = f"{prefix}_{secrets.token_hex(4)}"
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


def logged_in(app: Flask, session_id: str) -> FlaskClient:
    """A test client whose session is the user's (as after a fresh login)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    return client


@dataclass(frozen=True)
class Timing:
    """Medians over the timed runs of one request, in milliseconds, and its body's size."""

    median_ms: float
    min_ms: float
    max_ms: float
    cpu_ms: float  # this process's CPU: less disturbed by a busy machine than wall clock
    first_byte_ms: float  # until the body's first chunk (a streamed download's is early)
    response_bytes: int


def _one(client: FlaskClient, path: str) -> tuple[float, float, float, int]:
    started, started_cpu = time.perf_counter(), time.process_time()
    response = client.get(path, buffered=False)
    chunks = iter(response.response)
    size = len(next(chunks, b""))
    first = time.perf_counter()
    size += sum(len(chunk) for chunk in chunks)
    response.close()
    ended = time.perf_counter()
    return (
        (ended - started) * 1000,
        (time.process_time() - started_cpu) * 1000,
        (first - started) * 1000,
        size,
    )


def time_request(client: FlaskClient, path: str, *, warmup: int, runs: int) -> Timing:
    """``warmup`` untimed requests (each must answer 200), then ``runs`` timed ones."""
    for _ in range(warmup):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        response.get_data()
    measured = [_one(client, path) for _ in range(runs)]
    wall = [m[0] for m in measured]
    return Timing(
        median_ms=statistics.median(wall),
        min_ms=min(wall),
        max_ms=max(wall),
        cpu_ms=statistics.median(m[1] for m in measured),
        first_byte_ms=statistics.median(m[2] for m in measured),
        response_bytes=measured[-1][3],
    )


def count_statements(app: Flask, client: FlaskClient, path: str) -> int:
    """SQL statements of one request, its body read (the queries, not SQLite's BEGIN
    IMMEDIATE nor savepoints, as ``tests/querycount.py`` counts them)."""
    with app.app_context():
        engine = db.engine
    count = 0

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal count
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            count += 1

    event.listen(engine, "before_cursor_execute", before)
    try:
        client.get(path).get_data()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return count


class BackendClock:
    """CPU seconds spent by the PostgreSQL server processes serving one app (read from
    ``/proc``, so only for a server on this machine; 0 elsewhere or on SQLite).

    On a busy machine the wall clock of a database-bound task mostly measures waiting for a
    CPU; this process's CPU plus its server processes' CPU is the work itself.
    """

    def __init__(self, app: Flask) -> None:
        self.pids: set[int] = set()
        with app.app_context():
            engine = db.engine
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", self._connected)

    def _connected(self, dbapi_connection: Any, _record: Any) -> None:
        self.pids.add(int(dbapi_connection.info.backend_pid))

    def seconds(self) -> float:
        """The CPU time so far of every server process this app has connected to."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone, or not on this machine
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        return total


def load_average() -> str:
    return ", ".join(f"{n:.1f}" for n in os.getloadavg())


def preamble(runs: int, warmup: int) -> str:
    """The first line of a benchmark's output: the machine, its load, the runs."""
    return (
        f"Python {sys.version.split()[0]}; {os.cpu_count()} CPUs, load average "
        f"{load_average()}; {runs} timed runs after {warmup} warm-ups"
    )
