"""CPU per request of the web process as gunicorn serves it, one request at a time.

    .venv/bin/python -m benchmarks.load.serve_cpu [--postgres postgresql://postgres@127.0.0.1:5432]
        [--redis-url redis://127.0.0.1:6379/8] [--signatories 5000] [--people 40]

``profile_signon`` measures a sign-on through Flask's test client, which leaves out what
only a server does (the WSGI layer, gunicorn's thread pool and access log, the response's
``close()``). This runs the same production set-up as the load test (``run.py``: a scratch
PostgreSQL database with a 5,000-signatory public letter, gunicorn with the repository's
``gunicorn.conf.py`` but **one** worker, Redis for the limits, the queue and the page
copies, ``flask worker``, ``flask scheduler``, the mail catcher) and plays the load test's
signers and readers one request after another over one keep-alive connection (each person
with their own cookies and client address). Nothing else asks the worker for anything, so
the CPU its threads used between sending a request and reading the whole answer is that
request's: read from ``/proc/<pid>/task/*/schedstat`` (nanoseconds, every thread), and
likewise for the PostgreSQL backends that serve the worker's connections (found by their
client ports), so the database's share is measured too. Medians per request type.

CPU figures on a shared machine move with its load (run before and after interleaved, and
compare within a run: the floor row is a request that reads nothing); the statement
counts of ``profile_signon --sql`` are exact. (py-spy was tried on the worker: it counts
threads waiting for PostgreSQL or Redis as busy, so its profiles say little about CPU.)
"""

from __future__ import annotations

import argparse
import glob
import http.client
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import redis

from benchmarks.load.run import (
    BIN,
    ROOT,
    _free_port,
    app_environment,
    build,
    process,
    scratch_database,
    wait_until_up,
)

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REVISION = re.compile(r'name="revision_id"[^>]*value="(\d+)"')
SIGN_ON_STEPS = ("form", "submit", "confirm page", "confirm")
READER_STEPS = ("reader: page", "reader: API letter", "reader: API page 1")
#: The floor: a route that reads nothing (what every request costs before its view).
FLOOR_STEP = "floor: /healthz"


def thread_cpu_ns(pid: int) -> int:
    """CPU time of every thread of ``pid`` (ns), from the scheduler's own accounting."""
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as stats:
                total += int(stats.read().split()[0])
        except OSError:  # a thread that just ended
            continue
    return total


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in glob.glob(f"/proc/{pid}/fd/*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def database_ports(pid: int, pg_port: int) -> set[int]:
    """Local ports of ``pid``'s TCP connections to PostgreSQL (``pg_port``)."""
    inodes, ports = _socket_inodes(pid), set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                parts = row.split()
                local, remote, inode = parts[1], parts[2], parts[9]
                if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == pg_port:
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


@dataclass
class Figures:
    web_ms: list[float] = field(default_factory=list)
    database_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)


class Probe:
    """The worker's CPU and its PostgreSQL backends' CPU around each request."""

    def __init__(self, worker: int, database_url: str) -> None:
        self.worker = worker
        self.pg_port = int(re.search(r":(\d+)/", database_url).group(1))  # type: ignore[union-attr]
        self.admin = psycopg.connect(database_url, autocommit=True)
        self.backends: list[int] = []

    def find_backends(self) -> None:
        ports = sorted(database_ports(self.worker, self.pg_port))
        self.backends = [
            row[0]
            for row in self.admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)", [ports]
            )
        ]

    def now(self) -> tuple[int, int]:
        return thread_cpu_ns(self.worker), sum(thread_cpu_ns(pid) for pid in self.backends)


