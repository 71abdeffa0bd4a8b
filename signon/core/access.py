"""Deny by default: every view needs a logged-in user unless it is marked ``@public``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from signon.core import sessions
from signon.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])

#: Endpoints of Flask itself or of extensions that need no login.
ALWAYS_PUBLIC = {"static"}


def public(view: F) -> F:
    """Mark a view as reachable without logging in."""
    view._signon_public = True  # type: ignore[attr-defined]
    return view


def is_public(app: Flask, endpoint: str | None) -> bool:
    if endpoint is None or endpoint in ALWAYS_PUBLIC:
        return True
    view = app.view_functions.get(endpoint)
    return bool(getattr(view, "_signon_public", False))


def user_or_address_key() -> str:
    """Rate-limit key: the logged-in user's id, else the client address.

    For limits on what logged-in people do (invitation sends): a team sharing one
    office address is not limited together, and one account cannot spread over many.
    """
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"address:{request.remote_addr or 'unknown'}"


def trusted_proxies(app: Flask) -> int:
    """How many reverse proxies in front of the app may say who the client is.

    ``Settings.trusted_proxies`` (``SIGNON_TRUSTED_PROXIES``); until that field exists,
    ``Settings.extra["trusted_proxies"]``.
    """
    settings = app.config["SIGNON"]
    value = getattr(settings, "trusted_proxies", 0) or settings.extra.get("trusted_proxies", 0)
    return max(0, int(value))


def init_app(app: Flask) -> None:
    # The client address (rate limits, audit) comes from X-Forwarded-For only when the
    # app sits behind that many proxies: each one appends the address it saw, and only
    # the last N entries were written by proxies we trust. With 0 the header is ignored.
    proxies = trusted_proxies(app)
    if proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0, x_port=0, x_prefix=0
        )

    # First: an expired session is ended (and told why) before the login is required.
    sessions.init_app(app)

    @app.before_request
    def _require_login() -> Any:
        if is_public(app, request.endpoint):
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return None
