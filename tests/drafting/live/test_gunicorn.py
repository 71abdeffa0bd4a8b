"""Production serves the socket with gunicorn (``gunicorn.conf.py``, a gthread worker)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from signon import create_app
from tests.conftest import make_settings
from tests.drafting.live.client import LiveClient, eventually
from tests.drafting.live.world import BODY, Team, make_team, stored_updates
from tests.redis_server import free_port
from tests.smtp import MailCatcher

pytestmark = [pytest.mark.real_commits, pytest.mark.usefixtures("app_context")]


@pytest.fixture
def team() -> Team:
    return make_team()


@pytest.fixture
def gunicorn(database_url: str, project_root: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """gunicorn as production runs it, one gthread worker; yields its URL and secret key."""
    port, key = free_port(), secrets.token_hex(32)
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGNON_", "PROMETHEUS_"))}
    env.update(
        SIGNON_ENV="production",
        SIGNON_SECRET_KEY=key,
        SIGNON_DATABASE_URL=database_url,
        SIGNON_BASE_URL=url,
        SIGNON_BIND=f"127.0.0.1:{port}",
        SIGNON_WEB_WORKERS="1",
        SIGNON_WEB_THREADS="8",
        SIGNON_MAIL_OUTBOX=str(tmp_path / "outbox"),
        SIGNON_STORAGE_DIR=str(tmp_path / "storage"),
    )
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=project_root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield url, key
    finally:
        process.terminate()
        process.wait(timeout=40)


def test_two_editors_converge_through_gunicorn(
    gunicorn: tuple[str, str], team: Team, database_url: str, mail_catcher: MailCatcher
) -> None:
    url, key = gunicorn
    signer = create_app(make_settings(database_url, mail_catcher, secret_key=key, base_url=url))
    serializer = signer.session_interface.get_signing_serializer(signer)  # type: ignore[attr-defined]

    def connect(user_id: int) -> LiveClient:
        cookie = serializer.dumps({"_user_id": team.sessions[user_id], "_fresh": True})
        client = LiveClient(url, team.slug, str(cookie))
        assert client.synced.wait(10), "no sync step 2 from gunicorn"
        return client

    one, two = connect(team.coordinator), connect(team.drafter)
    assert one.body == two.body == BODY
    one.insert(0, "Through gunicorn. ")
    two.append("Both ways.\n")
    expected = "Through gunicorn. " + BODY + "Both ways.\n"
    eventually(lambda: one.body == two.body == expected, what="both editors have both edits")
    assert stored_updates(team.letter) == 2
    one.close()
    two.close()
