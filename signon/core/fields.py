"""The small rules of form fields, in one place: trimming, one-line text, e-mail
addresses and web addresses.

Each used to have a copy per form module, and the copies drifted (one accepted
``javascript:`` as a "domain" to prefix, one took a host without a dot, one did not
check the port). The strictest sane rule of each is kept here; forms use these as
WTForms ``filters`` and ``validators``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from wtforms import Field
from wtforms.validators import ValidationError

WEB_ADDRESS_MESSAGE = (
    "Enter a web address starting with http:// or https://, such as https://example.org."
)

#: ``scheme:`` at the start of a value ("javascript:", "mailto:"), but not a host with a
#: port ("example.org:8080"), whose colon is followed by a digit.
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(?!\d)", re.IGNORECASE)


def trim(value: Any) -> Any:
    """Leading and trailing white space off (text areas keep their inner lines)."""
    return value.strip() if isinstance(value, str) else value


def squash(value: Any) -> Any:
    """Strip and collapse inner runs of spaces, tabs and line breaks: one-line values
    (names, titles) are printed as typed otherwise."""
    return " ".join(value.split()) if isinstance(value, str) else value


def squash_or_none(value: Any) -> Any:
    """:func:`squash`, and ``None`` for a value left empty (an optional column)."""
    value = squash(value)
    return value or None if isinstance(value, str) else value


def normalise_email(email: str) -> str:
    """The stored form of an address: trimmed, in Unicode NFC and lower-cased (one
    account, invitation or signature per address, however it was typed).

    NFC because the same address can arrive composed ("é", one code point, as most
    keyboards type it) or decomposed ("e" and a combining accent, as some macOS and
    copy-paste paths produce); without it "josé@x.org" would be two accounts. NFC
    before and after lower-casing: lower-casing can decompose (``"İ".lower()``).
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", email.strip()).lower())


def email(value: Any) -> Any:
    """Form filter: :func:`normalise_email` for text."""
    return normalise_email(value) if isinstance(value, str) else value


def website(value: Any) -> Any:
    """Strip; add ``https://`` to a bare domain ("example.org") as people often type it.

    A value that already names a scheme ("javascript:", "ftp://") is left as it is, for
    :func:`http_url` to refuse; ``None`` for an empty value.
    """
    if not isinstance(value, str):
        return value
    value = value.strip()
    if value and not _SCHEME.match(value):
        value = "https://" + value
    return value or None


def web_address_problem(value: str) -> str | None:
    """Why ``value`` is not an http(s) address with a host that has a dot, or None."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return WEB_ADDRESS_MESSAGE
    if parts.scheme not in ("http", "https") or not host or "." not in host:
        return WEB_ADDRESS_MESSAGE
    if any(char.isspace() for char in value):
        return WEB_ADDRESS_MESSAGE
    return None


def http_url(form: Any, field: Field) -> None:
    """Validator: only web addresses (http or https) with a host; never ``javascript:``."""
    if field.data:
        problem = web_address_problem(field.data)
        if problem is not None:
            raise ValidationError(problem)
