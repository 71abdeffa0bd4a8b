"""Row locks: one helper for every "take this row's lock until the commit".

PostgreSQL only: SQLite serialises writers at ``BEGIN IMMEDIATE`` (see
:mod:`signon.core.transaction`), so there is nothing to take there. Take locks in the
order letter, then its rows (invitation, signature), then the account: two transactions
taking them in another order could deadlock.
"""

from __future__ import annotations

import hashlib
import weakref
from typing import Any

from sqlalchemy import select, text

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


#: ``session.info`` key: the rows this session read under ``FOR KEY SHARE``
#: (:func:`share_row`, :func:`load_shared`), with the (sub)transaction that read each.
_SHARED = "signon_shared_rows"


def share_row(instance: Any) -> None:
    """Read ``instance`` (a loaded row) again under ``FOR KEY SHARE`` until the commit.

    The lock many transactions may hold at once (public sign-ons on one letter proceed
    side by side) that a ``FOR UPDATE`` (a freeze, a close, the public page switched off,
    :func:`lock_row`) waits for and excludes: a change of the row's state commits either
    before the read (which then sees it) or after the holders' commits. It does not
    exclude ``FOR NO KEY UPDATE`` (the audit chain's lock, a revision save): what must
    not interleave with the holders has to take :func:`lock_row` without ``key_share``.
    On SQLite the transaction holds the database's write lock already: nothing to do.

    A row this transaction read under the lock already (:func:`load_shared`: a sign-on's
    POST loads its letter so) is not read again: its loaded state is the locked read's.
    """
    if not on_postgresql():
        return
    key = (type(instance).__table__.name, instance.id)
    session = db.session()
    owner = session.info.setdefault(_SHARED, {}).get(key)
    if owner is not None and owner.is_active:
        return
    db.session.refresh(instance, with_for_update={"read": True, "key_share": True})
    _remember_shared(key)


def load_shared(statement: Any, params: dict[str, Any] | None = None) -> Any:
    """The one row that ``statement`` (an ORM ``select`` of one model, with ``params`` for
    its bind parameters) finds, read under ``FOR KEY SHARE`` until the commit on
    PostgreSQL (as :func:`share_row` takes it, in the same read: one statement instead of
    two), or ``None``. Elsewhere a plain read."""
    rows = read_shared(statement, params)
    return rows[0][0] if rows else None


def read_shared(statement: Any, params: dict[str, Any] | None = None) -> list[Any]:
    """The rows of ``statement`` (an ORM ``select``; ``params``: its bind parameters); on
    PostgreSQL the rows of its first entity are read under ``FOR KEY SHARE`` until the
    commit, as by :func:`load_shared` (the other entities, e.g. of an outer join, are not
    locked)."""
    if not on_postgresql():
        return list(db.session.execute(statement, params).all())
    locked, first = _key_share(statement)
    rows = list(db.session.execute(locked, params).all())
    for found in {row[0] for row in rows if row[0] is not None}:
        _remember_shared((first.__table__.name, found.id))
    return rows


#: The ``FOR KEY SHARE`` form of each statement read so, and its first entity, while the
#: statement lives: a statement built once (bind parameters for what varies: the public
#: sign-on's reads) gets it built once too, and its cache key with it.
_LOCKED: weakref.WeakKeyDictionary[Any, tuple[Any, Any]] = weakref.WeakKeyDictionary()


def _key_share(statement: Any) -> tuple[Any, Any]:
    found = _LOCKED.get(statement)
    if found is None:
        first = statement.column_descriptions[0]["entity"]
        locked = statement.with_for_update(read=True, key_share=True, of=first)
        found = _LOCKED[statement] = (
            locked.execution_options(populate_existing=True),
            first,
        )
    return found


def _remember_shared(key: tuple[str, int]) -> None:
    session = db.session()
    shared: dict[tuple[str, int], Any] = session.info.setdefault(_SHARED, {})
    for stale in [k for k, owner in shared.items() if not owner.is_active]:
        del shared[stale]
    shared[key] = session.get_nested_transaction() or session.get_transaction()


#: Namespace of :func:`lock_keys`' advisory locks (kept apart from other advisory locks).
_KEYS_NAMESPACE = b"signon-key-lock:"


def _key_number(key: str) -> int:
    digest = hashlib.sha256(_KEYS_NAMESPACE + key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


#: :func:`lock_keys`' statement, built once (every public sign-on's POST runs it).
_LOCK_KEYS = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k")


def lock_keys(*keys: str) -> None:
    """Take a transaction-scoped lock on each of ``keys`` (PostgreSQL advisory locks).

    For a rule about rows that do not exist yet ("one pending request per address",
    "no two signatures under one name"): transactions naming the same key take turns,
    the others do not wait. The keys are taken in one statement, in a fixed order (of
    their numbers), so that two transactions sharing several keys cannot deadlock; a
    transaction that takes keys twice must take the second set only after the first.
    Two keys whose numbers collide (1 in 2**64) merely take turns.
    """
    if not keys or not on_postgresql():
        return
    numbers = sorted({_key_number(key) for key in keys})
    db.session.execute(_LOCK_KEYS, {"keys": numbers})


def try_lock_key(key: str) -> bool:
    """Take :func:`lock_keys`' lock on ``key`` if nobody holds it (True), without waiting
    (False: another transaction has it). For work that one transaction may do for all
    (refreshing a cached value), so that the others skip it instead of queueing. On
    SQLite the transaction holds the database's write lock already: always True."""
    if not on_postgresql():
        return True
    return bool(
        db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _key_number(key)})
    )