class Client:
    """One keep-alive connection, one person's cookies and client address."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}
        self.address = ""

    def new_person(self) -> None:
        self.cookies = {}
        b, c, d = secrets.randbelow(256), secrets.randbelow(256), secrets.randbelow(254) + 1
        self.address = f"10.{b}.{c}.{d}"

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        headers = {"X-Forwarded-For": self.address, "Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, text, {k.lower(): v for k, v in response.getheaders()}


def _fields(status: int, html: str) -> tuple[str, str]:
    token, revision = CSRF.search(html), REVISION.search(html)
    assert status == 200 and token and revision, status
    return token.group(1), revision.group(1)


def _link(database_url: str, address: str) -> str:
    with psycopg.connect(database_url) as conn:
        for _ in range(200):
            row = conn.execute(
                "SELECT text FROM outbox_messages WHERE recipient = %s ORDER BY id DESC LIMIT 1",
                [address],
            ).fetchone()
            found = re.search(r"/p/[^/\s]+/confirm/[A-Za-z0-9_\-]+", row[0]) if row else None
            if found:
                return found.group(0)
            time.sleep(0.02)
    raise SystemExit(f"no link mailed to {address}")


Answer = tuple[int, str, dict[str, str]]


def _timed(
    probe: Probe, figures: dict[str, Figures] | None
) -> Callable[[str, Callable[[], Answer]], Answer]:
    def timed(name: str, call: Callable[[], Answer]) -> Answer:
        time.sleep(0.01)  # let the worker finish what follows the previous answer (close())
        web, database = probe.now()
        started = time.perf_counter()
        result = call()
        wall = time.perf_counter() - started
        time.sleep(0.01)
        web_after, database_after = probe.now()
        if figures is not None:
            figures[name].web_ms.append((web_after - web) / 1e6)
            figures[name].database_ms.append((database_after - database) / 1e6)
            figures[name].wall_ms.append(wall * 1000)
        return result

    return timed


def one_person(
    client: Client, slug: str, database_url: str, probe: Probe, figures: dict[str, Figures] | None
) -> None:
    timed = _timed(probe, figures)
    client.new_person()
    person = uuid.uuid4().hex[:12]
    address = f"signer-{person}@load.example.org"
    token, revision = _fields(*timed("form", lambda: client.request("GET", f"/p/{slug}"))[:2])
    form = {
        "csrf_token": token,
        "revision_id": revision,
        "name": f"Load Test Organisation {person}",
        "country": "Kenya",
        "kind": "ngo",
        "representative_name": "Amina Otieno",
        "representative_title": "Director",
        "website": "",
        "email": address,
        "authority": "y",
    }
    status, _, headers = timed("submit", lambda: client.request("POST", f"/p/{slug}/sign", form))
    assert status == 302 and "check-email" in headers.get("location", ""), status
    link = _link(database_url, address)
    token, revision = _fields(*timed("confirm page", lambda: client.request("GET", link))[:2])
    status, _, _ = timed(
        "confirm",
        lambda: client.request("POST", link, {"csrf_token": token, "revision_id": revision}),
    )
    assert status == 302, status


def one_reader(client: Client, slug: str, probe: Probe, figures: dict[str, Figures] | None) -> None:
    timed = _timed(probe, figures)
    paths = (f"/p/{slug}", f"/api/v1/letters/{slug}", f"/api/v1/letters/{slug}/signatories")
    for name, path in zip((*READER_STEPS, FLOOR_STEP), (*paths, "/healthz"), strict=True):
        client.new_person()
        status, _, _ = timed(name, lambda path=path: client.request("GET", path))  # type: ignore[misc]
        assert status == 200, (name, status)


def _worker_of(master: int) -> int:
    for _ in range(100):
        for path in glob.glob("/proc/[0-9]*/stat"):
            try:
                with open(path) as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == master:
                        return int(path.split("/")[2])
            except (OSError, ValueError):
                continue
        time.sleep(0.1)
    raise SystemExit("no gunicorn worker")


def report(figures: dict[str, Figures], people: int) -> None:
    print(f"\nmedian of {people} people, one request at a time, one gunicorn worker (ms)")
    print(f"{'request':22} {'web CPU':>8} {'PG CPU':>7} {'wall':>7}")
    for name, figure in figures.items():
        print(
            f"{name:22} {statistics.median(figure.web_ms):8.2f} "
            f"{statistics.median(figure.database_ms):7.2f} {statistics.median(figure.wall_ms):7.2f}"
        )
    web = sum(statistics.median(figures[name].web_ms) for name in SIGN_ON_STEPS)
    database = sum(statistics.median(figures[name].database_ms) for name in SIGN_ON_STEPS)
    print(f"per sign-on (four requests): web {web:.1f} ms CPU, PostgreSQL {database:.1f} ms CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--signatories", type=int, default=5000)
    parser.add_argument("--people", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    redis.Redis.from_url(args.redis_url).flushdb()
    folder = Path(tempfile.mkdtemp(prefix="signon-serve-cpu-"))
    with ExitStack() as stack:
        database_url = stack.enter_context(scratch_database(args.postgres, False))
        app_port, smtp_port = _free_port(), _free_port()
        env = app_environment(database_url, app_port, smtp_port, args.redis_url)
        env["SIGNON_WEB_WORKERS"] = "1"
        info = build(env, args.signatories)
        mailcatcher = [sys.executable, "-m", "benchmarks.load.mailcatcher"]
        for command, log in (
            ([*mailcatcher, "--port", str(smtp_port), "--redis-url", args.redis_url], "mail"),
            ([str(BIN / "flask"), "--app", "signon", "worker"], "worker"),
            ([str(BIN / "flask"), "--app", "signon", "scheduler"], "scheduler"),
        ):
            stack.enter_context(process(command, env, folder / f"{log}.log"))
        gunicorn = [
            str(BIN / "gunicorn"),
            "signon:create_app()",
            "--bind",
            f"127.0.0.1:{app_port}",
            "--config",
            str(ROOT / "gunicorn.conf.py"),
        ]
        app_log = folder / "signon.log"
        master = stack.enter_context(process(gunicorn, env, app_log))
        slug = info["slug"]
        wait_until_up(f"http://127.0.0.1:{app_port}/p/{slug}", master, app_log)
        probe = Probe(_worker_of(master.pid), database_url)
        client = Client(app_port)
        booted = probe.now()[0]
        one_person(client, slug, database_url, probe, None)
        one_reader(client, slug, probe, None)
        first = (probe.now()[0] - booted) / 1e6
        for _ in range(args.warmup):
            one_person(client, slug, database_url, probe, None)
            one_reader(client, slug, probe, None)
        probe.find_backends()
        figures = {name: Figures() for name in (*SIGN_ON_STEPS, *READER_STEPS, FLOOR_STEP)}
        for _ in range(args.people):
            one_person(client, slug, database_url, probe, figures)
            one_reader(client, slug, probe, figures)
        print(f"load average {os.getloadavg()}; logs in {folder}")
        report(figures, args.people)
        steady = sum(statistics.median(f.web_ms) for f in figures.values())
        print(
            f"a new worker's first person and reader: {first:.1f} ms CPU "
            f"(then {steady:.1f}): what each restart of a worker (max_requests) adds"
        )


if __name__ == "__main__":
    main()
