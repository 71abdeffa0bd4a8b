"""Flask commands of this feature. Each is one unit of work: commit once, then send mail."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Add this feature's commands to ``app.cli``."""
