"""What makes two signatures look like the same organisation, as keys: the loose name, the
website's host and the e-mail's domain (the moderation page's possible duplicates).

Pure functions of a signature's fields, with no model behind them, so that the model can
store them (:class:`signon.signatures.models.Signature` keeps ``loose_key``,
``website_host`` and ``mail_domain`` up to date, indexed) and the duplicate check
(:class:`signon.signatures.public_signon.operations.DuplicateIndex`) applies the same rule.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from signon.core.names import name_key

#: E-mail domains shared by unrelated people: "same e-mail domain" says nothing there.
SHARED_MAIL_DOMAINS = frozenset(
    {
        "aol.com",
        "gmail.com",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hotmail.com",
        "icloud.com",
        "live.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "outlook.com",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "web.de",
        "yahoo.com",
        "yahoo.fr",
        "yandex.ru",
        "zoho.com",
    }
)


def loose_key(name: str) -> str:
    """A name without case, punctuation, repeated spaces or a leading "the"."""
    key = re.sub(r"[\W_]+", " ", name_key(name)).strip()
    return key.removeprefix("the ").strip()


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower().rstrip(".")


def website_host(website: str | None) -> str | None:
    if not website:
        return None
    candidate = website if "://" in website else f"https://{website}"
    try:
        host = (urlsplit(candidate).hostname or "").lower().rstrip(".")
    except ValueError:  # not a web address: no domain to match
        return None
    return host.removeprefix("www.") or None


def mail_domain(email: str | None) -> str | None:
    """The address's domain, unless it is one that unrelated people share."""
    domain = email_domain(email) if email else None
    return None if domain in SHARED_MAIL_DOMAINS else domain
