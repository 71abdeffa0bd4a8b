"""Rate-limit headers on refused requests only.

Flask-Limiter can add ``X-RateLimit-Limit/Remaining/Reset`` and ``Retry-After`` to every
response of a limited route, but that reads the limit's window from Redis again (two
more round trips after the one that counted the request) on every sign-on, login and
API call. Only a refusal needs them (``Retry-After`` tells the client when to come
back): this adds them to 429 answers, as Flask-Limiter would, and nothing else
(``RATELIMIT_HEADERS_ENABLED`` is off).
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response
from werkzeug.http import parse_date

from signon.extensions import limiter

log = logging.getLogger(__name__)


def refusal_headers(response: Response) -> Response:
    """``X-RateLimit-*`` and ``Retry-After`` on a 429 of a limited route (a ``Retry-After``
    the view set itself is kept when it is later than the limit's reset)."""
    if response.status_code != 429:
        return response
    current = limiter.current_limit
    if current is None:
        return response
    try:
        reset_at = current.reset_at
        response.headers["X-RateLimit-Limit"] = str(current.limit.amount)
        response.headers["X-RateLimit-Remaining"] = str(current.remaining)
        response.headers["X-RateLimit-Reset"] = str(reset_at)
    except Exception as error:  # the limits' storage went away meanwhile: no headers
        log.warning("rate-limit headers left out: %s", error)
        return response
    existing = response.headers.get("Retry-After")
    if existing is not None:
        when = parse_date(existing)
        later = when.timestamp() if when is not None else time.time() + int(existing)
        reset_at = max(int(later), reset_at)
    response.headers["Retry-After"] = str(int(reset_at - time.time()))
    return response


def init_app(app: Flask) -> None:
    app.after_request(refusal_headers)
