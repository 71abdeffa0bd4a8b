"""Rendered pieces of long PDFs, kept by their content and reused (issue 11 item 7).

A composed PDF (render.py) is made of pieces: chunks of the signatory list laid out as
column pages, chunks of the audit rows, the front matter, the page furniture. Each piece
is one HTML document, and the same HTML always gives the same PDF, so a piece is stored
under the SHA-256 of its HTML and of :func:`render.renderer_version` (the code,
templates, stylesheets and shipped fonts) and laid out again only when that changes.

Two things make the list's chunks stable when a signature is added:

- **Content-defined boundaries** (:func:`content_sizes`): a chunk ends after an entry
  whose own hash says so (about one entry in :data:`AVERAGE`), not every *n* entries.
  A name added anywhere changes the chunk it lands in; the boundaries before and after it
  stay where they were, so every other chunk has the same entries as before.
- **Numbers are patched, not laid out** (:func:`renumber`): a name added early moves
  every later entry's number and audit position by one. The key of a chunk leaves its
  numbers out (only their number of digits counts); a stored chunk printed with other
  numbers has the glyphs of those numbers replaced in its content streams, which is
  exact because the replaced glyphs have the same advance width (tabular figures in the
  list's fonts, a monospaced font for the audit rows; checked for every glyph, and the
  piece is laid out anew when a check fails) and the text around them does not move.

The worker side (:func:`renumber`) knows nothing of Flask; the store is passed in
(``operations.chunk_store()``: the app's storage, under ``chunks/``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from signon.core.storage import Storage, StorageError

log = logging.getLogger(__name__)

#: One entry in about this many ends a chunk of the list (content-defined boundaries).
AVERAGE = 256
#: No chunk is shorter (except the last): at least ten entries, so that every digit is in
#: each chunk's font subset (the units of ten consecutive numbers), which patching needs.
MINIMUM = 64
#: No chunk is longer (a boundary is forced; the next natural one re-synchronises).
MAXIMUM = 1024
#: An audit rows' chunk spans this many of the list's chunks (rows are cheap to lay out).
AUDIT_SPAN = 4


def content_sizes(
    keys: Sequence[str],
    *,
    average: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> list[int]:
    """Chunk sizes for entries identified by ``keys`` (their printed text, without their
    numbers): a chunk ends after an entry whose hash is 0 modulo ``average``, once it has
    ``minimum`` entries, or when it reaches ``maximum``."""
    average = average or AVERAGE
    minimum = max(1, minimum or MINIMUM)
    maximum = max(minimum, maximum or MAXIMUM)
    sizes: list[int] = []
    size = 0
    for key in keys:
        size += 1
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        natural = int.from_bytes(digest, "big") % average == 0
        if (natural and size >= minimum) or size >= maximum:
            sizes.append(size)
            size = 0
    if size:
        sizes.append(size)
    return sizes


def merged_sizes(sizes: Sequence[int], span: int) -> list[int]:
    """Every ``span`` consecutive sizes as one (the audit rows' chunks over the list's)."""
    return [sum(sizes[i : i + span]) for i in range(0, len(sizes), span)]


# --- What a piece is and how its numbers change ---------------------------------------------


@dataclass(frozen=True)
class Numbering:
    """The printed numbers of a piece, which may differ from those of its stored PDF.

    ``entries``: ``values`` are the list entries' numbers in order (the ``12.`` before each
    name, followed by an en space). ``lines``: ``values`` are the lines of a monospaced
    ``<pre>`` (the compact audit rows), whole. ``canonical`` is the piece's HTML with the
    numbers blanked: what its key is made of.
    """

    kind: str
    values: tuple[str, ...]
    canonical: str


def piece_key(html: str, numbering: Numbering | None, version: str) -> str:
    source = numbering.canonical if numbering is not None else html
    digest = hashlib.sha256(version.encode("ascii"))
    digest.update(b"\0" + (numbering.kind.encode() if numbering else b"plain") + b"\0")
    digest.update(source.encode("utf-8"))
    return digest.hexdigest()


_ENTRY_NUMBER = re.compile(r'(<p class="entry">)(\d+)(\.&#8194;)')


def entry_numbering(html: str) -> Numbering | None:
    """The numbers of a list chunk's entries (``None`` when it has none)."""
    values = tuple(m.group(2) for m in _ENTRY_NUMBER.finditer(html))
    if not values:
        return None
    canonical = _ENTRY_NUMBER.sub(lambda m: m.group(1) + "#" * len(m.group(2)) + m.group(3), html)
    return Numbering("entries", values, canonical)


