"""The import pages × every visitor: anonymous (sent to log in), the user who started the
import, another signed-in user (the import does not exist for them: 404)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from signon.core import jobs, transaction
from signon.exports.bundles import operations as bundles
from signon.extensions import db
from tests.conftest import login
from tests.factories import make_user

pytestmark = pytest.mark.usefixtures("app_context")

VISITORS = ("anonymous", "starter", "other")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    #: The status each visitor gets, in the order of :data:`VISITORS`.
    expected: tuple[int, int, int]


ROUTES = [
    Route("GET", "/imports/new", (302, 200, 200)),
    Route("POST", "/imports/new", (302, 302, 302)),
    Route("GET", "/imports/{job}", (302, 200, 404)),
]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize("visitor", VISITORS)
def test_who_reaches_the_import_pages(client: FlaskClient, route: Route, visitor: str) -> None:
    starter, other = make_user(), make_user()
    # a failed import: it has a page all the same
    job = bundles.start_import(io.BytesIO(b"{}"), starter)
    transaction.commit()
    if visitor != "anonymous":
        login(client, starter if visitor == "starter" else other)
    path = route.path.format(job=job.id)
    if route.method == "GET":
        response = client.get(path)
    else:
        data = {"bundle": (io.BytesIO(b"{}"), "letter.json")}
        response = client.post(path, data=data, content_type="multipart/form-data")
    assert response.status_code == route.expected[VISITORS.index(visitor)]
    if visitor == "anonymous":
        assert "/login" in response.location
        assert db.session.query(jobs.BackgroundJob).count() == 1  # nothing started
