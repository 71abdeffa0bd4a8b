"""Public pages (and the API's answers about a public letter) rendered once and shared
by every anonymous visitor for a few seconds.

Under a burst (a letter announced) every visitor of the public page gets the same HTML
but for one thing: the sign-on form's CSRF token, which belongs to the visitor's session
and so keeps the page out of browsers' and proxies' caches (``core.http_cache``). Here
the page is rendered once per key and kept for :data:`~signon.core.http_cache.PUBLIC_MAX_AGE`
seconds (the age the cacheable public pages may have anyway) with a placeholder where
the token was; each visitor gets the copy with their own token put back, so Flask-WTF
checks the POST exactly as before. The copy lives in Redis under ``SIGNON_REDIS_URL``
(shared by every app server) and otherwise in this process; if Redis fails, the page is
rendered as if nothing were cached.

Only a visit that would render exactly what any other anonymous visitor gets is served
a shared copy (:func:`plain_visit`): not a logged-in user (their name in the menu), not a
page carrying a flashed message or the editor's saved-draft notice.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from flask import current_app, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from redis.exceptions import RedisError

from signon.core import jobs, timefmt
from signon.core.http_cache import PUBLIC_MAX_AGE
from signon.core.sessions import SAVED_BROWSER_DRAFT

log = logging.getLogger(__name__)

#: Where the visitor's CSRF token goes in a shared copy. Only template markup can write
#: "<" into a page (user text is escaped, the letter's HTML sanitised), so no text of a
#: letter can be taken for it.
TOKEN_PLACEHOLDER = "<signon-csrf-token>"
#: Copies kept in one process without Redis (each for a few seconds).
LOCAL_ENTRIES = 256

_local_lock = threading.Lock()


class Versioned(Protocol):
    """What a shared copy's key names of the letter it shows."""

    @property
    def id(self) -> int: ...

    @property
    def updated_at(self) -> datetime: ...

    @property
    def accepts_signatures(self) -> bool: ...


def letter_key(letter: Versioned, *parts: object) -> str:
    """A shared copy's key: the letter as loaded (its settings and status change its
    ``updated_at``; whether it takes signatures now) and the page's ``parts``. Its list
    and counts change without the letter's row: the copy's few seconds bound how late
    they show."""
    version = f"{letter.id}:{letter.updated_at.isoformat()}:{int(letter.accepts_signatures)}"
    return ":".join([version, *map(str, parts)])


def enabled() -> bool:
    on: bool = current_app.config["SIGNON"].shared_page_cache
    return on


def plain_visit() -> bool:
    """Whether this request renders what any anonymous visitor's would (bar the token)."""
    return (
        enabled()
        and not current_user.is_authenticated
        and not session.get("_flashes")
        and SAVED_BROWSER_DRAFT not in session
    )


def _namespaced(key: str) -> str:
    """Keys of one site (its secret key): two sites sharing a Redis never mix pages."""
    settings = current_app.config["SIGNON"]
    site = hashlib.sha256(settings.secret_key.encode()).hexdigest()[:16]
    return f"signon:page:{site}:{key}"


def _local() -> dict[str, tuple[float, str]]:
    found: dict[str, tuple[float, str]] = current_app.extensions.setdefault("signon_page_cache", {})
    return found


def _get(key: str) -> str | None:
    if current_app.config["SIGNON"].redis_url:
        stored = jobs.redis_connection().get(key)
        return stored.decode() if isinstance(stored, bytes) else stored
    with _local_lock:
        found = _local().get(key)
    if found is None or found[0] <= time.monotonic():
        return None
    return found[1]


def _put(key: str, html: str) -> None:
    if current_app.config["SIGNON"].redis_url:
        jobs.redis_connection().set(key, html.encode(), ex=PUBLIC_MAX_AGE)
        return
    now = time.monotonic()
    with _local_lock:
        entries = _local()
        if len(entries) >= LOCAL_ENTRIES:
            for old in [k for k, (expires, _) in entries.items() if expires <= now] or list(
                entries
            ):
                del entries[old]
        entries[key] = (now + PUBLIC_MAX_AGE, html)


def shared_page(key: str, render: Callable[[], str], *, csrf: bool = True) -> str:
    """The page ``key`` from the shared cache (with this visitor's CSRF token when
    ``csrf``: a page with a form), or rendered by ``render`` (and shared) when no fresh
    copy is kept. Call only for a :func:`plain_visit`; the key must name everything the
    page shows (the letter's version, the page number...). Its times are in UTC: one copy
    serves readers in every zone."""
    token = generate_csrf() if csrf else TOKEN_PLACEHOLDER
    key = _namespaced(key)
    try:
        stored = _get(key)
    except RedisError as error:
        log.warning("shared page cache unreachable, rendering: %s", error)
        with timefmt.shared_page():
            return render()
    if stored is not None:
        return stored.replace(TOKEN_PLACEHOLDER, token)
    with timefmt.shared_page():
        html = render()
    try:
        _put(key, html.replace(token, TOKEN_PLACEHOLDER))
    except RedisError as error:
        log.warning("shared page cache unreachable, not stored: %s", error)
    return html