def line_numbering(html: str, text: str, blanked: str) -> Numbering:
    """A monospaced chunk whose ``text`` (as printed now) may be patched line by line;
    ``blanked`` is the same text with the numbers replaced (same shape)."""
    return Numbering("lines", tuple(text.split("\n")), html.replace(text, blanked, 1))


# --- The store ------------------------------------------------------------------------------


class Store(Protocol):
    """Where rendered pieces are kept: bytes under a key (a hex SHA-256)."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes) -> None: ...


class StoredPieces:
    """Pieces in the app's storage (``signon.core.storage``: a folder or a bucket shared
    by every app server and worker), as ``chunks/<key[:2]>/<key>.piece``. A piece that
    cannot be read is laid out again; one that cannot be written is only logged."""

    FOLDER = "chunks"

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def _name(self, key: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{64}", key):
            raise ValueError("not a piece key")
        return f"{self.FOLDER}/{key[:2]}/{key}.piece"

    def get(self, key: str) -> bytes | None:
        try:
            return self.storage.get(self._name(key))
        except StorageError:  # not stored, or the store is unreachable
            return None

    def put(self, key: str, data: bytes) -> None:
        try:
            self.storage.put(self._name(key), data)
        except StorageError:
            log.warning("could not keep a rendered piece of a PDF", exc_info=True)


def pack(pdf: bytes, values: Sequence[str], pages: int) -> bytes:
    """A stored piece: the numbers it was printed with and its page count (one JSON line),
    then the PDF."""
    head = json.dumps({"values": list(values), "pages": int(pages)})
    return head.encode("ascii") + b"\n" + pdf


def unpack(data: bytes) -> tuple[bytes, tuple[str, ...], int] | None:
    """(PDF, the numbers it prints, its page count), or ``None`` for a damaged piece."""
    head, newline, pdf = data.partition(b"\n")
    if not newline or not pdf.startswith(b"%PDF"):
        return None
    try:
        meta = json.loads(head)
        values, pages = meta["values"], int(meta["pages"])
    except (ValueError, KeyError, TypeError):
        return None
    return pdf, tuple(str(v) for v in values), pages


# --- Patching the numbers (worker side) -----------------------------------------------------

_OPERATION = re.compile(rb"/([^\s/\[\]<>()]+)\s+[-\d.]+\s+Tf|\[([^\]]*)\]\s*TJ")
_TOKEN = re.compile(rb"<([0-9a-fA-F]*)>|(-?[\d.]+)")
_BFCHAR = re.compile(rb"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>")


class _UnpatchableError(Exception):
    """The stored piece cannot be renumbered exactly: lay it out again."""


@dataclass
class _Font:
    to_char: dict[int, str]
    to_glyph: dict[str, int]
    widths: dict[int, float]


def _font_of(font: Any) -> _Font:
    to_char: dict[int, str] = {}
    unicode_map = font.get("/ToUnicode")
    if unicode_map is not None:
        cmap = unicode_map.get_object().get_data()
        for glyph, text in _BFCHAR.findall(cmap):
            try:
                to_char[int(glyph, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
            except ValueError:
                continue
    widths: dict[int, float] = {}
    descendants = font.get("/DescendantFonts")
    if descendants is not None:
        array = descendants[0].get_object().get("/W") or []
        index = 0
        while index + 1 < len(array):
            first, second = array[index], array[index + 1]
            if hasattr(second, "__len__"):
                for offset, width in enumerate(second):
                    widths[int(first) + offset] = float(width)
                index += 2
            else:
                for glyph in range(int(first), int(second) + 1):
                    widths[glyph] = float(array[index + 2])
                index += 3
    to_glyph: dict[str, int] = {}
    for glyph, char in sorted(to_char.items()):
        to_glyph.setdefault(char, glyph)
    return _Font(to_char, to_glyph, widths)


@dataclass
class _Glyph:
    glyph: int
    start: int  # offset of its four hex digits in the TJ body
    adjusted: bool  # a non-zero position adjustment follows it


def _glyphs(body: bytes) -> list[_Glyph]:
    glyphs: list[_Glyph] = []
    for match in _TOKEN.finditer(body):
        if match.group(1) is not None:
            hex_digits = match.group(1)
            if len(hex_digits) % 4:
                raise _UnpatchableError("one-byte glyph codes")
            for offset in range(0, len(hex_digits), 4):
                glyphs.append(
                    _Glyph(int(hex_digits[offset : offset + 4], 16), match.start(1) + offset, False)
                )
        elif glyphs and float(match.group(2)) != 0:
            glyphs[-1].adjusted = True
    return glyphs


def _replace(body: bytearray, font: _Font, glyphs: Sequence[_Glyph], old: str, new: str) -> None:
    """Give ``glyphs`` (which print ``old``) the glyphs of ``new``, width for width."""
    if len(old) != len(new) or len(glyphs) != len(old):
        raise _UnpatchableError("a number changed its length")
    for glyph, was, char in zip(glyphs, old, new, strict=True):
        if was == char:
            continue
        replacement = font.to_glyph.get(char)
        if replacement is None:
            raise _UnpatchableError(f"{char!r} is not in the font subset")
        if glyph.adjusted or font.widths.get(replacement) != font.widths.get(glyph.glyph):
            raise _UnpatchableError("glyphs of different widths")
        body[glyph.start : glyph.start + 4] = f"{replacement:04x}".encode("ascii")


class _Renumbering:
    def __init__(self, kind: str, old: Sequence[str], new: Sequence[str]) -> None:
        if len(old) != len(new):
            raise _UnpatchableError("another number of entries")
        self.kind, self.old, self.new = kind, list(old), list(new)
        self.index = 0

    @property
    def done(self) -> bool:
        return self.index >= len(self.old)

    def text_op(self, body: bytes, font: _Font | None) -> bytes:
        glyphs = _glyphs(body)
        if not glyphs or self.done:
            return body
        if font is None:
            raise _UnpatchableError("text in an unknown font")
        chars = [font.to_char.get(g.glyph, "\ufffd") for g in glyphs]
        if self.kind == "lines":
            return self._line(body, font, glyphs, "".join(chars))
        return self._entry(body, font, glyphs, chars)

    def _line(self, body: bytes, font: _Font, glyphs: list[_Glyph], text: str) -> bytes:
        old, new = self.old[self.index], self.new[self.index]
        if text != old:
            raise _UnpatchableError("a line is not the one stored")
        self.index += 1
        patched = bytearray(body)
        _replace(patched, font, glyphs, old, new)
        return bytes(patched)

    def _entry(self, body: bytes, font: _Font, glyphs: list[_Glyph], chars: list[str]) -> bytes:
        digits = 0
        while digits < len(chars) and chars[digits] in "0123456789":
            digits += 1
        if not digits or chars[digits : digits + 2] != [".", "\u2002"]:
            return body  # not the first line of an entry
        old, new = self.old[self.index], self.new[self.index]
        if "".join(chars[:digits]) != old:
            raise _UnpatchableError("the entries are not the ones stored")
        self.index += 1
        patched = bytearray(body)
        _replace(patched, font, glyphs[:digits], old, new)
        return bytes(patched)


class _Stream:
    """One content stream's text operations, in order, with the font each is set in."""

    def __init__(self, state: _Renumbering, fonts: dict[bytes, _Font]) -> None:
        self.state, self.fonts = state, fonts
        self.font: _Font | None = None

    def operation(self, match: re.Match[bytes]) -> bytes:
        if match.group(1) is not None:  # ``/F 14 Tf``
            self.font = self.fonts.get(match.group(1))
            return match.group(0)
        body = self.state.text_op(match.group(2), self.font)  # ``[...] TJ``
        return b"[" + body + match.group(0)[len(match.group(2)) + 1 :]


