"""Adding many rows at once (an import): ids reserved up front, so the INSERTs batch.

The ORM must learn each new row's id. Without one set beforehand it asks the database
in the INSERT (``RETURNING``), in statements of a thousand rows that psycopg parses in
Python, placeholder by placeholder: most of a 20,000-signatory import on PostgreSQL.
With the ids taken from the table's sequence first, the rows go as one prepared
statement executed many times (psycopg's pipeline). On SQLite, an INSERT asked to return
its ids in the rows' order goes one row at a time: there the ids after the largest in use
are taken, which the transaction's write lock keeps for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, inspect, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from signon.core.locks import on_postgresql
from signon.extensions import db


def reserve_ids(table_name: str, count: int) -> list[int]:
    """``count`` fresh ids for ``table_name``: from its id sequence on PostgreSQL; on
    SQLite, the ones after the largest in use (every SQLite transaction holds the write
    lock from its BEGIN, so nobody else can take them before this one commits)."""
    if count == 0:
        return []
    if not on_postgresql():
        table = db.metadata.tables[table_name]
        last = db.session.scalar(select(func.coalesce(func.max(table.c.id), 0)))
        return list(range(int(last or 0) + 1, int(last or 0) + 1 + count))
    sequence = func.pg_get_serial_sequence(table_name, "id")
    return list(
        db.session.scalars(
            select(func.nextval(sequence)).select_from(func.generate_series(1, count).alias("n"))
        )
    )


#: Below this many rows, one more statement (the reservation) costs more than it saves,
#: and the rows go through the session as usual.
RESERVE_FROM = 50


def add_numbered(rows: Sequence[Any]) -> None:
    """Write ``rows`` (new objects of one model, every one with the same attributes set):
    each gets its id, and the rows are in the database when this returns.

    A large batch is written without the unit of work (no cascades, no events, no
    per-object bookkeeping: most of a 20,000-row import's time went there) as one INSERT
    run for every row (:func:`insert_rows`), with ids reserved first (:func:`reserve_ids`;
    an INSERT that returns them goes row by row on SQLite). Its objects are then *not* in the
    session: they are snapshots to read (ids, values), and a change made to one
    afterwards is not saved. So they must name their parents by id (``letter_id=``), not
    by relationship (a relationship is not written), and an attribute set to None is
    written as NULL, not as the column's default. A small batch is added to the session
    and flushed.
    """
    if len(rows) < RESERVE_FROM:
        db.session.add_all(rows)
        db.session.flush()
        return
    model = type(rows[0])
    columns = {attr.key for attr in inspect(model).column_attrs}
    keys = columns & rows[0].__dict__.keys()
    if any(columns & row.__dict__.keys() != keys for row in rows):
        raise ValueError(f"every new {model.__name__} must have the same attributes set")
    values = [{key: row.__dict__[key] for key in keys} for row in rows]
    ids = reserve_ids(model.__tablename__, len(rows))
    for row, value, row_id in zip(rows, values, ids, strict=True):
        value["id"] = row.id = row_id
    insert_rows(model, values)


def insert_rows(model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (column values) of ``model`` whose ids nobody needs back: one
    statement run many times, without building an object per row (no unit of work).

    A ``None`` is written as NULL (``render_nulls``), not left to the column's default:
    otherwise the ORM groups rows by which of their values are None and a mix of them
    (history events with and without a revision) went as one statement per row.
    """
    if rows:
        db.session.execute(insert(model).execution_options(render_nulls=True), list(rows))


def upsert(model: Any, keys: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert the row of ``model`` with ``keys`` and ``values``, or update its ``values``
    when a row with ``keys`` (its primary key or a unique constraint) exists: one
    statement, safe against a concurrent insert of the same row."""
    dialect_insert = postgresql_insert if on_postgresql() else sqlite_insert
    statement = dialect_insert(model).values(**keys, **values)
    db.session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=values))
