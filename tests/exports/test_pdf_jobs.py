"""PDF exports as background jobs: with Redis every export is made by ``flask worker`` (the
rendering pool never starts in the web process); the coordinator sees queued, running,
done, or failed with the reason."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

import signon.exports.pdf.views  # noqa: F401  (registers the routes)
from signon.core import jobs, transaction
from signon.exports.models import ExportRecord, ExportStatus
from signon.exports.pdf import operations as pdf_operations
from signon.exports.pdf import render as pdf
from signon.extensions import db
from tests.conftest import StartWorker, burst, login
from tests.exports.factories import demo_letter, sign
from tests.factories import make_letter, make_user


@pytest.mark.real_commits
def test_with_redis_every_export_is_made_by_the_worker_never_here(
    rq_setup: tuple[Flask, StartWorker],
) -> None:
    app, start_worker = rq_setup
    pool_before = pdf._pool
    with app.app_context():
        coordinator = make_user()
        letter = make_letter(coordinator, title="Queued export")
        sign(letter, ["Alpha Network", "Beta Union", "Gamma Trust"])  # a short list
        transaction.commit()
        client = app.test_client()
        login(client, coordinator)
        response = client.post(f"/letters/{letter.slug}/exports")
        assert response.status_code == 302
        record = pdf_operations.records_of(letter)[0]
        record_id = record.id
        assert record.status == ExportStatus.PENDING
        assert pdf_operations.export_state(record).state == "queued"
        page = client.get(response.location).get_data(as_text=True)
        assert "Queued: waiting for a worker" in page
        transaction.rollback()
        burst(start_worker)
        db.session.expire_all()
        done = db.session.get(ExportRecord, record_id)
        assert done is not None and done.status == ExportStatus.DONE, done and done.error
        assert pdf_operations.export_state(done).state == "done"
        job = jobs.latest_job(done.letter_id, pdf_operations.EXPORT_JOB, target_id=record_id)
        assert job is not None and job.state == jobs.JobState.DONE
        assert job.started_by_id == coordinator.id
        text = " ".join(
            p.extract_text() for p in PdfReader(io.BytesIO(pdf_operations.stored_pdf(done))).pages
        )
        assert "Gamma Trust" in text
        downloaded = client.get(f"/letters/{letter.slug}/exports/{record_id}.pdf")
        assert downloaded.status_code == 200
        db.session.remove()
    assert pdf._pool is pool_before  # this (web) process started no rendering pool


@pytest.mark.usefixtures("app_context")
def test_a_failed_export_job_shows_the_reason_on_both_pages(
    client: FlaskClient, app: Flask
) -> None:
    coordinator = make_user()
    letter = demo_letter(coordinator)
    login(client, coordinator)
    app.config["SIGNON_PDF_TIMEOUT"] = 0.01
    try:
        result = pdf_operations.export_pdf(letter, coordinator, background=True)
        transaction.commit()  # the job runs (synchronously in the tests) and fails
    finally:
        app.config.pop("SIGNON_PDF_TIMEOUT")
    record = result.record
    db.session.refresh(record)
    assert record.status == ExportStatus.FAILED
    job = jobs.latest_job(letter.id, pdf_operations.EXPORT_JOB, target_id=record.id)
    assert job is not None and job.state == jobs.JobState.FAILED
    assert job.error == record.error and "longer than the limit" in (job.error or "")
    state = pdf_operations.export_state(record)
    assert (state.state, state.reason) == ("failed", job.error)
    page = client.get(f"/letters/{letter.slug}/exports/{record.id}").get_data(as_text=True)
    assert "The PDF could not be made" in page and "longer than the limit" in page
    listing = client.get(f"/letters/{letter.slug}/export").get_data(as_text=True)
    assert "Failed" in listing and "longer than the limit" in listing
    assert "Background work on this letter" in listing and "Making the PDF" in listing


@pytest.mark.usefixtures("app_context")
def test_a_swept_export_is_failed_with_the_sweeps_reason() -> None:
    coordinator = make_user()
    letter = demo_letter(coordinator)
    record = pdf_operations.export_pdf(letter, coordinator, background=True).record
    job = jobs.latest_job(letter.id, pdf_operations.EXPORT_JOB, target_id=record.id)
    assert job is not None
    assert pdf_operations.export_state(record).state == "queued"
    # as if a worker had picked it up and been killed: running, no heartbeat for long
    job.state = jobs.JobState.RUNNING
    record.status = ExportStatus.RUNNING
    record.progress = 40
    job.heartbeat_at = job.started_at = job.queued_at.replace(year=2020)
    db.session.flush()
    assert pdf_operations.export_state(record).label == "Running, 40 %"
    assert jobs.sweep_stale_jobs() == 1
    assert record.status == ExportStatus.FAILED
    assert "worker running it stopped" in (record.error or "")
    assert pdf_operations.export_state(record).state == "failed"


@pytest.mark.real_commits
def test_with_redis_the_preview_is_made_by_the_worker_never_here(
    rq_setup: tuple[Flask, StartWorker],
) -> None:
    app, start_worker = rq_setup
    pool_before = pdf._pool
    with app.app_context():
        coordinator = make_user()
        letter = make_letter(coordinator, title="Previewed by a worker")
        sign(letter, ["Alpha Network"])
        transaction.commit()
        slug, letter_id = letter.slug, letter.id
        client = app.test_client()
        login(client, coordinator)
        page = client.get(f"/letters/{slug}/export").get_data(as_text=True)
        assert "A worker is making the preview" in page
        assert client.get(f"/letters/{slug}/export/preview.png").status_code == 503
        preview = client.get(f"/letters/{slug}/export/preview.pdf")
        assert preview.status_code == 302  # back to the page, "being made"
        waiting = jobs.jobs_of(letter_id, kinds=[pdf_operations.PREVIEW_JOB])
        assert len(waiting) == 1  # one job, however often it was asked for
        transaction.rollback()
        burst(start_worker)
        preview = client.get(f"/letters/{slug}/export/preview.pdf")
        assert preview.status_code == 200 and preview.data.startswith(b"%PDF")
        image = client.get(f"/letters/{slug}/export/preview.png")
        assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
        page = client.get(f"/letters/{slug}/export").get_data(as_text=True)
        assert "A worker is making the preview" not in page
        db.session.remove()
    assert pdf._pool is pool_before  # this (web) process started no rendering pool
