"""The signatory list as CSV and JSON: the same names, in the same order, as the PDF.

Both are built from :func:`signon.signatures.listing.signatory_list`. CSV cells that
a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) get a leading apostrophe. Output is deterministic: the
same letter, revision and order give byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from signon.core.spreadsheet import neutralise_cell
from signon.letters.models import Letter
from signon.signatures.listing import SignatoryList

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
    website: str | None
    approved_revision: int | None
    approved_sha256: str | None
    approved_at: str | None


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` (seconds), or ``None``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def list_rows(signatories: SignatoryList) -> list[ListRow]:
    """One row per listed signature, numbered from 1 in the printed order."""
    return [
        ListRow(
            position=entry.position,
            group=entry.group,
            name=entry.signature.name,
            sort_name=entry.signature.sort_name,
            country=entry.signature.country,
            type=entry.signature.kind.value,
            representative=entry.signature.representative_name,
            title=entry.signature.representative_title,
            website=entry.signature.website,
            approved_revision=entry.approved_number,
            approved_sha256=entry.signature.approved_sha256,
            approved_at=iso_utc(entry.signature.approved_at),
        )
        for entry in signatories.entries
    ]


def rows_csv(rows: Iterable[ListRow], *, bom: bool = False) -> bytes:
    """CSV (RFC 4180: CRLF line ends, quoted when needed) in UTF-8, optionally with a BOM."""
    out = io.StringIO()
    if bom:
        out.write(BOM)
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        values = asdict(row)
        writer.writerow([neutralise_cell(values[column]) for column in COLUMNS])
    return out.getvalue().encode("utf-8")


def list_document(
    letter: Letter, signatories: SignatoryList, rows: Sequence[ListRow]
) -> dict[str, Any]:
    """The JSON document: which letter, revision and order, and the signatories."""
    return {
        "letter": {
            "slug": letter.slug,
            "title": signatories.revision.title,
            "language": letter.language,
        },
        "revision": {
            "number": signatories.revision.number,
            "sha256": signatories.revision.content_sha256,
        },
        "order": signatories.mode.value,
        "count": len(rows),
        "signatories": [asdict(row) for row in rows],
    }


def rows_json(letter: Letter, signatories: SignatoryList, rows: Sequence[ListRow]) -> bytes:
    """UTF-8 JSON (never a BOM: RFC 8259 forbids it), names unescaped, keys in column order."""
    document = list_document(letter, signatories, rows)
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def download_name(slug: str, extension: str, revision_number: int | None = None) -> str:
    """``<slug>-signatories[-rN].<ext>`` with nothing but letters, digits, dots and dashes."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", slug).strip(".-")[:80] or "letter"
    suffix = f"-r{revision_number}" if revision_number is not None else ""
    return f"{safe}-signatories{suffix}.{extension}"
