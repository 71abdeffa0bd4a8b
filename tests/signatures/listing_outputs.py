"""Read who is listed from every output, as a reader of that output would.

Each reader takes a logged-in coordinator's client (the public page, the embed and
the API need no login) and returns the names in the order the output shows them and
the count it states. The outputs are fetched through the real routes; the PDF is
made by the real export and read back with pypdf.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from html import unescape

from flask.testing import FlaskClient
from pypdf import PdfReader

from signon.api.openapi import MAX_PER_PAGE
from signon.exports.pdf import operations as pdf_operations
from signon.extensions import db
from signon.letters.models import Letter


@dataclass(frozen=True)
class Seen:
    """What one output shows: the names in order, and the count it states."""

    names: list[str]
    count: int


_NAME = re.compile(r'<span class="signatory-name">(.*?)</span>', re.S)
_COUNT = re.compile(r"data-count>\s*(\d+)\s*<")


def _html(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def _count(page: str) -> int:
    counts = {int(n) for n in _COUNT.findall(page)}
    assert len(counts) == 1, counts  # every counter on the page says the same
    return counts.pop()


def public_page(client: FlaskClient, slug: str) -> Seen:
    page = _html(client, f"/p/{slug}")
    return Seen([unescape(n) for n in _NAME.findall(page)], _count(page))


def embed(client: FlaskClient, slug: str) -> Seen:
    page = _html(client, f"/p/{slug}/embed")
    return Seen([unescape(n) for n in _NAME.findall(page)], _count(page))


def api(client: FlaskClient, slug: str, per_page: int = MAX_PER_PAGE) -> Seen:
    """Every page of ``/signatories``; the count is the letter's own."""
    names: list[str] = []
    page = 1
    while True:
        response = client.get(f"/api/v1/letters/{slug}/signatories?page={page}&per_page={per_page}")
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        names.extend(item["name"] for item in body["items"])
        assert body["total"] >= len(names)
        if page >= body["pages"]:
            break
        page += 1
    letter = client.get(f"/api/v1/letters/{slug}").get_json()
    assert body["total"] == letter["counts"]["published_signatories"]
    return Seen(names, letter["counts"]["published_signatories"])


def csv_list(client: FlaskClient, slug: str) -> Seen:
    response = client.get(f"/letters/{slug}/export/signatories.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(row["position"]) for row in rows] == list(range(1, len(rows) + 1))
    return Seen([row["name"] for row in rows], len(rows))


def json_list(client: FlaskClient, slug: str) -> Seen:
    response = client.get(f"/letters/{slug}/export/signatories.json")
    assert response.status_code == 200
    document = json.loads(response.get_data())
    return Seen([item["name"] for item in document["signatories"]], document["count"])


def export_preview(client: FlaskClient, slug: str) -> Seen:
    """The signatory list page of the export, and the count on the PDF settings page."""
    page = _html(client, f"/letters/{slug}/export/signatories")
    names = [unescape(n) for n in re.findall(r"<span dir=\"auto\" data-name>(.*?)</span>", page)]
    listed = re.search(r"<h3>Listed \((\d+)\)</h3>", page)
    assert listed and int(listed.group(1)) == len(names)
    stated = re.search(r"<strong>(\d+)</strong> signator", _html(client, f"/letters/{slug}/export"))
    assert stated
    return Seen(names, int(stated.group(1)))


def dashboard_count(client: FlaskClient, slug: str) -> int:
    page = _html(client, f"/letters/{slug}/signatories")
    found = re.search(r"data-listed>(\d+)<", page)
    assert found, "the dashboard states how many are listed"
    return int(found.group(1))


def audit_page_on(letter: Letter) -> None:
    """Print the audit page in the letter's PDF (off by default): :func:`pdf` reads the
    count there."""
    settings = pdf_operations.settings_for(letter)
    settings.audit_page = True
    db.session.add(settings)
    db.session.flush()


def pdf_text(client: FlaskClient, slug: str) -> str:
    """Export the PDF through its route and read all its text back (whitespace folded)."""
    response = client.post(f"/letters/{slug}/exports")
    assert response.status_code == 302, response.status_code
    location = response.headers["Location"]
    record = re.search(r"/exports/(\d+)$", location)
    assert record, location
    data = client.get(f"/letters/{slug}/exports/{record.group(1)}.pdf").get_data()
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


#: The heading of the PDF's audit page (signon/exports/pdf/render.py), where the list ends.
AUDIT_HEADING = "Audit record"


def pdf(text: str, names: list[str]) -> Seen:
    """The PDF's count (its audit page), and ``names`` as far as the printed list (the text
    before the audit page, which names every signatory again) shows them in order."""
    found = re.search(r"Signatories listed (\d+)", text)
    assert found, text[-2000:]
    audit_page = text.find(AUDIT_HEADING)
    assert audit_page >= 0, "the export has its audit page"
    listed_part = text[:audit_page]
    shown: list[str] = []
    at = 0
    for name in names:
        printed = " ".join(name.split())
        where = listed_part.find(printed, at)
        if where < 0:
            break
        shown.append(name)
        at = where + len(printed)
    return Seen(shown, int(found.group(1)))


# --- Groups: each output's group of every signatory, in its order ---------------------------

_HEADING_OR_NAME = re.compile(
    r'<h3 class="signatory-group">(.*?)</h3>|<span class="signatory-name">(.*?)</span>', re.S
)


def page_groups(client: FlaskClient, url: str) -> list[str | None]:
    """The heading above each name on a web page (``None`` before any heading)."""
    current: str | None = None
    groups: list[str | None] = []
    for heading, name in _HEADING_OR_NAME.findall(_html(client, url)):
        if heading:
            current = unescape(heading)
        elif name:
            groups.append(current)
    return groups


def api_groups(client: FlaskClient, slug: str) -> list[str | None]:
    response = client.get(f"/api/v1/letters/{slug}/signatories?per_page={MAX_PER_PAGE}")
    return [item["group"] for item in response.get_json()["items"]]


def csv_groups(client: FlaskClient, slug: str) -> list[str | None]:
    response = client.get(f"/letters/{slug}/export/signatories.csv")
    rows = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    return [row["group"] or None for row in rows]


def json_groups(client: FlaskClient, slug: str) -> list[str | None]:
    document = json.loads(client.get(f"/letters/{slug}/export/signatories.json").get_data())
    return [item["group"] for item in document["signatories"]]
