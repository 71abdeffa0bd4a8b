"""One commit per request, at the request boundary; mail and other side effects after it.

Operations add and flush, never commit. A request that ends with a response
below 400 is committed here; anything else is rolled back. Callbacks queued with
:func:`after_commit` (mail, mostly) run only once the commit has succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, g

from signon.extensions import db

log = logging.getLogger(__name__)


def after_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` once the current unit of work has been committed."""
    g.setdefault("_after_commit", []).append(callback)


def run_after_commit_callbacks() -> None:
    callbacks: list[Callable[[], object]] = g.pop("_after_commit", [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a side effect must never undo or hide a committed change
            log.exception("after-commit callback failed")


def discard_after_commit_callbacks() -> None:
    g.pop("_after_commit", None)


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
        return response

    @app.teardown_request
    def _rollback_on_error(exc: BaseException | None) -> None:
        if exc is not None:
            rollback()
