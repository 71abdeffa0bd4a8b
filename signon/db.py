"""Declarative base, naming convention, UTC timestamps and SQLite tuning."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Enum, Integer, MetaData, String, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use signon.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def tune_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys, and transactions that take the write lock at BEGIN.

    pysqlite's own transaction handling is switched off so that ``BEGIN IMMEDIATE``
    is issued by us: concurrent requests then wait for each other (busy timeout)
    instead of failing with "database is locked" when a reader tries to upgrade.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # ``casefold()`` in SQL (signon.db.casefold): SQLite's lower() folds ASCII only
        dbapi_connection.create_function(
            "signon_casefold", 1, _casefold_or_null, deterministic=True
        )

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _casefold_or_null(value: str | None) -> str | None:
    return None if value is None else str(value).casefold()


class casefold(FunctionElement[str]):  # noqa: N801 - named like the SQL function it is
    """A text folded for a case-insensitive comparison in SQL: Python's ``str.casefold``
    on SQLite (a function :func:`tune_sqlite` registers), ``lower()`` elsewhere (Unicode
    on PostgreSQL)."""

    type = String()
    inherit_cache = True


@compiles(casefold)
def _casefold_default(element: casefold, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(casefold, "sqlite")
def _casefold_sqlite(element: casefold, compiler: Any, **kw: Any) -> str:
    return f"signon_casefold({compiler.process(element.clauses, **kw)})"


class quarter_hour(FunctionElement[int]):  # noqa: N801 - used like a SQL function
    """The number of the 15-minute slot (since 1970, UTC) a timestamp falls in.

    Every time zone's offset is a whole number of quarter hours, so all the moments
    of a slot fall on one day wherever the reader is: counts per slot add up to counts
    per local day without reading each row."""

    type = Integer()
    inherit_cache = True


@compiles(quarter_hour)
def _quarter_hour_default(element: quarter_hour, compiler: Any, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return f"CAST(floor(extract(epoch from {value}) / 900) AS BIGINT)"


@compiles(quarter_hour, "sqlite")
def _quarter_hour_sqlite(element: quarter_hour, compiler: Any, **kw: Any) -> str:
    return f"(CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER) / 900)"


class epoch_ms(FunctionElement[int]):  # noqa: N801 - used like a SQL function
    """A timestamp as whole milliseconds since 1970 (UTC): an integer, which sums exactly."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_ms)
def _epoch_ms_default(element: epoch_ms, compiler: Any, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return f"CAST(floor(extract(epoch from {value}) * 1000) AS BIGINT)"


@compiles(epoch_ms, "sqlite")
def _epoch_ms_sqlite(element: epoch_ms, compiler: Any, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return f"CAST(round((julianday({value}) - 2440587.5) * 86400000) AS INTEGER)"


def enum_column(enum_cls: type[enum.Enum], length: int = 32) -> Enum:
    """Enums stored by value as plain strings (portable, readable, no native PG enum)."""
    return Enum(
        enum_cls,
        values_callable=lambda cls: [member.value for member in cls],
        native_enum=False,
        length=length,
        validate_strings=True,
    )


def render_item_for_alembic(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Let autogenerated migrations spell our column types with plain SQLAlchemy types."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
