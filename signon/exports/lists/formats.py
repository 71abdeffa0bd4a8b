"""The signatory list as CSV and JSON: the same names, in the same order, as the PDF.

Both are built from :mod:`signon.signatures.listing` (:func:`~signon.signatures.listing.listed`
read in batches: a download streams in constant memory whatever the size of the list).
CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) get a leading apostrophe. Output is deterministic: the
same letter, revision and order give byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring  # what json.dumps uses with ensure_ascii=False
from typing import Any

from signon.core.spreadsheet import neutralise_cell
from signon.letters.models import Letter, Revision
from signon.signatures.listing import Entry, PrintedEntry, SignatoryList
from signon.signatures.models import OrderMode

#: The columns, in order (CSV header, JSON keys of each signatory).
COLUMNS: tuple[str, ...] = (
    "position",
    "group",
    "name",
    "sort_name",
    "country",
    "type",
    "representative",
    "title",
    "affiliation",
    "website",
    "approved_revision",
    "approved_sha256",
    "approved_at",
)

BOM = "\ufeff"


@dataclass(frozen=True)
class ListRow:
    position: int
    #: The heading of the signatory's group (empty when the list is not grouped).
    group: str | None
    name: str
    sort_name: str | None
    country: str | None
    type: str
    representative: str | None
    title: str | None
    #: An individual's affiliation (printed "for identification only"); empty otherwise.
    affiliation: str | None
    website: str | None
    approved_revision: int | None
    approved_sha256: str | None
    approved_at: str | None


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` (seconds), or ``None``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def row_values(entry: Entry | PrintedEntry) -> tuple[Any, ...]:
    """The values of one listed signature's row, in :data:`COLUMNS` order."""
    signature = entry.signature
    return (
        entry.position,
        entry.group,
        signature.name,
        signature.sort_name,
        signature.country,
        signature.kind.value,
        signature.representative_name,
        signature.representative_title,
        signature.affiliation,
        signature.website,
        entry.approved_number,
        signature.approved_sha256,
        iso_utc(signature.approved_at),
    )


def entry_row(entry: Entry | PrintedEntry) -> ListRow:
    """The row of one listed signature."""
    return ListRow(*row_values(entry))


def list_rows(signatories: SignatoryList | Iterable[Entry]) -> list[ListRow]:
    """One row per listed signature, numbered from 1 in the printed order."""
    entries = signatories.entries if isinstance(signatories, SignatoryList) else signatories
    return [entry_row(entry) for entry in entries]


def _csv_lines(rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(rows)
    return out.getvalue()


def _csv_cells(row: ListRow) -> list[Any]:
    return [neutralise_cell(getattr(row, column)) for column in COLUMNS]


def csv_chunks(
    batches: Iterable[Sequence[Entry | PrintedEntry]], *, bom: bool = False
) -> Iterator[bytes]:
    """CSV (RFC 4180: CRLF line ends, quoted when needed) in UTF-8, optionally with a BOM,
    one chunk per batch of entries (the same bytes as :func:`rows_csv`)."""
    yield ((BOM if bom else "") + _csv_lines([COLUMNS])).encode("utf-8")
    for batch in batches:
        cells = ([neutralise_cell(value) for value in row_values(entry)] for entry in batch)
        yield _csv_lines(cells).encode("utf-8")


def rows_csv(rows: Iterable[ListRow], *, bom: bool = False) -> bytes:
    """CSV of ``rows`` in one piece (see :func:`csv_chunks`)."""
    head = (BOM if bom else "") + _csv_lines([COLUMNS])
    return (head + _csv_lines(_csv_cells(row) for row in rows)).encode("utf-8")


def list_document(
    letter: Letter, signatories: SignatoryList, rows: Sequence[ListRow]
) -> dict[str, Any]:
    """The JSON document: which letter, revision and order, and the signatories."""
    return _document(
        letter, signatories.revision, signatories.mode, len(rows), [asdict(row) for row in rows]
    )


def _document(
    letter: Letter, revision: Revision, mode: OrderMode, count: int, items: list[Any]
) -> dict[str, Any]:
    return {
        "letter": {"slug": letter.slug, "title": revision.title, "language": letter.language},
        "revision": {"number": revision.number, "sha256": revision.content_sha256},
        "order": mode.value,
        "count": count,
        "signatories": items,
    }


def json_chunks(
    letter: Letter,
    revision: Revision,
    mode: OrderMode,
    count: int,
    batches: Iterable[Sequence[Entry | PrintedEntry]],
) -> Iterator[bytes]:
    """The same bytes as :func:`rows_json`, one chunk per batch of entries. The letter and
    revision are read now; the batches when the chunks are (after the request's commit)."""
    document = _document(letter, revision, mode, count, [])
    head, tail = _dumped(document).split('"signatories": []', 1)
    return _json_body(head, tail, batches)


def _json_body(
    head: str, tail: str, batches: Iterable[Sequence[Entry | PrintedEntry]]
) -> Iterator[bytes]:
    yield (head + '"signatories": [').encode("utf-8")
    first = True
    for batch in batches:
        items = []
        for entry in batch:
            items.append(("\n    " if first else ",\n    ") + _json_item(row_values(entry)))
            first = False
        yield "".join(items).encode("utf-8")
    yield (("]" if first else "\n  ]") + tail + "\n").encode("utf-8")


#: Each key of a signatory as :func:`_dumped` indents it inside the document's list.
_JSON_KEYS = tuple(f'      "{column}": ' for column in COLUMNS)


def _json_item(values: Sequence[Any]) -> str:
    """One signatory's object, the bytes ``json.dumps(..., indent=2)`` gives it inside the
    document (the test compares them), written directly: the indenting encoder is pure
    Python and was most of the JSON download's time."""
    encoded = (
        "null"
        if value is None
        else encode_basestring(value)
        if isinstance(value, str)
        else str(int(value))
        for value in values
    )
    return "{\n" + ",\n".join(map(str.__add__, _JSON_KEYS, encoded)) + "\n    }"


def _dumped(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def rows_json(letter: Letter, signatories: SignatoryList, rows: Sequence[ListRow]) -> bytes:
    """UTF-8 JSON (never a BOM: RFC 8259 forbids it), names unescaped, keys in column order."""
    document = list_document(letter, signatories, rows)
    return (_dumped(document) + "\n").encode("utf-8")


def download_name(slug: str, extension: str, revision_number: int | None = None) -> str:
    """``<slug>-signatories[-rN].<ext>`` with nothing but letters, digits, dots and dashes."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", slug).strip(".-")[:80] or "letter"
    suffix = f"-r{revision_number}" if revision_number is not None else ""
    return f"{safe}-signatories{suffix}.{extension}"
