"""Deny by default: every view needs a logged-in user unless it is marked ``@public``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, request
from flask_login import current_user

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


def init_app(app: Flask) -> None:
    @app.before_request
    def _require_login() -> Any:
        if is_public(app, request.endpoint):
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return None
