"""Sessions end when idle and after an absolute lifetime (ASVS 5.0, 7.3.1 and 7.3.2).

The session (a signed cookie: it cannot be forged, and these times are no secret) holds
when the user logged in and when they were last seen. One ``before_request`` hook,
registered ahead of the login requirement, checks both on every request: an expired
session is logged out, told why, and sent to the login page, whose ``next`` brings the
person back to the page they were on. A save posted with an expired session is not
lost: the editor keeps unsaved text in the browser (static/js/editor.js) and offers it
back after logging in again; :func:`forget_browser_draft` tells it when the server has
taken the text.

Flask-Login's "remember me" cookie is never issued (``login_user`` is called without
``remember``); a login restored from one is refused, since it carries no login time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar, cast

from flask import (
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import current_user, logout_user, user_loaded_from_cookie, user_logged_in
from werkzeug.wrappers import Response

from signon.core.urls import safe_next_url

P = ParamSpec("P")
R = TypeVar("R")

LOGGED_IN_AT = "session_logged_in_at"
SEEN_AT = "session_seen_at"
#: Last-seen is rewritten at most this often, so that not every response sets a cookie.
SEEN_RESOLUTION_SECONDS = 60
#: The editor's browser copy that the server has just taken (read once by the next page).
SAVED_BROWSER_DRAFT = "editor_saved_browser_draft"
#: Whose copies of unsaved text the browser should delete (the page after logging out).
FORGOTTEN_BROWSER_COPIES = "forgotten_browser_copies"


def now() -> float:
    """Seconds since the epoch: the app's clock (``Settings.extra["clock"]`` in tests)."""
    clock = cast(Callable[[], float], current_app.config["SIGNON"].extra.get("clock", time.time))
    return clock()


@dataclass(frozen=True)
class Expiry:
    idle_seconds: int
    max_seconds: int

    @classmethod
    def from_settings(cls) -> Expiry:
        settings = current_app.config["SIGNON"]
        return cls(settings.session_idle_hours * 3600, settings.session_max_days * 86400)

    def message(self, logged_in_at: float, seen_at: float, at: float) -> str | None:
        """Why a session with these times has ended at ``at``, or ``None`` if it has not."""
        if at - logged_in_at > self.max_seconds:
            days = self.max_seconds // 86400
            return (
                f"Your session ended: it is {days} days since you logged in. Please log in again."
            )
        if at - seen_at > self.idle_seconds:
            hours = self.idle_seconds // 3600
            return (
                f"Your session ended after {hours} hours without activity; log in again. "
                "Text you were editing is kept in this browser."
            )
        return None


def start_clock(*_args: object, **_kwargs: object) -> None:
    """At every login: the session's lifetime starts now."""
    session[LOGGED_IN_AT] = session[SEEN_AT] = int(now())


def _refuse_remember_cookie(*_args: object, **_kwargs: object) -> None:
    g.signon_login_from_remember_cookie = True


def _return_to() -> str | None:
    """Where to come back after logging in: this page, or for a POST the page it came from."""
    if request.method in {"GET", "HEAD"}:
        return safe_next_url(request.full_path.rstrip("?"))
    referrer = request.referrer or ""
    origin = request.host_url.rstrip("/")
    if referrer.startswith(origin + "/"):
        return safe_next_url(referrer.removeprefix(origin))
    return None


def _end_session(message: str | None) -> None:
    """Log out; nothing of the session survives but the message."""
    logout_user()
    session.clear()
    if message:
        flash(message, "warning")


#: Attribute that marks a view as asked for by a page on its own (see :func:`background`).
_BACKGROUND = "signon_background_request"


