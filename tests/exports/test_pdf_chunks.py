"""Long lists rendered in chunks kept by their content (signon/exports/pdf/chunks.py):
the same names in the same order as the one-pass render, right page numbers, and one
added signature lays out only the chunk it lands in (the others are reused, their
numbers patched), with pages identical to a fresh render."""

from __future__ import annotations

import io
import os
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from signon.audit.models import AuditEvent
from signon.core import jobs
from signon.core.storage import LocalStorage, storage
from signon.exports.pdf import chunks
from signon.exports.pdf import operations as pdf_operations
from signon.exports.pdf import render as pdf
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus
from tests.exports.factories import set_export_settings, sign
from tests.factories import make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")

EXPORTED_AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The composed mode from 20 names on, in content-defined chunks of 10 to 40."""
    monkeypatch.setattr(pdf, "SINGLE_MAX", 20)
    monkeypatch.setattr(pdf_operations, "INLINE_MAX", 10_000)
    monkeypatch.setattr(chunks, "AVERAGE", 12)
    monkeypatch.setattr(chunks, "MINIMUM", 10)
    monkeypatch.setattr(chunks, "MAXIMUM", 40)
    monkeypatch.setattr(chunks, "AUDIT_SPAN", 2)


def organisation_names(count: int, seed: int = 11) -> list[str]:
    rnd = random.Random(seed)
    words = ["Société", "Human", "Rights", "Centre", "Observatório", "Justice", "Łódź", "Peace"]
    return [f"{' '.join(rnd.choices(words, k=rnd.randint(1, 5)))} {i:03d}" for i in range(count)]


def numbered_names(data: bytes) -> list[tuple[int, str]]:
    """(number, name) of every printed entry, in reading order."""
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return [(int(n), name) for n, name in re.findall(r"(\d+)\.\s*(\D+?\d{3})\b", text)]


def render(letter: Letter, store: chunks.Store | None) -> pdf.Rendered:
    prepared = pdf_operations.prepare(letter)
    content = pdf_operations.build_content(prepared, exported_at=EXPORTED_AT, exported_by="t")
    return pdf.render(content, pdf_operations.folders(), store=store)


def long_letter(count: int) -> Letter:
    letter = make_letter(make_user(), title="Chunked letter", addressee="The Council")
    sign(letter, organisation_names(count))
    set_export_settings(letter, numbered=True, columns=2)
    return letter


def test_content_defined_boundaries_move_for_one_insertion_only() -> None:
    keys = [f"organisation {i}" for i in range(5000)]
    before = chunks.content_sizes(keys, average=64, minimum=16, maximum=256)
    assert sum(before) == 5000 and min(before[:-1]) >= 16 and max(before) <= 256
    for position in (0, 1234, 4999):
        after = chunks.content_sizes(
            [*keys[:position], "a new organisation", *keys[position:]],
            average=64,
            minimum=16,
            maximum=256,
        )

        def spans(sizes: list[int], names: list[str]) -> set[tuple[str, ...]]:
            out, start = set(), 0
            for size in sizes:
                out.add(tuple(names[start : start + size]))
                start += size
            return out

        changed = spans(before, keys) ^ spans(
            after, [*keys[:position], "a new organisation", *keys[position:]]
        )
        assert len(changed) <= 4  # at most two chunks before, two after


@pytest.mark.usefixtures("small_chunks")
def test_a_chunked_export_lists_the_names_of_the_one_pass_render(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    letter = long_letter(150)
    chunked = render(letter, chunks.StoredPieces(LocalStorage(tmp_path)))
    assert chunked.mode == "composed" and chunked.laid_out > 4
    monkeypatch.setattr(pdf, "SINGLE_MAX", 10_000)
    one_pass = render(letter, None)
    assert one_pass.mode == "single"
    expected = numbered_names(one_pass.pdf)
    assert [n for n, _ in expected] == list(range(1, 151))
    assert numbered_names(chunked.pdf) == expected
    pages = PdfReader(io.BytesIO(chunked.pdf)).pages
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page.extract_text()


@pytest.mark.usefixtures("small_chunks")
def test_one_more_signature_lays_out_only_its_chunk_and_renumbers_the_rest(
    tmp_path: Path,
) -> None:
    letter = long_letter(150)
    store = chunks.StoredPieces(LocalStorage(tmp_path / "kept"))
    first = render(letter, store)
    assert first.reused == first.renumbered == 0
    again = render(letter, store)
    # only the audit summary is laid out again: it names the export's time, so it is not kept
    assert again.laid_out == 1 and again.renumbered == 0 and again.reused == first.laid_out - 1
    assert again.pdf == first.pdf

    sign(letter, ["Aardvark Alliance 999"])  # sorts first: every later number moves
    added = render(letter, store)
    # the chunk the name lands in, the audit rows' chunk around it and the audit summary
    # are laid out again (and the page furniture if the page count changed); every other
    # chunk is reused with its numbers patched
    pieces = added.laid_out + added.reused + added.renumbered
    assert added.renumbered >= 5
    assert added.laid_out <= 3 + 2
    assert added.laid_out + added.renumbered < pieces
    fresh = render(letter, chunks.StoredPieces(LocalStorage(tmp_path / "fresh")))
    assert fresh.laid_out == pieces and fresh.renumbered == 0
    entries = numbered_names(added.pdf)
    assert entries == numbered_names(fresh.pdf)
    assert [n for n, _ in entries] == list(range(1, 152))
    assert entries[0][1] == "Aardvark Alliance 999"
    # the renumbered pages are the pages a fresh layout gives, pixel for pixel
    assert added.page_count == fresh.page_count
    for page in range(2, added.page_count + 1):
        assert pdf.rasterise(added.pdf, page, dpi=50) == pdf.rasterise(fresh.pdf, page, dpi=50)


def test_a_piece_that_cannot_be_renumbered_exactly_is_refused(tmp_path: Path) -> None:
    """A number of another length, or numbers that are not the stored ones: ``None``."""
    from signon.exports.pdf.fetcher import static_url

    html = (
        f'<html><head><link rel="stylesheet" href="{static_url("css/pdf/fonts.css")}">'
        "</head><body>"
        + "".join(f'<p class="entry">{n}.&#8194;Name {n}</p>' for n in range(90, 101))
        + "</body></html>"
    )
    data, _, _ = pdf._render_html(html, pdf_operations.folders(), tagged=False)
    old = [str(n) for n in range(90, 101)]
    assert chunks.renumber(data, "entries", old, [str(n) for n in range(91, 102)]) is None
    assert chunks.renumber(data, "entries", ["1", *old[1:]], old) is None
    moved = chunks.renumber(data, "entries", old, [*old[:9], "91", "101"])
    assert moved is not None
    text = PdfReader(io.BytesIO(moved)).pages[0].extract_text()
    assert "91.\u2002Name 99" in text and "101.\u2002Name 100" in text


def test_the_pieces_of_an_export_are_kept_in_the_store(tmp_path: Path) -> None:
    store = chunks.StoredPieces(LocalStorage(tmp_path))
    key = "ab" * 32
    assert store.get(key) is None
    store.put(key, chunks.pack(b"%PDF-1.7 x", ["1", "2"], 3))
    assert chunks.unpack(store.get(key) or b"") == (b"%PDF-1.7 x", ("1", "2"), 3)
    assert chunks.unpack(b"garbage") is None
    with pytest.raises(ValueError):
        store.put("../escape", b"")


@pytest.mark.usefixtures("small_chunks")
def test_an_export_after_the_background_prerender_assembles_finished_pieces(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = chunks.StoredPieces(LocalStorage(tmp_path))
    monkeypatch.setattr(pdf_operations, "chunk_store", lambda: store)
    letter = long_letter(150)
    prerendered = pdf_operations.prerender(letter)
    assert prerendered is not None and prerendered.laid_out > 4
    sign(letter, ["Mid-list Network 500"])
    again = pdf_operations.prerender(letter)
    assert again is not None and again.renumbered >= 1 and again.laid_out <= 5

    result = pdf_operations.export_pdf(letter, None, actor_label="test", background=False)
    finished = db.session.scalar(
        select(AuditEvent.details)
        .where(AuditEvent.letter_id == letter.id, AuditEvent.action == "export.finished")
        .order_by(AuditEvent.id.desc())
    )
    assert finished is not None
    # only the audit summary, which names the export's time, is laid out
    assert finished["pieces_laid_out"] == 1
    assert finished["pieces_renumbered"] == 0
    entries = numbered_names(pdf_operations.stored_pdf(result.record))
    assert [n for n, _ in entries] == list(range(1, 152))
    assert "Mid-list Network 500" in [name for _, name in entries]


def test_no_prerender_for_a_short_list() -> None:
    letter = long_letter(5)
    assert pdf_operations.prerender(letter) is None


@pytest.mark.usefixtures("small_chunks")
def test_the_scheduler_prerenders_open_letters_whose_list_changed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = chunks.StoredPieces(LocalStorage(tmp_path))
    monkeypatch.setattr(pdf_operations, "chunk_store", lambda: store)
    letter = long_letter(150)
    short = long_letter(5)
    drafting = long_letter(30)
    letter.status = short.status = LetterStatus.OPEN
    db.session.flush()
    assert pdf_operations.letters_to_prerender() == [letter]

    pdf_operations.run_prerender(jobs.RunningJob(0, 1), for_letter=letter.id)
    assert any(tmp_path.rglob("*.piece"))
    assert pdf_operations.letters_to_prerender() == []
    sign(letter, ["Late Coalition 777"])
    assert pdf_operations.letters_to_prerender() == [letter]
    assert drafting.status != LetterStatus.OPEN


def test_pieces_not_written_for_a_week_are_pruned() -> None:
    kept = chunks.StoredPieces(storage())
    old_key, new_key = "0a" * 32, "0b" * 32
    kept.put(old_key, chunks.pack(b"%PDF-1.7 old", [], 1))
    kept.put(new_key, chunks.pack(b"%PDF-1.7 new", [], 1))
    week_ago = (datetime.now(UTC) - timedelta(days=8)).timestamp()
    os.utime(
        Path(pdf_operations.storage_dir()) / "chunks" / "0a" / f"{old_key}.piece",
        (week_ago, week_ago),
    )
    removed = pdf_operations.prune_pieces()
    assert isinstance(removed, int) and removed >= 1
    assert kept.get(old_key) is None
    assert kept.get(new_key) is not None
