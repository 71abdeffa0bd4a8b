"""The PDF itself, parsed with pypdf: text, order, metadata, tags, fonts, attachments, pages.

Both rendering modes are covered: the single render (short lists) and the composed one
(long lists laid out in parallel pieces), the latter with its thresholds lowered so that
a few dozen names take that path.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from signon.accounts.models import User
from signon.db import utcnow
from signon.demo import load_bundle
from signon.exports.models import ExportStatus, Layout, PageSize
from signon.exports.pdf import operations as pdf_operations
from signon.exports.pdf import render as pdf
from signon.exports.pdf.fonts import embedded_font_codepoints, missing_from
from signon.extensions import db
from signon.signatures.models import SignatoryKind, Signature
from tests.exports.factories import (
    SCRIPT_SAMPLES,
    demo_letter,
    drafting_organisation,
    set_export_settings,
    set_list_groups,
    sign,
    sign_individuals,
)
from tests.factories import add_revision, make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")

DEMO_NAMES = (
    "Al-Haq; Amnesty International; FIDH (International Federation of Human Rights); "
    "Human Rights Watch; Institute for Security Studies; International Justice Project; "
    "Kenyans for Peace with Truth and Justice; the Moroccan Coalition for the ICC; "
    "the Nigerian Coalition for the ICC; No Peace Without Justice; and REDRESS"
)


def flat(text: str) -> str:
    return " ".join(text.split())


def export(letter, user: User | None = None, **kwargs) -> bytes:
    result = pdf_operations.export_pdf(letter, user, actor_label="test", **kwargs)
    assert result.record.status == ExportStatus.DONE, result.record.error
    return pdf_operations.stored_pdf(result.record)


def reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def text_of_lines(data: bytes) -> list[str]:
    return [line for page in reader(data).pages for line in page.extract_text().splitlines()]


def text_of(data: bytes) -> str:
    return flat(" ".join(page.extract_text() for page in reader(data).pages))


def body_text_of(data: bytes) -> str:
    """The text without the page furniture (running title and page number, drawn last on
    every page), so that a paragraph running over a page break reads as one."""
    document = reader(data)
    title = document.metadata.title
    pages = []
    for page in document.pages:
        lines = page.extract_text().splitlines()
        while lines and (
            flat(lines[-1]) == title or re.fullmatch(r"Page \d+ of \d+", flat(lines[-1]))
        ):
            lines.pop()
        pages.append("\n".join(lines))
    # a word hyphenated at the end of a line ("follow-" / "up") reads as one word
    return flat(re.sub(r"-\n", "-", "\n".join(pages)))


@pytest.fixture
def composed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long-list rendering from 20 names on, in chunks of at least 15."""
    monkeypatch.setattr(pdf, "SINGLE_MAX", 20)
    monkeypatch.setattr(pdf, "MIN_CHUNK", 15)
    monkeypatch.setattr(pdf_operations, "INLINE_MAX", 10_000)


# --- The faithful demo ------------------------------------------------------------------


def test_the_demo_statement_prints_as_the_original() -> None:
    letter = demo_letter()
    text = body_text_of(export(letter))
    assert "On behalf of: " + DEMO_NAMES in text
    paragraphs = [flat(p) for p in load_bundle()["body_markdown"].split("\n\n") if p.strip()]
    assert len(paragraphs) == 7
    position = text.index(DEMO_NAMES) + len(DEMO_NAMES)
    for paragraph in paragraphs:
        found = text.find(paragraph, position)
        assert found > 0, paragraph[:60]
        position = found + len(paragraph)


def test_the_statement_list_has_drawn_bullets_and_one_item_a_line() -> None:
    letter = demo_letter()
    lines = [flat(line) for line in reader(export(letter)).pages[0].extract_text().splitlines()]
    start = lines.index("On behalf of:")
    assert lines[start + 1 : start + 3] == ["Al-Haq;", "Amnesty International;"]
    assert lines[start + 10 : start + 12] == ["No Peace Without Justice; and", "REDRESS"]
    assert "•" not in " ".join(lines)  # bullets are drawn, not characters


