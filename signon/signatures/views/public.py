"""Routes: see signon/signatures/views/__init__.py."""

from __future__ import annotations

from signon.signatures.views import bp  # noqa: F401
