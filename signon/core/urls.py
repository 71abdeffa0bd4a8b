"""Where a redirect may go."""

from __future__ import annotations

from urllib.parse import urlsplit


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
