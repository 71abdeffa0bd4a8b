"""Flask commands. Each one is a unit of work: it commits once, then sends its mail."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the project's commands on ``app.cli``."""
