"""Row locks: one helper for every "take this row's lock until the commit".

PostgreSQL only: SQLite serialises writers at ``BEGIN IMMEDIATE`` (see
:mod:`signon.core.transaction`), so there is nothing to take there. Take locks in the
order letter, then its rows (invitation, signature), then the account: two transactions
taking them in another order could deadlock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from signon.extensions import db


def on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def lock_row(model: Any, row_id: int, *, key_share: bool = False) -> None:
    """Lock the row ``row_id`` of ``model`` (a model class or a table) until the commit.

    ``key_share=True`` takes ``FOR NO KEY UPDATE``: it does not wait for transactions
    that merely insert rows referring to this one (which hold KEY SHARE), for rows that
    many inserts refer to (letters, accounts). Otherwise ``FOR UPDATE``.
    """
    if not on_postgresql():
        return
    column = model.c.id if hasattr(model, "c") else model.id
    db.session.execute(select(column).where(column == row_id).with_for_update(key_share=key_share))
