"""Two app servers, one database, one Redis, one bucket: any server answers any request.

Two real gunicorn processes on free ports, configured from the environment as in
production, share the PostgreSQL test database (they run in the PostgreSQL run only),
Redis database 4 for the rate limits, and a bucket on moto's S3 server. A
browser-like client (``requests``, one cookie jar for 127.0.0.1) then shows:

- a login made on one server is valid on the other (signed cookie, token on the user row);
- a rate limit counts requests to both (with ``memory://`` each would count only its own);
- a logo uploaded through one server is served by the other (from the bucket);
- an export started on one server is made by the one queue worker (``flask worker``, RQ on
  the same Redis database) and downloaded from the other.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from signon.core.jobs import BackgroundJob, JobState
from signon.core.transaction import commit
from signon.exports.models import ExportRecord, ExportStatus
from signon.extensions import db
from signon.signatures.models import Signature
from tests.accounts.factories import DEFAULT_PASSWORD
from tests.exports.factories import sign
from tests.redis_server import free_port
from tests.redis_urls import redis_db
from tests.s3 import make_bucket, s3_environment
from tests.signatures.factories import coordinated_letter, image_bytes, invited, sign_path

pytestmark = [
    pytest.mark.real_commits,
    pytest.mark.usefixtures("app_context"),
    # Several app servers share a PostgreSQL database in production (issue 11: "against one
    # PostgreSQL and Redis"); SQLite is the one-host default. CI's PostgreSQL run has them,
    # and the SQLite run saves their minutes.
    pytest.mark.skipif(
        not os.environ.get("SIGNON_TEST_DATABASE_URL", "").startswith("postgresql"),
        reason="several app servers share PostgreSQL: run with SIGNON_TEST_DATABASE_URL",
    ),
]

#: Redis database of these tests (each engineer's tests write to their own).
REDIS_URL = redis_db(4)
#: The confirmation links' limit per client address, for the two servers together.
CONFIRM_LIMIT = 5
CSRF = re.compile(r'name="((?:[a-z]+-)?csrf_token)"[^>]*value="([^"]+)"')


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class Cluster:
    """Two app servers and the queue worker."""

    one: Server
    other: Server
    worker: Server


def _environment(database_url: str, s3_endpoint: str, tmp_path: Path) -> dict[str, str]:
    bucket = make_bucket(s3_endpoint)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SIGNON_", "PROMETHEUS_"))
    }
    env.update(
        SIGNON_ENV="production",
        SIGNON_DATABASE_URL=database_url,
        SIGNON_SECRET_KEY=secrets.token_hex(32),
        SIGNON_BASE_URL="http://127.0.0.1",
        SIGNON_RATELIMIT_STORAGE_URL=REDIS_URL,
        SIGNON_REDIS_URL=REDIS_URL,
        SIGNON_PUBLIC_CONFIRM_LIMIT_PER_IP=f"{CONFIRM_LIMIT} per hour",
        SIGNON_MAIL_OUTBOX=str(tmp_path / "outbox"),
        SIGNON_STORAGE_DIR=str(tmp_path / "no-storage-here"),
        SIGNON_LOG_FORMAT="text",
        **s3_environment(s3_endpoint, bucket),
    )
    return env


def _start(env: dict[str, str], root: Path, log: Path) -> Server:
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "2",
        "--timeout",
        "60",
        "signon:create_app()",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=out)
    return Server(f"http://127.0.0.1:{port}", process, log)


def _wait_ready(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the app server stopped:\n{server.output()}")
        try:
            if requests.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"the app server did not answer in time:\n{server.output()}")


def _start_worker(env: dict[str, str], root: Path, log: Path) -> Server:
    command = [str(Path(sys.executable).parent / "flask"), "--app", "signon", "worker"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=out)
    return Server("(worker)", process, log)


@pytest.fixture
def servers(
    database_url: str, s3_endpoint: str, tmp_path: Path, project_root: Path
) -> Iterator[Cluster]:
    """Two app servers and one queue worker, on one database, Redis database and bucket."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = _environment(database_url, s3_endpoint, tmp_path)
    started = [_start(env, project_root, tmp_path / f"server-{n}.log") for n in (1, 2)]
    started.append(_start_worker(env, project_root, tmp_path / "worker.log"))
    try:
        deadline = time.monotonic() + 60
        for server in started[:2]:
            _wait_ready(server, deadline)
        yield Cluster(started[0], started[1], started[2])
        if started[2].process.poll() is not None:
            pytest.fail(f"the worker stopped:\n{started[2].output()}")
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            try:
                server.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()
        redis.Redis.from_url(REDIS_URL).flushdb()


