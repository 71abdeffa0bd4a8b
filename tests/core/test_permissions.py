"""Core routes × visitors, and the guarantee that no route ships without a permission test."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import MethodNotAllowed, NotFound

from tests.conftest import login
from tests.factories import make_user

pytestmark = pytest.mark.usefixtures("app_context")

CORE_ROUTES = [
    # method, path, data, anonymous, logged in
    ("GET", "/", None, 200, 302),
    ("GET", "/healthz", None, 200, 200),
    # for the scraper only (token or address: tests/core/test_metrics.py); no one else
    ("GET", "/metrics", None, 404, 404),
    ("GET", "/readyz", None, 200, 200),
    ("POST", "/preview", {"body": "**hi**"}, 302, 200),
]


@pytest.mark.parametrize(("method", "path", "data", "anonymous", "logged_in"), CORE_ROUTES)
def test_core_routes(
    client: FlaskClient, method: str, path: str, data, anonymous: int, logged_in: int
) -> None:
    assert client.open(path, method=method, data=data).status_code == anonymous
    login(client, make_user())
    assert client.open(path, method=method, data=data).status_code == logged_in


def _endpoint(app: Flask, method: str, path: str) -> str:
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(path.split("?")[0], method=method)
    except (NotFound, MethodNotAllowed) as exc:  # pragma: no cover - a typo in a matrix
        raise AssertionError(f"{method} {path} matches no route") from exc
    return str(endpoint)


def _matrix_modules() -> list[ModuleType]:
    """Every ``tests/**/test_permissions*.py`` module (except this one)."""
    root = Path(__file__).resolve().parent.parent
    modules = []
    for path in sorted(root.rglob("test_permissions*.py")):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        if name != __name__:
            modules.append(importlib.import_module(name))
    return modules


def test_every_route_has_a_permission_test(app: Flask) -> None:
    """Walk the URL map: a new route fails this test until a permission matrix lists it.

    A matrix is a module-level ``ROUTES`` list whose items have a ``method`` and
    either an ``endpoint`` or a ``path`` (``{placeholders}`` allowed).
    """
    covered = {(m, _endpoint(app, m, p)) for m, p, *_ in CORE_ROUTES}
    for module in _matrix_modules():
        for route in module.ROUTES:
            endpoint = getattr(route, "endpoint", None)
            if endpoint is None:
                path = route.path.format_map(_Anything())
                endpoint = _endpoint(app, route.method, path)
            covered.add((route.method, endpoint))
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (method, rule.endpoint) not in covered:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert missing == [], "routes without a permission test: " + ", ".join(missing)


class _Anything(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "1"
