"""The rendering workers keep what every render needs (issue 11 item 7): one font
configuration per process, the subsetter's array type parsed once, the export's queries
compiled at warm-up. The PDF stays the same, and nothing is left behind in the temporary
folder."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select

from signon.core.transaction import commit
from signon.exports.models import ExportRecord
from signon.exports.pdf import operations as pdf_operations
from signon.exports.pdf import render as pdf
from signon.exports.pdf.fetcher import static_url
from signon.extensions import db
from signon.letters.models import Letter
from tests.factories import make_letter

pytestmark = pytest.mark.usefixtures("app_context")


def document(text: str) -> str:
    """Body text in the letter's fonts, the shipped ones and a monospaced one."""
    sheets = "".join(
        f'<link rel="stylesheet" href="{static_url(f"css/pdf/{sheet}")}">'
        for sheet in ("fonts.css", "base.css")
    )
    return (
        f"<!doctype html><html lang=en><head>{sheets}</head><body><h1>{text}</h1>"
        f"<p>{text} <b>bold</b> <i>italic</i> <code>r1 2026-12-04</code></p></body></html>"
    )


def test_renders_sharing_one_font_configuration_make_the_same_pdf(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a render makes with the process's font configuration, after other documents,
    is byte for byte what it makes with a configuration of its own (WeasyPrint's default)."""
    from weasyprint.text.fonts import FontConfiguration

    folders = pdf_operations.folders()
    first = document("Société Общество Ελληνική مؤسسة בצלם 12345")
    other = document("Joint NGO statement on cooperation, 2017")
    shared = [pdf._render_html(html, folders, tagged=True)[0] for html in (first, other, first)]
    monkeypatch.setattr(pdf, "_font_config", FontConfiguration)  # a new one per document
    own = [pdf._render_html(html, folders, tagged=True)[0] for html in (first, other)]
    assert shared == [own[0], own[1], own[0]]


def test_the_subsetters_arrays_are_the_same_whatever_their_length() -> None:
    from weasyprint.pdf import fonts as pdf_fonts
    from weasyprint.text.ffi import ffi

    pdf._font_config()
    patched = pdf_fonts.ffi
    assert isinstance(patched, pdf._OneArrayType)
    patched.new("hb_codepoint_t[2]", [7, 9])  # the one array type, parsed now if not yet
    item_size = ffi.sizeof("hb_codepoint_t")
    parsed = len(ffi._parsed_types)
    for length in (1, 333, 4097):
        items = list(range(5, 5 + length))
        array = patched.new(f"hb_codepoint_t[{length}]", items)
        assert list(array) == items
        assert ffi.sizeof(array) == item_size * length
    assert len(ffi._parsed_types) == parsed  # no new C type parsed
    assert patched.new("unsigned int *", 5)[0] == 5  # everything else as cffi does it
    assert patched.NULL == ffi.NULL


def test_fonts_folders_of_processes_that_ended_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = tmp_path / f"{pdf.FONT_FOLDER_PREFIX}{int(ended.stdout)}-abc"
    alive = tmp_path / f"{pdf.FONT_FOLDER_PREFIX}{os.getpid()}-def"
    unrelated = tmp_path / f"{pdf.FONT_FOLDER_PREFIX}x-ghi"
    for folder in (dead, alive, unrelated):
        folder.mkdir()
        (folder / "font").write_bytes(b"font")
    pdf._remove_stale_font_folders()
    assert not dead.exists()
    assert alive.exists() and unrelated.exists()


def test_the_fonts_folders_of_terminated_workers_are_removed_by_the_next_ones() -> None:
    folders = pdf_operations.folders()
    temp = Path(tempfile.gettempdir())

    def warm_workers() -> set[int]:
        pdf.warm_up(folders, wait=True)
        return {process.pid for process in getattr(pdf._get_pool(folders), "_pool", [])}

    def folders_of(pids: set[int]) -> list[Path]:
        return [f for pid in pids for f in temp.glob(f"{pdf.FONT_FOLDER_PREFIX}{pid}-*")]

    pdf._kill_pool()
    first = warm_workers()
    assert len(folders_of(first)) == len(first) == pdf.worker_count()  # one copy each
    pdf._kill_pool()  # terminated: no time to clean up
    second = warm_workers()
    assert folders_of(first) == []
    assert len(folders_of(second)) == len(second)


def test_warm_up_compiles_the_export_queries_and_writes_nothing() -> None:
    letter = make_letter()
    db.session.flush()
    pdf_operations._compile_export_queries()  # within a transaction: left alone
    assert db.session().in_transaction() and letter in db.session
    commit()
    pdf_operations._compile_export_queries()
    assert not db.session().in_transaction()
    assert db.session.scalar(select(ExportRecord).where(ExportRecord.letter_id == 0)) is None
    assert db.session.get(Letter, 0) is None
    assert db.session.get(Letter, letter.id) is not None


def test_at_exit_the_fonts_folder_goes_and_weasyprint_has_nothing_left_to_remove() -> None:
    """Left to interpreter shutdown, WeasyPrint's ``FontConfiguration.__del__`` found its
    ``rmtree`` already gone and printed "Exception ignored ... TypeError" at the end of
    every process that had rendered (the test run's last lines)."""
    config = pdf._font_config()
    folder = Path(config._folder)
    assert folder.is_dir()
    pdf._drop_font_config()  # what atexit runs
    assert not folder.exists() and config._folder is None  # __del__ will skip its rmtree
    assert pdf._font_config() is not config  # a later render makes a new one


def _niceness() -> int:
    return os.nice(0)


def test_the_rendering_processes_run_below_the_web_requests_priority() -> None:
    """Laying out PDFs is batch work: on a host that also serves requests, the pool's
    processes yield the CPU (nice 10) so that a burst of sign-ons does not queue behind a
    pre-render; the process that asks for the render keeps its own priority."""
    own = os.nice(0)
    pdf.warm_up(pdf_operations.folders(), wait=True)
    pool = pdf._get_pool(pdf_operations.folders())
    seen = {pool.apply_async(_niceness).get(timeout=30) for _ in range(pdf.worker_count() * 2)}
    assert seen == {min(19, own + pdf.RENDER_NICENESS)}
    assert os.nice(0) == own
