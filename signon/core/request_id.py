"""A request id per request: on the response, on every log record, carried into jobs.

The id comes from the ``X-Request-ID`` header only when the app sits behind trusted
proxies (``SIGNON_TRUSTED_PROXIES`` > 0: the proxy sets it, so a client cannot choose the
id other people's log lines carry) and only when it looks like an id; otherwise one is
generated. The response returns it in ``X-Request-ID``.

Outside a request (a background job, a CLI command) :func:`bound` sets the id that
:func:`current` answers, so a job started by a request logs under that request's id.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, Response, g, has_request_context, request

from signon.core.access import trusted_proxies

HEADER = "X-Request-ID"
#: What a proxy's id may look like: uuids, hex, nginx's $request_id, and the like.
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{8,128}")

_outside_request: ContextVar[str | None] = ContextVar("signon_request_id", default=None)


def current() -> str | None:
    """The id of the request (or of the job) this code runs for, or ``None``."""
    if has_request_context():
        request_id: str | None = g.get("request_id")
        if request_id is not None:
            return request_id
    return _outside_request.get()


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Run the block (a job, a command) under ``request_id``: its log records carry it."""
    token = _outside_request.set(request_id)
    try:
        yield
    finally:
        _outside_request.reset(token)


def new() -> str:
    return uuid.uuid4().hex


def _from_header(trusted: bool) -> str | None:
    """The proxy's id, when there are trusted proxies and the header holds a plausible id."""
    if not trusted:
        return None
    raw = request.headers.get(HEADER, "").strip()
    return raw if _ACCEPTED.fullmatch(raw) else None


def _install_record_factory() -> None:
    """Every log record gets ``request_id`` (``None`` outside a request or job).

    A record factory rather than a handler filter: it reaches every handler, gunicorn's
    and pytest's included, whoever configured them.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_signon_request_id", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)  # type: ignore[arg-type]
        record.request_id = current()
        return record

    factory._signon_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def init_app(app: Flask) -> None:
    trusted = trusted_proxies(app) > 0
    _install_record_factory()

    def _assign_request_id() -> None:
        g.request_id = _from_header(trusted) or new()

    # Before every other hook (the host check included), so their records carry the id too.
    app.before_request_funcs.setdefault(None, []).insert(0, _assign_request_id)

    @app.after_request
    def _return_request_id(response: Response) -> Response:
        request_id = current()
        if request_id is not None:
            response.headers[HEADER] = request_id
        return response
