"""The app a test's ``flask --app tests.core.worker_app worker`` runs: Signon plus the
test job kinds (settings from the environment, as in production)."""

from __future__ import annotations

from flask import Flask

import tests.core.job_kinds  # noqa: F401  (registers the test job kinds)
from signon import create_app as create_signon


def create_app() -> Flask:
    return create_signon()
