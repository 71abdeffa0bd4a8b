"""Security headers on every response."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def content_security_policy(live_url: str = "") -> str:
    """The policy; a separate live-editing server (``SIGNON_LIVE_URL``) may be connected to."""
    if not live_url:
        return CSP
    return CSP.replace("connect-src 'self'", f"connect-src 'self' {live_url}")


def init_app(app: Flask) -> None:
    https = app.config["SIGNON"].https
    csp = content_security_policy(app.config["SIGNON"].live_url)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]:
            response.headers.setdefault("X-Frame-Options", "DENY")
        if _private(response):
            # Pages for a logged-in user hold drafts, e-mails and names at risk: no browser
            # or proxy keeps them (the back button after logging out on a shared computer).
            response.headers["Cache-Control"] = "private, no-store"
        if https:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response


def _private(response: Response) -> bool:
    """A response to a logged-in user that did not choose its own caching."""
    return (
        "Cache-Control" not in response.headers
        and request.endpoint != "static"
        and current_user.is_authenticated
    )
