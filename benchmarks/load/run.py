"""Load test of public sign-on (issue 11 item 6): one command, bounded in time, 127.0.0.1 only.

    .venv/bin/python -m benchmarks.load.run            (or: make load)

What it does, in order:

1. creates a scratch PostgreSQL database ``load_<random>`` on ``--postgres``, migrates
   it (``flask db upgrade``'s code, once, from this process) and builds a public letter
   with ``--signatories`` listed signatories (5,000; :mod:`benchmarks.load.data`);
2. starts the mail catcher (:mod:`benchmarks.load.mailcatcher`, a real SMTP server),
   ``flask worker`` (jobs, and the mail the requests hand over, on Redis), ``flask
   scheduler`` (the periodic tasks, as ``make run-prod``: the maintained counts), Signon under
   gunicorn (``gunicorn.conf.py`` from the repository when there is one, else
   ``--workers``/``--worker-class``/``--threads``) with Redis for the rate limits, and
   the bare endpoint (:mod:`benchmarks.load.bare`) under the same gunicorn settings;
3. runs locust headless (:mod:`benchmarks.load.locustfile`, its own process): the bare
   endpoint for ``--bare-seconds``; then the burst for ``--seconds``: ``--signers``
   people signing one after another (form, submission, the mailed link, confirmation)
   while ``--readers`` readers load the public page and the API and a coordinator works
   the dashboard; then the bare endpoint again (the machine is shared: the baseline is
   measured before and after, and the ratio uses their mean);
4. waits for the outbox to be sent, then proves from the database that every accepted
   sign-on is stored exactly once, every confirmed one has exactly one signature, and
   every confirmation mail is in the outbox exactly once (and reached the SMTP server
   exactly once); prints the figures, with the load average.

Rate limits: all the load comes from 127.0.0.1, as if through one reverse proxy
(``SIGNON_TRUSTED_PROXIES=1``) that names each simulated person's own client address in
``X-Forwarded-For``, so the per-IP limits (the API's, public sign-on's) count per person
as in production. A signer is one person after another from the same locust user, so
the public sign-on's per-IP limits are also raised (``SIGNON_PUBLIC_SIGN_LIMIT_PER_IP``,
``SIGNON_PUBLIC_CONFIRM_LIMIT_PER_IP``, still counted in Redis); the per-e-mail-address
limit stays as it is (every simulated person has their own address).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis

from benchmarks.load import cpu
from benchmarks.load.bare import CREATE

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
RAISED_LIMIT = "1000000 per hour"
#: Seconds at the start of the burst left out of the sustained rate (users starting).
RAMP_SECONDS = 5.0
#: Rows the per-request table shows, in this order (locust's request names).
SIGNON_ROWS = (
    "1 form (GET /p/<slug>)",
    "2 submit (POST /p/<slug>/sign)",
    "3 confirm page (GET link)",
    "4 confirm (POST link)",
    "reader: public page",
    "reader: API letter",
    "reader: API signatories",
    "coordinator: dashboard",
    "coordinator: moderation",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def _utcnow() -> datetime:
    """Naive UTC, like the app's timestamps (``signon.db.utcnow``)."""
    return datetime.now(UTC).replace(tzinfo=None)


# --- The scratch database ------------------------------------------------------------------


@contextmanager
def scratch_database(server: str, keep: bool) -> Iterator[str]:
    """A new database on the PostgreSQL server ``server`` (dropped afterwards unless
    ``keep``); yields its URL."""
    name = f"load_{secrets.token_hex(4)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        if keep:
            print(f"kept the database {server}/{name}")
        else:
            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def app_environment(database_url: str, port: int, smtp_port: int, redis_url: str) -> dict[str, str]:
    """The app's settings, as an operator would give them (environment only)."""
    folder = tempfile.mkdtemp(prefix="signon-load-")
    env = dict(os.environ)
    env.update(
        SIGNON_ENV="production",
        SIGNON_SECRET_KEY=secrets.token_hex(32),
        SIGNON_DATABASE_URL=database_url,
        SIGNON_BASE_URL=f"http://127.0.0.1:{port}",
        SIGNON_RATELIMIT_STORAGE_URL=redis_url,
        SIGNON_REDIS_URL=redis_url,
        SIGNON_TRUSTED_PROXIES="1",
        SIGNON_JOB_QUEUE="signon-load",
        SIGNON_PUBLIC_SIGN_LIMIT_PER_IP=RAISED_LIMIT,
        SIGNON_PUBLIC_CONFIRM_LIMIT_PER_IP=RAISED_LIMIT,
        SIGNON_MAIL_SERVER="127.0.0.1",
        SIGNON_MAIL_PORT=str(smtp_port),
        SIGNON_STORAGE_DIR=str(Path(folder) / "storage"),
        SIGNON_MAIL_OUTBOX=str(Path(folder) / "outbox"),
        SIGNON_LOG_LEVEL=os.environ.get("SIGNON_LOG_LEVEL", "WARNING"),
    )
    return env


