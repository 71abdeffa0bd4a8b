"""One commit per request, at the request boundary; mail and other side effects after it.

Operations add and flush, never commit. A request that ends with a response
below 400 is committed here; anything else is rolled back. Callbacks queued with
:func:`after_commit` (mail, mostly) run only once the commit has succeeded.

Callbacks queued with :func:`after_response` run later still: once the WSGI server has
written the whole response and closes it (``response.call_on_close``; gunicorn and
Werkzeug both call ``close()`` after the body). Mail is sent there, so that how long a
response takes says nothing about whether a mail was sent (who has an account). Outside
a request (CLI, tests calling :func:`commit`) they run at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, g, has_request_context

from signon.extensions import db

log = logging.getLogger(__name__)


def after_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` once the current unit of work has been committed."""
    g.setdefault("_after_commit", []).append(callback)


def run_after_commit_callbacks() -> None:
    callbacks: list[Callable[[], object]] = g.pop("_after_commit", [])
    for callback in callbacks:  # a side effect must never undo or hide a committed change
        _run(callback, "after-commit callback failed")
    if callbacks and db.session().in_transaction():
        # A callback read through the shared session (a callback that writes commits its
        # own unit of work): end the transaction that read began. Left open it would hold
        # its snapshot, and on SQLite the database's write lock (every transaction begins
        # IMMEDIATE), until whatever used the session next: outside a request (CLI, jobs,
        # the scheduler) another connection's write waited the busy timeout and failed.
        db.session.rollback()


def discard_after_commit_callbacks() -> None:
    g.pop("_after_commit", None)


def after_response(callback: Callable[[], object]) -> None:
    """Run ``callback`` once the response has been sent (in a request), else at once.

    Meant for work that must already be committed and that the person waiting for the
    page should not wait for (nor be able to time). It runs in an app context of its
    own; a failure is logged, never raised.
    """
    if not has_request_context():
        _run(callback, "after-response callback failed")
        return
    g.setdefault("_after_response", []).append(callback)


def _run(callback: Callable[[], object], failure: str) -> None:
    try:
        callback()
    except Exception:  # the response is gone: nobody to tell but the log
        log.exception(failure)


def hand_over_after_response_callbacks(response: Response) -> None:
    """Give the callbacks queued with :func:`after_response` to ``response.close()``."""
    callbacks: list[Callable[[], object]] = g.pop("_after_response", [])
    if not callbacks:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        with app.app_context():
            for callback in callbacks:
                _run(callback, "after-response callback failed")

    response.call_on_close(run)


def commit() -> None:
    """Commit the unit of work, then run the side effects queued during it.

    For CLI commands and tests; requests are committed by :func:`init_app`'s hook.
    """
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        discard_after_commit_callbacks()
        raise
    run_after_commit_callbacks()


def rollback() -> None:
    db.session.rollback()
    discard_after_commit_callbacks()


def init_app(app: Flask) -> None:
    @app.after_request
    def _commit_or_rollback(response: Response) -> Response:
        if response.status_code < 400:
            commit()  # an exception here becomes a 500 and nothing is sent
        else:
            rollback()
        # Also after a rollback: an earlier commit of this request may have queued some.
        hand_over_after_response_callbacks(response)
        return response

    @app.teardown_request
    def _rollback_on_error(exc: BaseException | None) -> None:
        if exc is not None:
            rollback()
