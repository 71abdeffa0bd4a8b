"""The letter as an editable Word file (issue 12 item 7), read back with python-docx: the
same text, order, groups and options as the PDF."""

from __future__ import annotations

import hashlib
import io

import pytest
from docx import Document
from flask.testing import FlaskClient
from sqlalchemy import select

import signon.exports.pdf.views  # noqa: F401  (registers the routes)
from signon.audit.models import AuditEvent
from signon.exports.models import ExportRecord, ExportStatus, Layout
from signon.exports.pdf import operations as pdf_operations
from signon.exports.pdf import word
from signon.extensions import db
from signon.signatures.listing import Arrangement, set_list_arrangement
from tests.conftest import login
from tests.exports.factories import demo_letter, set_export_settings, sign, sign_individuals
from tests.factories import make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")


def paragraphs(data: bytes) -> list[tuple[str, str]]:
    """(style name, text) of every paragraph, in order."""
    document = Document(io.BytesIO(data))
    return [(p.style.name if p.style else "", p.text) for p in document.paragraphs if p.text]


def test_the_demo_statement_downloads_as_word_with_the_pdfs_text_and_order(
    client: FlaskClient,
) -> None:
    coordinator = make_user()
    letter = demo_letter(coordinator)
    login(client, coordinator)
    response = client.post(f"/letters/{letter.slug}/export.docx")
    assert response.status_code == 200
    assert response.mimetype == word.MIMETYPE
    assert "attachment" in response.headers["Content-Disposition"]
    assert (
        response.headers["Content-Disposition"].endswith('.docx"')
        or ".docx" in (response.headers["Content-Disposition"])
    )
    found = paragraphs(response.data)
    texts = [text for _, text in found]
    title = letter.head().title
    assert texts[0] == title and found[0][0] == "Heading 1"  # the title first, by default
    on_behalf = texts.index("On behalf of:")
    items = [text for style, text in found if style == "List Bullet"]
    names = pdf_operations.prepare(letter).signatories.names
    assert items[:2] == [f"{names[0]};", f"{names[1]};"]
    assert items[-2:] == [f"{names[-2]}; and", names[-1]]
    assert texts.index(items[0]) == on_behalf + 1
    body = " ".join(texts[texts.index(names[-1]) + 1 :])
    assert "Dear" in body or len(body) > 500  # the letter's text follows the list
    assert Document(io.BytesIO(response.data)).core_properties.title == title


def test_the_statement_lists_individuals_after_the_organisations() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, title="Statement")
    sign(letter, ["Zeta Forum", "Alpha Network"], country="Kenya")
    sign_individuals(letter, ["Ana Pérez"])
    set_export_settings(letter, layout=Layout.STATEMENT)
    texts = [text for _, text in paragraphs(pdf_operations.word_file(letter, coordinator))]
    start = texts.index("On behalf of:")
    assert texts[start + 1 : start + 5] == [
        "Alpha Network; and",
        "Zeta Forum",
        "Individual signatories",
        "Ana Pérez, Professor of Law, University of Nairobi (for identification only)",
    ]


def test_the_letter_layout_keeps_groups_numbers_and_representatives() -> None:
    coordinator = make_user()
    letter = make_letter(
        coordinator, title="Open letter", addressee="The Minister", body="**Dear** Minister,"
    )
    sign(letter, ["Zeta Forum", "Alpha Network"], country="Kenya")
    sign(
        letter,
        ["Beta Centre"],
        country="Chile",
        representative_name="Ana Pérez",
        representative_title="Director",
    )
    set_list_arrangement(letter, coordinator, Arrangement(grouping="country"))
    set_export_settings(letter, layout=Layout.LETTER, representatives=True)
    found = paragraphs(pdf_operations.word_file(letter, coordinator))
    texts = [text for _, text in found]
    assert "The Minister" in texts and ("Heading 1", "Open letter") in found
    assert "Dear Minister," in texts
    assert texts.index("Dear Minister,") < texts.index("Signatories")
    groups = [text for style, text in found if style == "Heading 3"]
    assert groups == ["Chile", "Kenya"]
    entries = texts[texts.index("Signatories") + 1 :]
    assert entries == [
        "Chile",
        "1.\u2002Beta Centre\nAna Pérez, Director",
        "Kenya",
        "2.\u2002Alpha Network",
        "3.\u2002Zeta Forum",
    ]
    document = Document(io.BytesIO(pdf_operations.word_file(letter, coordinator)))
    dear = next(p for p in document.paragraphs if p.text == "Dear Minister,")
    assert dear.runs[0].text == "Dear" and dear.runs[0].bold
    assert len(document.inline_shapes) == 0


