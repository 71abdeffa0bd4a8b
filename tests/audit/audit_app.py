"""The app with the audit blueprint, until signon/__init__.py registers it itself."""

from __future__ import annotations

from flask import Flask

from signon import create_app
from tests.conftest import make_settings, reset_schema
from tests.smtp import MailCatcher


def build_app(database_url: str, mail_catcher: MailCatcher) -> Flask:
    app = create_app(make_settings(database_url, mail_catcher))
    if "audit.letter_log" not in app.view_functions:
        from signon.letters.audit_log import bp

        app.register_blueprint(bp)
    reset_schema(app)
    return app
