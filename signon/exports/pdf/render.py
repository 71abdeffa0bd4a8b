"""Rendering the signed letter as PDF: HTML from templates/pdf/, laid out by WeasyPrint
in worker processes that can be killed, and (for long lists) composed with pypdf.

Two ways to render, chosen by :func:`plan_mode` (numbers: benchmarks/README.md):

``single``
    One HTML document, one WeasyPrint render: the list in CSS columns, page numbers
    and the running title in the page margins, a tagged PDF (``pdf_tags``), and the
    PDF/A-3b variant with its attachments when asked. Used for lists up to
    :data:`SINGLE_MAX` names, and always for the PDF/A and "tag long lists" options.

``composed``
    WeasyPrint's multi-column layout costs about twice a single column, and a
    document of 5,000 names takes seconds in one process. So the list is cut into
    chunks laid out in parallel, each as *column pages* (a page exactly one column
    wide and tall, no margins); the letter's text and the audit summary are laid
    out as ordinary pages meanwhile. Then pypdf places the column pages side by side
    on real pages (each column page becomes a Form XObject: no content stream is
    parsed or rewritten). The furniture is drawn the same way: the running title,
    rendered once, on every page, and "Page n of N" from a last, light render of one
    small page per page (made while pypdf sets the pages). This PDF is not tagged
    (the structure trees of separate renders cannot be joined by pypdf); the settings
    page says so.

With a store (every export does; chunks.py), a long list is cut at content-defined
boundaries and every piece (list chunks, audit rows, front matter, furniture) is kept by
its content: an export after one more signature lays out the chunk the name lands in and
reuses the others, their numbers patched. Each chunk starts a new column, so the last
column of a chunk is often short (about one per 256 names): the reader sees the list
flow down the columns with an occasional gap at the foot of a column, numbers and page
numbers continuous; nothing else differs from a fresh render.

The worker side (:func:`_render_html`; :func:`_compose_pages` and :func:`_finish`, in
the calling process) knows nothing of Flask or the database: it gets HTML strings and
folders, and returns bytes. Every render goes to a
persistent pool of worker processes (spawned, so that nothing of the web process's
threads or connections is inherited); a render that exceeds its time limit has its
workers killed and raises :class:`RenderTimeoutError`.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import logging
import math
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import Any

from signon.core.storage import StorageConfig, open_storage
from signon.exports.pdf import chunks
from signon.exports.pdf.chunks import Numbering

log = logging.getLogger(__name__)

#: Lists longer than this are rendered in parallel chunks (the ``composed`` mode).
SINGLE_MAX = 300
#: Names per chunk in the composed mode (at least; chunks are balanced over the workers).
MIN_CHUNK = 400
#: Default time limit for one export, in seconds (app config ``SIGNON_PDF_TIMEOUT``).
DEFAULT_TIMEOUT = 60.0

MM = 72 / 25.4  # PDF points per millimetre
PAGE_SIZES_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4)}
MARGIN_TOP_MM = 22.0
MARGIN_BOTTOM_MM = 20.0
MARGIN_SIDE_MM = 20.0
COLUMN_GAP_MM = 7.0
#: Height kept free on the first page of a column segment for its heading.
BAND_MM = 16.0
#: A band holding the Statement's title and addressee too (measured: :func:`band_height`)
#: may take at most this share of the first page's content height; a taller heading gets a
#: page of its own, as before.
BAND_MAX_SHARE = 0.5


class RenderError(RuntimeError):
    """The PDF could not be made; the message is meant for the coordinator."""


class RenderTimeoutError(RenderError):
    pass


# --- Geometry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Geometry:
    """Page size and the content area, in millimetres."""

    page_size: str = "A4"
    columns: int = 2

    @property
    def width(self) -> float:
        return PAGE_SIZES_MM[self.page_size][0]

    @property
    def height(self) -> float:
        return PAGE_SIZES_MM[self.page_size][1]

    @property
    def content_width(self) -> float:
        return self.width - 2 * MARGIN_SIDE_MM

    @property
    def content_height(self) -> float:
        return self.height - MARGIN_TOP_MM - MARGIN_BOTTOM_MM

    def column_width(self, columns: int | None = None) -> float:
        n = max(1, columns or self.columns)
        return (self.content_width - (n - 1) * COLUMN_GAP_MM) / n

    def column_x(self, index: int, columns: int | None = None) -> float:
        """Left edge of column ``index`` (from 0), from the page's left edge."""
        return MARGIN_SIDE_MM + index * (self.column_width(columns) + COLUMN_GAP_MM)


# --- Jobs (plain data, sent to the workers) -----------------------------------------------


@dataclass(frozen=True)
class Attachment:
    name: str
    data: bytes
    description: str
    mime: str = "application/octet-stream"


@dataclass(frozen=True)
class Metadata:
    """For the composed mode, where pypdf writes the document information itself."""

    title: str
    authors: tuple[str, ...]
    subject: str
    language: str
    created: str  # ISO 8601, UTC


@dataclass(frozen=True)
class Segment:
    """Part of a composed document.

    ``flow``: one HTML document of ordinary pages (``html``).
    ``columns``: HTML documents of column pages (``chunks``), set ``columns`` to a
    page; the first page keeps ``band_mm`` (the job's) free at the top when ``band`` is
    true.
    """

    kind: str
    html: str = ""
    chunks: tuple[str, ...] = ()
    columns: int = 2
    band: bool = False
    #: Per chunk: its printed numbers, which a stored render may have printed otherwise
    #: (chunks.py patches them); empty when no chunk has numbers.
    numberings: tuple[Numbering | None, ...] = ()
    #: Whether its renders are worth keeping (not the audit summary: it names the time).
    keep: bool = True

    def numbering(self, index: int) -> Numbering | None:
        return self.numberings[index] if index < len(self.numberings) else None


@dataclass(frozen=True)
class SingleJob:
    html: str
    tagged: bool = True
    variant: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class ComposedJob:
    geometry: Geometry
    segments: tuple[Segment, ...]
    #: The page-number document around its pages (see :func:`furniture`).
    furniture_head: str
    furniture_tail: str
    #: The label of the page numbers, with ``{n}`` and ``{total}`` ("Page {n} of {total}").
    page_label: str
    #: The running title: one small page, drawn at the top of every page.
    title_html: str
    #: Documents of one page (content width by :attr:`band_mm`) holding the heading set
    #: above the columns on a segment's first page, by segment index.
    bands: dict[int, str]
    metadata: Metadata
    #: The bands' height: :data:`BAND_MM`, or what the Statement's title, addressee and
    #: "On behalf of:" take when they are set above the list (:func:`band_height`).
    band_mm: float = BAND_MM


