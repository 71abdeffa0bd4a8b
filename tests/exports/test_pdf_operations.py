"""Export records, stored files, reuse of unchanged exports, the time limit, background
exports and the ``export-pdf`` command."""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from signon.audit.models import AuditEvent
from signon.core import transaction
from signon.core.storage import StorageConfig
from signon.exports.models import ExportRecord, ExportStatus, Layout, PageSize
from signon.exports.pdf import operations as pdf_operations
from signon.exports.pdf import render as pdf
from signon.extensions import db
from tests.exports.factories import demo_letter, set_export_settings, sign
from tests.factories import make_letter, make_user


@pytest.mark.usefixtures("app_context")
def test_an_export_records_exactly_what_went_in() -> None:
    coordinator = make_user()
    letter = demo_letter(coordinator)
    result = pdf_operations.export_pdf(letter, coordinator)
    record = result.record
    assert not result.reused and not result.background
    assert record.status == ExportStatus.DONE
    assert record.created_by_id == coordinator.id
    head = letter.head()
    assert record.revision_id == head.id
    assert record.revision_sha256 == head.content_sha256
    prepared = pdf_operations.prepare(letter)
    assert record.signature_ids == [s.id for s in prepared.printed]
    assert len(record.signature_ids) == 11
    data = pdf_operations.stored_pdf(record)
    assert record.file_sha256 == hashlib.sha256(data).hexdigest()
    assert record.page_count == len(PdfReader(io.BytesIO(data)).pages)
    assert record.duration_ms is not None and record.duration_ms > 0
    assert record.progress == 100 and record.finished_at is not None
    assert record.layout == Layout.STATEMENT
    # the audit page is off by default: the record keeps the hashes
    assert record.options["page_size"] == "A4" and record.options["audit_page"] is False
    path = Path(pdf_operations.storage_dir()) / "exports" / record.file_name
    assert path.read_bytes() == data
    assert record.file_name.startswith(f"{letter.id}-{record.id}-")
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.letter_id == letter.id).order_by(AuditEvent.id)
    ).all()
    assert actions[-2:] == ["export.started", "export.finished"]


@pytest.mark.usefixtures("app_context")
def test_an_unchanged_letter_reuses_its_stored_export_quickly() -> None:
    letter = demo_letter()
    first = pdf_operations.export_pdf(letter, None, actor_label="test").record
    started = time.perf_counter()
    again = pdf_operations.export_pdf(letter, None, actor_label="test")
    elapsed = time.perf_counter() - started
    assert again.reused and again.record.id == first.id
    assert elapsed < 1.0  # a lookup, not a render (the benchmark measures it precisely)
    assert len(pdf_operations.records_of(letter)) == 1


@pytest.mark.usefixtures("app_context")
def test_any_change_of_input_makes_a_new_export() -> None:
    letter = demo_letter()
    first = pdf_operations.export_pdf(letter, None, actor_label="test").record
    sign(letter, ["A New Signatory"])
    second = pdf_operations.export_pdf(letter, None, actor_label="test")
    assert not second.reused and second.record.id != first.id
    assert len(second.record.signature_ids) == 12
    set_export_settings(letter, layout=Layout.LETTER, page_size=PageSize.LETTER)
    third = pdf_operations.export_pdf(letter, None, actor_label="test")
    assert not third.reused and third.record.layout == Layout.LETTER
    # the old files stay, unchanged
    assert pdf_operations.stored_pdf(first)[:4] == b"%PDF"


@pytest.mark.usefixtures("app_context")
def test_a_tampered_or_missing_file_is_never_served() -> None:
    letter = demo_letter()
    record = pdf_operations.export_pdf(letter, None, actor_label="test").record
    path = Path(pdf_operations.storage_dir()) / "exports" / record.file_name
    path.write_bytes(path.read_bytes() + b"%tampered")
    with pytest.raises(pdf_operations.ExportError, match="does not match"):
        pdf_operations.stored_pdf(record)
    path.unlink()
    with pytest.raises(pdf_operations.ExportError, match="missing"):
        pdf_operations.stored_pdf(record)
    # the missing file is not reused: a new export is made
    again = pdf_operations.export_pdf(letter, None, actor_label="test")
    assert not again.reused


