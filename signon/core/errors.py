"""Error pages that explain what happened, in the site's layout."""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

#: A service the request needs is gone (the database, Redis): not the request's fault, and
#: over once the service is back. SQLAlchemy's ``OperationalError`` covers a refused or
#: terminated PostgreSQL connection (and SQLite's "database is locked" after its timeout);
#: the pool (``pool_pre_ping``) replaces dead connections by itself afterwards, and redis-py
#: reconnects on the next command.
SERVICE_LOST: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
)
#: Seconds a client (or a proxy) is asked to wait before trying again.
UNAVAILABLE_RETRY_AFTER_SECONDS = 10

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "You do not have permission to do this."),
    404: ("Not found", "There is nothing here, or you do not have access to it."),
    405: ("Method not allowed", "This address cannot be used this way."),
    413: ("Too large", "What you sent is larger than we accept."),
    429: ("Too many requests", "Please wait a moment before trying again."),
    500: ("Something went wrong", "Nothing was saved. Please try again."),
}


def service_unavailable(error: BaseException) -> Response:
    """503 with ``Retry-After``: JSON for the API and JSON clients, else a page that needs
    neither the database nor Redis."""
    log.warning("service unavailable: %s: %s", type(error).__name__, error)
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        response = jsonify(
            error="service unavailable",
            message="A service Signon needs cannot be reached; try again shortly.",
        )
    else:
        response = Response(render_template("core/unavailable.html"), mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _lost_service(error: BaseException | None) -> BaseException | None:
    """The lost-service exception behind ``error`` (itself, or what a 500 wraps), if any."""
    if isinstance(error, InternalServerError):
        error = error.original_exception
    return error if isinstance(error, SERVICE_LOST) else None


def init_app(app: Flask) -> None:
    for lost in SERVICE_LOST:
        app.register_error_handler(lost, service_unavailable)

    @app.errorhandler(InternalServerError)
    def _internal_error(error: InternalServerError) -> Response | tuple[str, int]:
        # A commit that fails in after_request (the connection died just then) arrives
        # here as a 500 wrapping the database's error: it is a lost service all the same.
        lost = _lost_service(error)
        if lost is not None:
            return service_unavailable(lost)
        return _http_error(error)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> tuple[str, int]:
        return (
            render_template(
                "core/error.html",
                code=400,
                title="Form expired",
                message="The form had expired or came from elsewhere. Go back, "
                "reload the page and try again; nothing was changed.",
            ),
            400,
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        title, message = MESSAGES.get(code, (error.name, error.description or ""))
        if code == 400 and error.description != type(error).description:
            message = error.description or message  # our own refusal says why (input_guard)
        return render_template("core/error.html", code=code, title=title, message=message), code
