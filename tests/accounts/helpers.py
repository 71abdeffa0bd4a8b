"""Small helpers for the accounts tests: links from e-mails."""

from __future__ import annotations

import re
from email.message import EmailMessage
from urllib.parse import urlsplit

from tests.smtp import MailCatcher

_URL = re.compile(r"https?://[^\s<>\"]+")


def link_in(message: EmailMessage, path_prefix: str) -> str:
    """The site-relative link (path and query) in the text part that starts with ``path_prefix``."""
    for url in map(str, _URL.findall(MailCatcher.text_of(message))):
        parts = urlsplit(url)
        if parts.path.startswith(path_prefix):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    raise AssertionError(f"no {path_prefix} link in:\n{MailCatcher.text_of(message)}")


def token_of(link: str) -> str:
    """The raw token: the last path segment of a link."""
    return urlsplit(link).path.rstrip("/").rsplit("/", 1)[-1]


def only_mail_to(outbox: MailCatcher, address: str) -> EmailMessage:
    messages = outbox.to(address)
    assert len(messages) == 1, f"expected one message to {address}, got {len(messages)}"
    return messages[0]