def test_the_letterhead_logo_is_in_the_word_file_too() -> None:
    from PIL import Image

    from signon.signatures.uploads import process_logo, save_logo

    coordinator = make_user()
    letter = make_letter(coordinator, title="Open letter", body="Text.")
    sign(letter, ["Alpha Network"])
    image = io.BytesIO()
    Image.new("RGB", (300, 100), (20, 90, 160)).save(image, format="PNG")
    image.seek(0)
    logo = process_logo(image)
    save_logo(logo)
    set_export_settings(letter, layout=Layout.LETTER, letterhead_logo=logo.filename)
    document = Document(io.BytesIO(pdf_operations.word_file(letter, coordinator)))
    assert len(document.inline_shapes) == 1
    assert document.paragraphs[0].text == ""  # the logo's paragraph comes first


def test_a_word_export_is_recorded_like_a_pdf_and_listed(client: FlaskClient) -> None:
    """The export record (revision, signatures and their hashes, the kept file and its
    hash) and the audit event, as for a PDF; never reused for a PDF export."""
    coordinator = make_user()
    letter = make_letter(coordinator, title="Statement")
    sign(letter, ["Zeta Forum", "Alpha Network"], country="Kenya")
    login(client, coordinator)
    response = client.post(f"/letters/{letter.slug}/export.docx")
    assert response.status_code == 200 and response.mimetype == word.MIMETYPE
    (record,) = db.session.scalars(select(ExportRecord).where(ExportRecord.letter_id == letter.id))
    assert record.file_format == "docx" and record.status == ExportStatus.DONE
    head = letter.head()
    assert record.revision_id == head.id and record.revision_sha256 == head.content_sha256
    assert len(record.signature_ids) == 2 and len(record.signatures_sha256) == 64
    assert record.file_sha256 == hashlib.sha256(response.data).hexdigest()
    assert f"-export-{record.id}.docx" in response.headers["Content-Disposition"]
    event = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.letter_id == letter.id, AuditEvent.action == "export.word"
        )
    ).one()
    assert event.details["file_sha256"] == record.file_sha256
    assert event.details["signatures_sha256"] == record.signatures_sha256
    # listed with the exports, and downloaded again byte for byte
    page = client.get(f"/letters/{letter.slug}/export").get_data(as_text=True)
    assert f"Export {record.id}" in page and "Download Word file" in page
    again = client.get(f"/letters/{letter.slug}/exports/{record.id}.pdf")
    assert again.status_code == 200 and again.mimetype == word.MIMETYPE
    assert again.data == response.data
    audit = client.get(f"/letters/{letter.slug}/audit").get_data(as_text=True)
    assert "Exported an editable Word file" in audit
    assert client.get(f"/letters/{letter.slug}/export.docx").status_code == 405, "no GET"
    # a PDF export of the same inputs is a new PDF, not the Word file
    pdf = pdf_operations.export_pdf(letter, coordinator, background=False)
    assert not pdf.reused and pdf.record.file_format == "pdf"


def test_control_characters_a_drafter_saved_do_not_break_the_word_export(
    client: FlaskClient,
) -> None:
    """The edit form keeps what is typed in the text, control characters included (ESC,
    SOH: pasted from a terminal or an old document); XML forbids them, and python-docx
    raised on them: the coordinator's Word export answered 500 for every later version
    (red team). The Word file leaves them out, as the page and the PDF show nothing."""
    coordinator = make_user()
    letter = make_letter(coordinator, title="Statement", body="Hello.\n")
    login(client, coordinator)
    saved = client.post(
        f"/letters/{letter.slug}/edit",
        data={
            "title": "Statement",
            "body": "We \x1burge\x01 the Court\x7f.\n\n- one\x0c item\n",
            "base_revision": str(letter.head().id),
        },
    )
    assert saved.status_code == 302
    set_export_settings(letter, layout=Layout.LETTER, addressees=["The\x1b Minister"])
    response = client.post(f"/letters/{letter.slug}/export.docx")
    assert response.status_code == 200
    texts = [text for _, text in paragraphs(response.data)]
    assert "We urge the Court." in texts and "one item" in texts
    assert "The Minister" in texts


def test_struck_through_words_stay_struck_in_the_word_file() -> None:
    """The text "We do ~~not~~ support" is struck on the page and in the PDF; the Word file printed
    "We do not support", the opposite of what the letter shows (red team)."""
    coordinator = make_user()
    letter = make_letter(coordinator, title="Statement", body="We do ~~not~~ support it.\n")
    set_export_settings(letter, layout=Layout.LETTER)
    document = Document(io.BytesIO(pdf_operations.word_file(letter, coordinator)))
    paragraph = next(p for p in document.paragraphs if p.text == "We do not support it.")
    struck = [run.text for run in paragraph.runs if run.font.strike]
    assert struck == ["not"]
