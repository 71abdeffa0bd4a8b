"""Pages send a fixed number of SQL queries, however many letters, revisions or members."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from signon.core.permissions import TeamRole
from tests.conftest import login
from tests.factories import add_revision, add_team_member, make_letter, make_organisation, make_user
from tests.querycount import count_queries

pytestmark = pytest.mark.usefixtures("app_context")

PAGES = ["/", "revisions", "diff", "authorship", "team", "edit"]


def _queries_per_page(client: FlaskClient, size: int) -> dict[str, int]:
    user = make_user()
    letters = [make_letter(user, body="One.\n\nTwo.\n") for _ in range(size)]
    letter = letters[0]
    for i in range(size):
        add_revision(letter, make_user(), f"One {i}.\n\nTwo.\n")
        add_team_member(letter, role=TeamRole.VIEWER, user=make_user())
        add_team_member(letter, role=TeamRole.VIEWER, organisation=make_organisation())
    login(client, user)
    counts = {}
    with count_queries() as counter:
        assert client.get("/letters/").status_code == 200
    counts["list"] = counter.count
    for page in PAGES:
        with count_queries() as counter:
            path = f"/letters/{letter.slug}/{'' if page == '/' else page}"
            assert client.get(path).status_code == 200, path
        counts[page] = counter.count
    return counts


def test_query_count_does_not_grow_with_the_data(client: FlaskClient) -> None:
    small = _queries_per_page(client, 2)
    large = _queries_per_page(client, 25)
    assert small == large