@pytest.mark.usefixtures("app_context")
def test_a_render_over_the_time_limit_fails_with_a_clear_message(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    letter = demo_letter()
    monkeypatch.setitem(app.config, "SIGNON_PDF_TIMEOUT", 0.01)
    started = time.perf_counter()
    result = pdf_operations.export_pdf(letter, None, actor_label="test")
    assert time.perf_counter() - started < 5
    record = result.record
    assert record.status == ExportStatus.FAILED
    assert "longer than the limit of 0.01 seconds" in record.error
    assert record.file_name is None
    with pytest.raises(pdf_operations.ExportError):
        pdf_operations.stored_pdf(record)
    # the workers were replaced: the next export works
    monkeypatch.setitem(app.config, "SIGNON_PDF_TIMEOUT", 60)
    again = pdf_operations.export_pdf(letter, None, actor_label="test")
    assert again.record.status == ExportStatus.DONE and not again.reused


def test_the_time_limit_kills_a_render_that_hangs() -> None:
    folders = pdf.Folders(static_dir="/nonexistent", storage=StorageConfig("/nonexistent"))
    job = pdf.SingleJob("<html lang=en><body>" + "<p>x</p>" * 20000 + "</body></html>")
    with pytest.raises(pdf.RenderTimeoutError, match=r"longer than the limit of 0\.2 seconds"):
        pdf.render_single(job, folders, timeout=0.2)


@pytest.mark.usefixtures("app_context")
def test_a_stalled_export_shows_as_failed() -> None:
    from datetime import timedelta

    from signon.db import utcnow

    letter = demo_letter()
    record = ExportRecord(
        letter_id=letter.id,
        revision_id=letter.head().id,
        status=ExportStatus.RUNNING,
        layout=Layout.STATEMENT,
        revision_sha256="0" * 64,
        signatures_sha256="0" * 64,
        input_sha256="0" * 64,
        created_at=utcnow() - timedelta(hours=1),
    )
    db.session.add(record)
    db.session.flush()
    assert pdf_operations.is_stalled(record)
    record.created_at = utcnow()
    assert not pdf_operations.is_stalled(record)


@pytest.mark.real_commits
def test_a_long_export_runs_in_the_background_with_progress(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf, "SINGLE_MAX", 20)
    monkeypatch.setattr(pdf, "MIN_CHUNK", 10)
    monkeypatch.setitem(app.config, "SIGNON_PDF_INLINE_MAX", 20)
    with app.app_context():
        letter = make_letter(make_user(), title="Background")
        sign(letter, [f"Organisation {i:03d}" for i in range(80)])
        transaction.commit()
        result = pdf_operations.export_pdf(letter, None, actor_label="test")
        assert result.background
        record_id = result.record.id
        assert result.record.status == ExportStatus.PENDING
        transaction.commit()  # starts the thread (after the commit)
        pdf_operations.wait_for_background(60)
        db.session.expire_all()
        record = db.session.get(ExportRecord, record_id)
        assert record.status == ExportStatus.DONE, record.error
        assert record.progress == 100
        data = pdf_operations.stored_pdf(record)
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
        assert "Organisation 079" in text
        db.session.remove()


@pytest.mark.usefixtures("app_context")
def test_the_export_pdf_command(app: Flask, tmp_path: Path) -> None:
    letter = demo_letter()
    transaction.commit()
    output = tmp_path / "statement.pdf"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export-pdf", letter.slug, "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "pages (export" in result.output
    records = pdf_operations.records_of(letter)
    assert len(records) == 1
    assert output.read_bytes() == pdf_operations.stored_pdf(records[0])
    text = " ".join(p.extract_text() for p in PdfReader(str(output)).pages)
    assert "On behalf of:" in text
    letter_output = tmp_path / "letter.pdf"
    result = runner.invoke(
        args=["export-pdf", letter.slug, "-o", str(letter_output), "--layout", "letter"]
    )
    assert result.exit_code == 0, result.output
    assert pdf_operations.records_of(letter)[0].layout == Layout.LETTER
    assert "Signatories" in " ".join(p.extract_text() for p in PdfReader(str(letter_output)).pages)
    # unchanged: the same file again, no new record
    result = runner.invoke(args=["export-pdf", letter.slug, "-o", str(output)])
    assert "unchanged since export" in result.output
    assert len(pdf_operations.records_of(letter)) == 2


@pytest.mark.usefixtures("app_context")
def test_the_command_explains_what_it_cannot_do(app: Flask, tmp_path: Path) -> None:
    letter = make_letter(make_user(), title="Empty")
    transaction.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export-pdf", "no-such-letter", "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code != 0 and "no letter with the slug" in result.output
    result = runner.invoke(args=["export-pdf", letter.slug, "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code != 0 and "No signatory's approval covers" in result.output
    assert not (tmp_path / "x.pdf").exists()
