"""gunicorn's own lines (start, workers, access) are JSON lines with the app's fields when
the log format is JSON: one real gunicorn serving the app, one request, then SIGTERM."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.redis_server import free_port

APP_FIELDS = {"time", "level", "logger", "message", "request_id"}


def test_gunicorn_logs_json_lines_with_the_apps_fields(tmp_path: Path, project_root: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGNON_", "PROMETHEUS_"))}
    env.update(
        SIGNON_DATABASE_URL=f"sqlite:///{tmp_path / 'signon.db'}",
        SIGNON_SECRET_KEY=secrets.token_hex(32),
        SIGNON_BASE_URL=f"http://127.0.0.1:{port}",
        SIGNON_BIND=f"127.0.0.1:{port}",
        SIGNON_WEB_WORKERS="1",
        SIGNON_MAIL_OUTBOX=str(tmp_path / "outbox"),
        SIGNON_STORAGE_DIR=str(tmp_path / "storage"),
        SIGNON_LOG_FORMAT="json",
    )
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    server = subprocess.Popen(
        [gunicorn, "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=project_root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, "not serving"
                time.sleep(0.2)
        assert response.status_code == 200
        request_id = response.headers["X-Request-ID"]
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=60)
    lines = [json.loads(line) for line in (stdout + stderr).splitlines() if line.strip()]
    assert all(line.keys() >= APP_FIELDS for line in lines), lines
    loggers = {line["logger"] for line in lines}
    assert {"gunicorn.error", "gunicorn.access"} <= loggers, loggers
    assert any("Booting worker" in line["message"] for line in lines)
    [access] = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert (access["method"], access["path"], access["status"]) == ("GET", "/healthz", 200)
    assert access["request_id"] == request_id and access["level"] == "INFO"
    assert isinstance(access["duration_ms"], int) and access["message"] == "GET /healthz 200"
