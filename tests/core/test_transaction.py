"""``core.transaction``: the side effects queued with ``after_commit`` run after the commit
and leave no transaction open behind them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from signon.accounts.models import User
from signon.core import transaction
from signon.extensions import db
from tests.factories import make_user

pytestmark = pytest.mark.usefixtures("app_context")


def test_a_transaction_a_callback_begins_is_ended_after_the_callbacks() -> None:
    user_id = make_user().id
    read: list[int | None] = []
    transaction.after_commit(lambda: read.append(db.session.scalar(select(User.id))))
    transaction.commit()
    assert not db.session().in_transaction()
    assert read == [user_id]


def test_the_callbacks_run_in_order_and_a_failing_one_stops_no_other() -> None:
    ran: list[str] = []

    def failing() -> None:
        ran.append("failing")
        raise RuntimeError("a side effect failed")

    transaction.after_commit(lambda: ran.append("first"))
    transaction.after_commit(failing)
    transaction.after_commit(lambda: ran.append(str(db.session.scalar(select(1)))))
    transaction.commit()
    assert ran == ["first", "failing", "1"]
    assert not db.session().in_transaction()


def test_a_commit_without_callbacks_leaves_the_session_as_it_was() -> None:
    make_user()
    transaction.commit()
    assert not db.session().in_transaction()
