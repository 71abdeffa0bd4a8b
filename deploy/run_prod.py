"""``make run-prod``: Signon as in production, on this machine, in the foreground.

1. PostgreSQL: the database of ``SIGNON_DATABASE_URL`` (default
   ``postgresql://postgres@127.0.0.1:5432/signon``) is created if it does not exist;
2. a real secret key, generated once into ``instance/prod_secret_key`` (this is a local
   demonstration of production: a real deployment sets ``SIGNON_SECRET_KEY`` itself);
3. ``flask --app signon db upgrade`` ONCE, before any app server starts (the app servers
   never migrate), then the demo letter if the database is empty, and the login;
4. gunicorn with ``gunicorn.conf.py`` (several workers), a second gunicorn for the
   live-editing sockets (one worker with many threads, on ``LIVE_PORT``, default PORT+1:
   each open socket holds a thread; docs/deploy.md, "Live editing"), the queue worker and the
   scheduler (``flask --app signon worker`` / ``scheduler``: started when this version
   has them, else said so), all in the foreground. Ctrl-C (or SIGTERM) stops them all;
   if one of them stops on its own, the others are stopped too and the exit status says so.

Settings come from the environment as everywhere (docs/deploy.md); the defaults here are
for this machine: Redis at ``redis://127.0.0.1:6379/0``, served on http://127.0.0.1:8000
(``HOST``/``PORT``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
INSTANCE = ROOT / "instance"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/signon"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
#: How long the processes get to stop after SIGTERM before they are killed.
STOP_SECONDS = 30


def say(message: str) -> None:
    print(f"run-prod: {message}", flush=True)


def secret_key() -> str:
    """The local demo's key: kept in ``instance/prod_secret_key`` (0600), made once."""
    path = INSTANCE / "prod_secret_key"
    if not path.exists():
        INSTANCE.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database ``url`` names, if it does not exist."""
    import psycopg
    from psycopg import sql

    server, name = url.rsplit("/", 1)
    name = name.split("?")[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            say(f"created the database {name}")


#: Threads of the live-editing gunicorn: one per open socket (``SIGNON_LIVE_THREADS``).
DEFAULT_LIVE_THREADS = "100"


def live_port() -> str:
    return os.environ.get("LIVE_PORT") or str(int(os.environ.get("PORT", "8000")) + 1)


def environment() -> dict[str, str]:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    env = dict(os.environ)
    # Pages tell browsers to open their live-editing socket on the live gunicorn.
    env.setdefault("SIGNON_LIVE_URL", f"ws://{host}:{live_port()}")
    env.setdefault("SIGNON_DATABASE_URL", DEFAULT_DATABASE_URL)
    env.setdefault("SIGNON_SECRET_KEY", secret_key())
    env.setdefault("SIGNON_BASE_URL", f"http://{host}:{port}")
    env.setdefault("SIGNON_BIND", f"{host}:{port}")
    env.setdefault("SIGNON_RATELIMIT_STORAGE_URL", DEFAULT_REDIS_URL)
    env.setdefault("SIGNON_REDIS_URL", DEFAULT_REDIS_URL)
    env["SIGNON_ENV"] = "production"
    metrics = Path(env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(INSTANCE / "prometheus")))
    shutil.rmtree(metrics, ignore_errors=True)  # emptied at each start (docs/deploy.md)
    metrics.mkdir(parents=True, exist_ok=True)
    return env


def flask(*args: str) -> list[str]:
    return [str(BIN / "flask"), "--app", "signon", *args]


def run_once(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, env=env, cwd=ROOT, check=True)  # noqa: S603 (our own commands)


def available_commands(env: dict[str, str]) -> set[str]:
    """The ``flask --app signon`` commands this version has."""
    out = subprocess.run(  # noqa: S603 (our own command)
        flask("--help"), env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    commands = out.split("Commands:", 1)[-1]
    return {line.split()[0] for line in commands.splitlines() if line.strip()}


class Supervisor:
    """Starts the long-running processes and stops all of them together."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        # A process group of its own: Ctrl-C reaches us once, and we stop each one in order.
        self.processes[name] = subprocess.Popen(  # noqa: S603 (our own commands)
            command, env=env or self.env, cwd=ROOT, start_new_session=True
        )
        say(f"started {name} (pid {self.processes[name].pid})")

    def stop(self, signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        self.stopping = True

    def catch_signals(self) -> None:
        """From here on, Ctrl-C or SIGTERM stops everything started (never leaves orphans)."""
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)

    def wait(self) -> int:
        status = 0
        while not self.stopping:
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    say(f"{name} stopped on its own (exit {proc.returncode}): stopping the rest")
                    status = proc.returncode or 1
                    self.stopping = True
                    break
            time.sleep(0.2)
        self.terminate_all()
        return status

    def terminate_all(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for name, proc in self.processes.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{name} did not stop within {STOP_SECONDS} s: killed")
                proc.kill()
                proc.wait()
        say("stopped")


def main() -> int:
    env = environment()
    database_url = env["SIGNON_DATABASE_URL"]
    if database_url.startswith("postgresql"):
        ensure_database(database_url.replace("postgresql+psycopg://", "postgresql://"))
    say("flask db upgrade (once, before the app servers start)")
    run_once(flask("db", "upgrade"), env)
    run_once(flask("seed-demo", "--if-empty"), env)
    commands = available_commands(env)
    supervisor = Supervisor(env)
    supervisor.catch_signals()
    gunicorn = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
    supervisor.start("gunicorn", gunicorn)
    host = os.environ.get("HOST", "127.0.0.1")
    live = {
        **env,
        "SIGNON_BIND": f"{host}:{live_port()}",
        "SIGNON_WEB_WORKERS": "1",
        "SIGNON_WEB_THREADS": env.get("SIGNON_LIVE_THREADS", DEFAULT_LIVE_THREADS),
    }
    supervisor.start("gunicorn-live", gunicorn, live)
    for name in ("worker", "scheduler"):
        if name in commands:
            supervisor.start(name, flask(name))
        else:
            say(f"`flask --app signon {name}` does not exist in this version: not started")
    print()
    say(f"Signon is starting on {env['SIGNON_BASE_URL']} (Ctrl-C stops everything)")
    login = subprocess.Popen(flask("demo-login"), env=env, cwd=ROOT)  # noqa: S603 (ours)
    while login.poll() is None and not supervisor.stopping:
        time.sleep(0.1)
    if login.poll() is None:
        login.terminate()
        login.wait()
    print(flush=True)
    return supervisor.wait()


if __name__ == "__main__":
    sys.exit(main())
