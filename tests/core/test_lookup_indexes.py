"""The lookups made on every public sign-on and every mail send are index lookups.

Issue 11 measured both as full scans: with 100,000 old outbox messages, public sign-ons fell
from 58-71/s to 24-30/s. These tests check that the indexes exist and, on SQLite, that the
planner uses them for the queries the code makes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text

from signon.core.outbox import OutboxMessage
from signon.extensions import db
from signon.signatures.models import PublicSignRequest

pytestmark = pytest.mark.usefixtures("app_context")

EXPECTED = {
    "outbox_messages": ("ix_outbox_messages_claim_token", ["claim_token"]),
    "public_sign_requests": ("ix_public_sign_requests_letter_email", ["letter_id", "email"]),
}


@pytest.mark.parametrize("table", sorted(EXPECTED))
def test_the_index_exists(table: str) -> None:
    name, columns = EXPECTED[table]
    indexes = {
        i["name"]: i["column_names"] for i in inspect(db.session.connection()).get_indexes(table)
    }
    assert indexes.get(name) == columns, indexes


def _plan(statement: object) -> str:
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    rows = db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    return " ".join(str(row[-1]) for row in rows)


def test_sqlite_uses_them_for_the_queries_the_code_makes() -> None:
    if db.engine.dialect.name != "sqlite":
        # PostgreSQL's planner rightly scans tiny test tables; the index's existence is
        # checked above on both databases.
        return
    claim = select(OutboxMessage.id).where(OutboxMessage.claim_token == "t")
    assert "ix_outbox_messages_claim_token" in _plan(claim)
    earlier = select(PublicSignRequest.id).where(
        PublicSignRequest.letter_id == 1, PublicSignRequest.email == "a@example.org"
    )
    assert "ix_public_sign_requests_letter_email" in _plan(earlier)
