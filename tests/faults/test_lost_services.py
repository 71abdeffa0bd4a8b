"""Issue 11, faults: a lost database or Redis gives a clean 503 with ``Retry-After`` and the
app recovers by itself once the service is back.

- PostgreSQL: a request's connection is killed mid-request (``pg_terminate_backend`` from
  another connection while the request sleeps in the database), and between two requests
  (the pool's pre-ping replaces the dead connection, nobody notices).
- Redis: a server of the test's own, stopped and started again on the same port. Rate
  limits keep being enforced while it is gone (counted in the process's memory:
  ``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED``) and move back to Redis by themselves; a page
  that needs Redis itself gets the 503.

The apps here run with ``TESTING`` off, as in production, and with test-only routes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis
from flask import Flask
from sqlalchemy import text

from signon import create_app
from signon.core.access import public
from signon.extensions import db, limiter
from tests.conftest import RequestIsolatingClient, make_settings
from tests.redis_server import RedisServer
from tests.smtp import MailCatcher

pytestmark = pytest.mark.real_commits


class Slow:
    """What the slow route tells the test: its backend's pid, once it is inside the query."""

    def __init__(self) -> None:
        self.pid = 0
        self.inside = threading.Event()


def _lost_database_app(database_url: str, mail_catcher: MailCatcher, slow: Slow) -> Flask:
    app = create_app(make_settings(database_url, mail_catcher, testing=False))
    app.test_client_class = RequestIsolatingClient

    @app.get("/_test/slow")
    @public
    def slow_query() -> str:
        slow.pid = int(db.session.execute(text("SELECT pg_backend_pid()")).scalar_one())
        slow.inside.set()
        db.session.execute(text("SELECT pg_sleep(20)"))
        return "slept"

    @app.get("/_test/pid")
    @public
    def backend_pid() -> str:
        return str(db.session.execute(text("SELECT pg_backend_pid()")).scalar_one())

    return app


def _terminate(database_url: str, pid: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)


@pytest.fixture
def postgres(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (SIGNON_TEST_DATABASE_URL)")
    return database_url


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_a_connection_killed_mid_request_gives_a_503_and_the_next_request_works(
    postgres: str, mail_catcher: MailCatcher, accept: str
) -> None:
    slow = Slow()
    app = _lost_database_app(postgres, mail_catcher, slow)
    client = app.test_client()
    answers: list[Any] = []
    request = threading.Thread(
        target=lambda: answers.append(client.get("/_test/slow", headers={"Accept": accept}))
    )
    request.start()
    assert slow.inside.wait(30), "the slow request never reached the database"
    time.sleep(0.2)  # inside pg_sleep
    _terminate(postgres, slow.pid)
    request.join(30)
    (response,) = answers
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    assert response.headers["Cache-Control"] == "no-store"
    if accept == "application/json":
        assert response.get_json()["error"] == "service unavailable"
    else:
        assert "Temporarily unavailable" in response.get_data(as_text=True)
    # By itself: the next request gets a new connection.
    after = client.get("/_test/pid")
    assert after.status_code == 200
    assert int(after.get_data(as_text=True)) != slow.pid
    assert client.get("/readyz").status_code == 200


def test_a_connection_killed_between_requests_is_replaced_unnoticed(
    postgres: str, mail_catcher: MailCatcher
) -> None:
    app = _lost_database_app(postgres, mail_catcher, Slow())
    client = app.test_client()
    first = client.get("/_test/pid")
    assert first.status_code == 200
    _terminate(postgres, int(first.get_data(as_text=True)))
    second = client.get("/_test/pid")
    assert second.status_code == 200  # pool_pre_ping found it dead and opened another
    assert second.get_data(as_text=True) != first.get_data(as_text=True)


# --------------------------------------------------------------------------------- Redis


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_app(
    database_url: str, mail_catcher: MailCatcher, redis_server: RedisServer
) -> Iterator[Flask]:
    """Rate limits in the test's Redis; one limited route, one route that uses Redis."""
    was_enabled, was_prefix = limiter.enabled, limiter._key_prefix
    limiter._key_prefix = ""
    prefix = f"signon-test-{uuid.uuid4().hex}"
    app = create_app(
        make_settings(
            database_url,
            mail_catcher,
            testing=False,
            ratelimit_enabled=True,
            ratelimit_storage_url=redis_server.url,
            extra={"RATELIMIT_KEY_PREFIX": prefix},
        )
    )
    app.test_client_class = RequestIsolatingClient
    app.config["TEST_PREFIX"] = prefix
    hits = redis.Redis.from_url(redis_server.url, socket_timeout=1, socket_connect_timeout=1)

    @app.get("/_test/limited")
    @public
    @limiter.limit("3 per hour")
    def limited() -> str:
        return "ok"

    @app.get("/_test/redis")
    @public
    def uses_redis() -> str:
        return str(hits.incr(f"{prefix}-hits"))

    yield app
    limiter.enabled, limiter._key_prefix = was_enabled, was_prefix
    # The limiter is one object for every app: do not leave it believing its storage dead.
    limiter._storage_dead = False


def _limit_keys(server: RedisServer, prefix: str) -> list[bytes]:
    return list(redis.Redis.from_url(server.url).scan_iter(match=f"*{prefix}*"))


def test_redis_lost_and_back(redis_app: Flask, redis_server: RedisServer) -> None:
    client = redis_app.test_client()
    prefix = redis_app.config["TEST_PREFIX"]

    # Up: limits counted in Redis.
    assert client.get("/_test/redis").status_code == 200
    assert [client.get("/_test/limited").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert _limit_keys(redis_server, prefix)

    redis_server.stop()
    # A page that needs Redis: a clean 503, as JSON for a JSON client.
    page = client.get("/_test/redis")
    assert (page.status_code, page.headers["Retry-After"]) == (503, "10")
    assert "Temporarily unavailable" in page.get_data(as_text=True)
    as_json = client.get("/_test/redis", headers={"Accept": "application/json"})
    assert (as_json.status_code, as_json.get_json()["error"]) == (503, "service unavailable")
    assert client.get("/readyz").status_code == 503
    # Rate limits: still enforced, in this process's memory (never a 500, never unlimited).
    assert [client.get("/_test/limited").status_code for _ in range(4)] == [200, 200, 200, 429]

    redis_server.start()  # same port, empty
    assert client.get("/_test/redis").status_code == 200  # redis-py reconnects by itself
    assert client.get("/readyz").status_code == 200
    # The limiter looks at its storage again (backing off: 1, 2, 4 ... s) and moves back.
    deadline = time.monotonic() + 40
    while not _limit_keys(redis_server, prefix):
        assert time.monotonic() < deadline, "the rate limits never went back to Redis"
        assert client.get("/_test/limited").status_code in (200, 429)
        time.sleep(0.5)
