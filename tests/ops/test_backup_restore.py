"""Issue 11 item 8: the backup and restore procedure of docs/deploy.md, done for real.

Seed the demo in a database of its own, export its PDF, back up as the page says
(``pg_dump --format=custom`` and a copy of the storage folder), restore into a NEW
database (``createdb`` + ``pg_restore``), then on the restored copy: ``verify-audit``
finds every chain intact and the same export downloads with the same bytes.

PostgreSQL only (pg_dump has no SQLite counterpart here): on the SQLite run it is
skipped and says so; on the PostgreSQL run missing binaries FAIL, never skip.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import URL, make_url

from signon import create_app
from signon.accounts.models import User
from signon.demo import COORDINATOR_EMAIL, DEMO_SLUG
from signon.exports.models import ExportRecord
from signon.extensions import db
from tests.conftest import login, make_settings, reset_schema
from tests.smtp import MailCatcher

pytestmark = pytest.mark.real_commits

BINARIES = ("pg_dump", "pg_restore", "createdb")


def _postgres(database_url: str) -> URL:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip(
            "backup and restore use pg_dump/pg_restore: run with a PostgreSQL test database"
        )
    missing = [name for name in BINARIES if shutil.which(name) is None]
    assert not missing, f"the PostgreSQL run needs the client programs: {missing}"
    return url


def _plain(url: URL) -> str:
    """The URL as libpq's programs take it (no SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _drop(url: URL) -> None:
    admin = create_engine(
        url.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def _run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{command[0]} failed: {done.stderr}"
    return done.stdout


def _createdb(url: URL) -> None:
    _run(
        "createdb",
        "--host",
        url.host or "127.0.0.1",
        "--port",
        str(url.port or 5432),
        "--username",
        url.username or "postgres",
        str(url.database),
    )


@pytest.fixture
def databases(database_url: str) -> Iterator[tuple[URL, URL]]:
    base = _postgres(database_url)
    source = base.set(database=f"{base.database}_backup_source")
    restored = base.set(database=f"{base.database}_backup_restored")
    for url in (source, restored):
        _drop(url)
    yield source, restored
    for url in (source, restored):
        _drop(url)


def _app(url: URL, storage_dir: Path, mail_catcher: MailCatcher) -> Flask:
    return create_app(make_settings(_plain(url), mail_catcher, storage_dir=str(storage_dir)))


def _cli(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _download(app: Flask, record_id: int) -> bytes:
    with app.app_context():
        coordinator = db.session.scalar(select(User).where(User.email == COORDINATOR_EMAIL))
        assert coordinator is not None
        client = app.test_client()
        login(client, coordinator)
        response = client.get(f"/letters/{DEMO_SLUG}/exports/{record_id}.pdf")
        db.session.remove()
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    data: bytes = response.data
    return data


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_dump_restored_into_a_new_database_verifies_and_serves_the_same_pdf(
    databases: tuple[URL, URL], tmp_path: Path, mail_catcher: MailCatcher
) -> None:
    source_url, restored_url = databases
    storage = tmp_path / "storage"
    _createdb(source_url)
    source = _app(source_url, storage, mail_catcher)
    reset_schema(source)  # flask db upgrade
    _cli(source, "seed-demo")
    exported = tmp_path / "demo.pdf"
    _cli(source, "export-pdf", DEMO_SLUG, "-o", str(exported))
    with source.app_context():
        record_id = db.session.scalar(select(ExportRecord.id).order_by(ExportRecord.id.desc()))
        db.session.remove()
    assert record_id is not None
    original = _download(source, record_id)
    assert original == exported.read_bytes() and original.startswith(b"%PDF")
    _dispose(source)

    # The backup, as docs/deploy.md says: a custom-format dump and a copy of the storage.
    dump = tmp_path / "signon.dump"
    _run("pg_dump", "--format=custom", "--file", str(dump), _plain(source_url))
    backup_storage = tmp_path / "backup-storage"
    shutil.copytree(storage, backup_storage)
    _drop(source_url)  # the server is lost, with its disk
    shutil.rmtree(storage)

    # The restore: a NEW database, the dump, the storage folder.
    _createdb(restored_url)
    _run("pg_restore", "--no-owner", "--exit-on-error", "--dbname", _plain(restored_url), str(dump))
    restored = _app(restored_url, backup_storage, mail_catcher)
    try:
        report = _cli(restored, "verify-audit")
        assert "All audit chains are intact, and the letters match them." in report
        assert "BROKEN" not in report and "DOES NOT MATCH" not in report
        assert "events, intact" in report
        assert _download(restored, record_id) == original
    finally:
        _dispose(restored)