@dataclass(frozen=True)
class Folders:
    static_dir: str
    #: Where logos are read (the app's storage, as plain values: workers open it).
    storage: StorageConfig


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    page_count: int
    duration_ms: int
    mode: str
    refused: tuple[str, ...] = ()
    #: Pieces laid out by WeasyPrint, taken from the store as they were, and taken from
    #: the store with their numbers patched (the composed mode with a store).
    laid_out: int = 0
    reused: int = 0
    renumbered: int = 0


@dataclass
class _Timer:
    deadline: float
    limit: float

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RenderTimeoutError(self.message)
        return left

    @property
    def message(self) -> str:
        return (
            f"Making the PDF took longer than the limit of {self.limit:g} seconds and was "
            "stopped. Try again; if it keeps happening, try fewer options (a logo grid, "
            "descriptions) or ask an administrator to raise the limit."
        )


# --- The worker pool ------------------------------------------------------------------------

_pool: Pool | None = None
_pool_lock = threading.Lock()


def worker_count() -> int:
    return max(1, min(4, os.cpu_count() or 1))


#: CPU priority of the rendering processes (``nice``; 0 normal, 19 lowest). Laying out a
#: PDF is batch work (pre-rendering pieces as signatures arrive, an export the coordinator
#: waits seconds for); on a host that also serves web requests, a burst of sign-ons must
#: not queue behind it. Measured with ``make load`` (benchmarks/README.md).
RENDER_NICENESS = 10


def _start_worker(folders: Folders) -> None:
    """The pool's initializer: lower this process's CPU priority, then warm it."""
    try:
        os.nice(RENDER_NICENESS)
    except OSError:  # pragma: no cover - a platform without nice: normal priority
        log.warning("could not lower the PDF worker's CPU priority")
    _warm(folders)


def _warm(folders: Folders) -> None:
    """Import WeasyPrint and load the fonts once per worker (a cold render costs ~0.4 s):
    a tiny tagged document set as the demo is (the stylesheets, the letter's font stacks,
    headings, bold, italic, monospaced, the scripts signatories use).

    With the shipped fonts' sheet, as every document has: on a machine without system
    fonts, Pango given no font at all crashes the worker (and the pool would respawn it
    for ever)."""
    from signon.exports.pdf import fonts
    from signon.exports.pdf.fetcher import static_url

    try:
        serif, sans = fonts.font_stack("en"), fonts.font_stack("en", serif=False)
    except Exception:  # pragma: no cover - no fontconfig: the shipped fonts only
        serif, sans = "serif", "sans-serif"
    sheets = "".join(
        f'<link rel="stylesheet" href="{static_url(f"css/pdf/{sheet}")}">'
        for sheet in ("fonts.css", "base.css", "statement.css")
    )
    try:
        _render_html(
            f"<html lang=en><head>{sheets}<style>body {{ font-family: {serif}; }} "
            f"h1, h2 {{ font-family: {sans}; }}</style></head><body><h1>Société</h1>"
            '<p class="on-behalf">On behalf of:</p><ul class="names">'
            "<li>Société Общество Ελληνική;</li><li>مؤسسة בצלם 1234567890</li></ul>"
            "<p><b>Bold</b> <i>italic</i> <code>r1 2026-12-04</code></p></body></html>",
            folders,
            tagged=True,
        )
    except Exception:  # pragma: no cover - warming is an optimisation only
        log.exception("warming a PDF worker failed")


def _get_pool(folders: Folders) -> Pool:
    global _pool
    with _pool_lock:
        if _pool is None:
            context = multiprocessing.get_context("spawn")
            _pool = context.Pool(worker_count(), initializer=_start_worker, initargs=(folders,))
            atexit.register(_kill_pool)
        return _pool


def _kill_pool() -> None:
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.terminate()
        pool.join()


def _worker_ready() -> int:
    """A task that returns once its worker has warmed itself (the pool's initializer runs
    before any task); a short pause lets the other workers take the other tasks."""
    time.sleep(0.05)
    return os.getpid()


def warm_up(folders: Folders, *, wait: bool = False, timeout: float = 60.0) -> None:
    """Start the workers now; they warm themselves (WeasyPrint imported, fonts loaded, a
    tiny document rendered). ``wait``: return once every worker is warm."""
    pool = _get_pool(folders)
    if not wait:
        return
    deadline = time.monotonic() + timeout
    seen: set[int] = set()
    while len(seen) < worker_count() and time.monotonic() < deadline:
        tasks = [pool.apply_async(_worker_ready) for _ in range(worker_count())]
        seen.update(task.get(timeout=max(0.1, deadline - time.monotonic())) for task in tasks)


def _wait(result: AsyncResult[Any], timer: _Timer) -> Any:
    try:
        return result.get(timeout=timer.left())
    except multiprocessing.TimeoutError as exc:
        _kill_pool()
        raise RenderTimeoutError(timer.message) from exc


# --- Worker side -----------------------------------------------------------------------------

#: The font configuration every render of this process shares (:func:`_font_config`).
_fonts: Any = None
#: Its folder of copied fonts is named ``<prefix><pid>-<random>`` in the temporary folder.
FONT_FOLDER_PREFIX = "signon-pdf-fonts-"


def _font_config() -> Any:
    """One WeasyPrint font configuration for every render of this process.

    Left to itself, WeasyPrint makes one per document: fontconfig's configuration loaded
    again, each shipped font of fonts.css fetched, copied into a new temporary folder and
    scanned, and a new Pango font map whose fonts are all loaded again before the first
    line is laid out: 20 to 30 ms a render, 35 renders in an export of 5,000 names, and
    half of a short document's render (benchmarks/README.md). The PDF is the same.

    Its folder of copied fonts is named after this process: removed when the process
    exits, or, when it was terminated (as the pool's workers are), by the next process
    that makes one."""
    global _fonts
    if _fonts is None:
        from weasyprint.text.fonts import FontConfiguration

        _remove_stale_font_folders()
        config = FontConfiguration()
        # WeasyPrint makes its folder at the first @font-face unless one is set
        config._folder = Path(tempfile.mkdtemp(prefix=f"{FONT_FOLDER_PREFIX}{os.getpid()}-"))
        atexit.register(_drop_font_config)
        _parse_array_type_once()
        _fonts = config
    return _fonts


def _drop_font_config() -> None:
    """At exit: remove the fonts folder and let the configuration go while the modules
    are still there (left to interpreter shutdown, WeasyPrint's ``__del__`` found its
    ``rmtree`` already gone and printed a TypeError at the end of every process)."""
    global _fonts
    if _fonts is not None and _fonts._folder:
        shutil.rmtree(_fonts._folder, ignore_errors=True)
        _fonts._folder = None
    _fonts = None


