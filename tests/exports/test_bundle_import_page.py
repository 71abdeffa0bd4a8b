"""The import page: a bundle uploaded by a signed-in user is imported by a background job
(at once in the tests); the status page shows the job (done with the new letter, or
failed with every problem) to the user who started it, and to nobody else."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from signon.audit.models import AuditEvent
from signon.core import jobs, transaction
from signon.exports.bundles import operations as bundles
from signon.extensions import db
from signon.letters.models import Letter
from tests.conftest import login
from tests.exports.factories import demo_letter
from tests.factories import make_user

pytestmark = pytest.mark.usefixtures("app_context")


def _upload(client: FlaskClient, raw: bytes) -> str:
    response = client.post(
        "/imports/new",
        data={"bundle": (io.BytesIO(raw), "letter.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.location)


def test_an_uploaded_bundle_becomes_a_new_letter_through_a_job(client: FlaskClient) -> None:
    source = demo_letter(make_user())
    raw = bundles.dumps(bundles.export_letter(source)).encode()
    importer = make_user()
    login(client, importer)
    letters_before = db.session.scalar(select(func.count()).select_from(Letter))
    location = _upload(client, raw)
    job = db.session.scalars(
        select(jobs.BackgroundJob).where(jobs.BackgroundJob.kind == bundles.IMPORT_JOB)
    ).one()
    assert location.endswith(f"/imports/{job.id}")
    assert (job.state, job.started_by_id) == (jobs.JobState.DONE, importer.id)
    letter = db.session.get(Letter, job.letter_id)
    assert letter is not None and letter.title == source.title and letter.id != source.id
    assert db.session.scalar(select(func.count()).select_from(Letter)) == letters_before + 1
    page = client.get(location).get_data(as_text=True)
    assert "Imported" in page and f"/letters/{letter.slug}/" in page
    # a retry of the same job (its worker killed after the commit) imports nothing again
    bundles.run_import(
        jobs.RunningJob(job.id, 2),
        stored_name="imports/gone.json",
        owner_id=importer.id,
        bundle_sha256="0" * 64,
    )
    assert db.session.scalar(select(func.count()).select_from(Letter)) == letters_before + 1


def test_a_bundle_with_problems_fails_with_every_problem_named(client: FlaskClient) -> None:
    login(client, make_user())
    bad = {"format": "signon-letter-bundle", "format_version": 1, "title": ""}
    letters_before = db.session.scalar(select(func.count()).select_from(Letter))
    location = _upload(client, json.dumps(bad).encode())
    page = client.get(location).get_data(as_text=True)
    assert "could not be imported" in page and "Nothing was imported" in page
    assert db.session.scalar(select(func.count()).select_from(Letter)) == letters_before
    location = _upload(client, b"not json at all")
    assert "is not a JSON bundle" in client.get(location).get_data(as_text=True)


def test_the_import_pages_are_for_signed_in_users_and_the_status_for_its_starter(
    client: FlaskClient,
) -> None:
    assert client.get("/imports/new").status_code == 302  # to the login page
    starter, other = make_user(), make_user()
    login(client, starter)
    assert client.get("/imports/new").status_code == 200
    location = _upload(client, b"{}")
    transaction.commit()
    assert client.get(location).status_code == 200
    login(client, other)
    assert client.get(location).status_code == 404
    assert client.get("/imports/999999").status_code == 404
    with client.session_transaction() as session:
        session.clear()
    response = client.get(location)
    assert response.status_code == 302 and "/login" in response.location
    response = client.post("/imports/new", data={})
    assert (
        response.status_code in (302, 400)
        and db.session.scalars(
            select(jobs.BackgroundJob).where(jobs.BackgroundJob.started_by_id == other.id)
        ).all()
        == []
    )


def test_a_bundle_above_the_request_limit_is_taken_up_to_its_own_limit(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import page takes bundles above the site's 4 MiB request limit (a 20,000-name
    bundle is about 10-20 MB), up to ``max_bundle_bytes``; other pages keep 4 MiB."""
    source = demo_letter(make_user())
    bundle = bundles.dumps(bundles.export_letter(source)).encode()
    limit = app.config["MAX_CONTENT_LENGTH"]
    raw = bundle + b" " * (limit + 1024 * 1024 - len(bundle))  # still JSON: trailing spaces
    login(client, make_user())
    location = _upload(client, raw)
    job = db.session.get(jobs.BackgroundJob, int(location.rsplit("/", 1)[1]))
    assert job is not None and job.state == jobs.JobState.DONE, job and job.error
    imported = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.letter_id == job.letter_id, AuditEvent.action == "letter.imported"
        )
    ).one()
    assert imported.details["bundle_sha256"] == hashlib.sha256(raw).hexdigest()
    # every other request keeps the site's limit
    big_form = {"title": "x", "body": "y" * (limit + 1024)}
    assert client.post("/letters/new", data=big_form).status_code == 413
    # and the import page its own
    settings = app.config["SIGNON"]
    monkeypatch.setitem(app.config, "SIGNON", settings.with_(max_bundle_bytes=limit))
    response = client.post(
        "/imports/new",
        data={"bundle": (io.BytesIO(raw), "letter.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