# --- Metadata, tags, pages ----------------------------------------------------------------


def test_metadata_tags_and_page_furniture() -> None:
    coordinator = make_user()
    letter = demo_letter(coordinator)
    drafting_organisation(letter, "Coalition for the International Criminal Court")
    drafting_organisation(letter, "Parliamentarians for Global Action")
    data = export(letter, coordinator)
    document = reader(data)
    info = document.metadata
    assert info.title == "Joint NGO statement on cooperation"
    assert info.author == (
        "Coalition for the International Criminal Court, Parliamentarians for Global Action"
    )
    assert "Assembly of States Parties" in info.subject
    assert info.creation_date is not None
    assert abs(info.creation_date - utcnow()) < timedelta(minutes=5)
    catalog: Any = document.trailer["/Root"]
    assert catalog["/Lang"] == "en"
    assert "/StructTreeRoot" in catalog  # tagged for screen readers
    assert catalog["/MarkInfo"]["/Marked"]
    pages = document.pages
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert f"Page {number} of {len(pages)}" in text
        assert "Joint NGO statement on cooperation" in text
    assert [round(float(v)) for v in pages[0].mediabox[2:]] == [595, 842]  # A4


def test_letter_page_size() -> None:
    letter = demo_letter()
    set_export_settings(letter, layout=Layout.LETTER, page_size=PageSize.LETTER)
    page = reader(export(letter)).pages[0]
    assert [round(float(v)) for v in page.mediabox[2:]] == [612, 792]


# --- The Letter layout ---------------------------------------------------------------------


def test_letter_layout_letterhead_addressees_cc_date_and_numbered_groups() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, title="Open letter on civic space", addressee="Ignored")
    drafting_organisation(letter, "CIVICUS")
    set_export_settings(
        letter,
        addressees=["H.E. the President of the Council", "Members of the Council"],
        cc=["The High Commissioner", "The Special Rapporteur"],
        date_text="14 December 2026, Geneva",
        numbered=True,
    )
    set_list_groups(letter, grouping="country")
    sign(letter, ["Zeta Rights", "Alpha Watch"], country="Kenya")
    sign(letter, ["Beta Forum"], country="Brazil")
    sign(letter, ["Gamma Network"])
    text = text_of(export(letter, coordinator))
    assert text.index("CIVICUS") < text.index("14 December 2026, Geneva")
    assert "H.E. the President of the Council Members of the Council" in text
    assert "Cc: The High Commissioner; The Special Rapporteur" in text
    assert "Ignored" not in text
    assert text.index("Open letter on civic space") < text.index("Signatories")
    # countries in order, numbering running across the groups, no country last
    assert re.search(
        r"Brazil 1\.\s*Beta Forum Kenya 2\.\s*Alpha Watch 3\.\s*Zeta Rights "
        r"Other 4\.\s*Gamma Network",
        text,
    ), text


def test_tiers_new_signatories_individuals_and_descriptions() -> None:
    letter = make_letter(make_user(), title="Tiers")
    early = utcnow() - timedelta(days=10)
    first = sign(letter, ["Founders United"], approved_at=early)
    sign(letter, ["Early Endorser"], approved_at=early)
    sign(letter, ["Late Joiner"], approved_at=utcnow())
    sign(
        letter,
        ["Dr Ana Pérez", "Prof. Li Wei"],
        kind=SignatoryKind.INDIVIDUAL,
        approved_at=early,
        representative_title="Professor of Law, University of Nairobi",
    )
    set_list_groups(
        letter,
        grouping="tier",
        first_tier=[first[0].id],
        new_since=(utcnow() - timedelta(days=1)).date(),
        count_individuals=True,
    )
    set_export_settings(
        letter,
        show_descriptions=True,
        descriptions={str(first[0].id): "Convenor of the coalition"},
    )
    text = text_of(export(letter))
    assert re.search(
        r"Initiated by 1\.\s*Founders United Convenor of the coalition "
        r"Endorsed by 2\.\s*Early Endorser New signatories since .+? 3\.\s*Late Joiner "
        r"and 2 individuals",
        text,
    ), text
    assert "Ana Pérez" in text  # on the audit page only
    listed = text[: text.index("Audit record")]
    assert "Ana Pérez" not in listed