def _remove_stale_font_folders() -> None:
    """The fonts folders of processes that no longer run."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FONT_FOLDER_PREFIX}*"):
        pid = folder.name.removeprefix(FONT_FOLDER_PREFIX).split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # another user's process: running
            continue


class _OneArrayType:
    """Stands for cffi's ``ffi`` in WeasyPrint's font subsetting, which asks for arrays
    as ``hb_codepoint_t[<length>]``: a new C type for each length, which cffi parses with
    pycparser over every declaration WeasyPrint makes (3 to 6 ms each; ten in the demo's
    first export). ``hb_codepoint_t[]`` with the same items is the same array, its type
    parsed once."""

    def __init__(self, ffi: Any) -> None:
        self._ffi = ffi

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ffi, name)

    def new(self, cdecl: str, init: Any = None) -> Any:
        if isinstance(init, list | tuple) and cdecl == f"hb_codepoint_t[{len(init)}]":
            cdecl = "hb_codepoint_t[]"
        return self._ffi.new(cdecl, init)


def _parse_array_type_once() -> None:
    from weasyprint.pdf import fonts as pdf_fonts

    if not isinstance(pdf_fonts.ffi, _OneArrayType):
        pdf_fonts.ffi = _OneArrayType(pdf_fonts.ffi)


def _render_html(
    html: str,
    folders: Folders,
    *,
    tagged: bool,
    variant: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> tuple[bytes, int, tuple[str, ...]]:
    """One WeasyPrint render: (PDF bytes, page count, refused resource URLs)."""
    import weasyprint

    from signon.exports.pdf.fetcher import SCHEME, SafeFetcher

    fetcher = SafeFetcher(folders.static_dir, open_storage(folders.storage))
    document = weasyprint.HTML(string=html, base_url=SCHEME, url_fetcher=fetcher).render(
        pdf_tags=tagged, font_config=_font_config()
    )
    options: dict[str, Any] = {"pdf_tags": tagged}
    if variant:
        options["pdf_variant"] = variant
    if attachments:
        options["attachments"] = [
            weasyprint.Attachment(
                string=a.data,
                name=a.name,
                description=a.description,
                url_fetcher=fetcher,
                relationship="Data" if variant else "Unspecified",
            )
            for a in attachments
        ]
    pdf = document.write_pdf(**options)
    return pdf, len(document.pages), tuple(fetcher.refused)


def _render_part(html: str, folders: Folders) -> tuple[bytes, int, tuple[str, ...]]:
    return _render_html(html, folders, tagged=False)


def _band_height(html: str, folders: Folders) -> float:
    """The height in millimetres of what a band document draws (its page as tall as a
    page's content): its root box, margins included."""
    import weasyprint

    from signon.exports.pdf.fetcher import SCHEME, SafeFetcher

    fetcher = SafeFetcher(folders.static_dir, open_storage(folders.storage))
    document = weasyprint.HTML(string=html, base_url=SCHEME, url_fetcher=fetcher).render(
        font_config=_font_config()
    )
    root = document.pages[0]._page_box.children[0]
    return float(root.margin_height()) * 25.4 / 96


def _render_single(job: SingleJob, folders: Folders) -> tuple[bytes, int, tuple[str, ...]]:
    return _render_html(
        job.html,
        folders,
        tagged=job.tagged,
        variant=job.variant,
        attachments=job.attachments,
    )


def furniture(
    head: str, tail: str, first: int, count: int, total: int, label: str = "Page {n} of {total}"
) -> str:
    """The page numbers of pages ``first`` to ``first + count - 1`` of ``total``: one
    small page each (the width of the text, the height of the bottom margin)."""
    from markupsafe import escape

    numbers = "".join(
        f'<p class="page-number">{escape(label.format(n=n, total=int(total)))}</p>'
        for n in range(int(first), int(first) + int(count))
    )
    return head + numbers + tail


# --- Composition (pypdf) ------------------------------------------------------------------


def _as_xobject(writer: Any, page: Any) -> Any:
    """A page of another PDF as a Form XObject of ``writer`` (its content stream is copied,
    not parsed)."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, FloatObject, NameObject

    contents = page.get_object()["/Contents"]
    source = contents.get_object()
    if isinstance(source, ArrayObject):  # several streams: join them (decoded)
        stream = DecodedStreamObject()
        stream.set_data(b"\n".join(part.get_object().get_data() for part in source))
    else:
        stream = source.clone(writer, force_duplicate=True).get_object()
    stream[NameObject("/Type")] = NameObject("/XObject")
    stream[NameObject("/Subtype")] = NameObject("/Form")
    stream[NameObject("/BBox")] = ArrayObject([FloatObject(v) for v in page.mediabox])
    stream[NameObject("/Resources")] = page["/Resources"].clone(writer)
    return writer._add_object(stream)


def _compose_pages(
    geometry: Geometry,
    pieces: Sequence[tuple[Segment, Sequence[bytes], bytes | None]],
    band_mm: float = BAND_MM,
) -> Any:
    """The document's pages, without the furniture (done while the workers draw it)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
    )

    writer = PdfWriter()
    width, height = geometry.width * MM, geometry.height * MM

    def as_xobject(page: Any) -> Any:
        return _as_xobject(writer, page)

    def new_page(placements: list[tuple[Any, float, float]]) -> None:
        page = writer.add_blank_page(width, height)
        xobjects = DictionaryObject()
        ops = []
        for index, (ref, x, y) in enumerate(placements):
            xobjects[NameObject(f"/P{index}")] = ref
            ops.append(f"q 1 0 0 1 {x:.3f} {y:.3f} cm /P{index} Do Q")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("ascii"))
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): xobjects})
        page[NameObject("/Contents")] = writer._add_object(stream)

    bottom = MARGIN_BOTTOM_MM * MM  # column pages hang from the top (a band above the first)
    band_y = (geometry.height - MARGIN_TOP_MM - band_mm) * MM
    for segment, pdfs, band in pieces:
        pages = [p for pdf in pdfs for p in PdfReader(io.BytesIO(pdf)).pages]
        if segment.kind == "flow":
            for page in pages:
                new_page([(as_xobject(page), 0.0, 0.0)])
            continue
        n = segment.columns
        for start in range(0, len(pages), n):
            placements = []
            if start == 0 and band is not None:  # the heading first, in reading order too
                band_page = PdfReader(io.BytesIO(band)).pages[0]
                placements.append((as_xobject(band_page), MARGIN_SIDE_MM * MM, band_y))
            for index, page in enumerate(pages[start : start + n]):
                x = geometry.column_x(index, n) * MM
                placements.append((as_xobject(page), x, bottom))
            new_page(placements)

    return writer


