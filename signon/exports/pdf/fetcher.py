"""The only way WeasyPrint may load anything: the app's own PDF styles and stored logos.

WeasyPrint's default fetcher opens ``file://``, ``http(s)://`` and ``data:`` URLs; a
letter's text or a logo reference could then read files from the server or reach
the network (including services on 127.0.0.1). :class:`SafeFetcher` replaces it and
knows exactly two kinds of address, both on a made-up scheme so that nothing
written by a user can ever match a real location:

- ``signon:static/<path>``: a file under one of :data:`STATIC_DIRS` of the app's
  ``static/`` folder (the PDF stylesheets, bundled fonts);
- ``signon:logo/<name>``: a stored logo, read from the app's storage
  (``signon.core.storage``: ``logos/<name>`` in the folder or the bucket), where the
  name is one the server generated (:data:`LOGO_NAME`).

Everything else (other schemes, ``..``, encoded slashes, symlinks leading out of
the folders, other file types) is refused with :class:`FetchRefusedError`; WeasyPrint
then logs a warning and leaves the resource out. Every refusal is kept in
:attr:`SafeFetcher.refused` so tests (and logs) can show what was asked for.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from urllib.parse import unquote

from weasyprint.urls import URLFetcher, URLFetcherResponse

from signon.core.storage import Storage, StorageError
from signon.signatures.uploads import LOGO_FOLDER

SCHEME = "signon:"
#: Sub-folders of ``static/`` that the PDF may read.
STATIC_DIRS = ("css/pdf", "fonts")
STATIC_SUFFIXES = {".css", ".woff", ".woff2", ".ttf", ".otf", ".png", ".svg"}
#: Stored logos: names made by the server (signon/signatures/uploads.py), PNG only.
LOGO_NAME = re.compile(r"^[0-9a-f]{32}\.png$")
#: The longest resource served (a stylesheet or a logo).
MAX_BYTES = 8 * 1024 * 1024


class FetchRefusedError(ValueError):
    """The PDF asked for something it may not load."""


def static_url(path: str) -> str:
    return f"{SCHEME}static/{path}"


def logo_url(name: str) -> str:
    return f"{SCHEME}logo/{name}"


class SafeFetcher(URLFetcher):  # type: ignore[misc]
    """Serves ``signon:static/...`` from disk and ``signon:logo/...`` from the storage;
    refuses the rest."""

    def __init__(self, static_dir: str | Path, logos: Storage) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False, timeout=1)
        self.static_dir = Path(static_dir).resolve()
        self.logos = logos
        self.refused: list[str] = []
        self.served: list[str] = []

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        try:
            where = self.resolve(url)
            data = _read(where) if isinstance(where, Path) else self._stored(where)
        except FetchRefusedError:
            self.refused.append(url[:200])
            raise
        self.served.append(url)
        mime = mimetypes.guess_type(str(where))[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=data, headers={"Content-Type": mime})

    def _stored(self, name: str) -> bytes:
        try:
            return self.logos.get(name, max_bytes=MAX_BYTES)
        except StorageError as exc:
            raise FetchRefusedError(f"no such resource, or too large: {name[:60]!r}") from exc

    def resolve(self, url: str) -> Path | str:
        """What a URL names: a static file's path or a logo's storage name; else
        :class:`FetchRefusedError`."""
        if not url.startswith(SCHEME):
            raise FetchRefusedError(f"only signon: resources are loaded, not {url[:60]!r}")
        rest = url[len(SCHEME) :]
        if any(c in rest for c in "?#\\%") or "//" in rest or "\x00" in rest:
            raise FetchRefusedError(f"not a plain resource path: {url[:60]!r}")
        kind, _, name = rest.partition("/")
        if kind == "static":
            return self._static(unquote(name))
        if kind == "logo":
            if not LOGO_NAME.match(name):
                raise FetchRefusedError(f"not a stored logo name: {name[:60]!r}")
            return f"{LOGO_FOLDER}/{name}"
        raise FetchRefusedError(f"unknown resource kind: {kind[:20]!r}")

    def _static(self, name: str) -> Path:
        parts = name.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise FetchRefusedError(f"not a plain static path: {name[:60]!r}")
        if not any(name.startswith(prefix + "/") for prefix in STATIC_DIRS):
            raise FetchRefusedError(f"not a PDF resource: {name[:60]!r}")
        if Path(name).suffix.lower() not in STATIC_SUFFIXES:
            raise FetchRefusedError(f"not a stylesheet, font or image: {name[:60]!r}")
        return _inside(self.static_dir, self.static_dir / name)


def _inside(root: Path, path: Path) -> Path:
    """``path`` resolved (symlinks followed) if it is a regular file under ``root``."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root) or not resolved.is_file():
        raise FetchRefusedError(f"no such resource: {path.name[:60]!r}")
    return resolved


def _read(path: Path) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise FetchRefusedError(f"resource too large: {path.name[:60]!r}")
    return data