def test_individuals_listed_with_title_and_affiliation() -> None:
    letter = make_letter(make_user(), title="People")
    sign(
        letter,
        ["Dr Ana Pérez"],
        kind=SignatoryKind.INDIVIDUAL,
        representative_title="Professor of Law, University of Nairobi",
    )
    set_export_settings(letter)
    assert "1. Dr Ana Pérez, Professor of Law, University of Nairobi" in text_of(export(letter))


def test_individual_signatories_are_printed_apart_after_the_organisations() -> None:
    """The Letter layout."""
    letter = make_letter(make_user(), title="People and groups")
    sign(letter, ["Zeta Network"], country="Chile")
    sign_individuals(letter, ["Ana Pérez"])
    sign(letter, ["Alpha Coalition"], country="Peru")
    set_export_settings(letter, layout=Layout.LETTER)
    text = text_of(export(letter))
    places = [
        text.index(part)
        for part in (
            "Signatories",
            "Alpha Coalition",
            "Zeta Network",
            "Individual signatories",
            "Ana Pérez, Professor of Law, University of Nairobi (for identification only)",
        )
    ]
    assert places == sorted(places)


def people_and_groups(organisations: int, individuals: int) -> Any:
    letter = make_letter(make_user(), title="People and groups")
    sign(letter, [f"Org {i:03d} Network" for i in range(organisations)], country="Chile")
    sign_individuals(letter, [f"Ana Person{i:03d}" for i in range(individuals)])
    set_export_settings(letter, layout=Layout.STATEMENT, audit_page=True)
    return letter


@pytest.mark.parametrize("mode", ["single", "composed"])
def test_the_statement_layout_prints_individuals_after_on_behalf_of(
    mode: str, request: pytest.FixtureRequest
) -> None:
    """Not inside “On behalf of:” (one does not sign on behalf of a person): under their
    own heading after the organisations, with title and affiliation as the Letter layout
    prints them; the audit rows keep the printed order (organisations, then people)."""
    if mode == "composed":
        request.getfixturevalue("composed")
    size = 3 if mode == "single" else 30
    letter = people_and_groups(size, size)
    data = export(letter)
    text = body_text_of(data)
    listed = text[: text.index("Audit record")]
    on_behalf = listed[listed.index("On behalf of:") : listed.index("Individual signatories")]
    assert f"Org {size - 1:03d} Network" in on_behalf
    assert f"; and Org {size - 1:03d} Network" in on_behalf
    assert "Person" not in on_behalf
    after = listed[listed.index("Individual signatories") :]
    details = "Professor of Law, University of Nairobi (for identification only)"
    for i in range(size):
        assert f"Ana Person{i:03d}, {details}" in after
    assert "Org" not in after.split("Ana Person000")[1]
    assert listed.count("Individual signatories") == 1
    printed = pdf_operations.records_of(letter)[0].signature_ids  # the list hash's order
    kinds = [db.session.get(Signature, i).kind for i in printed]
    assert kinds == [SignatoryKind.NGO] * size + [SignatoryKind.INDIVIDUAL] * size
    catalog: Any = reader(data).trailer["/Root"]
    tagged = "/StructTreeRoot" in catalog
    assert tagged == (mode == "single")  # the composed mode is not tagged


