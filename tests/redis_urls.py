"""The Redis server the tests talk to: ``redis://127.0.0.1:6379`` unless
``SIGNON_TEST_REDIS_URL`` names another (a second server lets the SQLite and the
PostgreSQL runs go at the same time without sharing queues or limits)."""

from __future__ import annotations

import os

TEST_REDIS_URL = os.environ.get("SIGNON_TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")


def redis_db(number: int) -> str:
    """The address of database ``number`` on the tests' Redis server."""
    return f"{TEST_REDIS_URL}/{number}"