def background(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view that pages ask for on their own, on a timer (the editor's check for a
    newer revision): such requests are not activity, so a page left open does not keep
    its session alive for ever. Put it between ``@bp.get`` and the other decorators."""
    setattr(view, _BACKGROUND, True)
    return view


def _is_background(endpoint: str | None) -> bool:
    view = current_app.view_functions.get(endpoint or "")
    return bool(getattr(view, _BACKGROUND, False))


def check_session_age() -> Response | None:
    """The one check, on every request: end an expired session and ask to log in again."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    if g.get("signon_login_from_remember_cookie"):
        _end_session(None)
        return None
    at = now()
    logged_in_at = session.get(LOGGED_IN_AT)
    seen_at = session.get(SEEN_AT)
    if not isinstance(logged_in_at, int) or not isinstance(seen_at, int):
        # A session from before these times were kept: its lifetime starts now.
        start_clock()
        return None
    message = Expiry.from_settings().message(logged_in_at, seen_at, at)
    if message is None:
        if at - seen_at >= SEEN_RESOLUTION_SECONDS and not _is_background(request.endpoint):
            session[SEEN_AT] = int(at)
        return None
    _end_session(message)
    from signon.core.access import is_public  # access registers this hook

    if is_public(current_app, request.endpoint):
        return None  # a public page is shown as to anyone
    if request.accept_mimetypes.best == "application/json":  # the editor's live preview
        return make_response(jsonify(errors={"body": [message]}), 401)
    return redirect(url_for("accounts.login", next=_return_to()), 303)


def forget_browser_draft(name: str) -> None:
    """The server has taken the editor's text: the next page clears the browser's copy."""
    session[SAVED_BROWSER_DRAFT] = name


def browser_copies_owner(user_id: int) -> str:
    """How the name of every copy of a person's unsaved text kept in the browser starts
    (localStorage: the editor's drafts, static/js/editor.js; the live editor's unconfirmed
    changes, static/js/live.js): per person, so that someone else logging in on the same
    browser is never offered it, and logging out deletes that person's copies
    (:func:`forget_browser_copies`)."""
    return f"user-{user_id}:"


def new_letter_draft_name(user_id: int | None = None) -> str:
    """The editor's browser copy of a letter not created yet (/letters/new)."""
    return browser_copies_owner(_user_id(user_id)) + "new-letter"


def browser_draft_name(
    letter_id: int, base_revision_id: int | None = None, *, user_id: int | None = None
) -> str:
    """The editor's browser copy of a letter's text: the person's (``user_id``, by
    default who is logged in), per letter, then per base revision.

    The editor adds ``:base-<id>`` itself (from the form's base revision) when it stores.
    """
    name = f"{browser_copies_owner(_user_id(user_id))}letter-{letter_id}"
    return name if base_revision_id is None else f"{name}:base-{base_revision_id}"


def _user_id(user_id: int | None) -> int:
    if user_id is not None:
        return user_id
    found: int = current_user.id
    return found


def forget_browser_copies(user_id: int) -> None:
    """The person logged out: the next page deletes their copies of unsaved text from the
    browser (on a shared computer the next person must not read them). Call after the
    session is cleared."""
    session[FORGOTTEN_BROWSER_COPIES] = browser_copies_owner(user_id)


def take_forgotten_browser_copies() -> str | None:
    """For base.html: whose browser copies to delete, once (:func:`forget_browser_copies`)."""
    owner = session.pop(FORGOTTEN_BROWSER_COPIES, None)
    return owner if isinstance(owner, str) else None


def take_saved_browser_draft() -> str | None:
    """For base.html: the browser copy to clear, once (see :func:`forget_browser_draft`)."""
    name = session.pop(SAVED_BROWSER_DRAFT, None)
    return name if isinstance(name, str) else None


def init_app(app: Flask) -> None:
    """Register the check; call before the login requirement is registered."""
    user_logged_in.connect(start_clock, app)
    user_loaded_from_cookie.connect(_refuse_remember_cookie, app)
    app.before_request(check_session_age)
    app.jinja_env.globals["take_saved_browser_draft"] = take_saved_browser_draft
    app.jinja_env.globals["browser_draft_name"] = browser_draft_name
    app.jinja_env.globals["browser_copies_owner"] = browser_copies_owner
    app.jinja_env.globals["take_forgotten_browser_copies"] = take_forgotten_browser_copies