def build(env: dict[str, str], signatories: int) -> dict[str, Any]:
    """Migrate the scratch database and build the letter, in a child process with the
    app's environment (so this process never imports the app or ssl before locust)."""
    code = (
        "import json, sys, time\n"
        "from flask_migrate import upgrade\n"
        "from signon import create_app\n"
        "from benchmarks.load.data import build_letter\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    t = time.perf_counter(); upgrade(); migrated = time.perf_counter() - t\n"
        "    t = time.perf_counter(); letter = build_letter(int(sys.argv[1]))\n"
        "    built = time.perf_counter() - t\n"
        "print(json.dumps({'slug': letter.slug, 'email': letter.coordinator_email,\n"
        "  'password': letter.coordinator_password, 'migrated': migrated, 'built': built}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(signatories)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --- Servers -------------------------------------------------------------------------------


def gunicorn_command(app: str, port: int, args: argparse.Namespace) -> list[str]:
    """The same settings for Signon and the bare app: the repository's config when it
    has one (the production settings), else the flags given here."""
    command = [str(BIN / "gunicorn"), app, "--bind", f"127.0.0.1:{port}"]
    config = ROOT / "gunicorn.conf.py"
    if config.exists() and not args.no_config:
        return [*command, "--config", str(config)]
    return [
        *command,
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--log-level",
        "warning",
    ]


def describe_gunicorn(args: argparse.Namespace) -> str:
    config = ROOT / "gunicorn.conf.py"
    if config.exists() and not args.no_config:
        return "gunicorn.conf.py (the repository's)"
    return f"{args.workers} {args.worker_class} workers, {args.threads} threads"


@contextmanager
def process(command: Sequence[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:  # type: ignore[type-arg]
    with log.open("w") as out:
        proc = subprocess.Popen(
            list(command), env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the server stopped; see {log}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http://127.0.0.1)
                if response.status < 500:
                    return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
            time.sleep(0.3)
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout} s; see {log}")


# --- Locust --------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    count: int
    failures: int
    p50: float
    p99: float
    rps: float


@dataclass
class Phase:
    label: str
    seconds: float
    rows: dict[str, Row]
    load_before: str
    load_after: str
    started: datetime
    ended: datetime
    results: dict[str, list[str]] = field(default_factory=dict)
    usage: cpu.Usage | None = None

    @property
    def total(self) -> Row:
        return self.rows["Aggregated"]


def run_locust(
    label: str,
    host: str,
    users: Sequence[str],
    seconds: int,
    env: dict[str, str],
    folder: Path,
    meter: Callable[[], cpu.Meter] | None = None,
) -> Phase:
    """One locust run; with ``meter``, the CPU each component used during it."""
    prefix = folder / label
    results = folder / f"{label}.json"
    counts = {
        "SignerUser": int(env["LOAD_SIGNERS"]),
        "BareUser": int(env["LOAD_SIGNERS"]),
        "ReaderUser": int(env["LOAD_READERS"]),
        "CoordinatorUser": int(env["LOAD_COORDINATORS"]),
    }
    total = sum(counts[user] for user in users)
    command = [
        str(BIN / "locust"),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        host,
        "--users",
        str(total),
        "--spawn-rate",
        str(max(50, total)),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "60",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        *users,
    ]
    load_before, started = _load(), _utcnow()
    print(f"  {label}: {seconds} s, {total} users ({', '.join(users)}); load {load_before}")
    started_meter = meter() if meter is not None else None
    with (folder / f"{label}.locust.log").open("w") as log:
        subprocess.run(
            command,
            env={**env, "LOAD_RESULTS": str(results)},
            cwd=ROOT,
            check=False,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    ended = _utcnow()
    usage = started_meter.read() if started_meter is not None else None
    phase = Phase(
        label,
        seconds,
        read_stats(Path(f"{prefix}_stats.csv")),
        load_before,
        _load(),
        started,
        ended,
        usage=usage,
    )
    if results.exists():
        phase.results = json.loads(results.read_text())
    return phase


def read_stats(path: Path) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    with path.open() as handle:
        for line in csv.DictReader(handle):
            rows[line["Name"]] = Row(
                line["Name"],
                int(line["Request Count"]),
                int(line["Failure Count"]),
                float(line["50%"] or 0),
                float(line["99%"] or 0),
                float(line["Requests/s"] or 0),
            )
    return rows


# --- The proof, from the database ----------------------------------------------------------


@dataclass
class Proof:
    lines: list[str]
    problems: list[str]


def wait_for_outbox(database_url: str, timeout: float = 120) -> int:
    """Wait until every message of the outbox is sent; returns how many are not."""
    deadline = time.monotonic() + timeout
    unsent = -1
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM outbox_messages WHERE sent_at IS NULL")
            unsent = int(row.fetchone()[0])  # type: ignore[index]
            if unsent == 0:
                break
            time.sleep(1)
    return unsent


def prove(database_url: str, slug: str, phase: Phase, redis_url: str) -> Proof:
    accepted = set(phase.results.get("accepted", []))
    confirmed = set(phase.results.get("confirmed", []))
    problems: list[str] = list(phase.results.get("problems", []))
    unsent = wait_for_outbox(database_url)
    with psycopg.connect(database_url) as conn:
        letter_id = conn.execute("SELECT id FROM letters WHERE slug = %s", (slug,)).fetchone()[0]  # type: ignore[index]
        requests = Counter(
            email
            for (email,) in conn.execute(
                "SELECT email FROM public_sign_requests WHERE letter_id = %s", (letter_id,)
            )
        )
        confirmed_requests = {
            email
            for (email,) in conn.execute(
                "SELECT email FROM public_sign_requests WHERE letter_id = %s "
                "AND confirmed_at IS NOT NULL AND signature_id IS NOT NULL",
                (letter_id,),
            )
        }
        signatures = Counter(
            email
            for (email,) in conn.execute(
                "SELECT email FROM signatures WHERE letter_id = %s AND source = 'public' "
                "AND email LIKE 'signer-%%'",
                (letter_id,),
            )
        )
        mails = Counter(
            (recipient, subject.split(":")[0])
            for recipient, subject in conn.execute(
                "SELECT recipient, subject FROM outbox_messages WHERE recipient LIKE 'signer-%%'"
            )
        )
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    caught = {str(key): int(value) for key, value in store.hgetall("load:mails").items()}

    def check(what: str, ok: bool) -> None:
        if not ok:
            problems.append(what)

    for email in accepted:
        check(f"{email}: {requests[email]} requests stored, not 1", requests[email] == 1)
        check(
            f"{email}: {mails[(email, 'Please confirm')]} confirmation mails, not 1",
            mails[(email, "Please confirm")] == 1,
        )
        check(
            f"{email}: the SMTP server got its confirmation {caught.get(email + '|confirm', 0)}"
            " times, not 1",
            caught.get(email + "|confirm", 0) == 1,
        )
    for email in confirmed:
        check(f"{email}: {signatures[email]} signatures, not 1", signatures[email] == 1)
        check(f"{email}: request not marked confirmed", email in confirmed_requests)
        check(
            f"{email}: {mails[(email, 'Thank you')]} 'Thank you' mails, not 1",
            mails[(email, "Thank you")] == 1,
        )
    stray_requests = set(requests) - accepted
    stray_signatures = set(signatures) - confirmed
    check(
        f"{len(stray_requests)} requests stored that locust did not see accepted",
        not stray_requests,
    )
    check(
        f"{len(stray_signatures)} signatures stored that locust did not see confirmed",
        not stray_signatures,
    )
    check(f"{unsent} messages still unsent in the outbox", unsent == 0)
    in_outbox = sum(n for (_, kind), n in mails.items() if kind == "Please confirm")
    received = sum(n for key, n in caught.items() if key.endswith("|confirm"))
    lines = [
        f"accepted sign-on requests (302 to check-email): {len(accepted)}; stored: "
        f"{sum(requests.values())} rows for {len(requests)} addresses",
        f"confirmed (302 after the confirm POST): {len(confirmed)}; public signatures stored: "
        f"{sum(signatures.values())} for {len(signatures)} addresses",
        f"confirmation mails in the outbox: {in_outbox}; received by SMTP: {received};"
        f" unsent: {unsent}",
    ]
    return Proof(lines, problems)


def sustained_rate(database_url: str, slug: str, phase: Phase) -> tuple[float, float]:
    """Confirmed sign-ons per second from the signatures' own timestamps: over the burst
    without its first :data:`RAMP_SECONDS`, and the median of its whole seconds."""
    with psycopg.connect(database_url) as conn:
        times = [
            created
            for (created,) in conn.execute(
                "SELECT s.created_at FROM signatures s JOIN letters l ON l.id = s.letter_id "
                "WHERE l.slug = %s AND s.source = 'public' AND s.email LIKE 'signer-%%' "
                "AND s.created_at BETWEEN %s AND %s",
                (slug, phase.started, phase.ended),
            )
        ]
    if not times:
        return 0.0, 0.0
    start = phase.started.timestamp() + RAMP_SECONDS
    end = min(phase.ended.timestamp(), phase.started.timestamp() + phase.seconds)
    inside = [t.timestamp() for t in times if start <= t.timestamp() < end]
    per_second = Counter(int(t - start) for t in inside)
    seconds = max(int(end - start), 1)
    median = statistics.median([per_second.get(s, 0) for s in range(seconds)])
    return len(inside) / max(end - start, 1e-9), float(median)


# --- Server time, from gunicorn's access log ------------------------------------------------

ACCESS = re.compile(r'"(GET|POST) (\S+) HTTP[^"]*" (\d{3}) (\S+) (\d+)ms')


def access_entry(line: str) -> tuple[str, str, int, int] | None:
    """(method, path, bytes, ms) of one access-log line of the repository's gunicorn.conf.py:
    a JSON line (``SIGNON_LOG_FORMAT=json``, the production default: signon/core/
    gunicorn_logs.py) or the text format, whose request fields end with ``<ms>ms``."""
    if line.startswith("{"):
        try:
            fields = json.loads(line)
        except ValueError:
            return None
        if not isinstance(fields.get("duration_ms"), int) or "path" not in fields:
            return None
        size = fields.get("bytes")
        return (
            str(fields.get("method")),
            str(fields["path"]),
            size if isinstance(size, int) else 0,
            fields["duration_ms"],
        )
    found = ACCESS.search(line)
    if found is None:
        return None
    method, path, _status, size, ms = found.groups()
    return method, path, int(size) if size.isdigit() else 0, int(ms)


def server_times(log: Path) -> list[str]:
    """Server time per route (median, p90, max ms) from gunicorn's access log."""
    times: dict[str, list[int]] = {}
    sizes: dict[str, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        entry = access_entry(line)
        if entry is None:
            continue
        method, path, size, ms = entry
        route = re.sub(r"/confirm/[^/?]+", "/confirm/<token>", path.split("?")[0])
        times.setdefault(f"{method} {route}", []).append(ms)
        sizes[f"{method} {route}"] = size
    lines = []
    for route, values in sorted(times.items()):
        values.sort()
        lines.append(
            f"{route:48} {len(values):6} {statistics.median(values):7.0f} "
            f"{values[int(len(values) * 0.9)]:7} {values[-1]:7} {sizes[route]:>10,}"
        )
    return lines


# --- Report --------------------------------------------------------------------------------


def confirmed_in(phase: Phase) -> int:
    """Confirmations locust saw accepted during the phase."""
    confirm = phase.rows.get("4 confirm (POST link)")
    return confirm.count - confirm.failures if confirm else 0


def print_report(
    args: argparse.Namespace,
    build_info: dict[str, Any],
    bare: Sequence[Phase],
    burst: Phase,
    rate: tuple[float, float],
    proof: Proof,
    server: list[str],
) -> None:
    bare_rates = [p.total.count / p.seconds for p in bare]
    bare_rate = statistics.mean(bare_rates)
    locust_rate = confirmed_in(burst) / burst.seconds
    print(
        "\n=== Load test: public sign-on on a public letter with "
        f"{args.signatories:,} signatories ==="
    )
    print(
        f"server: gunicorn, {describe_gunicorn(args)}; Redis rate limits; PostgreSQL; "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"built in {build_info['migrated']:.1f} s (migrations) + {build_info['built']:.1f} s "
        "(letter)"
    )
    for phase, rate_ in zip(bare, bare_rates, strict=True):
        print(
            f"bare endpoint ({phase.label}): {rate_:.0f} inserts/s, p50 {phase.total.p50:.0f} ms, "
            f"p99 {phase.total.p99:.0f} ms, {phase.total.failures} errors; "
            f"load {phase.load_before} -> {phase.load_after}"
        )
    print(
        f"\nburst: {args.seconds} s, {args.signers} signers, {args.readers} readers, "
        f"{args.coordinators} coordinator(s); load {burst.load_before} -> {burst.load_after}"
    )
    print(f"{'request':34} {'count':>7} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} {'req/s':>7}")
    for name in (*SIGNON_ROWS, "Aggregated"):
        row = burst.rows.get(name)
        if row is not None:
            print(
                f"{name:34} {row.count:7} {row.failures:6} {row.p50:7.0f} {row.p99:7.0f} "
                f"{row.rps:7.1f}"
            )
    total = burst.total
    error_rate = total.failures / total.count if total.count else 0.0
    print(
        f"\nconfirmed sign-ons/s, sustained (database, after {RAMP_SECONDS:.0f} s): "
        f"{rate[0]:.1f} (median second {rate[1]:.0f}); locust: {locust_rate:.1f}"
    )
    print(f"error rate: {error_rate:.4%} ({total.failures} of {total.count})")
    print(f"bare endpoint, mean of before and after: {bare_rate:.0f} inserts/s")
    print(f"ratio confirmed sign-ons/s : bare inserts/s = {rate[0] / bare_rate:.3f}")
    if burst.usage is not None:
        print("\nwhere the CPU went during the burst (/proc; per confirmed sign-on of the burst):")
        for line in cpu.report(burst.usage, confirmed_in(burst), os.cpu_count() or 1):
            print(f"  {line}")
    if server:
        print("\nserver time per route during the whole run (gunicorn's access log):")
        print(f"{'route':48} {'count':>6} {'p50 ms':>7} {'p90 ms':>7} {'max ms':>7} {'bytes':>10}")
        for line in server:
            print(line)
    print("\nproof from the database:")
    for line in proof.lines:
        print(f"  {line}")
    if proof.problems:
        print(f"  PROBLEMS ({len(proof.problems)}):")
        for problem in proof.problems[:20]:
            print(f"    {problem}")
    else:
        print(
            "  every accepted sign-on stored exactly once, every confirmed one signed "
            "exactly once, every confirmation mail in the outbox (and sent) exactly once"
        )


# --- Main ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432",
        help="the PostgreSQL server (a scratch database is created on it)",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/8",
        help="Redis for the rate limits and the mail catcher (this DB is emptied)",
    )
    parser.add_argument("--signatories", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=60, help="length of the burst")
    parser.add_argument(
        "--bare-seconds",
        type=int,
        default=20,
        help="length of each bare-endpoint run (one before, one after)",
    )
    parser.add_argument(
        "--signers", type=int, default=32, help="people signing at once, one after another"
    )
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument(
        "--reader-wait", default="5,15", help="a reader's pause between two pages, min,max seconds"
    )
    parser.add_argument("--coordinators", type=int, default=1)
    parser.add_argument(
        "--moderation",
        action="store_true",
        help="the coordinator also opens the moderation page (one request in four)",
    )
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--no-config",
        action="store_true",
        help="ignore gunicorn.conf.py, use --workers/--worker-class/--threads",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    redis.Redis.from_url(args.redis_url).flushdb()
    folder = Path(tempfile.mkdtemp(prefix="signon-load-run-"))
    print(f"logs and locust's CSV files: {folder}")
    with ExitStack() as stack:
        database_url = stack.enter_context(scratch_database(args.postgres, args.keep))
        app_port, bare_port, smtp_port = _free_port(), _free_port(), _free_port()
        env = app_environment(database_url, app_port, smtp_port, args.redis_url)
        print(f"building: {args.signatories:,} signatories in {database_url}; load {_load()}")
        info = build(env, args.signatories)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(CREATE)
        catcher = stack.enter_context(
            process(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.load.mailcatcher",
                    "--port",
                    str(smtp_port),
                    "--redis-url",
                    args.redis_url,
                ],
                env,
                folder / "mailcatcher.log",
            )
        )
        worker = stack.enter_context(
            process([str(BIN / "flask"), "--app", "signon", "worker"], env, folder / "worker.log")
        )
        # As `make run-prod`: the periodic tasks, among them the counts the public page and
        # the API read (refresh-letter-counts, every 2 s; without it they count per read).
        scheduler = stack.enter_context(
            process(
                [str(BIN / "flask"), "--app", "signon", "scheduler"], env, folder / "scheduler.log"
            )
        )
        app_log, bare_log = folder / "signon.log", folder / "bare.log"
        app = stack.enter_context(
            process(gunicorn_command("signon:create_app()", app_port, args), env, app_log)
        )
        bare_env = {
            **env,
            "LOAD_BARE_DATABASE_URL": database_url.replace(
                "postgresql://", "postgresql+psycopg://", 1
            ),
        }
        bare_app = stack.enter_context(
            process(
                gunicorn_command("benchmarks.load.bare:app", bare_port, args), bare_env, bare_log
            )
        )
        app_url, bare_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{bare_port}"
        wait_until_up(f"{app_url}/p/{info['slug']}", app, app_log)
        wait_until_up(f"{bare_url}/", bare_app, bare_log)
        locust_env = {
            **env,
            "LOAD_SLUG": info["slug"],
            "LOAD_REDIS_URL": args.redis_url,
            "LOAD_SIGNERS": str(args.signers),
            "LOAD_READERS": str(args.readers),
            "LOAD_COORDINATORS": str(args.coordinators),
            "LOAD_READER_WAIT": args.reader_wait,
            "LOAD_MODERATION": "1" if args.moderation else "0",
            "LOAD_COORDINATOR_EMAIL": info["email"],
            "LOAD_COORDINATOR_PASSWORD": info["password"],
        }
        bare_before = run_locust(
            "bare-before", bare_url, ["BareUser"], args.bare_seconds, locust_env, folder
        )
        roots = {
            "Signon web (gunicorn)": app.pid,
            "bare endpoint (gunicorn)": bare_app.pid,
            "flask worker": worker.pid,
            "flask scheduler": scheduler.pid,
            "mail catcher": catcher.pid,
        }
        database = database_url.rsplit("/", 1)[1]
        redis_port = redis.Redis.from_url(args.redis_url).connection_pool.connection_kwargs.get(
            "port", 6379
        )
        burst = run_locust(
            "burst",
            app_url,
            ["SignerUser", "ReaderUser", "CoordinatorUser"],
            args.seconds,
            locust_env,
            folder,
            meter=lambda: cpu.Meter(roots, database, int(redis_port)),
        )
        bare_after = run_locust(
            "bare-after", bare_url, ["BareUser"], args.bare_seconds, locust_env, folder
        )
        proof = prove(database_url, info["slug"], burst, args.redis_url)
        rate = sustained_rate(database_url, info["slug"], burst)
        server = server_times(app_log)
        print_report(args, info, [bare_before, bare_after], burst, rate, proof, server)


if __name__ == "__main__":
    main()
