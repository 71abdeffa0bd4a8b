"""Flask commands: see signon/exports/commands.py."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Add these commands to ``app.cli``."""
