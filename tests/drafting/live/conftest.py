"""Live-editing tests run the app for real: werkzeug in a thread, on the test database.

``serve(**settings)`` starts one app server (its own app, so its own hub: two calls are
two app servers) and stops it after the test. The tests commit for real
(``real_commits``): the server's threads have their own database sessions. On SQLite
every transaction takes the write lock (``BEGIN IMMEDIATE``), so a test holds none while
a server works: it keeps ids, not loaded rows, and ends each read it makes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from signon import create_app
from signon.drafting.live.hub import hub
from signon.extensions import db
from tests.conftest import make_settings
from tests.smtp import MailCatcher


@dataclass
class AppServer:
    app: Flask
    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def cookie(self, session_id: str) -> str:
        """A session cookie for this server, as a login makes it (``User.get_id()``)."""
        serializer = self.app.session_interface.get_signing_serializer(self.app)  # type: ignore[attr-defined]
        assert serializer is not None
        return str(serializer.dumps({"_user_id": session_id, "_fresh": True}))

    def stop(self) -> None:
        hub(self.app).stop()
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


Serve = Callable[..., AppServer]


@pytest.fixture
def serve(database_url: str, mail_catcher: MailCatcher) -> Iterator[Serve]:
    servers: list[AppServer] = []

    def start(**overrides: Any) -> AppServer:
        server: BaseWSGIServer = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
        url = f"http://127.0.0.1:{server.server_port}"
        app = create_app(make_settings(database_url, mail_catcher, base_url=url, **overrides))
        server.app = app
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        found = AppServer(app, url, server, thread)
        servers.append(found)
        return found

    yield start
    for server in servers:
        server.stop()
