"""With the storage in an S3 bucket (moto's server mode, real HTTP): a logo uploaded on the
invitation page is stored in the bucket, read from it by the PDF workers for the logo grid,
and the exported PDF is stored there and downloaded from it; nothing lands on the disk."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from signon.core.storage import storage
from signon.core.transaction import commit
from signon.exports.pdf import operations as pdf_operations
from signon.extensions import db
from signon.signatures.models import Signature
from tests.conftest import login
from tests.exports.factories import set_export_settings, sign
from tests.s3 import ACCESS_KEY, REGION, SECRET_KEY, make_bucket, s3_settings
from tests.signatures.factories import coordinated_letter, image_bytes, invited, sign_path

pytestmark = [pytest.mark.usefixtures("app_context")]


@pytest.fixture
def bucket(
    app: Flask, s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The app's storage is a new bucket; the storage folder is one nothing may write to."""
    name = make_bucket(s3_endpoint)
    folder = tmp_path / "unused"
    monkeypatch.setitem(
        app.config,
        "SIGNON",
        app.config["SIGNON"].with_(
            storage_dir=str(folder), **s3_settings(s3_endpoint, name, "site")
        ),
    )
    yield name
    assert not folder.exists()


def _keys(endpoint: str, bucket: str) -> list[str]:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_logo_upload_export_and_download_through_s3(
    client: FlaskClient, s3_endpoint: str, bucket: str
) -> None:
    coordinator, letter = coordinated_letter(title="Bucket letter", body="We agree.\n")
    invitation = invited(letter, coordinator, name="Logo NGO", email="logo@ngo.example.org")
    set_export_settings(letter, logo_grid=True)
    commit()
    red = image_bytes(80, 40, color=(220, 20, 20))
    response = client.post(
        sign_path(invitation, "/approve"),
        data={
            "approve-name": "Logo NGO",
            "approve-country": "France",
            "approve-kind": "ngo",
            "approve-representative_name": "Lou Logo",
            "approve-representative_title": "Director",
            "approve-authority": "y",
            "approve-revision": str(letter.head().id),
            "approve-logo": (io.BytesIO(red), "logo.png", "image/png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    signature = db.session.scalar(select(Signature).where(Signature.letter_id == letter.id))
    assert signature is not None and signature.logo_filename
    assert _keys(s3_endpoint, bucket) == [f"site/logos/{signature.logo_filename}"]

    login(client, coordinator)
    shown = client.get(f"/letters/{letter.slug}/signatures/{signature.id}/logo")
    assert shown.status_code == 200 and shown.mimetype == "image/png"
    assert shown.data == storage().get(f"logos/{signature.logo_filename}")
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert (
        client.get(
            f"/letters/{letter.slug}/signatures/{signature.id}/logo",
            headers={"If-None-Match": shown.headers["ETag"]},
        ).status_code
        == 304
    )

    response = client.post(f"/letters/{letter.slug}/exports")
    assert response.status_code == 302
    record = pdf_operations.records_of(letter)[0]
    assert record.file_name, record.error
    assert f"site/exports/{record.file_name}" in _keys(s3_endpoint, bucket)

    download = client.get(f"/letters/{letter.slug}/exports/{record.id}.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.headers["Cache-Control"] == "private, no-store"
    assert "attachment" in download.headers["Content-Disposition"]
    assert int(download.headers["Content-Length"]) == len(download.data)
    assert hashlib.sha256(download.data).hexdigest() == record.file_sha256
    # the logo grid holds the uploaded logo, read from the bucket by the PDF workers
    reader = PdfReader(io.BytesIO(download.data))
    images = {image.data for page in reader.pages for image in page.images}
    assert len(images) == 1
    pixel = Image.open(io.BytesIO(images.pop())).convert("RGB").getpixel((5, 5))
    assert pixel == (220, 20, 20)


def test_a_changed_stored_pdf_is_refused_from_the_bucket_too(
    client: FlaskClient, bucket: str
) -> None:
    coordinator, letter = coordinated_letter(title="Tampered", body="Text.\n")
    sign(letter, ["An NGO"])
    set_export_settings(letter)
    commit()
    login(client, coordinator)
    result = pdf_operations.export_pdf(letter, coordinator, actor_label="test", background=False)
    record = result.record
    commit()
    storage().put(f"exports/{record.file_name}", b"%PDF-1.7 forged")
    response = client.get(f"/letters/{letter.slug}/exports/{record.id}.pdf")
    assert response.status_code == 302
    assert "does not match its recorded hash" in client.get(response.location).get_data(
        as_text=True
    )
