"""Security headers on every response, and cookie flags with HTTPS on and off.

The walk goes through every GET route of the URL map, anonymous and as the
coordinator of a published letter, so a new page cannot ship without the headers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from signon import create_app
from signon.core.transaction import commit
from signon.extensions import limiter
from tests.conftest import RequestIsolatingClient, login, make_settings
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.signatures.factories import make_public_letter
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")

EMBED_ENDPOINT = "signatures.public_embed"


def _csp_directives(response: TestResponse) -> dict[str, str]:
    csp = response.headers.get("Content-Security-Policy", "")
    directives: dict[str, str] = {}
    for part in csp.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name] = value
    return directives


def assert_security_headers(response: TestResponse, where: str, *, embeddable: bool) -> None:
    directives = _csp_directives(response)
    assert directives, f"{where}: no Content-Security-Policy"
    script_src = directives.get("script-src", directives.get("default-src", ""))
    assert script_src, f"{where}: no script-src"
    assert "'unsafe-inline'" not in script_src, where
    assert "'unsafe-eval'" not in script_src, where
    assert "*" not in script_src.split(), where
    assert directives.get("object-src") == "'none'", where
    assert directives.get("base-uri") == "'none'", where  # no <base> may redirect relative URLs
    if embeddable:
        assert directives.get("frame-ancestors") != "'none'", where
        assert "X-Frame-Options" not in response.headers, where
    else:
        assert directives.get("frame-ancestors") == "'none'", where
        assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") in {
        "same-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
        "strict-origin",
    }, where
    assert "Strict-Transport-Security" not in response.headers, f"{where}: HSTS over plain HTTP"


def _url_for_rule(rule: Rule, private_slug: str, public_slug: str) -> str:
    def value(match: re.Match[str]) -> str:
        converter, name = match.group(1) or "string", match.group(2)
        if name == "slug":
            return public_slug if rule.rule.startswith("/p/") else private_slug
        if name == "filename":
            return "css/signon.css"
        if converter == "int":
            return "1"
        return "not-a-real-token"

    return re.sub(r"<(?:(\w+):)?(\w+)>", value, rule.rule)


def _get_routes(app: Flask) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or set())),
        key=lambda rule: rule.rule,
    )


@pytest.mark.parametrize("visitor", ["anonymous", "coordinator"])
def test_every_get_route_carries_the_security_headers(
    app: Flask, client: FlaskClient, visitor: str
) -> None:
    coordinator = make_user()
    public = make_public_letter(coordinator)
    commit()  # responses >= 400 roll back what is not committed
    if visitor == "coordinator":
        login(client, coordinator)
    statuses: dict[int, int] = {}
    routes = _get_routes(app)
    assert len(routes) > 30, "the URL map looks too small to be the real one"
    for rule in routes:
        path = _url_for_rule(rule, public.slug, public.slug)
        response = client.get(path)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        where = f"{visitor} GET {path} ({response.status_code})"
        assert_security_headers(
            response,
            where,
            embeddable=rule.endpoint == EMBED_ENDPOINT and response.status_code == 200,
        )
        if visitor == "coordinator" and response.mimetype == "text/html":
            # every page; files and the API's public documents say their own caching
            assert "no-store" in response.headers.get("Cache-Control", ""), where
        response.close()  # a streamed download keeps its request context until closed
    # the walk really met pages, redirects and misses
    assert statuses.get(200, 0) > 3, statuses
    assert 404 in statuses, statuses
    if visitor == "anonymous":
        assert statuses.get(302, 0) > 5, statuses


def test_the_embed_page_alone_may_be_framed(client: FlaskClient) -> None:
    letter = make_public_letter(make_user())
    commit()
    embed = client.get(f"/p/{letter.slug}/embed")
    assert embed.status_code == 200
    assert_security_headers(embed, "embed", embeddable=True)
    assert _csp_directives(embed).get("script-src") == "'self'"
    page = client.get(f"/p/{letter.slug}")
    assert page.status_code == 200
    assert_security_headers(page, "public page", embeddable=False)


def test_error_pages_carry_the_headers_too(client: FlaskClient) -> None:
    for path, status in (("/no-such-page", 404), ("/logout", 405)):
        response = client.get(path)
        assert response.status_code == status
        assert_security_headers(response, path, embeddable=False)


def _cookie(response: TestResponse, name: str) -> str:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no {name} cookie in {response.headers.getlist('Set-Cookie')}")


def _flags(cookie: str) -> set[str]:
    return {part.strip().lower() for part in cookie.split(";")[1:]}


def _log_in_through_the_form(client: FlaskClient, email: str) -> TestResponse:
    response = client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def test_over_plain_http_cookies_are_httponly_lax_and_no_hsts(client: FlaskClient) -> None:
    user = make_user()
    response = _log_in_through_the_form(client, user.email)
    # browsers drop a __Host- cookie that is not Secure, so plain HTTP keeps the plain name
    flags = _flags(_cookie(response, "session"))
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "secure" not in flags
    assert "Strict-Transport-Security" not in response.headers
    # no remember-me: login never sets a long-lived cookie
    assert not any(
        header.startswith("remember_token=") for header in response.headers.getlist("Set-Cookie")
    )


@pytest.fixture
def https_app(database_url: str, mail_catcher: MailCatcher) -> Iterator[Flask]:
    was_enabled = limiter.enabled
    app = create_app(make_settings(database_url, mail_catcher, https=True))
    app.test_client_class = RequestIsolatingClient
    try:
        yield app
    finally:
        limiter.enabled = was_enabled


def test_with_https_on_cookies_are_secure_host_prefixed_and_hsts_is_sent(
    https_app: Flask,
) -> None:
    with https_app.test_request_context():
        user = make_user()
        client = https_app.test_client()
        home = client.get("/", base_url="https://localhost")
        hsts = home.headers.get("Strict-Transport-Security", "")
        assert "max-age=" in hsts and int(hsts.split("max-age=")[1].split(";")[0]) >= 31536000
        response = client.post(
            "/login",
            data={"email": user.email, "password": DEFAULT_PASSWORD},
            base_url="https://localhost",
        )
        assert response.status_code == 302
        cookie = _cookie(response, "__Host-session")
        flags = _flags(cookie)
        assert {"secure", "httponly", "samesite=lax", "path=/"} <= flags
        assert not any(flag.startswith("domain=") for flag in flags), cookie
        # the prefixed cookie is the session: it carries the login to the next request
        assert client.get("/letters/", base_url="https://localhost").status_code == 200
        assert "Strict-Transport-Security" in response.headers
        missing = client.get("/no-such-page", base_url="https://localhost")
        assert missing.status_code == 404
        assert "Strict-Transport-Security" in missing.headers


def test_static_files_and_anonymous_pages_may_be_cached(client: FlaskClient) -> None:
    letter = make_public_letter(make_user())
    commit()
    for path in (f"/p/{letter.slug}/embed", "/", "/static/css/signon.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.headers.get("Cache-Control", ""), path
    # The public page of an open letter carries the sign-on form and its session-bound CSRF
    # token: no shared cache may keep it (its embed and API are cached instead).
    form_page = client.get(f"/p/{letter.slug}")
    assert b'name="csrf_token"' in form_page.data or b"<form" in form_page.data
    assert form_page.headers["Cache-Control"] == "private, no-store"
    login(client, make_user())
    assert "no-store" not in client.get("/static/css/signon.css").headers.get("Cache-Control", "")
    assert client.get("/letters/").headers["Cache-Control"] == "private, no-store"
