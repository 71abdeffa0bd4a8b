"""WeasyPrint loads nothing but our own PDF styles and stored logos.

A real HTTP server on 127.0.0.1 counts the requests it gets: file://, http(s)://, data:
and path tricks in a document, in a letter's text or as a logo name must reach nothing.
"""

from __future__ import annotations

import http.server
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from signon.core.storage import LocalStorage
from signon.exports.models import ExportStatus
from signon.exports.pdf import operations as pdf_operations
from signon.exports.pdf import render as pdf
from signon.exports.pdf.fetcher import FetchRefusedError, SafeFetcher, logo_url, static_url
from tests.exports.factories import set_export_settings, sign
from tests.factories import make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


DATA_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAF"
    "AAH/iZk9HQAAAABJRU5ErkJggg=="
)


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        Recorder.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { background: red }")

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


@pytest.fixture
def fetcher(tmp_path: Path) -> SafeFetcher:
    static = tmp_path / "static"
    (static / "css" / "pdf").mkdir(parents=True)
    (static / "css" / "pdf" / "base.css").write_text("p { color: black }")
    (static / "css" / "other.css").write_text("secret")
    (static / "secret.txt").write_text("secret")
    logos = tmp_path / "store" / "logos"
    logos.mkdir(parents=True)
    (logos / ("a" * 32 + ".png")).write_bytes(PNG)
    (tmp_path / "outside.png").write_bytes(PNG)
    (logos / ("b" * 32 + ".png")).symlink_to(tmp_path / "outside.png")
    return SafeFetcher(static, LocalStorage(tmp_path / "store"))


def test_serves_pdf_styles_and_stored_logos(fetcher: SafeFetcher) -> None:
    css = fetcher.fetch(static_url("css/pdf/base.css"))
    assert css.read() == b"p { color: black }"
    assert css.content_type == "text/css"
    logo = fetcher.fetch(logo_url("a" * 32 + ".png"))
    assert logo.read() == PNG
    assert logo.content_type == "image/png"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://127.0.0.1:9/",
        "https://example.org/logo.png",
        "data:text/css,body{}",
        "data:image/png;base64,iVBORw0KGgo=",
        "ftp://example.org/x",
        "signon:static/../../../../etc/passwd",
        "signon:static/css/pdf/../other.css",
        "signon:static/css/pdf/%2e%2e/other.css",
        "signon:static/css/other.css",
        "signon:static/secret.txt",
        "signon:static//etc/passwd",
        "signon:static/css/pdf/base.css?x=1",
        "signon:logo/../outside.png",
        "signon:logo/" + "b" * 32 + ".png",  # a symlink leading out of the folder
        "signon:logo/" + "c" * 32 + ".png",  # not there
        "signon:logo/evil.png",
        "signon:logo/" + "a" * 32 + ".png/../../outside.png",
        "signon:file/etc/passwd",
        "signon:logo\\" + "a" * 32 + ".png",
    ],
)
def test_refuses_everything_else(fetcher: SafeFetcher, url: str) -> None:
    with pytest.raises(FetchRefusedError):
        fetcher.fetch(url)
    assert fetcher.refused == [url[:200]]


def test_a_document_with_hostile_references_fetches_nothing(server: str) -> None:
    html = f"""<html lang="en"><head>
    <link rel="stylesheet" href="{server}/linked.css">
    <link rel="stylesheet" href="file:///etc/passwd">
    <style>@import url("{server}/imported.css"); p {{ background: url("{server}/bg.png") }}
    @font-face {{ font-family: X; src: url("{server}/font.ttf") }}</style></head>
    <body><p>Text</p><img src="file:///etc/passwd"><img src="{server}/img.png">
    <img src="data:image/png;base64,{DATA_PNG}">
    <object data="{server}/object"></object><iframe src="{server}/frame"></iframe>
    <a href="{server}/link">a link is not fetched</a></body></html>"""
    data, pages, refused = pdf._render_html(html, pdf_operations.folders(), tagged=False)
    assert Recorder.requests == []
    assert pages == 1
    assert any(url.startswith("file:///etc/passwd") for url in refused)
    assert any(url.startswith(server) for url in refused)
    assert any(url.startswith("data:") for url in refused)
    document = PdfReader(io.BytesIO(data))
    assert all(not page.images for page in document.pages)
    assert "root:" not in document.pages[0].extract_text()


def test_a_letter_whose_text_and_logo_point_elsewhere_fetches_nothing(server: str) -> None:
    body = (
        f"Intro with a link to [the server]({server}/text-link) and an image "
        f"![passwd](file:///etc/passwd) and ![data](data:image/png;base64,iVBORw0KGgo=) "
        f'and raw <img src="{server}/raw.png"> <link rel="stylesheet" href="{server}/x.css">.'
    )
    letter = make_letter(make_user(), title="Hostile", body=body)
    signature = sign(letter, ["Hostile Logo NGO"])[0]
    signature.logo_filename = "../../../../etc/passwd"
    set_export_settings(letter, logo_grid=True)
    result = pdf_operations.export_pdf(letter, None, actor_label="test")
    assert result.record.status == ExportStatus.DONE, result.record.error
    assert Recorder.requests == []
    data = pdf_operations.stored_pdf(result.record)
    document = PdfReader(io.BytesIO(data))
    assert all(not page.images for page in document.pages)
    text = " ".join(page.extract_text() for page in document.pages)
    assert "root:" not in text
    assert "<img" in text  # raw HTML in the Markdown is text, escaped, never an element


def test_the_sanitised_text_keeps_links_as_annotations_only(server: str) -> None:
    letter = make_letter(make_user(), title="Links", body=f"See [our site]({server}/site).")
    sign(letter, ["An NGO"])
    set_export_settings(letter)
    result = pdf_operations.export_pdf(letter, None, actor_label="test")
    data = pdf_operations.stored_pdf(result.record)
    assert Recorder.requests == []
    links = [
        annotation.get_object()["/A"]["/URI"]
        for page in PdfReader(io.BytesIO(data)).pages
        for annotation in page.get("/Annots", [])
        if "/A" in annotation.get_object()
    ]
    assert f"{server}/site" in links
