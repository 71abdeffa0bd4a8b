"""Input no database should see: refused before any view runs."""

from __future__ import annotations

from flask import Flask, Response, abort, request
from werkzeug.exceptions import SecurityError

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
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_untrusted_host)

    @app.before_request
    def _refuse_nul_characters() -> None:
        """A NUL byte in a form or query is never legitimate text, and PostgreSQL refuses it."""
        for values in (request.form.listvalues(), request.args.listvalues()):
            if any("\x00" in value for group in values for value in group):
                abort(400, "Text may not contain NUL characters.")
