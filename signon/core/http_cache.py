"""Caching of public pages by browsers and proxies: an ETag and a short ``max-age``.

A burst of readers (a letter announced) is then served by caches and answered ``304
Not Modified`` by us, and what they show is never more than :data:`PUBLIC_MAX_AGE`
seconds old. Never for a page with a signed-in user's data or a CSRF token (its
session): :func:`cache_publicly` checks and keeps such a response private.
"""

from __future__ import annotations

from flask import request, session
from werkzeug.wrappers import Response

#: Seconds a public page may be served from a cache (the counter is never older).
PUBLIC_MAX_AGE = 5
PUBLIC = f"public, max-age={PUBLIC_MAX_AGE}"
PRIVATE = "private, no-store"


def _personal() -> bool:
    """Whether this response was made with the visitor's session (their login, a CSRF
    token): then it is theirs only."""
    return bool(getattr(session, "accessed", True) and session) or bool(
        getattr(session, "modified", False)
    )


def keep_private(response: Response) -> Response:
    """Never stored by a cache (a page with a form, its CSRF token, or personal data)."""
    response.headers["Cache-Control"] = PRIVATE
    return response


def keep_link_private(response: Response) -> Response:
    """A page reached through a personal link (an invitation): never stored by a cache,
    never sent on as a referrer, never indexed."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def cache_publicly(response: Response) -> Response:
    """Mark ``response`` cacheable by anyone for a few seconds, with an ETag, and answer
    a conditional GET whose ETag matches with ``304`` (no body)."""
    if response.status_code != 200 or _personal():
        return keep_private(response)
    response.headers["Cache-Control"] = PUBLIC
    response.add_etag()
    return response.make_conditional(request)


def revalidate_privately(response: Response) -> Response:
    """A signed-in user's small answer that a page asks for again and again (the editor's
    check for a newer revision): the browser keeps it for this user only and asks each
    time with ``If-None-Match``; while it is unchanged the answer is ``304``, no body."""
    response.headers["Cache-Control"] = "private, no-cache"
    response.add_etag()
    return response.make_conditional(request)