def renumber(pdf: bytes, kind: str, old: Sequence[str], new: Sequence[str]) -> bytes | None:
    """``pdf`` (a stored piece printed with the numbers ``old``) printed with ``new``
    instead, or ``None`` when that cannot be done exactly (then lay the piece out anew)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject

    try:
        state = _Renumbering(kind, old, new)
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
        fonts: dict[int, _Font] = {}
        for page in writer.pages:
            resources: Any = page.get("/Resources")
            font_dict = resources.get_object().get("/Font") if resources is not None else None
            by_name: dict[bytes, _Font] = {}
            for name, reference in (font_dict or {}).items():
                font = reference.get_object()
                ident = id(font)
                if ident not in fonts:
                    fonts[ident] = _font_of(font)
                by_name[name[1:].encode("latin-1")] = fonts[ident]
            contents: Any = page.get("/Contents")
            if contents is None:
                continue
            contents = contents.get_object()
            if isinstance(contents, ArrayObject):
                raise _UnpatchableError("a page of several content streams")
            data = contents.get_data()
            patched = _OPERATION.sub(_Stream(state, by_name).operation, data)
            if patched != data:
                contents.set_data(patched)
        if not state.done:
            raise _UnpatchableError("fewer numbers than stored")
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()
    except _UnpatchableError:
        return None
