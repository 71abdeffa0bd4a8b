"""Signon: collaborative sign-on letters."""

from __future__ import annotations

import logging

from flask import Flask

from signon.config import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the application: config, extensions, blueprints, error handlers, CLI."""
    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.from_mapping(settings.flask_config())

    _init_extensions(app)
    from signon.core.input_guard import register_converters

    register_converters(app)
    _register_blueprints(app)
    _register_audit_checks()
    _register_jobs()
    _init_templates(app)

    from signon import cli
    from signon.core import (
        access,
        errors,
        headers,
        input_guard,
        logs,
        metrics,
        request_id,
        transaction,
    )

    logs.init_app(app)
    _warn_about_unshared_state(settings)  # once the log lines have their shape (JSON)
    input_guard.init_app(app)
    metrics.init_app(app)
    request_id.init_app(app)  # runs first: every later hook's log records carry the id
    access.init_app(app)
    transaction.init_app(app)
    headers.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    return app


def _warn_about_unshared_state(settings: Settings) -> None:
    """Say loudly, in production, what several processes would not share."""
    if settings.development or settings.testing:
        return
    if settings.rate_limits_per_process:
        log.warning(
            "SIGNON_RATELIMIT_STORAGE_URL is memory://: rate limits are counted per process. "
            "With more than one gunicorn worker or app server set it to a Redis URL "
            "(e.g. redis://127.0.0.1:6379/0); gunicorn.conf.py refuses to start several "
            "workers this way."
        )


def _register_audit_checks() -> None:
    """What the audit verifier checks of a letter besides its chain, feature by feature."""
    from signon.audit.verify import register_record_check
    from signon.letters.audit_records import revision_problems
    from signon.signatures.audit_records import signature_problems

    register_record_check(revision_problems)
    register_record_check(signature_problems)


def _register_jobs() -> None:
    """Import every module that registers background jobs or periodic tasks, so that a
    worker or the scheduler knows them all (``signon/core/jobs.py``)."""
    import signon.audit.sealing
    import signon.core.commands
    import signon.exports.bundles.operations
    import signon.exports.pdf.operations
    import signon.letters.commands
    import signon.signatures.commands
    import signon.signatures.invitations.notifications  # noqa: F401


def _init_extensions(app: Flask) -> None:
    from signon.core import limit_headers
    from signon.db import render_item_for_alembic, tune_sqlite
    from signon.extensions import csrf, db, limiter, login_manager, mail, migrate

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            tune_sqlite(db.engine)
    migrate.init_app(
        app,
        db,
        directory=str(PROJECT_ROOT / "migrations"),
        compare_type=True,
        render_as_batch=True,
        render_item=render_item_for_alembic,
    )
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    limit_headers.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from signon.accounts.models import User

    @login_manager.user_loader
    def _load_user(session_id: str) -> User | None:
        """Sessions name the user and their session token; a rotated token ends them."""
        user_id, _, token = session_id.partition(":")
        if not user_id.isdigit() or not token:
            return None
        user = db.session.get(User, int(user_id))
        if user is None or user.session_token != token:
            return None
        return user


def _register_blueprints(app: Flask) -> None:
    import signon.exports.bundles.views
    import signon.exports.pdf.views
    import signon.models  # noqa: F401  (every model registered before first use)
    from signon.accounts.views import bp as accounts_bp
    from signon.api.admin import bp as api_admin_bp
    from signon.api.views import bp as api_bp
    from signon.core.views import bp as core_bp
    from signon.drafting.blueprint import bp as drafting_bp
    from signon.exports.lists.views import bp as exports_bp
    from signon.letters.audit_log import bp as audit_bp
    from signon.letters.views import bp as letters_bp
    from signon.signatures.blueprint import bp as signatures_bp
    from signon.signatures.mail_views import bp as mail_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(letters_bp)
    app.register_blueprint(signatures_bp)
    app.register_blueprint(drafting_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_admin_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(mail_bp)


def _init_templates(app: Flask) -> None:
    from signon.core.timefmt import datetime_in, format_date, format_datetime, known_reader_zone
    from signon.core.urls import canonical_url
    from signon.letters.navigation import letter_navigation, page_label

    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime_in"] = datetime_in  # mails: {{ t|datetime_in(user.timezone) }}
    app.jinja_env.globals["letter_navigation"] = letter_navigation
    app.jinja_env.globals["page_label"] = page_label
    app.jinja_env.globals["known_reader_zone"] = known_reader_zone
    app.jinja_env.globals["canonical_url"] = canonical_url
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
