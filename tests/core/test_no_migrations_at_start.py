"""Issue 11, item 3: migrations run once, from ``flask db upgrade``, never from an app server.

Building the app, or importing the WSGI entry point gunicorn loads in every worker, must
leave an empty database empty; ``/readyz`` then says the migrations are missing.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from signon import create_app
from signon.config import PROJECT_ROOT
from signon.extensions import limiter
from tests.conftest import make_settings
from tests.smtp import MailCatcher


def _tables(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


@pytest.mark.real_commits  # db.session is the new app's own, not the test's transaction
def test_building_the_app_does_not_migrate(tmp_path: Path, mail_catcher: MailCatcher) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    was_enabled = limiter.enabled
    try:
        app = create_app(make_settings(url, mail_catcher))
        with app.app_context():
            response = app.test_client().get("/readyz")
    finally:
        limiter.enabled = was_enabled
    assert _tables(url) == []
    assert response.status_code == 503
    assert set(response.get_json()["problems"]) == {"migrations"}


def test_importing_the_wsgi_entry_point_does_not_migrate(tmp_path: Path) -> None:
    """What each gunicorn worker does (``wsgi:app``), in a process of its own."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNON_")}
    env.update(
        SIGNON_DATABASE_URL=url,
        SIGNON_SECRET_KEY=secrets.token_hex(32),
        SIGNON_BASE_URL="http://127.0.0.1:8000",
        SIGNON_STORAGE_DIR=str(tmp_path / "storage"),
        SIGNON_MAIL_OUTBOX=str(tmp_path / "outbox"),
    )
    code = "from wsgi import app; print(app.name)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "signon"
    assert _tables(url) == []
