"""Adding many rows at once (an import): ids reserved up front, so the INSERTs batch.

The ORM must learn each new row's id. Without one set beforehand it asks the database
in the INSERT (``RETURNING``), in statements of a thousand rows that psycopg parses in
Python, placeholder by placeholder: most of a 20,000-signatory import on PostgreSQL.
With the ids taken from the table's sequence first, the rows go as one prepared
statement executed many times (psycopg's pipeline). SQLite has no sequence and its
``RETURNING`` batches are cheap: there the ORM numbers the rows as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select

from signon.core.locks import on_postgresql
from signon.extensions import db


def reserve_ids(table_name: str, count: int) -> list[int] | None:
    """``count`` fresh ids from ``table_name``'s id sequence (PostgreSQL); None elsewhere."""
    if count == 0 or not on_postgresql():
        return None
    sequence = func.pg_get_serial_sequence(table_name, "id")
    return list(
        db.session.scalars(
            select(func.nextval(sequence)).select_from(func.generate_series(1, count).alias("n"))
        )
    )


#: Below this many rows, one more statement (the reservation) costs more than it saves.
RESERVE_FROM = 50


def add_numbered(rows: Sequence[Any]) -> None:
    """Add ``rows`` (new objects of one model) with ids reserved for them where it pays."""
    if len(rows) >= RESERVE_FROM:
        ids = reserve_ids(type(rows[0]).__tablename__, len(rows))
        if ids is not None:
            for row, row_id in zip(rows, ids, strict=True):
                row.id = row_id
    db.session.add_all(rows)


def insert_rows(model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (column values) of ``model`` whose ids nobody needs back: one
    statement run many times, without building an object per row (no unit of work)."""
    if rows:
        db.session.execute(insert(model), list(rows))
