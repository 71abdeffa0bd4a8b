"""Where a redirect may go, and the absolute links that leave the site (mail, embeds)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app


def canonical_url(endpoint: str, **values: Any) -> str:
    """The absolute link to ``endpoint`` on the site's configured address.

    Every link that leaves the site (each one in an e-mail, the public page's address
    to share, the embed code) is built here, from ``Settings.canonical_url``
    (``SIGNON_BASE_URL``), never from the request: a request's Host header is chosen by
    whoever sends it, and a reset link built from ``Host: attacker.example`` would hand
    the token to the attacker. The URL map is bound to the configured address alone, so
    the result is the same inside a request, in the CLI and in a background thread.
    ``None`` values are left out, as ``url_for`` does.
    """
    origin = urlsplit(current_app.config["SIGNON"].canonical_url)
    adapter = current_app.url_map.bind(origin.netloc, url_scheme=origin.scheme)
    arguments = {name: value for name, value in values.items() if value is not None}
    return adapter.build(endpoint, arguments, force_external=True)


def safe_next_url(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else ``None``.

    Refuses absolute URLs (``https://evil``), protocol-relative ones (``//evil``),
    backslashes (``/\\evil``, which browsers read as ``//evil``) and any control
    character or whitespace (browsers drop tabs and newlines: ``/\\t/evil``).
    """
    if not target or len(target) > 2000:
        return None
    if "\\" in target or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    return target
