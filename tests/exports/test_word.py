"""The letter as an editable Word file (issue 12 item 7), read back with python-docx: the
same text, order, groups and options as the PDF."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata

import pytest
from docx import Document
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

import signon.exports.pdf.views  # noqa: F401  (registers the routes)
from signon.accounts.models import User
from signon.audit.models import AuditEvent
from signon.exports.models import ExportRecord, ExportStatus, Layout
from signon.exports.pdf import operations as pdf_operations
from signon.exports.pdf import word
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.listing import Arrangement, set_list_arrangement
from signon.signatures.models import SignatoryKind
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


@pytest.mark.parametrize("size", [(300, 100), (1200, 60), (100, 400)], ids=str)
def test_the_letterhead_logo_is_in_the_word_file_too(size: tuple[int, int]) -> None:
    """In the box the PDF gives it (80 x 22 mm), proportions kept: a wide logo at a fixed
    height ran off the page."""
    from docx.shared import Mm
    from PIL import Image

    from signon.signatures.uploads import process_logo, save_logo

    coordinator = make_user()
    letter = make_letter(coordinator, title="Open letter", body="Text.")
    sign(letter, ["Alpha Network"])
    image = io.BytesIO()
    Image.new("RGB", size, (20, 90, 160)).save(image, format="PNG")
    image.seek(0)
    logo = process_logo(image)
    save_logo(logo)
    set_export_settings(letter, layout=Layout.LETTER, letterhead_logo=logo.filename)
    document = Document(io.BytesIO(pdf_operations.word_file(letter, coordinator)))
    assert len(document.inline_shapes) == 1
    assert document.paragraphs[0].text == ""  # the logo's paragraph comes first
    shape = document.inline_shapes[0]
    assert shape.width <= Mm(80) + 1 and shape.height <= Mm(22) + 1
    assert abs(shape.width - Mm(80)) < Mm(0.1) or abs(shape.height - Mm(22)) < Mm(0.1)
    assert shape.width * size[1] == pytest.approx(shape.height * size[0], rel=0.01)


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


def test_links_are_word_hyperlinks_and_each_numbered_list_counts_from_its_start() -> None:
    coordinator = make_user()
    body = (
        "1. first\n2. second\n\nBetween the lists.\n\n- a bullet\n\n1. again one\n2. again two\n"
        "\nAnd a loose list (items apart, as pasted from Word):\n\n5. fifth\n\n6. sixth\n\n"
        "   Its second paragraph.\n\n"
        "See [our site](https://example.org/site) or mail [**the team**](mailto:team@example.org)."
    )
    letter = make_letter(coordinator, title="Open letter", body=body)
    sign(letter, ["Alpha Network"])
    set_export_settings(letter, layout=Layout.LETTER)
    document = Document(io.BytesIO(pdf_operations.word_file(letter, coordinator)))
    numbering = document.part.numbering_part.element

    def list_of(paragraph) -> tuple[int, int]:
        """(the Word numbering id, the number its list starts from)."""
        num_id = paragraph._p.pPr.numPr.numId.val
        override = numbering.num_having_numId(num_id).lvlOverride_lst[0]
        return num_id, override.startOverride.val

    numbered = [p for p in document.paragraphs if p.style.name == "List Number"]
    assert [p.text for p in numbered] == [
        "first",
        "second",
        "again one",
        "again two",
        "fifth",
        "sixth",
    ]
    lists = [list_of(p) for p in numbered]
    assert lists[0] == lists[1] and lists[2] == lists[3] and lists[4] == lists[5]
    assert len({lists[0][0], lists[2][0], lists[4][0]}) == 3  # three lists, three counters
    assert [lists[0][1], lists[2][1], lists[4][1]] == [1, 1, 5]
    (continued,) = [p for p in document.paragraphs if p.style.name == "List Continue"]
    assert continued.text == "Its second paragraph."  # under "sixth", without a number
    assert not [p for p in document.paragraphs if p.style.name.startswith("List") and not p.text]
    see = next(p for p in document.paragraphs if p.text.startswith("See "))
    assert see.text == "See our site or mail the team."  # no address printed after a link
    site, team = see.hyperlinks
    assert (site.address, site.text) == ("https://example.org/site", "our site")
    assert (team.address, team.text) == ("mailto:team@example.org", "the team")
    assert team.runs[0].bold and team.runs[0].style.name == "Hyperlink"


#: Individuals in several scripts, with particles, a mononym and two of the same name.
PEOPLE = (
    ("Ursula von der Leyen", None, "Professor", "Universität Bonn"),
    ("Charles de la Fontaine", "de la Fontaine", None, "Sciences Po"),
    ("ليلى بن علي", None, "محامية", "جامعة القاهرة"),
    ("王小明", "王", "教授", "北京大学"),
    ("Анна Петрова", None, "Юрист", None),
    ("Élodie Àndré", None, None, "Université Laval"),
    ("Suharto", None, None, None),
    ("Ana Pérez", None, "Director", "Universidad A"),
    ("Ana Pérez", None, "Student", "Universidad B"),
)


def _mixed_letter(coordinator: User) -> Letter:
    """Organisations grouped by country (one with a representative) and individuals."""
    letter = make_letter(coordinator, title="Joint statement", addressee="The Assembly")
    sign(letter, ["Zeta Forum", "Alpha Network"], country="Kenya")
    sign(
        letter,
        ["Ñandú Centro"],
        country="Chile",
        representative_name="Ana Pérez",
        representative_title="Director",
    )
    sign(letter, ["مؤسسة الحق"], country="Palestine")
    for name, family, title, affiliation in PEOPLE:
        sign(
            letter,
            [name],
            kind=SignatoryKind.INDIVIDUAL,
            sort_name=family,
            representative_title=title,
            affiliation=affiliation,
        )
    set_list_arrangement(letter, coordinator, Arrangement(grouping="country"))
    return letter


def _word_list(data: bytes, count: int, marker: str) -> list[tuple[str, str]]:
    """The Word file's list, (style, text) of its group headings and ``count`` entries,
    from the paragraph after ``marker``."""
    found = paragraphs(data)
    start = [text for _, text in found].index(marker) + 1
    listed: list[tuple[str, str]] = []
    entries = 0
    for style, text in found[start:]:
        if entries == count:
            break
        listed.append((style, text))
        entries += style != "Heading 3"
    return listed


def _rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


@pytest.mark.parametrize("layout", [Layout.STATEMENT, Layout.LETTER])
@pytest.mark.parametrize("which", ["demo", "individuals and groups"])
def test_the_word_file_lists_name_by_name_what_the_pdf_prints(layout: Layout, which: str) -> None:
    """The .docx and the PDF (read back with pypdf) list the same entries with the same
    details under the same group headings, in the same order."""
    coordinator = make_user()
    letter = demo_letter(coordinator) if which == "demo" else _mixed_letter(coordinator)
    set_export_settings(letter, layout=layout, audit_page=False, representatives=True)
    result = pdf_operations.export_pdf(letter, coordinator, actor_label="test")
    pdf = PdfReader(io.BytesIO(pdf_operations.stored_pdf(result.record)))
    printed = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    count = len(result.record.signature_ids)
    marker = "On behalf of:" if layout == Layout.STATEMENT else "Signatories"
    listed = _word_list(pdf_operations.word_file(letter, coordinator), count, marker)
    assert sum(style != "Heading 3" for style, _ in listed) == count
    if which != "demo":
        headings = [text for style, text in listed if style == "Heading 3"]
        expected = ["Individual signatories"]
        if layout == Layout.LETTER:
            expected = ["Chile", "Kenya", "Palestine", *expected]
        assert headings == expected
    position = printed.index(marker)
    for style, text in listed:
        entry = re.sub(r"^\d+\.\u2002", "", text).removesuffix("; and").removesuffix(";")
        # the name, then (left to right only: pypdf gives right-to-left runs in visual
        # order) the whole entry with its details
        name = re.split(r", | \(|\n", entry)[0]
        found = printed.find(name, position)
        assert found >= position, f"{name!r} ({style}) is not in the PDF after {position}"
        if not _rtl(entry):
            assert printed.startswith(" ".join(entry.split()), found), entry
        position = found + len(name)
