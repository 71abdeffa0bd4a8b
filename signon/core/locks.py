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


#: ``session.info`` key: the row locks this session took, with the (sub)transaction
#: that took each and whether it was the weaker ``FOR NO KEY UPDATE``.
_HELD = "signon_row_locks"


def lock_row(model: Any, row_id: int, *, key_share: bool = False) -> None:
    """Lock the row ``row_id`` of ``model`` (a model class or a table) until the commit.

    ``key_share=True`` takes ``FOR NO KEY UPDATE``: it does not wait for transactions
    that merely insert rows referring to this one (which hold KEY SHARE), for rows that
    many inserts refer to (letters, accounts). Otherwise ``FOR UPDATE``.

    A lock the transaction already holds (as strong or stronger) is not asked for
    again: a public sign-on locks its letter, then the audit writer locks the same row
    for the letter's chain. A lock taken inside a savepoint counts only while that
    savepoint is open (rolling it back releases the lock; releasing it is not
    tracked, so the lock is asked for again, harmlessly).
    """
    if not on_postgresql():
        return
    column = model.c.id if hasattr(model, "c") else model.id
    key = (column.table.name, row_id)
    session = db.session()
    held: dict[tuple[str, int], tuple[Any, bool]] = session.info.setdefault(_HELD, {})
    taken = held.get(key)
    if taken is not None and taken[0].is_active and (key_share or not taken[1]):
        return
    session.execute(select(column).where(column == row_id).with_for_update(key_share=key_share))
    if taken is None or not taken[0].is_active:
        for stale in [k for k, (owner, _) in held.items() if not owner.is_active]:
            del held[stale]
    owner = session.get_nested_transaction() or session.get_transaction()
    held[key] = (owner, key_share)