def _commit_and_let_go() -> None:
    """Commit this test's rows and hold no transaction open: the servers write too (on
    SQLite a reader that begins a transaction would hold the write lock)."""
    commit()
    db.session.close()


def _csrf(page: requests.Response, prefix: str = "") -> dict[str, str]:
    """The CSRF field of the page's form (``prefix``: the form's field prefix)."""
    for name, value in CSRF.findall(page.text):
        if name == f"{prefix}csrf_token":
            return {name: value}
    raise AssertionError(f"no {prefix}csrf_token on {page.url}")


def test_a_login_on_one_server_is_valid_on_the_other(servers: Cluster) -> None:
    one, other = servers.one, servers.other
    coordinator, letter = coordinated_letter(title="Shared session letter")
    letter_url, email = f"/letters/{letter.slug}/", coordinator.email
    _commit_and_let_go()
    browser = requests.Session()
    assert "/login" in browser.get(f"{other.url}{letter_url}", timeout=10).url
    form = browser.get(f"{one.url}/login", timeout=10)
    answer = browser.post(
        f"{one.url}/login",
        data={**_csrf(form), "email": email, "password": DEFAULT_PASSWORD},
        timeout=10,
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:500]
    page = browser.get(f"{other.url}{letter_url}", timeout=10, allow_redirects=False)
    assert page.status_code == 200
    assert "Shared session letter" in page.text
    # logging out on the other server ends the session on the first one too
    logout_form = browser.get(f"{other.url}{letter_url}", timeout=10)
    browser.post(f"{other.url}/logout", data=_csrf(logout_form), timeout=10)
    again = browser.get(f"{one.url}{letter_url}", timeout=10, allow_redirects=False)
    assert again.status_code == 302 and "/login" in again.headers["Location"]


def test_a_rate_limit_counts_requests_to_both_servers(servers: Cluster) -> None:
    one, other = servers.one, servers.other
    browser = requests.Session()
    statuses = [
        browser.get(f"{server.url}/p/no-such-letter/confirm/x", timeout=10).status_code
        for server in [one, other] * CONFIRM_LIMIT
    ]
    # each server saw CONFIRM_LIMIT requests at most, so only a shared count trips
    assert statuses[:CONFIRM_LIMIT] == [404] * CONFIRM_LIMIT
    assert statuses[CONFIRM_LIMIT:] == [429] * CONFIRM_LIMIT


