"""Shared pieces of the fault tests: an app that handles errors as production does,
SMTP servers that refuse or are not there, and row counts of every table."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import func, select

from signon import create_app
from signon.extensions import db
from tests.conftest import make_settings
from tests.smtp import MailCatcher

_apps: dict[tuple[str, int], Flask] = {}


def production_like_app(database_url: str, mail_catcher: MailCatcher) -> Flask:
    """The app with ``TESTING`` off (an exception becomes a 500 page, as in production)
    and the mail-problems blueprint registered (until signon/__init__.py does it)."""
    key = (database_url, mail_catcher.port)
    if key not in _apps:
        app = create_app(make_settings(database_url, mail_catcher, testing=False))
        if "mail" not in app.blueprints:
            from signon.signatures.mail_views import bp

            app.register_blueprint(bp)
        assert not app.testing and not app.config.get("PROPAGATE_EXCEPTIONS")
        _apps[key] = app
    return _apps[key]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler:
    def __init__(self, server: FlakyMailServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.server.refusing:
            return "550 5.7.1 Relaying denied for now"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.server.lock:
            self.server.accepted.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


class FlakyMailServer:
    """A real SMTP server that refuses every recipient (550) while ``refusing`` is set."""

    def __init__(self) -> None:
        self.port = free_port()
        self.refusing = True
        self.accepted: list[str] = []
        self.lock = threading.Lock()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)


@contextmanager
def mail_port(app: Flask, port: int) -> Iterator[None]:
    """Point ``app``'s mail at another port for the duration of the block."""
    state = app.extensions["mailman"]
    original = state.port
    state.port = port
    try:
        yield
    finally:
        state.port = original


@contextmanager
def flaky_mail_server(*apps: Flask) -> Iterator[FlakyMailServer]:
    server = FlakyMailServer()
    server.controller.start()
    states = [app.extensions["mailman"] for app in apps]
    originals = [state.port for state in states]
    for state in states:
        state.port = server.port
    try:
        yield server
    finally:
        for state, original in zip(states, originals, strict=True):
            state.port = original
        server.controller.stop()


def row_counts() -> dict[str, int]:
    """How many rows every table has (to show a failed request left nothing behind)."""
    return {
        table.name: int(db.session.scalar(select(func.count()).select_from(table)) or 0)
        for table in db.metadata.sorted_tables
    }