def test_statement_chunks_cut_across_organisations_and_individuals() -> None:
    """The chunks of a long Statement list (the composed mode, reused by content): the
    individuals' heading once, where they begin; their details are part of each chunk's
    key, so a changed affiliation lays out that chunk again."""
    letter = people_and_groups(5, 4)
    doc = pdf_operations.build_content(
        pdf_operations.prepare(letter), exported_at=utcnow(), exported_by="test"
    )
    contexts = pdf.statement_chunks(doc, [3, 3, 3])
    shape = [(len(c["items"]), [(g.heading, len(g.entries)) for g in c["parts"]]) for c in contexts]
    assert shape == [(3, []), (2, [("Individual signatories", 1)]), (0, [(None, 3)])]
    keys = pdf.list_keys(doc)
    assert len(keys) == 9 and "University of Nairobi" in keys[-1]
    assert not any("Person" in item for item in doc.statement_items)


def test_a_statement_preview_counts_what_it_leaves_out_at_the_end() -> None:
    letter = people_and_groups(3, 3)
    prepared = pdf_operations.prepare(letter)

    def preview(limit: int) -> pdf.PdfContent:
        return pdf_operations.build_content(
            prepared, exported_at=utcnow(), exported_by="test", limit=limit
        )

    doc = preview(4)
    assert len(doc.statement_items) == 3
    assert [(g.heading, len(g.entries), g.summary) for g in doc.statement_individuals] == [
        ("Individual signatories", 1, None),
        (None, 0, "… 2 more in the export"),
    ]
    doc = preview(2)
    assert doc.statement_items[-1] == "… 4 more in the export"
    assert doc.statement_individuals == ()


def test_a_statement_with_individuals_only_and_counted_individuals() -> None:
    letter = people_and_groups(0, 2)
    text = text_of(export(letter))
    assert "Ana Person001" in text[: text.index("Audit record")]
    assert "No signatory's approval covers this text yet." not in text
    letter = people_and_groups(2, 2)
    set_list_groups(letter, grouping="none", count_individuals=True)
    listed = text_of(export(letter))
    listed = listed[: listed.index("Audit record")]
    assert "and 2 individuals" in listed and "Ana Person" not in listed
    assert listed.index("Org 001 Network") < listed.index("and 2 individuals")


# --- The audit page -----------------------------------------------------------------------


def test_audit_page_states_the_hashes_and_each_approval() -> None:
    letter = demo_letter()
    set_export_settings(letter, layout=Layout.STATEMENT, audit_page=True)
    data = export(letter)
    record = pdf_operations.records_of(letter)[0]
    head = letter.head()
    text = text_of(data)
    audit = text[text.index("Audit record") :]
    assert head.content_sha256 in audit
    assert record.signatures_sha256 in audit
    assert "Signatories listed 11" in audit
    chain = pdf_operations.chain_head(letter)
    # the head printed is the one before the export's own events
    assert re.search(r"Audit chain head \(latest event of this letter\) [0-9a-f]{64}", audit)
    assert chain not in audit  # the export added events since
    assert re.search(r"1 r1 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d Al-Haq", audit)
    assert re.search(r"11 r1 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d REDRESS", audit)


def test_the_list_hash_is_defined_as_documented() -> None:
    letter = demo_letter()
    export(letter)
    record = pdf_operations.records_of(letter)[0]
    prepared = pdf_operations.prepare(letter)
    head = letter.head()
    entries = [[i, s.name, 1, head.content_sha256] for i, s in enumerate(prepared.printed, 1)]
    payload = json.dumps(entries, ensure_ascii=False, separators=(",", ":")).encode()
    import hashlib

    assert record.signatures_sha256 == hashlib.sha256(payload).hexdigest()
    assert record.signature_ids == [s.id for s in prepared.printed]


def test_no_audit_page_when_switched_off() -> None:
    letter = demo_letter()
    set_export_settings(letter, layout=Layout.STATEMENT, audit_page=False)
    assert "Audit record" not in text_of(export(letter))


