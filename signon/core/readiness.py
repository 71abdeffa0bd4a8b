"""Is this app server ready to take traffic? (``/readyz``; ``/healthz`` only says it is alive.)

Ready means: the database answers, it is migrated to the head revision of
``migrations/versions`` (an app server started before ``flask db upgrade`` finished, or
rolled back to older code, is not), and every Redis this process is configured to use
answers (rate limits, the job queue: any ``*_url`` setting naming ``redis://``).
Each check is small and bounded (a ``SELECT``, a ``PING`` with a one-second timeout), so a
load balancer may ask every few seconds.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from functools import cache

import redis
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from signon.config import PROJECT_ROOT, Settings
from signon.extensions import db

log = logging.getLogger(__name__)

#: A Redis that does not answer within this many seconds counts as unreachable.
REDIS_TIMEOUT_SECONDS = 1.0
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@cache
def migration_heads() -> frozenset[str]:
    """The head revision(s) of ``migrations/versions`` (read once per process)."""
    config_dir = PROJECT_ROOT / "migrations"
    script = ScriptDirectory(str(config_dir))
    return frozenset(script.get_heads())


def database_problems() -> dict[str, str]:
    """``{}`` when the database answers and is at the migrations' head, else what is wrong."""
    try:
        versions = set(
            db.session.execute(text("SELECT version_num FROM alembic_version")).scalars()
        )
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("readiness: the database check failed: %s", error)
        if "alembic_version" in str(error) and _database_answers():
            return {"migrations": "the database has no alembic_version: run flask db upgrade"}
        return {"database": f"unreachable ({type(error).__name__})"}
    heads = migration_heads()
    if versions != heads:
        found = ", ".join(sorted(versions)) or "none"
        return {
            "migrations": f"the database is at {found}, the code expects {', '.join(sorted(heads))}"
        }
    return {}


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return False
    return True


def redis_urls(settings: Settings) -> dict[str, str]:
    """The Redis servers this process uses, by setting (``ratelimit_storage_url``: ``url``).

    Read from the settings themselves, so that a new Redis-backed setting (the job queue's)
    is checked without being listed here. Rate-limit storage counts only when limits are on.
    """
    found: dict[str, str] = {}
    for item in fields(settings):
        value = getattr(settings, item.name)
        if not (item.name.endswith("_url") and isinstance(value, str)):
            continue
        if not value.startswith(REDIS_SCHEMES):
            continue
        if item.name == "ratelimit_storage_url" and not settings.ratelimit_enabled:
            continue
        found[item.name] = value
    return found


def _client(url: str) -> redis.Redis:
    clients: dict[str, redis.Redis] = current_app.extensions.setdefault("signon_readiness", {})
    if url not in clients:
        clients[url] = redis.Redis.from_url(
            url,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
    return clients[url]


def redis_problems(settings: Settings) -> dict[str, str]:
    """``{setting: reason}`` for every configured Redis that does not answer a PING."""
    problems: dict[str, str] = {}
    for name, url in redis_urls(settings).items():
        try:
            _client(url).ping()
        except redis.RedisError as error:
            log.warning("readiness: Redis for %s does not answer: %s", name, error)
            problems[f"redis ({name})"] = f"unreachable ({type(error).__name__})"
    return problems


def readiness_problems() -> dict[str, str]:
    """Everything that keeps this app server from serving requests properly; ``{}``: ready."""
    settings: Settings = current_app.config["SIGNON"]
    return {**database_problems(), **redis_problems(settings)}
