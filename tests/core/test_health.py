"""Issue 11, item 4 (health): ``/healthz`` says the process is alive, ``/readyz`` whether it
may take traffic (database reachable and at the migrations' head, every configured Redis
reachable). Both public, tiny JSON, never cached; not ready is a 503 with the reasons.

Runs on SQLite, and on PostgreSQL with ``SIGNON_TEST_DATABASE_URL``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from signon import create_app
from signon.config import PROJECT_ROOT
from signon.core.readiness import migration_heads, redis_urls
from signon.extensions import db, limiter
from tests.conftest import RequestIsolatingClient, make_settings
from tests.redis_server import free_port, redis_server
from tests.smtp import MailCatcher


@pytest.fixture
def app_with(database_url: str, mail_catcher: MailCatcher) -> Iterator[Any]:
    """Build apps with other settings; the (global) limiter is switched back afterwards."""
    was_enabled = limiter.enabled

    def build(**overrides: Any) -> Flask:
        app = create_app(make_settings(database_url, mail_catcher, **overrides))
        app.test_client_class = RequestIsolatingClient
        return app

    yield build
    limiter.enabled = was_enabled


def _problems(response: Any) -> dict[str, str]:
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == "not ready"
    return dict(body["problems"])


def test_healthz_is_alive_and_never_cached(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_at_the_head_revision(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert (response.status_code, response.get_json()) == (200, {"status": "ready"})
    assert response.headers["Cache-Control"] == "no-store"
    assert len(response.data) < 100


def test_the_head_is_read_from_the_migration_scripts() -> None:
    script = ScriptDirectory(str(PROJECT_ROOT / "migrations"))
    assert migration_heads() == frozenset(script.get_heads())
    assert len(migration_heads()) == 1


def test_a_database_at_an_older_revision_is_not_ready(client: FlaskClient, app: Flask) -> None:
    """As when new code starts before ``flask db upgrade`` has run."""
    (head,) = migration_heads()
    script = ScriptDirectory(str(PROJECT_ROOT / "migrations"))
    older = script.get_revision(head).down_revision
    assert isinstance(older, str)
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": older})
        problems = _problems(client.get("/readyz"))
    assert set(problems) == {"migrations"}
    assert older in problems["migrations"] and head in problems["migrations"]


def test_a_database_never_migrated_is_not_ready(client: FlaskClient, app: Flask) -> None:
    with app.app_context():
        db.session.execute(text("DELETE FROM alembic_version"))
        problems = _problems(client.get("/readyz"))
    assert problems == {
        "migrations": f"the database is at none, the code expects {next(iter(migration_heads()))}"
    }


def test_a_redis_that_does_not_answer_makes_it_not_ready(app_with: Any) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    app = app_with(ratelimit_enabled=True, ratelimit_storage_url=dead)
    with app.app_context():
        problems = _problems(app.test_client().get("/readyz"))
    assert problems == {"redis (ratelimit_storage_url)": "unreachable (ConnectionError)"}


def test_readiness_follows_redis_going_away_and_coming_back(app_with: Any) -> None:
    """A Redis of the test's own: ready, stopped (503), started again on the same port
    (ready again, without restarting the app)."""
    with redis_server() as server:
        app = app_with(ratelimit_enabled=True, ratelimit_storage_url=server.url)
        with app.app_context():
            client = app.test_client()
            assert client.get("/readyz").status_code == 200
            server.stop()
            assert "redis (ratelimit_storage_url)" in _problems(client.get("/readyz"))
            server.start()
            assert client.get("/readyz").status_code == 200


def test_only_the_redis_servers_in_use_are_checked(app: Flask) -> None:
    settings = app.config["SIGNON"]
    assert redis_urls(settings.with_(ratelimit_storage_url="memory://")) == {}
    off = settings.with_(ratelimit_enabled=False, ratelimit_storage_url="redis://h:1/0")
    assert redis_urls(off) == {}
    on = off.with_(ratelimit_enabled=True)
    assert redis_urls(on) == {"ratelimit_storage_url": "redis://h:1/0"}
    # The job queue's Redis (SIGNON_REDIS_URL) is found without being listed anywhere.
    queue = off.with_(redis_url="redis://q:2/1")
    assert redis_urls(queue) == {"redis_url": "redis://q:2/1"}


def test_a_job_queue_that_does_not_answer_makes_it_not_ready(app_with: Any) -> None:
    app = app_with(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with app.app_context():
        problems = _problems(app.test_client().get("/readyz"))
    assert problems == {"redis (redis_url)": "unreachable (ConnectionError)"}
