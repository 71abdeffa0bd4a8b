"""Shared fixtures: the app on a real database, a rolled-back transaction per test,
a real SMTP server in-process, and logged-in clients.

The database is SQLite (a file in a temporary folder) unless
``SIGNON_TEST_DATABASE_URL`` names another, e.g.
``postgresql://postgres@127.0.0.1:5432/test``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.orm import scoped_session, sessionmaker

from signon import create_app
from signon.config import Settings
from signon.extensions import db, limiter
from tests.redis_urls import redis_db
from tests.smtp import MailCatcher

TEST_DATABASE_URL_VAR = "SIGNON_TEST_DATABASE_URL"
#: The S3 server fixture (moto, server mode) for the storage tests.
pytest_plugins = ["tests.s3"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "real_commits: the test commits for real (threads, several connections); "
        "tables are emptied afterwards instead of rolling back",
    )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get(TEST_DATABASE_URL_VAR)
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'signon-test.db'}"


@pytest.fixture(scope="session")
def mail_catcher() -> Iterator[MailCatcher]:
    catcher = MailCatcher()
    catcher.start()
    yield catcher
    catcher.stop()


_STORAGE = tempfile.mkdtemp(prefix="signon-test-storage-")


def make_settings(database_url: str, mail_catcher: MailCatcher, **overrides: Any) -> Settings:
    settings = Settings(
        storage_dir=_STORAGE,
        secret_key="test-secret-key",
        database_url=database_url,
        testing=True,
        mail_server="127.0.0.1",
        mail_port=mail_catcher.port,
        # The test client's default host: mailed links read http://localhost/...
        base_url="http://localhost",
        ratelimit_enabled=False,
        wtf_csrf_enabled=False,
        # Werkzeug's test client closes a response only when told to: send mail at the
        # commit, so that tests see it at once (tests/core/test_mail_after_response.py
        # covers the setting on).
        mail_after_response=False,
        # Background jobs run at once, in the caller, after its commit (tests of the
        # thread and RQ backends build their own settings).
        jobs_synchronous=True,
        # A page read after a change shows it at once (tests/signatures/test_page_cache.py
        # covers the shared copies).
        shared_page_cache=False,
    )
    return settings.with_(**overrides)


def reset_schema(app: Flask) -> None:
    """Start from an empty database and build it with the migrations, as production does."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            with engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()


@pytest.fixture(scope="session")
def app(database_url: str, mail_catcher: MailCatcher) -> Flask:
    app = create_app(make_settings(database_url, mail_catcher))
    reset_schema(app)
    return app


def empty_all_tables() -> None:
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(autouse=True)
def _database(request: pytest.FixtureRequest, app: Flask) -> Iterator[None]:
    """Each test runs inside a transaction that is rolled back afterwards.

    Commits made by the code under test (one per request) only release a
    SAVEPOINT. Tests marked ``real_commits`` commit for real instead.
    """
    if request.node.get_closest_marker("real_commits"):
        with app.app_context():
            empty_all_tables()
            db.session.remove()
        yield
        with app.app_context():
            db.session.remove()
            empty_all_tables()
        return
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        factory: Any = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        db.session = scoped_session(factory)
        try:
            yield
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def app_context(app: Flask) -> Iterator[None]:
    with app.test_request_context():
        yield


class RequestIsolatingClient(FlaskClient):
    """A test client whose every request starts with an empty ``g``, as in production.

    Tests that hold an app context (``app_context``) would otherwise share ``g``
    with the requests they make: Flask reuses a pushed app context, and
    Flask-Login caches the current user in ``g``.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            for name in list(g):
                g.pop(name, None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = RequestIsolatingClient
    return app.test_client()


@pytest.fixture
def outbox(mail_catcher: MailCatcher) -> MailCatcher:
    mail_catcher.clear()
    return mail_catcher


def login(client: FlaskClient, user: Any) -> FlaskClient:
    """Log ``user`` in on ``client`` without going through the login form."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    return client


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


AppFactory = Callable[..., Flask]


@pytest.fixture
def limited(database_url: str, mail_catcher: MailCatcher) -> Iterator[AppFactory]:
    """Build apps with the limiter on; everything is put back afterwards."""
    was_enabled = limiter.enabled
    was_prefix = limiter._key_prefix
    prefixes: list[tuple[str, str]] = []

    def build(
        storage: str = "memory://", settings: dict[str, Any] | None = None, **extra: Any
    ) -> Flask:
        prefix = f"signon-test-{uuid.uuid4().hex}"
        prefixes.append((storage, prefix))
        limiter._key_prefix = ""
        app = create_app(
            make_settings(
                database_url,
                mail_catcher,
                ratelimit_enabled=True,
                ratelimit_storage_url=storage,
                extra={"RATELIMIT_KEY_PREFIX": prefix, **extra},
                **(settings or {}),
            )
        )
        app.test_client_class = RequestIsolatingClient
        return app

    try:
        yield build
    finally:
        for storage, prefix in prefixes:
            if storage.startswith("redis://"):
                connection = redis.Redis.from_url(storage)
                keys = list(connection.scan_iter(match=f"*{prefix}*"))
                if keys:
                    connection.delete(*keys)
            else:
                limiter.reset()
        limiter.enabled = was_enabled
        limiter._key_prefix = was_prefix


# --- Background jobs on RQ: a real ``flask worker`` subprocess ----------------------------------

_PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The jobs helper's Redis database (each test queues on a queue of its own).
JOBS_REDIS_URL = redis_db(1)
StartWorker = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def rq_setup(
    database_url: str, mail_catcher: MailCatcher, tmp_path: Path
) -> Iterator[tuple[Flask, Callable[..., subprocess.Popen[bytes]]]]:
    """An app that queues on Redis DB 1 (a queue of its own) and a way to start workers."""
    queue = f"signon-test-{uuid.uuid4().hex[:12]}"
    settings = make_settings(
        database_url,
        mail_catcher,
        jobs_synchronous=False,
        redis_url=JOBS_REDIS_URL,
        job_queue=queue,
        job_heartbeat_seconds=1,
        job_stale_seconds=3,
        secret_key=secrets.token_hex(32),  # production refuses a weak one
    )
    app = create_app(settings)
    workers: list[subprocess.Popen[bytes]] = []

    def start_worker(*extra: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "SIGNON_DATABASE_URL": database_url,
            "SIGNON_REDIS_URL": JOBS_REDIS_URL,
            "SIGNON_JOB_QUEUE": queue,
            "SIGNON_JOB_HEARTBEAT_SECONDS": "1",
            "SIGNON_SECRET_KEY": settings.secret_key,
            "SIGNON_BASE_URL": "http://localhost",
            "SIGNON_STORAGE_DIR": settings.storage_dir,
            "SIGNON_MAIL_SERVER": "127.0.0.1",
            "SIGNON_MAIL_PORT": str(mail_catcher.port),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "tests.core.worker_app", "worker", *extra],
            cwd=_PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: see the teardown
        )
        workers.append(process)
        return process

    yield app, start_worker
    for process in workers:
        # The whole group: a worker's children (RQ's scheduler process, forked with the
        # worker's command line; the PDF rendering pool) outlive a worker killed alone, and
        # full runs of the suite left one "flask worker" and its pool behind each.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    connection = redis.Redis.from_url(JOBS_REDIS_URL)
    for key in connection.scan_iter(f"rq:*{queue}*"):  # the queue's and its jobs' keys
        connection.delete(key)


def burst(start_worker: StartWorker) -> str:
    """Run a worker until the queue is empty; its output."""
    process = start_worker("--burst")
    output, _ = process.communicate(timeout=180)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    return text