def _finish(
    writer: Any,
    furniture_pdfs: Sequence[bytes],
    metadata: Metadata,
    *,
    geometry: Geometry | None = None,
    title_pdf: bytes | None = None,
) -> tuple[bytes, int]:
    """Draw the furniture on every page (the running title, one shared Form XObject, in the
    top margin; the page number in the bottom margin), set the metadata, write the file."""
    from pypdf import PdfReader
    from pypdf.generic import NameObject, TextStringObject

    geometry = geometry or Geometry()
    x = MARGIN_SIDE_MM * MM
    title_y = (geometry.height - MARGIN_TOP_MM) * MM
    title = None
    if title_pdf is not None:
        title = _as_xobject(writer, PdfReader(io.BytesIO(title_pdf)).pages[0])
    furniture_pages = [p for data in furniture_pdfs for p in PdfReader(io.BytesIO(data)).pages]
    for page, overlay in zip(writer.pages, furniture_pages, strict=False):
        xobjects: Any = page["/Resources"]["/XObject"]  # type: ignore[index]
        ops = b""
        if title is not None:
            xobjects[NameObject("/T")] = title
            ops += f"\nq 1 0 0 1 {x:.3f} {title_y:.3f} cm /T Do Q".encode("ascii")
        xobjects[NameObject("/F")] = _as_xobject(writer, overlay)
        ops += f"\nq 1 0 0 1 {x:.3f} 0 cm /F Do Q".encode("ascii")
        contents: Any = page["/Contents"].get_object()
        contents.set_data(contents.get_data() + ops)

    writer.add_metadata(
        {
            "/Title": metadata.title,
            "/Author": ", ".join(metadata.authors),
            "/Subject": metadata.subject,
            "/Creator": "Signon",
            "/Producer": "Signon (WeasyPrint and pypdf)",
            "/CreationDate": _pdf_date(metadata.created),
        }
    )
    writer._root_object[NameObject("/Lang")] = TextStringObject(metadata.language)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), len(writer.pages)


def _pdf_date(iso: str) -> str:
    digits = "".join(c for c in iso[:19] if c.isdigit())
    return f"D:{digits}Z" if len(digits) == 14 else f"D:{digits}"


# --- Orchestration (in the calling process) --------------------------------------------------

Progress = Callable[[int], None]


def render_single(
    job: SingleJob, folders: Folders, *, timeout: float = DEFAULT_TIMEOUT
) -> Rendered:
    started = time.monotonic()
    timer = _Timer(started + timeout, timeout)
    pool = _get_pool(folders)
    pdf, pages, refused = _wait(pool.apply_async(_render_single, (job, folders)), timer)
    return Rendered(pdf, pages, _ms(started), "single", refused)


class _Piece:
    """One HTML document of a composed PDF on its way to PDF bytes: taken from the store
    (as it was, or with its numbers patched in a worker), or laid out in a worker."""

    def __init__(
        self,
        html: str,
        *,
        numbering: chunks.Numbering | None = None,
        store: chunks.Store | None = None,
        version: str = "",
    ) -> None:
        self.html = html
        self.numbering = numbering
        self.values = numbering.values if numbering is not None else ()
        self.store = store
        self.key = chunks.piece_key(html, numbering, version) if store is not None else ""
        self.outcome = "laid_out"
        self._ready: tuple[bytes, int, tuple[str, ...]] | None = None
        self._stored: tuple[bytes, tuple[str, ...], int] | None = None
        self._pending: AsyncResult[Any] | None = None
        self._patching = False
        if store is not None:
            data = store.get(self.key)
            self._stored = chunks.unpack(data) if data is not None else None
            if self._stored is not None and self._stored[1] == self.values:
                self._ready = (self._stored[0], self._stored[2], ())
                self.outcome = "reused"

    @property
    def needs_layout(self) -> bool:
        return self._ready is None and (self._stored is None or self.numbering is None)

    def start(self, pool: Pool, folders: Folders) -> None:
        if self._ready is not None or self._pending is not None:
            return
        if self._stored is not None and self.numbering is not None:
            stored_pdf, stored_values, _ = self._stored
            self._patching = True
            self._pending = pool.apply_async(
                chunks.renumber, (stored_pdf, self.numbering.kind, stored_values, self.values)
            )
        else:
            self._pending = pool.apply_async(_render_part, (self.html, folders))

    def result(
        self, pool: Pool, folders: Folders, timer: _Timer
    ) -> tuple[bytes, int, tuple[str, ...]]:
        if self._ready is None:
            self.start(pool, folders)
            assert self._pending is not None
            outcome = _wait(self._pending, timer)
            self._pending = None
            if self._patching:
                self._patching = False
                assert self._stored is not None
                if outcome is None:  # not exactly renumberable: lay it out
                    self._stored = None
                    return self.result(pool, folders, timer)
                self._ready = (outcome, self._stored[2], ())
                self.outcome = "renumbered"
            else:
                self._ready = outcome
                self.outcome = "laid_out"
            pdf, pages, refused = self._ready
            if self.store is not None and not refused:
                self.store.put(self.key, chunks.pack(pdf, self.values, pages))
        return self._ready


def render_composed(
    job: ComposedJob,
    folders: Folders,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    store: chunks.Store | None = None,
) -> Rendered:
    """Render every piece in parallel, then the furniture, then compose (see the module).
    With a ``store``, pieces rendered before are taken from it (chunks.py)."""
    started = time.monotonic()
    timer = _Timer(started + timeout, timeout)
    pool = _get_pool(folders)
    version = renderer_version() if store is not None else ""

    def piece(html: str, numbering: chunks.Numbering | None = None, keep: bool = True) -> _Piece:
        return _Piece(html, numbering=numbering, store=store if keep else None, version=version)

    pending: list[tuple[int, int, _Piece]] = []
    for s_index, segment in enumerate(job.segments):
        if segment.kind == "flow":
            pending.append((s_index, 0, piece(segment.html, keep=segment.keep)))
        else:
            for c_index, html in enumerate(segment.chunks):
                pending.append((s_index, c_index, piece(html, segment.numbering(c_index))))
        if s_index in job.bands:
            pending.append((s_index, -1, piece(job.bands[s_index])))
    # what must be laid out first, the longest first (so that the workers finish together),
    # then the stored pieces to renumber
    for _, _, item in sorted(pending, key=lambda p: (not p[2].needs_layout, -len(p[2].html))):
        item.start(pool, folders)
    # the running title does not depend on the page count: last, in a gap of the workers
    title = piece(job.title_html)
    title.start(pool, folders)
    results: dict[tuple[int, int], bytes] = {}
    refused: list[str] = []
    page_counts: dict[tuple[int, int], int] = {}
    for done, (s_index, c_index, item) in enumerate(pending, start=1):
        pdf, count, refused_here = item.result(pool, folders, timer)
        results[(s_index, c_index)] = pdf
        page_counts[(s_index, c_index)] = count
        refused.extend(refused_here)
        if progress is not None:
            progress(int(85 * done / len(pending)))
    pieces = []
    physical = 0
    for s_index, segment in enumerate(job.segments):
        n = 1 if segment.kind == "flow" else len(segment.chunks)
        pdfs = [results[(s_index, c)] for c in range(n)]
        columns = sum(page_counts[(s_index, c)] for c in range(n))
        physical += columns if segment.kind == "flow" else math.ceil(columns / segment.columns)
        pieces.append((segment, pdfs, results.get((s_index, -1))))
    # the furniture of all pages, in as many parts as there are workers
    parts = []
    for start, end in _split(physical, [math.ceil(physical / worker_count())] * worker_count()):
        html = furniture(
            job.furniture_head, job.furniture_tail, start + 1, end - start, physical, job.page_label
        )
        parts.append(piece(html))
        parts[-1].start(pool, folders)
    # meanwhile, set the pages (pypdf, in this process)
    writer = _compose_pages(job.geometry, pieces, job.band_mm)
    furniture_pdfs = []
    for part in parts:
        furniture_pdf, _, refused_here = part.result(pool, folders, timer)
        furniture_pdfs.append(furniture_pdf)
        refused.extend(refused_here)
    if progress is not None:
        progress(95)
    title_pdf, _, refused_here = title.result(pool, folders, timer)
    refused.extend(refused_here)
    pdf, pages = _finish(
        writer, furniture_pdfs, job.metadata, geometry=job.geometry, title_pdf=title_pdf
    )
    timer.left()
    outcomes = [item.outcome for _, _, item in pending] + [p.outcome for p in [*parts, title]]
    return Rendered(
        pdf,
        pages,
        _ms(started),
        "composed",
        tuple(refused),
        laid_out=outcomes.count("laid_out"),
        reused=outcomes.count("reused"),
        renumbered=outcomes.count("renumbered"),
    )


