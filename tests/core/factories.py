"""Factories for what every feature shares (``signon/core``): outbox messages."""

from __future__ import annotations

from signon.core.outbox import OutboxMessage
from signon.db import utcnow
from signon.extensions import db


def make_outbox_messages(count: int, prefix: str = "r") -> list[OutboxMessage]:
    """``count`` unsent messages to ``<prefix><n>@ngo.example.org``, as a request leaves
    them in the outbox (added and flushed, not committed)."""
    now = utcnow()
    rows = [
        OutboxMessage(
            recipient=f"{prefix}{n}@ngo.example.org",
            subject=f"Message {n}",
            text="text",
            html="<p>html</p>",
            attempts=0,
            created_at=now,
        )
        for n in range(count)
    ]
    db.session.add_all(rows)
    db.session.flush()
    return rows
