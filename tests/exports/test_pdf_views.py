"""The export pages through the test client: settings, who is left out, preview, export,
the record page and the byte-identical download."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import date

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

import signon.exports.pdf.views  # noqa: F401  (registers the routes; see the report)
from signon.audit.models import AuditEvent
from signon.core import transaction
from signon.exports.models import ExportStatus, Layout
from signon.exports.pdf import operations as pdf_operations
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter
from signon.signatures.listing import signatory_list, stored_arrangement
from tests.conftest import login
from tests.exports.factories import demo_letter, sign
from tests.factories import add_revision, make_letter, make_user
from tests.querycount import count_queries

pytestmark = pytest.mark.usefixtures("app_context")


def _coordinator_letter(client: FlaskClient):
    coordinator = make_user()
    letter = demo_letter(coordinator)
    login(client, coordinator)
    return coordinator, letter


def _settings(**changes: object) -> dict[str, object]:
    """The export form as the page posts it (Letter layout, A4, alphabetical, two
    columns, individuals listed), with ``changes``."""
    return {
        "layout": "letter",
        "page_size": "A4",
        "variant": "standard",
        "order": "alphabetical",
        "grouping": "none",
        "columns": "2",
        "individuals": "list",
        **changes,
    }


def _upload_letterhead_logo(
    client: FlaskClient, letter: Letter, data: dict[str, object], colour: tuple[int, int, int]
) -> str:
    """Post the export settings ``data`` with a 300 x 100 PNG logo of ``colour``, commit,
    and return the storage name the settings now hold (written after the commit)."""
    from PIL import Image

    from signon.core.storage import storage
    from signon.signatures.uploads import logo_name

    image = io.BytesIO()
    Image.new("RGB", (300, 100), colour).save(image, format="PNG")
    image.seek(0)
    response = client.post(
        f"/letters/{letter.slug}/export",
        data={**data, "letterhead_logo": (image, "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    transaction.commit()
    stored = logo_name(pdf_operations.settings_for(letter).options["letterhead_logo"])
    assert stored is not None and storage().exists(stored)
    return stored


def test_the_export_page_shows_who_is_listed_and_who_is_left_out(client: FlaskClient) -> None:
    coordinator, letter = _coordinator_letter(client)
    sign(letter, ["Approved The Old Text"], revision_number=1)
    revision = add_revision(letter, coordinator, "A substantive change.")
    revision.change_kind = ChangeKind.SUBSTANTIVE
    sign(letter, ["Approved The New Text"])
    page = client.get(f"/letters/{letter.slug}/export").get_data(as_text=True)
    assert "<strong>1</strong> signatory" in page
    assert "Left out (12)" in page
    assert "Approved The Old Text" in page
    assert "changed the text substantively" in page
    assert f'/letters/{letter.slug}/export/preview.png"' in page
    assert "Export PDF" in page
    assert "No PDF has been exported yet." in page


def test_with_nobody_listed_there_is_no_export_button(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, title="Empty")
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/export").get_data(as_text=True)
    assert "nothing to export" in page
    assert "Export PDF" not in page
    response = client.post(f"/letters/{letter.slug}/exports")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "No signatory&#39;s approval covers revision 1" in page


def test_saving_settings_matches_names_to_signatures(client: FlaskClient) -> None:
    _, letter = _coordinator_letter(client)
    data = {
        "layout": "letter",
        "page_size": "Letter",
        "variant": "standard",
        "order": "alphabetical",
        "grouping": "tier",
        "first_tier": "amnesty international\n  Human   Rights Watch ",
        "first_tier_heading": "Convened by",
        "columns": "3",
        "individuals": "count",
        "addressees": "The President\n\nThe Members",
        "cc": "The Registrar",
        "descriptions": "REDRESS: Ending torture, seeking justice",
        "show_descriptions": "y",
        "new_since": "2026-01-31",
        "representatives": "y",
    }
    response = client.post(f"/letters/{letter.slug}/export", data=data)
    assert response.status_code == 302
    settings = pdf_operations.settings_for(letter)
    assert settings.layout == Layout.LETTER
    assert settings.page_size.value == "Letter"
    assert settings.audit_page is False  # an unticked box
    options = settings.options
    names = {s.id: s.name for s in pdf_operations.prepare(letter).printed}
    arrangement = stored_arrangement(letter)
    assert arrangement.grouping == "tier"
    assert sorted(names[i] for i in arrangement.first_tier) == [
        "Amnesty International",
        "Human Rights Watch",
    ]
    assert arrangement.count_individuals and arrangement.new_since == date(2026, 1, 31)
    # the groups belong to the list (every output), not to the export settings
    assert not {"grouping", "first_tier", "new_since", "individuals"} & set(options)
    assert options["first_tier_heading"] == "Convened by"
    assert options["representatives"] is True and options["statement_title_first"] is False
    assert options["addressees"] == ["The President", "The Members"]
    assert options["columns"] == 3
    [(key, text)] = options["descriptions"].items()
    assert names[int(key)] == "REDRESS" and text == "Ending torture, seeking justice"
    # shown again as names
    page = client.get(f"/letters/{letter.slug}/export").get_data(as_text=True)
    assert "Amnesty International\nHuman Rights Watch</textarea>" in page


def test_the_chosen_order_is_saved_as_the_lists_order_for_every_output(
    client: FlaskClient,
) -> None:
    _, letter = _coordinator_letter(client)
    data = _settings(layout="statement", order="custom", custom_order="REDRESS\nAl-Haq")
    assert client.post(f"/letters/{letter.slug}/export", data=data).status_code == 302
    names = signatory_list(letter).names
    assert names[:2] == ["REDRESS", "Al-Haq"] and len(names) == 11
    assert "order" not in pdf_operations.settings_for(letter).options
    api = client.get(f"/letters/{letter.slug}/export/signatories.json").get_json()
    assert [s["name"] for s in api["signatories"]] == names
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.letter_id == letter.id)
    ).all()
    assert "signatures.list_order_changed" in actions


def test_unknown_names_are_named_and_nothing_is_saved(client: FlaskClient) -> None:
    _, letter = _coordinator_letter(client)
    response = client.post(
        f"/letters/{letter.slug}/export",
        data=_settings(order="custom", custom_order="REDRESS\nNobody We Know"),
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Not among the listed signatories: “Nobody We Know”" in page
    assert pdf_operations.settings_for(letter).id is None


def test_the_preview_is_an_image_of_the_first_pages(client: FlaskClient) -> None:
    _, letter = _coordinator_letter(client)
    response = client.get(f"/letters/{letter.slug}/export/preview.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG")
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(response.data))
    assert image.width > image.height  # two pages side by side
    response = client.get(f"/letters/{letter.slug}/export/preview.pdf")
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert "inline" in response.headers["Content-Disposition"]


def test_export_then_download_the_same_bytes_again(client: FlaskClient) -> None:
    _, letter = _coordinator_letter(client)
    response = client.post(f"/letters/{letter.slug}/exports")
    assert response.status_code == 302
    record = pdf_operations.records_of(letter)[0]
    assert response.location == f"/letters/{letter.slug}/exports/{record.id}"
    page = client.get(response.location).get_data(as_text=True)
    assert "The PDF is ready" in page
    assert "Download PDF" in page
    assert record.file_sha256 in page
    download = client.get(f"/letters/{letter.slug}/exports/{record.id}.pdf")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert "attachment" in download.headers["Content-Disposition"]
    assert hashlib.sha256(download.data).hexdigest() == record.file_sha256
    assert client.get(f"/letters/{letter.slug}/exports/{record.id}.pdf").data == download.data
    # exporting again without changes gives the same export
    response = client.post(f"/letters/{letter.slug}/exports")
    assert response.location == f"/letters/{letter.slug}/exports/{record.id}"
    assert "Nothing has changed since export" in client.get(response.location).get_data(
        as_text=True
    )
    listing = client.get(f"/letters/{letter.slug}/export").get_data(as_text=True)
    assert f"Export {record.id}" in listing


def test_the_settings_come_first_and_export_pdf_saves_them_and_exports(
    client: FlaskClient,
) -> None:
    """No separate “Save settings” step: the settings form's “Export PDF” saves what it
    shows and makes the PDF with it (a 307 repeats the POST on the export route)."""
    _, letter = _coordinator_letter(client)
    page = client.get(f"/letters/{letter.slug}/export").get_data(as_text=True)
    assert page.index('id="settings-title"') < page.index('id="preview-title"')
    assert page.index('id="settings-title"') < page.index('id="who-title"')
    assert page.index('name="export_now"') < page.index('id="preview-title"')
    assert "Save settings" not in page
    # the layouts are named in the order they print by default (title first)
    assert "Statement: the title, “On behalf of:” and the list, then the text" in page
    (audit_box,) = re.findall(r"<input[^>]*name=\"audit_page\"[^>]*>", page)
    assert "checked" not in audit_box  # the audit page is off by default
    data = _settings(
        layout="statement",
        audit_page="y",
        addressees="The Assembly of States Parties",
        export_now="1",
    )
    response = client.post(f"/letters/{letter.slug}/export", data=data)
    assert response.status_code == 307
    assert response.location == f"/letters/{letter.slug}/exports"
    transaction.commit()
    response = client.post(response.location, data=data)
    assert response.status_code == 302
    record = pdf_operations.records_of(letter)[0]
    assert record.options["audit_page"] is True
    assert record.options["statement_title_first"] is False  # the box was left unticked
    text = " ".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(pdf_operations.stored_pdf(record))).pages
    )
    assert "Audit record" in text
    assert text.index("On behalf of:") < text.index("The Assembly of States Parties")


def test_the_pages_script_saves_a_change_with_no_redirect(client: FlaskClient) -> None:
    """static/js/export-settings.js posts each change with ``X-Signon-Preview``: saved,
    204, no flash left for the next page."""
    _, letter = _coordinator_letter(client)
    data = _settings()
    response = client.post(
        f"/letters/{letter.slug}/export", data=data, headers={"X-Signon-Preview": "1"}
    )
    assert response.status_code == 204
    assert pdf_operations.settings_for(letter).layout == Layout.LETTER
    page = client.get(f"/letters/{letter.slug}/export").get_data(as_text=True)
    assert "The export settings are saved" not in page
    assert "js/export-settings.js" in page and "data-live-preview" in page
    refused = client.post(
        f"/letters/{letter.slug}/export",
        data={**data, "columns": "9"},
        headers={"X-Signon-Preview": "1"},
    )
    assert refused.status_code == 200  # the script then submits the form to show why


def test_a_letterhead_logo_is_uploaded_printed_and_removed(client: FlaskClient) -> None:
    _, letter = _coordinator_letter(client)
    data = _settings()
    _upload_letterhead_logo(client, letter, data, (200, 30, 30))  # written after the commit

    def first_page_images() -> int:
        result = pdf_operations.export_pdf(letter, None, actor_label="test")
        document = PdfReader(io.BytesIO(pdf_operations.stored_pdf(result.record)))
        return len(document.pages[0].images)

    assert first_page_images() == 1
    page = client.get(f"/letters/{letter.slug}/export").get_data(as_text=True)
    assert "Remove the letterhead logo" in page
    response = client.post(
        f"/letters/{letter.slug}/export", data={**data, "remove_letterhead_logo": "y"}
    )
    assert response.status_code == 302
    assert "letterhead_logo" not in pdf_operations.settings_for(letter).options
    assert first_page_images() == 0


def test_a_replaced_or_removed_letterhead_logo_leaves_the_storage(client: FlaskClient) -> None:
    """Red team: every upload was kept under a new name and none was ever deleted, not even
    one replaced or removed (and the page's script posts the chosen file again with each
    change): any account, coordinator of a letter of its own, could fill the server's
    disk some megabytes a request. Only the logo in use stays stored."""
    from signon.core.storage import storage

    _, letter = _coordinator_letter(client)
    data = _settings()
    first = _upload_letterhead_logo(client, letter, data, (200, 30, 30))
    second = _upload_letterhead_logo(client, letter, data, (30, 30, 200))
    assert second != first and not storage().exists(first)
    response = client.post(
        f"/letters/{letter.slug}/export", data={**data, "remove_letterhead_logo": "y"}
    )
    assert response.status_code == 302
    transaction.commit()
    assert not storage().exists(second)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"<svg onload=alert(1)>", "This file is not a PNG, JPEG or WebP image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024), "The logo is larger than 2 MB."),
        (b"", "The logo file is empty."),
    ],
    ids=["svg named png", "over 2 MB", "empty"],
)
def test_a_letterhead_logo_that_is_refused_is_named_and_the_typed_settings_stay(
    client: FlaskClient, content: bytes, error: str
) -> None:
    _, letter = _coordinator_letter(client)
    before = dict(pdf_operations.settings_for(letter).options or {})
    response = client.post(
        f"/letters/{letter.slug}/export",
        data=_settings(
            columns="3",
            addressees="The President of the Assembly",
            date_text="14 December 2026, The Hague",
            letterhead_logo=(io.BytesIO(content), "logo.png"),
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert error in page
    # what was typed is shown again, nothing is saved
    assert "The President of the Assembly</textarea>" in page
    assert 'value="14 December 2026, The Hague"' in page
    assert re.search(r"<option selected value=\"3\">|<option value=\"3\" selected", page)
    assert dict(pdf_operations.settings_for(letter).options or {}) == before


def test_a_failed_export_says_why_and_has_no_download(client: FlaskClient, app) -> None:
    _, letter = _coordinator_letter(client)
    app.config["SIGNON_PDF_TIMEOUT"] = 0.01
    try:
        response = client.post(f"/letters/{letter.slug}/exports")
    finally:
        app.config.pop("SIGNON_PDF_TIMEOUT")
    record = pdf_operations.records_of(letter)[0]
    assert record.status == ExportStatus.FAILED
    page = client.get(response.location).get_data(as_text=True)
    assert "The PDF could not be made" in page
    assert "longer than the limit" in page
    transaction.commit()
    response = client.get(f"/letters/{letter.slug}/exports/{record.id}.pdf")
    assert response.status_code == 302


def test_the_settings_page_reads_pages_of_the_list_not_all_of_it(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same statements with 3 or 13 listed and left out; beyond the shown part, the
    page says how many more there are."""
    monkeypatch.setattr(pdf_operations, "LEFT_OUT_SHOWN", 4)
    monkeypatch.setattr(pdf_operations, "NAMES_CHECKED", 5)
    coordinator, letter = _coordinator_letter(client)
    revision = add_revision(letter, coordinator, "A substantive change.")
    revision.change_kind = ChangeKind.SUBSTANTIVE

    def statements() -> tuple[int, str]:
        with count_queries() as counter:
            page = client.get(f"/letters/{letter.slug}/export").get_data(as_text=True)
        return counter.count, page

    sign(letter, [f"Early {i}" for i in range(3)], revision_number=1)
    sign(letter, [f"Listed {i}" for i in range(3)])
    statements()  # warm-up: the first view after changes loads more
    few, _ = statements()
    sign(letter, [f"Early more {i}" for i in range(10)], revision_number=1)
    sign(letter, [f"Listed more {i}" for i in range(10)])
    statements()
    many, page = statements()
    assert many == few
    assert "<strong>13</strong> signatories" in page
    assert "The first 4, by name; the signatory list shows them all." in page
    assert "among the first 5 printed; the export checks all 13" in page
