"""Coordinators' pages for API tokens (outside the /api/v1 prefix)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_admin", __name__)
