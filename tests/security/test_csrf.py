"""Every state-changing route refuses a request without a valid CSRF token, and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from signon import create_app
from signon.core.transaction import commit
from signon.extensions import db
from tests.conftest import login, make_settings
from tests.factories import make_letter, make_user
from tests.smtp import MailCatcher

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture(scope="module")
def csrf_app(database_url: str, mail_catcher: MailCatcher, app: Flask) -> Iterator[Flask]:
    # ``app`` built the schema; this one shares the database with CSRF protection on.
    yield create_app(make_settings(database_url, mail_catcher, wtf_csrf_enabled=True))


def _unsafe_routes(app: Flask) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & UNSAFE):
            values = {
                arg: ("1" if arg.endswith("id") or arg == "number" else "x")
                for arg in rule.arguments
            }
            path = app.url_map.bind("localhost").build(rule.endpoint, values, method=method)
            routes.append((method, path))
    return routes


def _row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table)) or 0
        for table in db.metadata.sorted_tables
    }


def test_there_are_state_changing_routes_to_check(csrf_app: Flask) -> None:
    assert len(_unsafe_routes(csrf_app)) >= 20


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "wrong"])
def test_every_unsafe_route_refuses_a_bad_csrf_token(csrf_app: Flask, token: str | None) -> None:
    with csrf_app.test_request_context():
        user = make_user()
        letter = make_letter(user, slug="x")
        commit()  # a refused request rolls back; keep the setup
        before = _row_counts()
        client = csrf_app.test_client()
        login(client, user)
        failures = []
        for method, path in _unsafe_routes(csrf_app):
            path = path.replace("/letters/x/", f"/letters/{letter.slug}/")
            data = {"csrf_token": token} if token else {}
            response = client.open(path, method=method, data=data)
            if response.status_code != 400:
                failures.append(f"{method} {path}: {response.status_code}")
        assert failures == []
        assert _row_counts() == before


def test_a_valid_token_is_accepted(csrf_app: Flask) -> None:
    """The refusals above are about the token, not something else."""
    import re

    with csrf_app.test_request_context():
        user = make_user()
        commit()
        client = csrf_app.test_client()
        login(client, user)
        page = client.get("/letters/").get_data(as_text=True)
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
        response = client.post("/preview", data={"body": "*hi*", "csrf_token": token})
        assert response.status_code == 200
        assert client.post("/preview", data={"body": "*hi*"}).status_code == 400
