"""The migrations build exactly the models' schema, and each one goes down and up again.

Runs on its own database next to the test database (a second SQLite file, or a
``<name>_migrations`` PostgreSQL database created on demand).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import Column, MetaData, Table, create_engine, func, inspect, text
from sqlalchemy import column as sql_column
from sqlalchemy import select as sa_select
from sqlalchemy import table as sql_table
from sqlalchemy.engine import make_url

from signon import create_app
from signon.db import render_item_for_alembic
from signon.extensions import db, migrate
from tests.conftest import make_settings
from tests.smtp import MailCatcher


def _migrations_database(database_url: str) -> str:
    url = make_url(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    if url.get_backend_name() == "sqlite":
        return database_url.replace(".db", "-migrations.db")
    name = f"{url.database}_migrations"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def migration_app(database_url: str, mail_catcher: MailCatcher) -> Iterator[Flask]:
    app = create_app(make_settings(_migrations_database(database_url), mail_catcher))
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            with engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        yield app
        db.session.remove()
        engine.dispose()


def _expression_indexes() -> dict[str, str]:
    """Index name -> table of the models' indexes on an expression. Alembic compares them
    as text, and PostgreSQL gives back its own spelling of the expression (casts added),
    so they are left out of the comparison and checked by name instead."""
    return {
        index.name: table.name
        for table in db.metadata.tables.values()
        for index in table.indexes
        if index.name and any(not isinstance(part, Column) for part in index.expressions)
    }


def _differences(app: Flask) -> list[object]:
    skipped = _expression_indexes()

    def compared(item: object, name: str | None, kind: str, *_rest: object) -> bool:
        return not (kind == "index" and name in skipped)

    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "render_item": render_item_for_alembic,
                "include_object": compared,
            },
        )
        return list(compare_metadata(context, db.metadata))


def test_upgrade_head_matches_the_models(migration_app: Flask) -> None:
    upgrade()
    assert _differences(migration_app) == []
    expression_indexes = _expression_indexes()
    assert expression_indexes, "the listing's order index is on an expression"
    # SQLAlchemy's inspector leaves expression indexes out on SQLite: ask the catalogue
    catalogue = (
        "SELECT tablename, indexname FROM pg_indexes"
        if db.engine.dialect.name == "postgresql"
        else "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'"
    )
    with db.engine.connect() as conn:
        found = {(str(name), str(table)) for table, name in conn.execute(text(catalogue))}
    assert set(expression_indexes.items()) <= found


def _insert(table_name: str, **values: object) -> int:
    """Insert a row with ``values``; other required columns get a plain value of their type."""
    table = Table(table_name, MetaData(), autoload_with=db.engine)
    row: dict[str, object] = {}
    for column in table.columns:
        if column.primary_key or column.nullable or column.server_default is not None:
            continue
        python_type = column.type.python_type
        if python_type is datetime:
            row[column.name] = datetime.now(UTC)
        elif python_type is bool:
            row[column.name] = False
        elif python_type is int:
            row[column.name] = 1
        else:
            length = getattr(column.type, "length", None) or 100
            row[column.name] = f"{table_name}-{column.name}"[:length]
    row.update(values)
    with db.engine.begin() as conn:
        return int(conn.execute(table.insert().values(row).returning(table.c.id)).scalar_one())


def test_stored_revision_html_is_filled_for_existing_rows(migration_app: Flask) -> None:
    """Issue 9 item 12: revisions made before the ``html`` column get their HTML rendered."""
    upgrade(revision="5e7d2a91c0b3")
    user_id = _insert("users", email="old@example.org")
    letter_id = _insert("letters", slug="old-letter", status="drafting", created_by_id=user_id)
    _insert(
        "revisions",
        letter_id=letter_id,
        number=1,
        author_id=user_id,
        body_markdown="An **old** text <script>x</script>.\n",
    )
    upgrade()
    with db.engine.connect() as conn:
        html = conn.execute(text("SELECT html FROM revisions")).scalar_one()
    assert html == "<p>An <strong>old</strong> text &lt;script&gt;x&lt;/script&gt;.</p>\n"


def test_the_list_order_moves_out_of_the_export_settings_and_back(migration_app: Flask) -> None:
    """Issue 10: ``order`` / ``custom_order`` move from ``export_settings.options`` to
    ``signatory_orders`` (the other options stay); going down puts them back."""
    upgrade(revision="b10b00000001")
    user_id = _insert("users", email="old@example.org")
    custom = _insert("letters", slug="custom-letter", status="drafting", created_by_id=user_id)
    plain = _insert("letters", slug="plain-letter", status="drafting", created_by_id=user_id)
    options = {"order": "custom", "custom_order": [3, "4", "x"], "columns": 3}
    _insert("export_settings", letter_id=custom, layout="letter", page_size="A4", options=options)
    _insert("export_settings", letter_id=plain, layout="statement", page_size="A4", options={})
    upgrade()
    with db.engine.connect() as conn:
        orders = conn.execute(text("SELECT letter_id, mode, custom_order FROM signatory_orders"))
        moved = [(row[0], row[1], _json(row[2])) for row in orders]
        kept = {
            row[0]: _json(row[1])
            for row in conn.execute(text("SELECT letter_id, options FROM export_settings"))
        }
    assert moved == [(custom, "custom", [3, 4])]
    assert kept == {custom: {"columns": 3}, plain: {}}
    downgrade(revision="b10b00000001")
    with db.engine.connect() as conn:
        back = {
            row[0]: _json(row[1])
            for row in conn.execute(text("SELECT letter_id, options FROM export_settings"))
        }
    assert back == {custom: {"columns": 3, "order": "custom", "custom_order": [3, 4]}, plain: {}}


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def test_the_list_groups_move_out_of_the_export_settings_and_back(migration_app: Flask) -> None:
    """Issue 10: ``grouping``, ``first_tier``, ``new_since`` and ``individuals`` move from
    ``export_settings.options`` to ``signatory_orders`` (beside an order already chosen,
    or in a new row); the headings stay; going down puts them back."""
    upgrade(revision="a10a00000001")
    user_id = _insert("users", email="old@example.org")
    ordered = _insert("letters", slug="ordered", status="drafting", created_by_id=user_id)
    grouped = _insert("letters", slug="grouped", status="drafting", created_by_id=user_id)
    plain = _insert("letters", slug="plain", status="drafting", created_by_id=user_id)
    _insert("signatory_orders", letter_id=ordered, mode="kind", custom_order=[])
    tier = {
        "grouping": "tier",
        "first_tier": [5, "6"],
        "first_tier_heading": "Convened by",
        "new_since": "2026-01-31",
        "individuals": "count",
    }
    _insert("export_settings", letter_id=ordered, layout="letter", page_size="A4", options=tier)
    countries = {"grouping": "country", "columns": 3}
    _insert(
        "export_settings", letter_id=grouped, layout="letter", page_size="A4", options=countries
    )
    _insert("export_settings", letter_id=plain, layout="statement", page_size="A4", options={})
    upgrade()
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT letter_id, mode, grouping, first_tier, new_since, count_individuals "
                "FROM signatory_orders ORDER BY letter_id"
            )
        )
        moved = [(r[0], r[1], r[2], _json(r[3]), str(r[4]), bool(r[5])) for r in rows]
        kept = {
            row[0]: _json(row[1])
            for row in conn.execute(text("SELECT letter_id, options FROM export_settings"))
        }
    assert moved == [
        (ordered, "kind", "tier", [5, 6], "2026-01-31", True),
        (grouped, "alphabetical", "country", [], "None", False),
    ]
    assert kept == {
        ordered: {"first_tier_heading": "Convened by"},
        grouped: {"columns": 3},
        plain: {},
    }
    downgrade(revision="a10a00000001")
    with db.engine.connect() as conn:
        back = {
            row[0]: _json(row[1])
            for row in conn.execute(text("SELECT letter_id, options FROM export_settings"))
        }
    assert back == {
        ordered: {**tier, "first_tier": [5, 6]},
        grouped: {
            "grouping": "country",
            "columns": 3,
            "first_tier": [],
            "new_since": None,
            "individuals": "list",
        },
        plain: {},
    }


# --- Every migration, one step up and down, with rows in every table ----------------------------

#: Rows of these tables a step's downgrade may drop, and why (everything else must survive).
DROPPED_ON_PURPOSE: dict[tuple[str, str], str] = {}

#: Values for columns whose content a migration reads or narrows (others get a plain value):
#: real mail kinds are at most 20 characters but for organisation invitations, which the
#: downgrade of eeab13b29165 deletes (no letter) before it narrows the column back to 20.
_MEANINGFUL: dict[tuple[str, str], object] = {
    ("letters", "language"): "en",
    ("coordinator_mails", "kind"): "invitation",
}
#: Nullable columns left empty (a CHECK allows a user or an organisation, not both).
_LEFT_EMPTY = {("team_members", "organisation_id")}


class _Seeder:
    """Adds one row to every table of the current schema, parents first, every foreign key
    pointing at a row of its parent (so a cascade, if any, has something to delete)."""

    def __init__(self) -> None:
        self.serial = 0

    def _value(self, table: Table, column: Column[Any]) -> object:
        self.serial += 1
        if (table.name, column.name) in _MEANINGFUL:
            return _MEANINGFUL[table.name, column.name]
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            python_type = str
        if python_type is datetime:
            return datetime.now(UTC)
        if python_type is date:
            return date(2026, 1, 1)
        if python_type is bool:
            return False
        if python_type in (int, float, Decimal):
            return self.serial % 90 + 1
        if python_type is dict:
            return {}
        if python_type is list:
            return []
        if python_type is bytes:
            return b"x"
        length = getattr(column.type, "length", None) or 100
        return f"{self.serial}-{table.name}-{column.name}"[:length]

    def seed(self) -> None:
        metadata = MetaData()
        metadata.reflect(db.engine)
        with db.engine.begin() as conn:
            for table in metadata.sorted_tables:
                if table.name == "alembic_version":
                    continue
                row = {}
                for column in table.columns:
                    if (table.name, column.name) in _LEFT_EMPTY:
                        continue
                    if column.primary_key and column.name == "id":
                        continue
                    parent = next(iter(column.foreign_keys), None)
                    if parent is not None:
                        target = parent.column
                        found = conn.scalar(sa_select(func.max(target)))
                        if found is None and column.nullable:
                            continue
                        row[column.name] = found
                    elif not column.nullable or column.server_default is None:
                        row[column.name] = self._value(table, column)
                conn.execute(table.insert().values(row))


def _rows() -> dict[str, set[object]]:
    """The rows of each table, by primary key (so a row deleted and another added shows)."""
    rows: dict[str, set[object]] = {}
    with db.engine.connect() as conn:  # one connection: on SQLite each one takes the write lock
        inspector = inspect(conn)
        for name in set(inspector.get_table_names()) - {"alembic_version"}:
            key = inspector.get_pk_constraint(name)["constrained_columns"]
            query = sa_select(*(sql_column(k) for k in key)).select_from(sql_table(name))
            rows[name] = {tuple(row) for row in conn.execute(query)}
    return rows


def _lost(before: dict[str, set[object]], after: dict[str, set[object]], step: str) -> list[str]:
    """Rows of tables present on both sides that are gone after ``step``."""
    return [
        f"{name}: {sorted(map(str, before[name] - after[name]))} gone ({step})"
        for name in before
        if name in after and before[name] - after[name] and (name, step) not in DROPPED_ON_PURPOSE
    ]


def test_each_migration_goes_down_and_up_again_keeping_its_rows(migration_app: Flask) -> None:
    """Each revision, from the oldest: rows in every table, up one step, rows again (new
    tables too), down one step, up again. A row lost on the way (a cascade set off by a
    table being rebuilt, a data migration that forgets rows) fails, naming the step; at
    the end the schema is the models', and going down to base leaves no table.

    On SQLite, before ``migrations/env.py`` switched foreign keys off for migrations, the
    downgrade of df90eab5c21b (which rebuilds ``letters`` and ``revisions`` in batch mode)
    failed here with "FOREIGN KEY constraint failed" (the DROP of the old table deletes its
    rows first); where every child reference is ON DELETE CASCADE the same DROP would
    have deleted the children silently instead."""
    script = ScriptDirectory.from_config(migrate.get_config())
    revisions = list(script.walk_revisions("base", "heads"))[::-1]
    seeder = _Seeder()
    lost: list[str] = []
    for revision in revisions:
        down = revision.down_revision or "base"
        assert isinstance(down, str)
        if down != "base":
            seeder.seed()
        before = _rows()
        upgrade(revision=revision.revision)
        after_up = _rows()
        lost += _lost(before, after_up, f"upgrade {revision.revision}")
        seeder.seed()
        full = _rows()
        downgrade(revision=down)
        after_down = _rows()
        lost += _lost(full, after_down, f"downgrade {revision.revision}")
        upgrade(revision=revision.revision)
        lost += _lost(after_down, _rows(), f"upgrade {revision.revision} again")
    assert lost == []
    assert _differences(migration_app) == []
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) - {"alembic_version"} == set()


def test_starting_the_app_never_upgrades_the_database(
    migration_app: Flask, mail_catcher: MailCatcher
) -> None:
    """Only ``flask db upgrade`` migrates (run once, before the app servers start): an app
    built on an empty database, serving a request, leaves it empty."""
    database_url = migration_app.config["SIGNON"].database_url
    started = create_app(make_settings(database_url, mail_catcher))
    assert started.test_client().get("/healthz").status_code == 200
    with started.app_context():
        assert inspect(db.engine).get_table_names() == []
        db.engine.dispose()


def test_stored_addresses_are_brought_to_nfc(migration_app: Flask) -> None:
    """An address stored decomposed ("e" + U+0301) becomes composed, so lookups by the
    one normal form find it; one whose composed form is already taken is left alone."""
    upgrade(revision="d1ff00000001")
    composed, decomposed = "jos\u00e9@example.org", "jose\u0301@example.org"
    lone = _insert("users", email="ana\u0308@example.org")
    twin = _insert("users", email=decomposed)
    kept = _insert("users", email=composed)
    letter_id = _insert("letters", slug="old-letter", status="drafting", created_by_id=kept)
    _insert("team_invitations", letter_id=letter_id, email=decomposed, role="viewer")
    upgrade()
    with db.engine.connect() as conn:
        users = {row[0]: row[1] for row in conn.execute(text("SELECT id, email FROM users"))}
        invited = conn.execute(text("SELECT email FROM team_invitations")).scalar_one()
    assert users == {lone: "an\u00e4@example.org", twin: decomposed, kept: composed}
    assert invited == composed