def test_the_audit_page_is_off_by_default_its_hashes_kept_in_the_record_and_pdfa() -> None:
    letter = demo_letter()  # no settings saved: the defaults
    assert pdf_operations.settings_for(letter).audit_page is False
    text = text_of(export(letter))
    assert "Audit record" not in text and "SHA-256" not in text
    record = pdf_operations.records_of(letter)[0]
    assert record.signatures_sha256 and record.revision_sha256 == letter.head().content_sha256
    set_export_settings(letter, layout=Layout.STATEMENT, audit_page=False, variant="pdfa3")
    data = export(letter)
    assert "Audit record" not in text_of(data)
    approvals = json.loads(reader(data).attachments["approval-record.json"][0])
    assert approvals["signatures_sha256"] == pdf_operations.records_of(letter)[0].signatures_sha256
    assert len(approvals["approvals"]) == 11


@pytest.mark.parametrize("mode", ["single", "composed"])
@pytest.mark.parametrize("title_first", [True, False])
def test_the_statement_puts_title_and_addressee_first_unless_chosen_otherwise(
    mode: str, title_first: bool, request: pytest.FixtureRequest
) -> None:
    if mode == "composed":
        request.getfixturevalue("composed")
    letter = make_letter(
        make_user(), title="Joint statement", addressee="The Assembly", body="Text of it."
    )
    sign(letter, [f"Société {i:02d}" for i in range(30 if mode == "composed" else 3)])
    set_export_settings(
        letter, layout=Layout.STATEMENT, audit_page=False, statement_title_first=title_first
    )
    text = body_text_of(export(letter))
    addressee, on_behalf = text.index("The Assembly"), text.index("On behalf of:")
    assert (addressee < on_behalf) is title_first
    assert text.index("Société 00") < text.index("Text of it.")
    assert text.count("The Assembly") == 1


