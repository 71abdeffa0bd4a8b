"""Letters blueprint. STUB: to be filled in."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("letters", __name__, url_prefix="/letters")


@bp.get("/")
def index() -> str:
    return "letters"
