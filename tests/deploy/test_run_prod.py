"""``make run-prod`` (deploy/run_prod.py), as a real process tree, against PostgreSQL.

It creates its database, migrates it once before anything serves, loads the demo, serves
through gunicorn with several workers (ready: database at head, Redis reachable), starts
the queue worker and the scheduler when the code has them, prints the login, and one
SIGINT (Ctrl-C) stops every process it started.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from tests.redis_server import free_port
from tests.redis_urls import redis_db

#: Redis database of these tests (this engineer's).
REDIS_URL = redis_db(2)


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line), from /proc."""
    found: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        found[int(entry.name)] = (parent, command)
    return found


def _descendants(pid: int) -> dict[int, str]:
    table = _processes()
    found: dict[int, str] = {}
    pending = [pid]
    while pending:
        parent = pending.pop()
        for child, (ppid, command) in table.items():
            if ppid == parent and child not in found:
                found[child] = command
                pending.append(child)
    return found


def _alive(pids: list[int]) -> list[int]:
    table = _processes()
    return [pid for pid in pids if pid in table]


@pytest.fixture
def scratch_database(database_url: str) -> Iterator[str]:
    """A database name that does not exist yet on the test PostgreSQL server."""
    if not database_url.startswith("postgresql"):
        pytest.skip("make run-prod needs PostgreSQL (SIGNON_TEST_DATABASE_URL)")
    server = database_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
    name = f"runprod_{secrets.token_hex(4)}"
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_run_prod_starts_everything_once_and_ctrl_c_stops_it_all(
    scratch_database: str, tmp_path: Path, project_root: Path
) -> None:
    port, live_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGNON_", "PROMETHEUS_"))}
    env.update(
        SIGNON_DATABASE_URL=scratch_database,
        SIGNON_RATELIMIT_STORAGE_URL=REDIS_URL,
        SIGNON_REDIS_URL=REDIS_URL,
        SIGNON_JOB_QUEUE=f"run-prod-test-{secrets.token_hex(4)}",
        SIGNON_MAIL_OUTBOX=str(tmp_path / "outbox"),
        SIGNON_STORAGE_DIR=str(tmp_path / "storage"),
        SIGNON_WEB_WORKERS="2",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        PORT=str(port),
        LIVE_PORT=str(live_port),
    )
    log = tmp_path / "run-prod.log"
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "deploy/run_prod.py"],
            cwd=project_root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert supervisor.poll() is None, log.read_text()[-4000:]
            assert time.monotonic() < deadline, log.read_text()[-4000:]
            try:
                ready = requests.get(f"{base}/readyz", timeout=5).status_code == 200
            except requests.RequestException:
                ready = False
            if ready and "signon-demo-2026" in log.read_text():  # the login, printed last
                break
            time.sleep(0.5)
        login_page = requests.get(f"{base}/login", timeout=10)
        assert login_page.status_code == 200
        # the live-editing gunicorn answers too, and pages let browsers connect to it
        live = f"127.0.0.1:{live_port}"
        assert requests.get(f"http://{live}/healthz", timeout=10).status_code == 200
        assert f"connect-src 'self' ws://{live}" in login_page.headers["Content-Security-Policy"]
        children = _descendants(supervisor.pid)
        gunicorn = [pid for pid, command in children.items() if "gunicorn" in command]
        # the master and its two workers; the live server's master and its worker
        assert len(gunicorn) >= 5, children
        output = log.read_text()
        assert output.count("flask db upgrade (once") == 1
        assert "Running upgrade" in output
        assert "coordinator@example.org / signon-demo-2026" in output
        for name in ("worker", "scheduler"):
            assert f"started {name}" in output or f"signon {name}` does not exist" in output
    finally:
        supervisor.send_signal(signal.SIGINT)
        status = supervisor.wait(timeout=90)
    assert status == 0, log.read_text()[-4000:]
    assert "run-prod: stopped" in log.read_text()
    deadline = time.monotonic() + 10
    while _alive(list(children)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _alive(list(children)) == [], children


def test_gunicorn_refuses_several_workers_counting_rate_limits_alone(
    tmp_path: Path, project_root: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGNON_", "PROMETHEUS_"))}
    env.update(
        SIGNON_DATABASE_URL=f"sqlite:///{tmp_path / 'signon.db'}",
        SIGNON_SECRET_KEY=secrets.token_hex(32),
        SIGNON_BASE_URL="http://127.0.0.1:8000",
        SIGNON_BIND=f"127.0.0.1:{free_port()}",
        SIGNON_WEB_WORKERS="2",
        SIGNON_MAIL_OUTBOX=str(tmp_path / "outbox"),
        SIGNON_STORAGE_DIR=str(tmp_path / "storage"),
    )  # SIGNON_RATELIMIT_STORAGE_URL unset: memory://
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    refused = subprocess.run(
        [gunicorn, "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=project_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode != 0
    assert "memory:// with 2 workers" in refused.stderr + refused.stdout