def plan_mode(count: int, *, tagged_always: bool, variant: str | None) -> str:
    if variant or tagged_always or count <= SINGLE_MAX:
        return "single"
    return "composed"


def chunk_sizes(count: int, workers: int | None = None) -> list[int]:
    """How many names go in each chunk: about two chunks per worker, at least
    :data:`MIN_CHUNK` names each."""
    if count <= 0:
        return []
    workers = workers or worker_count()
    chunks = max(1, min(2 * workers, count // MIN_CHUNK))
    base, extra = divmod(count, chunks)
    return [base + (1 if i < extra else 0) for i in range(chunks)]


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


# --- Inputs that decide the output --------------------------------------------------------

_ROOT = Path(__file__).resolve().parent.parent.parent.parent
_VERSION_FILES = (
    "signon/exports/pdf/render.py",
    "signon/exports/pdf/operations.py",
    "signon/signatures/listing.py",
    "signon/signatures/collation.py",
    "signon/exports/pdf/fonts.py",
)


def renderer_version() -> str:
    """A hash of the code and templates that shape the PDF: a change makes new files."""
    global _renderer_version
    if _renderer_version is None:
        digest = hashlib.sha256()
        paths = [_ROOT / p for p in _VERSION_FILES]
        for folder in ("templates/pdf", "static/css/pdf"):
            paths.extend(sorted((_ROOT / folder).rglob("*")))
        for path in paths:
            if path.is_file():
                digest.update(str(path.relative_to(_ROOT)).encode())
                digest.update(path.read_bytes())
        _renderer_version = digest.hexdigest()
    return _renderer_version


_renderer_version: str | None = None


def rasterise(pdf: bytes, page: int, *, dpi: int = 60, timeout: float = 20.0) -> bytes | None:
    """Page ``page`` (from 1) of ``pdf`` as PNG, with poppler's ``pdftoppm``; ``None`` when
    poppler-utils is not installed or the page does not exist."""
    import shutil
    import subprocess

    executable = shutil.which("pdftoppm")
    if executable is None:
        return None
    result = subprocess.run(  # noqa: S603 - fixed executable, no shell, our own PDF on stdin
        [executable, "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", "-"],
        input=pdf,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.startswith(b"\x89PNG"):
        return None
    return result.stdout


# --- What is printed (built by pdf_operations from the database) ----------------------------


@dataclass(frozen=True)
class Entry:
    """One printed signatory."""

    number: int | None
    name: str
    details: str = ""
    description: str = ""

    @property
    def rtl(self) -> bool:
        """Written right to left: isolated from the number and details around it (only then:
        even as Unicode isolate characters, isolation slows WeasyPrint's layout)."""
        return is_rtl(self.name)


def is_rtl(text: str) -> bool:
    # no character below U+05BE is right to left (R or AL): most names are decided at once
    if not text or max(text) < "\u05be":
        return False
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in text)


#: FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE, around right-to-left parts of a line.
ISOLATE, POP_ISOLATE = "\u2068", "\u2069"


def isolated_if_rtl(text: str) -> str:
    """``text`` between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE when it is written
    right to left: on a left-to-right line, "ليلى بن علي, محامية, جامعة القاهرة" otherwise
    runs together as one right-to-left stretch and its parts read in the opposite order."""
    return f"{ISOLATE}{text}{POP_ISOLATE}" if is_rtl(text) else text


def groups_html(parts: Sequence[Group]) -> Any:
    """The signatories' paragraphs (templates/pdf/_macros.html ``groups``), escaped, built
    here rather than in Jinja: for thousands of names that is several times faster."""
    from markupsafe import Markup, escape

    out: list[str] = []
    for group in parts:
        if group.heading:
            out.append(f"<h3>{escape(group.heading)}</h3>\n")
        for e in group.entries:
            name = escape(e.name)
            out.append(
                '<p class="entry">' if e.number is not None else '<p class="entry unnumbered">'
            )
            if e.number is not None:
                out.append(f"{int(e.number)}.&#8194;")
            # a right-to-left name is isolated from the number and details around it with
            # FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE (what <bdi> does, without an
            # inline box: a seventh faster on a chunk where most names are Arabic or Hebrew)
            out.append(f"{ISOLATE}{name}{POP_ISOLATE}" if e.rtl else name)
            if e.details:
                out.append(f'<span class="details">, {escape(e.details)}</span>')
            if e.description:
                out.append(f'<span class="description">{escape(e.description)}</span>')
            out.append("</p>\n")
        if group.summary:
            out.append(f'<p class="summary">{escape(group.summary)}</p>\n')
    return Markup("".join(out))  # noqa: S704 - every value above is escaped


@dataclass(frozen=True)
class Group:
    heading: str | None
    entries: tuple[Entry, ...]
    summary: str | None = None


@dataclass(frozen=True)
class Logo:
    name: str
    url: str | None


@dataclass(frozen=True)
class AuditRow:
    position: int
    revision: str  # "r3"
    approved: str  # "2026-11-20 14:03:12" (UTC)
    name: str

    @property
    def line(self) -> str:
        """Position, revision and time, aligned for a monospaced font."""
        return f"{self.position:>5}  {self.revision:<4} {self.approved}  "

    @property
    def rtl(self) -> bool:
        return is_rtl(self.name)


#: The compact audit rows' font (static/css/pdf/base.css ``.audit-compact``): its size in
#: points and the advance of DejaVu Sans Mono (0.602 em), rounded up.
AUDIT_FONT_PT = 6.8
MONO_ADVANCE_EM = 0.61


def audit_chars_per_line(width_mm: float) -> int:
    """How many monospaced characters of the compact audit rows fit in ``width_mm`` (one
    kept free: the rows are ``white-space: pre`` and must never overflow)."""
    return max(20, int(width_mm * MM / (AUDIT_FONT_PT * MONO_ADVANCE_EM)) - 1)


def compact_audit_lines(
    rows: Sequence[AuditRow],
    per_line: int | None = None,
    *,
    chars: int = 110,
    widths: tuple[int, int] | None = None,
) -> str:
    """Long lists: the rows without names (the list's numbers name them), as many a line as
    fit in ``chars`` characters (fewer lines are faster to lay out). ``widths``: of the
    position and the revision columns (give the whole list's, so that chunks align)."""
    if not rows:
        return ""
    position_width, revision_width = widths or (
        max(len(str(r.position)) for r in rows),
        max(len(r.revision) for r in rows),
    )
    cells = [
        f"{r.position:>{position_width}} {r.revision:<{revision_width}} {r.approved}" for r in rows
    ]
    gap = "  "
    if per_line is None:
        cell = max(len(c) for c in cells)
        per_line = max(1, (chars + len(gap)) // (cell + len(gap)))
    return "\n".join(
        gap.join(cells[start : start + per_line]) for start in range(0, len(cells), per_line)
    )


@dataclass(frozen=True)
class AuditFacts:
    revision_number: int
    revision_sha256: str
    signatures_sha256: str
    count: int
    left_out: int
    exported_at: str
    exported_by: str
    chain_head: str | None
    rows: tuple[AuditRow, ...]


LABELS: dict[str, dict[str, str]] = {
    "en": {
        "on_behalf": "On behalf of:",
        "signatories": "Signatories",
        "page": "Page {n} of {total}",
        "cc": "Cc:",
        "new_since": "New signatories since {date}",
        "individuals": "and {count} individuals",
        "individual": "and 1 individual",
        "individual_signatories": "Individual signatories",
        "identification_only": "(for identification only)",
        "initiated": "Initiated by",
        "endorsed": "Endorsed by",
        "no_country": "Other",
        "logos": "Logos of the signatories",
        "audit": "Audit record",
        "none_yet": "No signatory's approval covers this text yet.",
    },
    "fr": {
        "on_behalf": "Au nom de :",
        "signatories": "Signataires",
        "page": "Page {n} sur {total}",
        "cc": "Copie :",
        "new_since": "Nouveaux signataires depuis le {date}",
        "individuals": "et {count} personnes",
        "individual": "et 1 personne",
        "individual_signatories": "Signataires à titre individuel",
        "identification_only": "(à titre d'identification)",
        "initiated": "À l'initiative de",
        "endorsed": "Soutenu par",
        "no_country": "Autres",
    },
    "es": {
        "on_behalf": "En nombre de:",
        "signatories": "Firmantes",
        "page": "Página {n} de {total}",
        "cc": "Cc:",
        "new_since": "Nuevos firmantes desde el {date}",
        "individuals": "y {count} personas",
        "individual": "y 1 persona",
        "individual_signatories": "Firmantes a título individual",
        "identification_only": "(solo a efectos de identificación)",
        "initiated": "Iniciado por",
        "endorsed": "Respaldado por",
        "no_country": "Otros",
    },
}


def labels_for(language: str) -> dict[str, str]:
    base = (language or "en").replace("_", "-").split("-")[0].lower()
    return {**LABELS["en"], **LABELS.get(base, {})}


@dataclass(frozen=True)
class PdfContent:
    """Everything printed, as plain values: the same content gives the same PDF."""

    layout: str  # "statement" or "letter"
    page_size: str
    language: str
    title: str
    running_title: str
    subject: str
    keywords: str
    authors: tuple[str, ...]
    created: str  # ISO 8601 UTC
    date_text: str
    letterhead: tuple[Logo, ...]
    addressees: tuple[str, ...]
    cc: tuple[str, ...]
    body_html: str  # sanitised HTML (signon.core.markdown.render_markdown)
    statement_items: tuple[str, ...]
    groups: tuple[Group, ...]
    count: int
    list_columns: int
    logo_grid: tuple[Logo, ...]
    audit: AuditFacts | None
    labels: dict[str, str]
    font_stack: str
    sans_stack: str
    tagged_always: bool = False
    variant: str | None = None
    attachments: tuple[Attachment, ...] = ()
    #: Statement layout: the title and addressee before “On behalf of:” and the list.
    title_first: bool = False
    #: Letter layout: the coordinators' letterhead logo (a ``signon:logo/`` address).
    letterhead_logo: str | None = None
    #: Statement layout: the individual signatories, printed after the “On behalf of:”
    #: list of organisations under their heading (or counted), as the Letter layout does.
    statement_individuals: tuple[Group, ...] = ()


# --- Content to HTML (templates/pdf/; needs an app context) --------------------------------


def css_string(text: str) -> str:
    """``text`` as a CSS string literal: every character but letters, digits and spaces
    as a hexadecimal escape, so that nothing in it can end the string."""
    out = []
    for char in text:
        if char.isascii() and (char.isalnum() or char == " "):
            out.append(char)
        else:
            out.append(f"\\{ord(char):06x}")
    return '"' + "".join(out) + '"'


def page_number_css(template: str, total: str | None = None) -> str:
    """``"Page {n} of {total}"`` as CSS ``content``: strings and the page counters
    (``total``: a literal instead of ``counter(pages)``)."""
    parts: list[str] = []
    rest = template
    while rest:
        positions = [(rest.find(k), k) for k in ("{n}", "{total}") if k in rest]
        if not positions:
            parts.append(css_string(rest))
            break
        index, key = min(positions)
        if index:
            parts.append(css_string(rest[:index]))
        if key == "{n}":
            parts.append("counter(page)")
        else:
            parts.append(f'"{total}"' if total is not None else "counter(pages)")
        rest = rest[index + len(key) :]
    return " ".join(parts)


#: For pages without the running title and page number of base.css's ``@page``: their
#: margin boxes would be laid out on every page, empty (4 % of a list chunk's render).
NO_MARGIN_BOXES = "@top-center { content: none; } @bottom-center { content: none; }"


def _page_css(geometry: Geometry, *, furniture_text: str | None) -> str:
    furniture_rule = (
        f"@bottom-center {{ content: {furniture_text}; }}" if furniture_text else NO_MARGIN_BOXES
    )
    return (
        f"@page {{ size: {geometry.width}mm {geometry.height}mm; "
        f"margin: {MARGIN_TOP_MM}mm {MARGIN_SIDE_MM}mm {MARGIN_BOTTOM_MM}mm; {furniture_rule} }}\n"
        f".list-columns {{ columns: {geometry.columns}; column-gap: {COLUMN_GAP_MM}mm; }}"
    )


def _column_css(geometry: Geometry, columns: int, band_mm: float | None) -> str:
    """Column pages; with ``band_mm``, the first page's columns leave that much free above."""
    width = geometry.column_width(columns)
    height = geometry.content_height
    css = f"@page {{ size: {width:.3f}mm {height:.3f}mm; margin: 0; {NO_MARGIN_BOXES} }}"
    if band_mm is not None:
        css += f"\n@page :nth(-n+{columns}) {{ size: {width:.3f}mm {height - band_mm:.3f}mm; }}"
    return css


def _sheets(layout: str, *extra: str) -> list[str]:
    return ["fonts.css", "base.css", f"{layout}.css", *extra]


def _render(template: str, **context: Any) -> str:
    from flask import render_template
    from markupsafe import Markup

    from signon.exports.pdf.fetcher import static_url

    doc: PdfContent = context["doc"]
    context.setdefault("css", _sheets(doc.layout))
    context["page_css"] = Markup(context.get("page_css", ""))  # noqa: S704 - numbers and css_string only
    return render_template(
        f"pdf/{template}",
        static=lambda sheet: static_url(f"css/pdf/{sheet}"),
        groups_html=groups_html,
        **context,
    )


def _safe_doc(doc: PdfContent) -> Any:
    """The content with its trusted pieces (font stacks, sanitised text) marked safe."""
    from markupsafe import Markup

    return _Doc(doc, Markup)


class _Doc:
    """Wraps :class:`PdfContent` for the templates: the font stacks (our constants) and the
    letter's text (already sanitised) are not escaped again; everything else is."""

    def __init__(self, doc: PdfContent, markup: type) -> None:
        self._doc = doc
        self.font_stack = markup(doc.font_stack)
        self.sans_stack = markup(doc.sans_stack)
        self.body_html = markup(doc.body_html)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._doc, name)


def html_single(doc: PdfContent) -> str:
    geometry = Geometry(doc.page_size, doc.list_columns)
    page = page_number_css(doc.labels["page"])
    return _render(
        "document.html",
        doc=_safe_doc(doc),
        css=_sheets(doc.layout),
        page_css=_page_css(geometry, furniture_text=page),
    )


def _flow(doc: PdfContent, part: str) -> Segment:
    geometry = Geometry(doc.page_size, doc.list_columns)
    html = _render(
        "flow.html",
        doc=_safe_doc(doc),
        part=part,
        page_css=_page_css(geometry, furniture_text=None),
    )
    return Segment("flow", html=html, keep=part != "audit")


def _split(count: int, sizes: Sequence[int]) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for size in sizes:
        bounds.append((start, min(count, start + size)))
        start += size
    return [b for b in bounds if b[0] < b[1]] or [(0, count)]


def _chunk_groups(groups: Sequence[Group], sizes: Sequence[int]) -> list[list[Group]]:
    """Cut the groups into chunks of about ``sizes`` entries. A group cut in two goes on
    without repeating its heading; its summary stays after its last entry."""
    flat = [(index, entry) for index, group in enumerate(groups) for entry in group.entries]
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for position, (index, _) in enumerate(flat):
        first.setdefault(index, position)
        last[index] = position
    chunks: list[list[Group]] = []
    for start, end in _split(len(flat), sizes):
        parts: list[_Part] = []
        for position in range(start, end):
            index, entry = flat[position]
            if not parts or parts[-1].index != index:
                heading = groups[index].heading if first[index] == position else None
                parts.append(_Part(index, heading, [], None))
            parts[-1].entries.append(entry)
            if last[index] == position:
                parts[-1].summary = groups[index].summary
        chunks.append([Group(p.heading, tuple(p.entries), p.summary) for p in parts])
    # groups with nothing but a summary ("and 103 individuals") close the list
    trailing = [g for g in groups if not g.entries]
    if trailing:
        if not chunks:
            chunks.append([])
        chunks[-1].extend(trailing)
    return chunks


@dataclass
class _Part:
    index: int
    heading: str | None
    entries: list[Entry]
    summary: str | None


def list_keys(doc: PdfContent) -> list[str]:
    """What identifies each listed entry, in order, without its number: the chunks'
    content-defined boundaries are drawn from these."""
    if doc.layout == "statement":
        return [*doc.statement_items, *map(_entry_key, _entries(doc.statement_individuals))]
    return [_entry_key(e) for e in _entries(doc.groups)]


def _entries(groups: Sequence[Group]) -> list[Entry]:
    return [e for g in groups for e in g.entries]


def _entry_key(e: Entry) -> str:
    return f"{e.name}\x1f{e.details}\x1f{e.description}"


def statement_chunks(doc: PdfContent, sizes: Sequence[int]) -> list[dict[str, Any]]:
    """The Statement layout's list cut into chunks of about ``sizes`` entries: the
    “On behalf of:” names, then the individuals' groups (their heading once, in the chunk
    where they begin), each chunk's context for templates/pdf/columns.html."""
    names = doc.statement_items
    split = len(names)
    entries = len(_entries(doc.statement_individuals))
    contexts: list[dict[str, Any]] = []
    for a, b in _split(split + entries, sizes):
        contexts.append({"items": names[a:b], "parts": []})
    individual_sizes = [max(0, b - max(a, split)) for a, b in _split(split + entries, sizes)]
    if doc.statement_individuals:
        groups = _chunk_groups(doc.statement_individuals, [s for s in individual_sizes if s])
        first = next((i for i, s in enumerate(individual_sizes) if s), len(contexts) - 1)
        for offset, parts in enumerate(groups):
            contexts[first + offset]["parts"] = parts
    return contexts


def band_document(doc: PdfContent, height_mm: float, *, heading: bool = False) -> str:
    """The band set above the columns on the list's first page: "On behalf of:" or
    "Signatories"; with ``heading``, the Statement's title and addressee above it."""
    geometry = Geometry(doc.page_size, doc.list_columns)
    page_css = (
        f"@page {{ size: {geometry.content_width:.3f}mm {height_mm:.3f}mm; margin: 0; "
        f"{NO_MARGIN_BOXES} }}"
    )
    return _render(
        "band.html",
        doc=_safe_doc(doc),
        heading=heading,
        css=[*_sheets(doc.layout), "columns.css"],
        page_css=page_css,
    )


def heading_band_height(doc: PdfContent, measure: Callable[[str], float]) -> float | None:
    """How tall the band must be to hold the Statement's title and addressee above the
    list (``measure``: the height a band document draws, :func:`_band_height` in a
    worker), or ``None`` when they do not go there: another layout, the list first, or a
    heading taller than :data:`BAND_MAX_SHARE` of the page (it keeps a page of its own).

    Without this a long list's title and addressee stood alone on the first page, most of
    it blank: not what a coalition publishes."""
    if doc.layout != "statement" or not doc.title_first:
        return None
    geometry = Geometry(doc.page_size, doc.list_columns)
    height = measure(band_document(doc, geometry.content_height, heading=True))
    height = math.ceil(height + 2.0)  # room for rounding and the columns' first line
    return float(height) if height <= geometry.content_height * BAND_MAX_SHARE else None


def build_job(
    doc: PdfContent,
    *,
    workers: int | None = None,
    content_defined: bool = False,
    heading_band_mm: float | None = None,
) -> SingleJob | ComposedJob:
    """The rendering job for ``doc``: one document, or pieces to render in parallel.

    ``content_defined``: cut the list where its entries say (chunks.py), so that the
    pieces of an earlier export can be reused; otherwise in a few equal chunks.
    ``heading_band_mm`` (:func:`heading_band_height`): the Statement's title and
    addressee go in a band of that height above the list's first columns."""
    if plan_mode(doc.count, tagged_always=doc.tagged_always, variant=doc.variant) == "single":
        return SingleJob(
            html_single(doc),
            tagged=True,
            variant=doc.variant,
            attachments=doc.attachments,
        )
    geometry = Geometry(doc.page_size, doc.list_columns)
    safe = _safe_doc(doc)
    segments: list[Segment] = []
    bands: dict[int, str] = {}
    band_mm = heading_band_mm or BAND_MM
    band_html = band_document(doc, band_mm, heading=heading_band_mm is not None)
    if content_defined:
        sizes = chunks.content_sizes(list_keys(doc))
        audit_sizes = chunks.merged_sizes(sizes, chunks.AUDIT_SPAN)
    else:
        sizes = audit_sizes = chunk_sizes(doc.count, workers)

    def columns_segment(
        part: str,
        items: list[dict[str, Any]],
        columns: int,
        band: bool,
        blanked: Sequence[str] = (),
    ) -> None:
        htmls: list[str] = []
        numberings: list[chunks.Numbering | None] = []
        for index, context in enumerate(items):
            css_rules = _column_css(geometry, columns, band_mm if band and index == 0 else None)
            html = _render(
                "columns.html",
                doc=safe,
                part=part,
                css=[*_sheets(doc.layout), "columns.css"],
                page_css=css_rules,
                **context,
            )
            htmls.append(html)
            if part == "audit_rows":
                numberings.append(chunks.line_numbering(html, context["text"], blanked[index]))
            else:
                numberings.append(chunks.entry_numbering(html))
        if band:
            bands[len(segments)] = band_html
        segments.append(
            Segment(
                "columns",
                chunks=tuple(htmls),
                columns=columns,
                band=band,
                numberings=tuple(numberings) if any(numberings) else (),
            )
        )

    if doc.layout == "statement":
        if doc.title_first and heading_band_mm is None:
            segments.append(_flow(doc, "statement_heading"))
        columns_segment("statement_list", statement_chunks(doc, sizes), doc.list_columns, True)
        segments.append(_flow(doc, "statement_text"))
    else:
        segments.append(_flow(doc, "letter_front"))
        columns_segment(
            "groups",
            [{"parts": chunk} for chunk in _chunk_groups(doc.groups, sizes)],
            doc.list_columns,
            True,
        )
        if doc.logo_grid:
            segments.append(_flow(doc, "logos"))
    if doc.audit is not None:
        segments.append(_flow(doc, "audit"))
        rows = doc.audit.rows
        chars = audit_chars_per_line(geometry.content_width)
        widths = (
            max((len(str(r.position)) for r in rows), default=1),
            max((len(r.revision) for r in rows), default=2),
        )
        covered = sum(audit_sizes)  # counted individuals have audit rows, not list entries
        bounds = _split(len(rows), [*audit_sizes, max(0, len(rows) - covered)])
        blank_rows = [replace(r, position=0) for r in rows]
        columns_segment(
            "audit_rows",
            [
                {"text": compact_audit_lines(rows[a:b], chars=chars, widths=widths)}
                for a, b in bounds
            ],
            1,
            False,
            blanked=[
                compact_audit_lines(blank_rows[a:b], chars=chars, widths=widths) for a, b in bounds
            ],
        )
    width = f"{geometry.content_width:.3f}mm"
    furniture_html = _render(
        "furniture.html",
        doc=safe,
        part="numbers",
        css=["fonts.css", "furniture.css"],
        page_css=f"@page {{ size: {width} {MARGIN_BOTTOM_MM}mm; margin: 0; }}",
    )
    title_html = _render(
        "furniture.html",
        doc=safe,
        part="title",
        css=["fonts.css", "furniture.css"],
        page_css=f"@page {{ size: {width} {MARGIN_TOP_MM}mm; margin: 0; }}",
    )
    head, _, tail = furniture_html.partition("<!--SHEETS-->")
    return ComposedJob(
        geometry=geometry,
        segments=tuple(segments),
        furniture_head=head,
        furniture_tail=tail,
        page_label=doc.labels["page"],
        title_html=title_html,
        bands=bands,
        metadata=Metadata(doc.title, doc.authors, doc.subject, doc.language, doc.created),
        band_mm=band_mm,
    )


def render(
    doc: PdfContent,
    folders: Folders,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    store: chunks.Store | None = None,
) -> Rendered:
    """Make the PDF of ``doc`` (see the module docstring for the two modes). With a
    ``store``, a long list is cut where its entries say and the pieces rendered for an
    earlier export are reused (chunks.py)."""
    heading_band_mm = None
    if plan_mode(doc.count, tagged_always=doc.tagged_always, variant=doc.variant) == "composed":
        timer = _Timer(time.monotonic() + timeout, timeout)

        def measure(html: str) -> float:
            pending = _get_pool(folders).apply_async(_band_height, (html, folders))
            return float(_wait(pending, timer))

        heading_band_mm = heading_band_height(doc, measure)
    job = build_job(doc, content_defined=store is not None, heading_band_mm=heading_band_mm)
    if isinstance(job, SingleJob):
        return render_single(job, folders, timeout=timeout)
    return render_composed(job, folders, timeout=timeout, progress=progress, store=store)
