"""Flask commands of the exports feature: PDF export and letter bundles."""

from __future__ import annotations

from flask import Flask

from signon.exports.bundles import cli as bundles_cli
from signon.exports.pdf import cli as pdf_cli


def register(app: Flask) -> None:
    """Add this feature's commands to ``app.cli``."""
    bundles_cli.register(app)
    pdf_cli.register(app)
