"""Which gunicorn worker class and count on this machine? (issue 11, item 1)

    .venv/bin/python -m benchmarks.gunicorn_workers [--seconds 8] [--connections 32]

Builds a scratch PostgreSQL database (migrated once, a public letter with
``--signatories`` names, :mod:`benchmarks.load.data`), then for every configuration
(``sync`` and ``gthread`` with 2, 3, 4 and 5 workers) starts gunicorn with the
repository's ``gunicorn.conf.py`` (worker flags overridden) twice, in the same run:

- **Signon**, driven by ``wrk`` with a mix of reads a public letter gets in a burst:
  the public page, its embed, the login page and the home page (with rate limits in
  Redis, as in production; the Redis DB is emptied before each server starts);
- **bare**: the baseline (:mod:`benchmarks.load.bare`, one INSERT into PostgreSQL per
  POST) under the same settings.

Prints requests/s, p50 and p99 and non-2xx responses per configuration, and Signon's
rate as a fraction of the best bare rate. The machine is shared: the configurations are
run in ``--rounds`` interleaved rounds and the table shows each one's median.
Needs ``wrk`` (``apt install wrk``); 127.0.0.1 only, Redis DB ``--redis-db`` for limits.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import redis

from benchmarks.load.run import (
    ROOT,
    _free_port,
    _load,
    app_environment,
    build,
    process,
    scratch_database,
    wait_until_up,
)

BIN = ROOT / ".venv" / "bin"
GUNICORN = BIN / "gunicorn"

SIGNON_MIX = """
paths = {PATHS}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
"""
BARE_POST = """
counter = 0
request = function()
  counter = counter + 1
  local body = "email=p" .. counter .. "@example.org&name=Person+" .. counter
  return wrk.format("POST", "/insert",
    {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
"""


@dataclass(frozen=True)
class Config:
    worker_class: str
    workers: int
    threads: int

    @property
    def label(self) -> str:
        threads = f" x{self.threads} threads" if self.worker_class == "gthread" else ""
        return f"{self.worker_class} {self.workers}{threads}"

    def flags(self) -> list[str]:
        return [
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--threads",
            str(self.threads),
            "--access-logfile",
            "/dev/null",
        ]


@dataclass(frozen=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, script: Path, seconds: int, connections: int) -> Result:
    flags = [f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    out = subprocess.run(
        ["wrk", "-t2", *flags, "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = {
        p: _ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    failed = re.search(r"Socket errors:.*?timeout (\d+)", out)
    non_2xx = (int(errors.group(1)) if errors else 0) + (int(failed.group(1)) if failed else 0)
    return Result(rps, latency.get("50", 0.0), latency.get("99", 0.0), non_2xx)


def check_paths(base: str, paths: Sequence[str]) -> None:
    """Every path of the mix answers 200 before it is measured (errors are not throughput)."""
    for path in paths:
        started = time.perf_counter()
        with urllib.request.urlopen(base + path, timeout=30) as response:  # noqa: S310 (127.0.0.1)
            assert response.status == 200, (path, response.status)
            size = len(response.read())
        if os.environ.get("BENCH_VERBOSE"):
            print(f"  {path}: {size} bytes, {(time.perf_counter() - started) * 1000:.0f} ms")


def serve_and_drive(
    app: str,
    config: Config,
    env: dict[str, str],
    path: str,
    script: Path,
    args: argparse.Namespace,
    probe: Sequence[str] = (),
) -> Result:
    port = _free_port()
    command = [str(GUNICORN), app, "--config", str(ROOT / "gunicorn.conf.py")]
    command += ["--bind", f"127.0.0.1:{port}", *config.flags()]
    run_env = {**env, "SIGNON_BASE_URL": f"http://127.0.0.1:{port}"}
    log = Path(tempfile.mkstemp(prefix="signon-gunicorn-", suffix=".log")[1])
    redis.Redis.from_url(env["SIGNON_RATELIMIT_STORAGE_URL"]).flushdb()  # our own DB
    with process(command, run_env, log) as proc:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", proc, log)
        check_paths(f"http://127.0.0.1:{port}", probe)
        # Warm every worker (imports, first queries) before measuring.
        run_wrk(f"http://127.0.0.1:{port}{path}", script, 2, args.connections)
        return run_wrk(f"http://127.0.0.1:{port}{path}", script, args.seconds, args.connections)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-db", type=int, default=2)
    parser.add_argument("--signatories", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", default="2,3,4,5")
    parser.add_argument("--classes", default="sync,gthread")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt install wrk)")
    configs = [
        Config(cls, int(n), args.threads if cls == "gthread" else 1)
        for cls in args.classes.split(",")
        for n in args.workers.split(",")
    ]
    results: dict[tuple[Config, str], list[Result]] = {}
    with scratch_database(args.postgres, keep=False) as database_url:
        redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
        env = app_environment(database_url, 0, 25, redis_url)
        env["SIGNON_LOG_LEVEL"] = "WARNING"
        built = build(env, args.signatories)
        slug = built["slug"]
        bare_env = {**env, "LOAD_BARE_DATABASE_URL": env["SIGNON_DATABASE_URL"]}
        bare_env["LOAD_BARE_DATABASE_URL"] = bare_env["LOAD_BARE_DATABASE_URL"].replace(
            "postgresql://", "postgresql+psycopg://"
        )
        with tempfile.TemporaryDirectory() as folder:
            mix = Path(folder) / "mix.lua"
            # Not the API: its per-address limit (120 a minute) would answer most of a
            # burst from one address with 429s, which measures nothing.
            paths = [f"/p/{slug}", f"/p/{slug}/embed", "/login", "/"]
            mix.write_text(
                SIGNON_MIX.replace("{PATHS}", "{" + ", ".join(f'"{p}"' for p in paths) + "}")
            )
            bare = Path(folder) / "bare.lua"
            bare.write_text(BARE_POST)
            print(f"{args.signatories} signatories, load before: {_load()}", flush=True)
            for round_ in range(args.rounds):
                for config in configs:
                    signon = serve_and_drive("wsgi:app", config, env, "/", mix, args, paths)
                    base = serve_and_drive(
                        "benchmarks.load.bare:app", config, bare_env, "/insert", bare, args
                    )
                    results.setdefault((config, "signon"), []).append(signon)
                    results.setdefault((config, "bare"), []).append(base)
                    print(
                        f"round {round_ + 1} {config.label:<24} signon {signon.rps:7.1f}/s "
                        f"p99 {signon.p99_ms:6.0f} ms | bare {base.rps:7.1f}/s "
                        f"p99 {base.p99_ms:6.0f} ms | load {_load()}",
                        flush=True,
                    )
    print_table(configs, results, args)


def _median(results: list[Result]) -> Result:
    return Result(
        statistics.median(r.rps for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        sum(r.non_2xx for r in results),
    )


def print_table(
    configs: list[Config], results: dict[tuple[Config, str], list[Result]], args: argparse.Namespace
) -> None:
    best_bare = max(_median(results[(c, "bare")]).rps for c in configs)
    print()
    print(
        f"{os.cpu_count()} cores; wrk -t2 -c{args.connections} -d{args.seconds}s; "
        f"median of {args.rounds} round(s); ratio = Signon req/s / best bare req/s"
    )
    header = f"{'config':<24} {'signon req/s':>12} {'p50':>7} {'p99':>7} {'errors':>6}"
    print(header + f" {'bare req/s':>10} {'p99':>7} {'ratio':>6}")
    for config in configs:
        s = _median(results[(config, "signon")])
        b = _median(results[(config, "bare")])
        print(
            f"{config.label:<24} {s.rps:12.1f} {s.p50_ms:6.0f}ms {s.p99_ms:6.0f}ms {s.non_2xx:6d}"
            f" {b.rps:10.1f} {b.p99_ms:6.0f}ms {s.rps / best_bare:6.2f}"
        )


if __name__ == "__main__":
    main()