def test_a_logo_uploaded_on_one_server_is_served_by_the_other(
    servers: Cluster,
) -> None:
    one, other = servers.one, servers.other
    coordinator, letter = coordinated_letter(title="Shared logo letter", body="We agree.\n")
    invitation = invited(letter, coordinator, name="Logo NGO", email="logo@ngo.example.org")
    revision_id = letter.head().id
    page, path = sign_path(invitation), sign_path(invitation, "/approve")
    letter_id, slug, email = letter.id, letter.slug, coordinator.email
    _commit_and_let_go()
    invitee = requests.Session()
    form = invitee.get(f"{one.url}{page}", timeout=10)
    assert form.status_code == 200
    answer = invitee.post(
        f"{one.url}{path}",
        data={
            **_csrf(form, "approve-"),
            "approve-name": "Logo NGO",
            "approve-country": "France",
            "approve-kind": "ngo",
            "approve-representative_name": "Lou Logo",
            "approve-representative_title": "Director",
            "approve-authority": "y",
            "approve-revision": str(revision_id),
        },
        files={"approve-logo": ("logo.png", image_bytes(60, 30, color=(10, 120, 240)))},
        timeout=20,
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:1000]
    signature = db.session.scalar(select(Signature).where(Signature.letter_id == letter_id))
    assert signature is not None and signature.logo_filename
    signature_id = signature.id
    _commit_and_let_go()

    coordinator_browser = requests.Session()
    login = coordinator_browser.get(f"{other.url}/login", timeout=10)
    coordinator_browser.post(
        f"{other.url}/login",
        data={**_csrf(login), "email": email, "password": DEFAULT_PASSWORD},
        timeout=10,
    )
    logo = coordinator_browser.get(
        f"{other.url}/letters/{slug}/signatures/{signature_id}/logo", timeout=10
    )
    assert logo.status_code == 200, logo.text[:500]
    assert logo.headers["Content-Type"] == "image/png"
    assert logo.headers["X-Content-Type-Options"] == "nosniff"
    image = Image.open(io.BytesIO(logo.content))
    assert image.size == (60, 30)
    assert image.convert("RGB").getpixel((3, 3)) == (10, 120, 240)


def test_an_export_started_on_one_server_is_made_by_the_worker_and_downloaded_from_the_other(
    servers: Cluster,
) -> None:
    one, other, worker = servers.one, servers.other, servers.worker
    coordinator, letter = coordinated_letter(title="Shared export letter", body="We agree.\n")
    sign(letter, ["Worker-Made NGO"])
    letter_id, slug, email = letter.id, letter.slug, coordinator.email
    _commit_and_let_go()
    browser = requests.Session()
    login = browser.get(f"{one.url}/login", timeout=10)
    browser.post(
        f"{one.url}/login",
        data={**_csrf(login), "email": email, "password": DEFAULT_PASSWORD},
        timeout=10,
    )
    settings = browser.get(f"{one.url}/letters/{slug}/export", timeout=30)
    assert settings.status_code == 200
    started = browser.post(
        f"{one.url}/letters/{slug}/exports", data=_csrf(settings), timeout=30, allow_redirects=False
    )
    assert started.status_code == 302, started.text[:500]
    record_id = int(started.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    deadline = time.monotonic() + 120
    record = None
    while time.monotonic() < deadline:
        record = db.session.get(ExportRecord, record_id)
        assert record is not None and record.letter_id == letter_id
        if record.status in (ExportStatus.DONE, ExportStatus.FAILED):
            break
        _commit_and_let_go()
        time.sleep(0.5)
    assert record is not None and record.status == ExportStatus.DONE, (
        f"export {record_id}: {record and record.status} {record and record.error}\n"
        f"{worker.output()}"
    )
    file_sha256 = record.file_sha256
    job = db.session.scalar(
        select(BackgroundJob)
        .where(BackgroundJob.kind == "export.pdf")
        .order_by(BackgroundJob.id.desc())
    )
    assert job is not None and job.state == JobState.DONE
    done = f"background job {job.id} (export.pdf) done"
    _commit_and_let_go()
    # made by the worker, not in a thread of either web process
    assert done in worker.output()
    assert done not in one.output() and done not in other.output()

    download = browser.get(
        f"{other.url}/letters/{slug}/exports/{record_id}.pdf", timeout=30, allow_redirects=False
    )
    assert download.status_code == 200, download.text[:500]
    assert download.headers["Content-Type"] == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    assert hashlib.sha256(download.content).hexdigest() == file_sha256
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(download.content)).pages)
    assert "Worker-Made NGO" in text
