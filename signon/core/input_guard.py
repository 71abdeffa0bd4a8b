"""Input no database should see: refused before any view runs."""

from __future__ import annotations

from flask import Flask, abort, request


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_nul_characters() -> None:
        """A NUL byte in a form or query is never legitimate text, and PostgreSQL refuses it."""
        for values in (request.form.listvalues(), request.args.listvalues()):
            if any("\x00" in value for group in values for value in group):
                abort(400, "Text may not contain NUL characters.")
