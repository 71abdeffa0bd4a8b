"""``core.locks.lock_row``: a row lock the transaction holds is not asked for again.

PostgreSQL only (SQLite serialises writers at BEGIN; ``lock_row`` sends nothing there).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from signon.accounts.models import User
from signon.core import transaction
from signon.core.locks import lock_row
from signon.extensions import db
from tests.factories import make_user
from tests.querycount import count_queries


@pytest.fixture(autouse=True)
def _postgresql_only(app_context: None) -> Iterator[None]:
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("row locks are taken on PostgreSQL only")
    yield


def _locks(statements: list[str]) -> list[str]:
    return [
        "FOR NO KEY UPDATE" if "FOR NO KEY UPDATE" in s else "FOR UPDATE"
        for s in statements
        if "FOR " in s and "UPDATE" in s
    ]


def test_a_lock_the_transaction_holds_is_asked_for_once() -> None:
    user = make_user()
    with count_queries() as queries:
        lock_row(User, user.id)
        lock_row(User, user.id)
        lock_row(db.metadata.tables["users"], user.id, key_share=True)  # weaker: held
    assert _locks(queries.statements) == ["FOR UPDATE"]


def test_a_weaker_lock_does_not_stand_for_a_stronger_one() -> None:
    user = make_user()
    with count_queries() as queries:
        lock_row(User, user.id, key_share=True)
        lock_row(User, user.id)
        lock_row(User, user.id, key_share=True)
    assert _locks(queries.statements) == ["FOR NO KEY UPDATE", "FOR UPDATE"]


def test_a_lock_taken_in_a_rolled_back_savepoint_is_asked_for_again() -> None:
    user, other = make_user(), make_user()
    with count_queries() as queries:
        savepoint = db.session.begin_nested()
        lock_row(User, user.id)
        savepoint.rollback()  # PostgreSQL releases the lock taken inside it
        lock_row(User, user.id)
        lock_row(User, other.id)
        with db.session.begin_nested():
            lock_row(User, other.id)  # held by the enclosing transaction
    assert _locks(queries.statements) == ["FOR UPDATE"] * 3


@pytest.mark.real_commits
def test_the_lock_is_held_until_the_commit_and_taken_again_after_it() -> None:
    user_id = make_user().id
    transaction.commit()

    def try_from_another_connection() -> bool:
        with db.engine.connect() as other:
            try:
                other.execute(
                    text("SELECT id FROM users WHERE id = :id FOR UPDATE NOWAIT"),
                    {"id": user_id},
                )
            except OperationalError:
                return False
            return True

    lock_row(User, user_id)
    lock_row(User, user_id)
    assert not try_from_another_connection()
    transaction.commit()
    assert try_from_another_connection()
    with count_queries() as queries:
        lock_row(User, user_id)  # a new transaction: asked for again
    assert _locks(queries.statements) == ["FOR UPDATE"]
    assert not try_from_another_connection()
    transaction.rollback()
