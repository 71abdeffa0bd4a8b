"""Input no database should see: refused before any view runs.

- A NUL character anywhere in a form or query (PostgreSQL refuses it in text).
- A body larger than ``MAX_CONTENT_LENGTH`` (4 MiB: 413), except on the views marked
  :func:`large_upload`, whose limit is ``SIGNON_MAX_BUNDLE_BYTES``.
- A number in a URL (``<int:...>``), a query string or a hidden field outside the
  signed 32-bit range 1..2**31-1: PostgreSQL's ``INTEGER`` overflows above it, SQLite's
  above 2**63; bounding both alike makes an impossible id a plain "not found" on both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, request
from werkzeug.exceptions import SecurityError
from werkzeug.routing import Map, ValidationError
from werkzeug.routing.converters import IntegerConverter

#: The largest id (and any other whole number) a URL, query or hidden field may name.
MAX_ID = 2**31 - 1
#: ``MAX_ID`` has ten digits: longer strings are refused before any conversion (Python
#: itself refuses to convert strings of more than 4,300 digits).
MAX_ID_DIGITS = len(str(MAX_ID))


def whole_number(raw: str) -> int:
    """``raw`` as an int in ``1..MAX_ID``; ``ValueError`` otherwise.

    Usable as ``request.args.get("page", 1, type=whole_number)``: a bad value gives the default.
    """
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_ID_DIGITS:
        raise ValueError(f"not a whole number from 1 to {MAX_ID}")
    value = int(raw)
    if not 1 <= value <= MAX_ID:
        raise ValueError(f"not a whole number from 1 to {MAX_ID}")
    return value


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` in every route: a number outside ``1..MAX_ID`` matches no route (404)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> Any:
        if len(value) > MAX_ID_DIGITS:
            raise ValidationError()
        return super().to_python(value)


V = TypeVar("V", bound=Callable[..., Any])
#: The attribute :func:`large_upload` sets on a view function.
_LARGE_UPLOAD = "signon_large_upload"


def large_upload(view: V) -> V:
    """Mark ``view`` as taking an upload above the site's request limit (a letter bundle
    of 20,000 signatories is about 10 MB), up to ``SIGNON_MAX_BUNDLE_BYTES``. Werkzeug
    keeps an uploaded file above 500 KB in a temporary file, not in memory."""
    setattr(view, _LARGE_UPLOAD, True)
    return view


def _raise_the_limit_for_large_uploads() -> None:
    """Before anything reads the body (the CSRF check parses the form)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, _LARGE_UPLOAD, False):
        request.max_content_length = current_app.config["SIGNON"].max_bundle_bytes


def register_converters(app: Flask) -> None:
    """Called before any blueprint is registered: rules bind their converters when added."""
    app.url_map.converters["int"] = BoundedIntegerConverter


#: The answer to a request for a host this site does not serve.
UNTRUSTED_HOST_MESSAGE = (
    "Bad request: this site does not answer to the host name this request was sent to. "
    "Use the site's own address."
)


def refuse_untrusted_host() -> Response | None:
    """400 for a request whose Host header is not one of ``TRUSTED_HOSTS``.

    Flask checks the Host against ``TRUSTED_HOSTS`` (from ``SIGNON_BASE_URL`` and
    ``SIGNON_ALLOWED_HOSTS``) when it binds the URL map and keeps the refusal for
    later; without a URL map nothing can be rendered (no ``url_for``), so the answer is
    plain text, given before any other handler (login redirect, rate limit) runs.
    """
    if isinstance(request.routing_exception, SecurityError):
        return Response(UNTRUSTED_HOST_MESSAGE, status=400, mimetype="text/plain")
    return None


def init_app(app: Flask) -> None:
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.insert(0, refuse_untrusted_host)
    hooks.insert(1, _raise_the_limit_for_large_uploads)

    @app.before_request
    def _refuse_nul_characters() -> None:
        """A NUL byte in a form or query is never legitimate text, and PostgreSQL refuses it."""
        for values in (request.form.listvalues(), request.args.listvalues()):
            if any("\x00" in value for group in values for value in group):
                abort(400, "Text may not contain NUL characters.")