@pytest.mark.usefixtures("composed")
@pytest.mark.parametrize("heading_fits", [True, False])
def test_a_long_statements_title_is_set_above_its_list_not_alone_on_a_page(
    heading_fits: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long list (composed) sets the title and addressee in the band above the first
    columns, as the single render does: a first page holding only the title is not what a
    coalition publishes. A heading taller than half a page keeps a page of its own."""
    if not heading_fits:
        monkeypatch.setattr(pdf, "BAND_MAX_SHARE", 0.05)
    letter = make_letter(
        make_user(), title="Joint statement", addressee="The Assembly", body="Text of it."
    )
    sign(letter, [f"Société {i:02d}" for i in range(30)])
    set_export_settings(letter, layout=Layout.STATEMENT, audit_page=False)
    data = export(letter)
    pages = [flat(page.extract_text()) for page in reader(data).pages]
    first = pages[0]
    if heading_fits:
        assert first.index("The Assembly") < first.index("On behalf of:")
        assert first.index("On behalf of:") < first.index("Société 00")
        assert len(pages) == 2  # the list's columns, then the text
    else:
        assert "The Assembly" in first and "On behalf of:" not in first
        assert pages[1].index("On behalf of:") < pages[1].index("Société 00")
        assert len(pages) == 3
    text = body_text_of(data)
    assert text.count("The Assembly") == 1 and text.count("On behalf of:") == 1


@pytest.mark.parametrize("layout", [Layout.STATEMENT, Layout.LETTER])
def test_a_right_to_left_individuals_title_and_affiliation_keep_their_order(
    layout: Layout,
) -> None:
    """On the left-to-right line, name, title and affiliation in Arabic each stand apart
    (isolated), in that order: run together, the title and affiliation swapped places."""
    letter = make_letter(make_user(), title="Letter", addressee="The Council")
    sign(
        letter,
        ["ليلى بن علي"],
        kind=SignatoryKind.INDIVIDUAL,
        representative_title="محامية",
        affiliation="جامعة القاهرة",
    )
    set_export_settings(letter, layout=layout, audit_page=False)
    data = export(letter)
    line = next(
        line for line in text_of_lines(data) if "ليلى بن علي" in line
    )  # pypdf gives each right-to-left run in reading order, the runs in visual order
    assert line.index("ليلى بن علي") < line.index("محامية") < line.index("جامعة القاهرة")
    assert "identification only" in text_of(data)
    from docx import Document

    # Word lays the entry out itself: the same words, without the isolates
    document = Document(io.BytesIO(pdf_operations.word_file(letter, None)))
    texts = [p.text for p in document.paragraphs]
    assert any(
        t.endswith("ليلى بن علي, محامية, جامعة القاهرة (for identification only)") for t in texts
    )
    assert not any("\u2068" in t or "\u2069" in t for t in texts)


@pytest.mark.parametrize("layout", [Layout.STATEMENT, Layout.LETTER])
def test_representatives_are_printed_when_asked(layout: Layout) -> None:
    letter = make_letter(make_user(), title="Letter", addressee="The Council")
    sign(
        letter,
        ["Amnesty International"],
        representative_name="Agnès Callamard",
        representative_title="Secretary General",
    )
    sign(letter, ["No Peace Without Justice"])  # no representative given
    sign(letter, ["Jane Roe"], kind=SignatoryKind.INDIVIDUAL, representative_title="Lawyer")
    set_export_settings(letter, layout=layout, audit_page=False)
    assert "Callamard" not in text_of(export(letter))
    pdf_operations.settings_for(letter).options = {"representatives": True}
    text = text_of(export(letter))
    if layout == Layout.STATEMENT:
        assert "Amnesty International (Agnès Callamard, Secretary General);" in text
    else:
        assert "Amnesty International Agnès Callamard, Secretary General" in text
    assert "No Peace Without Justice" in text and "No Peace Without Justice (" not in text
    assert "Jane Roe" in text and "Jane Roe (" not in text  # individuals have no representative


# --- Every script, with fonts embedded ------------------------------------------------------


@pytest.mark.parametrize("mode", ["single", "composed"])
def test_every_character_of_every_name_is_in_an_embedded_font(
    mode: str, request: pytest.FixtureRequest
) -> None:
    if mode == "composed":
        request.getfixturevalue("composed")
    letter = make_letter(make_user(), title="Scripts")
    names = [*SCRIPT_SAMPLES, "Zoë Ångström-Ørsted", "Čeština Ľudské Práva ŐŰ"]
    if mode == "composed":
        names += [f"Filler {i}" for i in range(30)]
    sign(letter, names)
    set_export_settings(letter)
    data = export(letter)
    embedded = embedded_font_codepoints(data)
    assert embedded, "no embedded font found"
    assert all(embedded.values()), "a font is referenced but not embedded"
    missing = missing_from("".join(names), embedded.values())
    assert missing == set(), f"not in any embedded font: {sorted(missing)}"
    text = text_of(data)
    for name in SCRIPT_SAMPLES[:2]:
        assert flat(name) in text


# --- PDF/A-3 with attachments -----------------------------------------------------------------


def test_pdfa3_embeds_the_list_as_csv_and_the_approval_record_as_json() -> None:
    letter = demo_letter()
    set_export_settings(letter, layout=Layout.STATEMENT, variant="pdfa3")
    data = export(letter)
    document = reader(data)
    attachments = document.attachments
    assert set(attachments) == {"signatories.csv", "approval-record.json"}
    rows = list(csv.DictReader(io.StringIO(attachments["signatories.csv"][0].decode("utf-8"))))
    assert [r["name"] for r in rows][:2] == ["Al-Haq", "Amnesty International"]
    assert rows[7]["name"] == "the Moroccan Coalition for the ICC"
    record = json.loads(attachments["approval-record.json"][0])
    export_record = pdf_operations.records_of(letter)[0]
    assert record["signatures_sha256"] == export_record.signatures_sha256
    assert record["revision"]["sha256"] == letter.head().content_sha256
    assert len(record["approvals"]) == 11
    catalog: Any = document.trailer["/Root"]
    assert "/Metadata" in catalog  # XMP
    xmp = catalog["/Metadata"].get_object().get_data()
    assert b"pdfaid:part" in xmp and b"3" in xmp
    assert catalog["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    assert "On behalf of: " + DEMO_NAMES in text_of(data)


# --- Long lists: the composed mode --------------------------------------------------------------


@pytest.mark.usefixtures("composed")
def test_a_long_letter_is_composed_in_columns_with_every_name_in_order() -> None:
    letter = make_letter(make_user(), title="Long letter", addressee="The Council")
    names = [f"Organisation {i:03d}" for i in range(1, 121)]
    sign(letter, names)
    set_export_settings(letter, numbered=True, columns=2)
    result = pdf_operations.export_pdf(letter, None, actor_label="test")
    record = result.record
    data = pdf_operations.stored_pdf(record)
    document = reader(data)
    text = text_of(data)
    found = [int(n) for n in re.findall(r"\d+\.\s*Organisation (\d{3})", text)]
    assert found == list(range(1, 121))
    pages = document.pages
    assert record.page_count == len(pages)
    for number, page in enumerate(pages, start=1):
        page_text = page.extract_text()
        assert f"Page {number} of {len(pages)}" in page_text
        assert "Long letter" in page_text
    assert document.metadata.title == "Long letter"
    root: Any = document.trailer["/Root"]
    assert root["/Lang"] == "en"
    # the first list page places the heading, then two column pages, left and right
    contents: Any = pages[1]["/Contents"]
    placements = re.findall(
        rb"1 0 0 1 ([\d.]+) ([\d.]+) cm /P(\d) Do", contents.get_object().get_data()
    )
    assert [p[2] for p in placements] == [b"0", b"1", b"2"]
    band, left, right = ((float(x), float(y)) for x, y, _ in placements)
    assert band[0] == left[0] < 100 < 250 < right[0]
    assert band[1] > left[1] == right[1]
    assert "Signatories" in pages[1].extract_text()
    # the audit rows (compact, without names): one per signatory
    assert len(re.findall(r"\b\d{1,3} r1 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", text)) == 120


@pytest.mark.usefixtures("composed")
def test_a_long_statement_lists_every_name_before_the_text() -> None:
    letter = make_letter(make_user(), title="Long statement", body="The text of the statement.")
    names = [f"Société {i:02d}" for i in range(60)]
    sign(letter, names)
    set_export_settings(letter, layout=Layout.STATEMENT, audit_page=False)
    text = body_text_of(export(letter))
    ordered = [flat(n) for n in pdf_operations.prepare(letter).signatories.names]
    joined = "; ".join(ordered[:-1]) + "; and " + ordered[-1]
    assert "On behalf of:" in text
    assert joined in text
    assert text.index(joined) < text.index("The text of the statement.")


def test_chunks_keep_group_headings_once_and_summaries_last() -> None:
    groups = [
        pdf.Group("A", tuple(pdf.Entry(i, f"a{i}") for i in range(1, 6))),
        pdf.Group("B", tuple(pdf.Entry(i, f"b{i}") for i in range(6, 9)), "and 2 individuals"),
        pdf.Group(None, (), "… 4 more"),
    ]
    chunks = pdf._chunk_groups(groups, [4, 4])
    assert [[(g.heading, len(g.entries), g.summary) for g in c] for c in chunks] == [
        [("A", 4, None)],
        [(None, 1, None), ("B", 3, "and 2 individuals"), (None, 0, "… 4 more")],
    ]


def test_chunk_sizes_and_modes() -> None:
    assert pdf.chunk_sizes(5000, 2) == [1250, 1250, 1250, 1250]
    assert sum(pdf.chunk_sizes(1001, 2)) == 1001
    assert pdf.chunk_sizes(500, 2) == [500]
    assert pdf.plan_mode(11, tagged_always=False, variant=None) == "single"
    assert pdf.plan_mode(5000, tagged_always=False, variant=None) == "composed"
    assert pdf.plan_mode(5000, tagged_always=True, variant=None) == "single"
    assert pdf.plan_mode(5000, tagged_always=False, variant="pdf/a-3b") == "single"


def test_css_strings_cannot_be_broken_out_of() -> None:
    value = pdf.css_string('a"b\\c}</style><script>')
    assert value.startswith('"') and value.endswith('"')
    assert '"' not in value[1:-1] and "<" not in value and "}" not in value
    assert pdf.page_number_css("Page {n} of {total}") == (
        '"Page " counter(page) " of " counter(pages)'
    )


# --- Bad input -------------------------------------------------------------------------------


def test_no_eligible_signatories_is_a_clear_refusal() -> None:
    letter = make_letter(make_user(), title="Nobody yet")
    sign(letter, ["Approved the old text"])
    add_revision(letter, None, "A substantive change.")
    with pytest.raises(pdf_operations.ExportError, match="No signatory's approval covers"):
        pdf_operations.export_pdf(letter, None, actor_label="test")
    assert pdf_operations.records_of(letter) == []
    preview = pdf_operations.preview_pdf(pdf_operations.prepare(letter))
    assert "No signatory's approval covers this text yet." in text_of(preview)


def test_hostile_names_and_a_huge_paragraph_render() -> None:
    words = " ".join(f"word{i}" for i in range(10_000))
    letter = make_letter(make_user(), title="Stress", body=words)
    long_name = "Coalition " + "pour la défense des droits " * 19
    assert len(long_name) > 500
    unbroken = "X" * 300
    sign(letter, [long_name[:300], unbroken, "😀🕊", "\x01\x02\x07", "Normal NGO"])
    set_export_settings(letter)
    prepared = pdf_operations.prepare(letter)
    assert any("nothing printable" in w for w in prepared.warnings)
    data = export(letter)
    text = text_of(data)
    assert "word0 word1" in text and "word9999" in text
    assert "Normal NGO" in text
    assert "(name not printable)" in text
    assert "\x07" not in text
    assert len(reader(data).pages) > 10


def test_a_character_no_font_has_is_named_before_exporting() -> None:
    letter = make_letter(make_user(), title="Emoji")
    sign(letter, ["Party 🎉 Collective"])
    warnings = pdf_operations.prepare(letter).warnings
    assert any("no installed font can draw (🎉)" in w for w in warnings), warnings


def test_missing_and_corrupt_logos_are_left_out_with_a_warning(tmp_path) -> None:
    from pathlib import Path

    logos = Path(pdf_operations.storage_dir()) / "logos"
    logos.mkdir(parents=True, exist_ok=True)
    corrupt = "c" * 32 + ".png"
    (logos / corrupt).write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    good = "d" * 32 + ".png"
    from PIL import Image

    Image.new("RGB", (40, 20), (200, 30, 30)).save(logos / good)
    letter = make_letter(make_user(), title="Logos")
    sign(letter, ["Missing Logo NGO"])[0].logo_filename = "e" * 32 + ".png"
    sign(letter, ["Corrupt Logo NGO"])[0].logo_filename = corrupt
    sign(letter, ["Good Logo NGO"])[0].logo_filename = good
    set_export_settings(letter, logo_grid=True)
    prepared = pdf_operations.prepare(letter)
    assert sum("missing or unreadable" in w for w in prepared.warnings) == 2
    data = export(letter)
    images = {img.data for page in reader(data).pages for img in page.images}
    assert len(images) == 1
    assert "Good Logo NGO" in text_of(data)
