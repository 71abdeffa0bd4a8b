"""The editor's check for a newer revision: GET /letters/<slug>/edit/newest?base=<id>.

A small JSON answer with an ETag (unchanged: 304), a fixed number of statements however
many revisions, and a request that does not count as activity for the session.
"""

from __future__ import annotations

import time

import pytest
from flask.testing import FlaskClient

from signon.core.permissions import TeamRole
from signon.core.sessions import LOGGED_IN_AT, SEEN_AT
from signon.letters.models import Letter
from tests.conftest import login
from tests.factories import add_revision, add_team_member, make_letter, make_user
from tests.querycount import count_queries

pytestmark = pytest.mark.usefixtures("app_context")


def _url(letter: Letter, base_id: int | str) -> str:
    return f"/letters/{letter.slug}/edit/newest?base={base_id}"


def _letter_with_drafter(client: FlaskClient) -> tuple[Letter, int]:
    letter = make_letter(make_user(), body="One.\n")
    drafter = make_user()
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    login(client, drafter)
    head = letter.head()
    assert head is not None
    return letter, head.id


def test_nothing_newer_then_someone_saves(client: FlaskClient) -> None:
    letter, base_id = _letter_with_drafter(client)
    response = client.get(_url(letter, base_id))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-cache"
    data = response.get_json()
    assert data["newer"] is False
    assert data["compare_url"] is None
    assert data["base"] == {"id": base_id, "number": 1}

    # Asked again with the ETag: unchanged, so 304 and no body.
    etag = response.headers["ETag"]
    again = client.get(_url(letter, base_id), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""

    author = make_user(name="Alice Author")
    add_revision(letter, author, "One!\n")
    changed = client.get(_url(letter, base_id), headers={"If-None-Match": etag})
    assert changed.status_code == 200
    data = changed.get_json()
    assert data["newer"] is True
    assert data["newest"]["number"] == 2
    assert data["newest"]["author"] == "Alice Author"
    assert data["compare_url"] == f"/letters/{letter.slug}/diff?from=1&to=2"


@pytest.mark.parametrize("base", ["other", "x", ""])
def test_a_base_from_another_letter_or_no_base_is_not_found(client: FlaskClient, base: str) -> None:
    # One request per test: a 404 ends the request's transaction, test data with it.
    letter, _base_id = _letter_with_drafter(client)
    if base == "other":
        other_head = make_letter(make_user()).head()
        assert other_head is not None
        base = str(other_head.id)
    assert client.get(_url(letter, base)).status_code == 404


def test_statement_count_does_not_grow_with_revisions(client: FlaskClient) -> None:
    letter, base_id = _letter_with_drafter(client)
    counts = []
    for revisions in (1, 20):
        for i in range(revisions):
            add_revision(letter, make_user(), f"One {i}.\n")
        with count_queries() as counter:
            assert client.get(_url(letter, base_id)).status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_the_check_does_not_keep_the_session_alive(client: FlaskClient) -> None:
    letter, base_id = _letter_with_drafter(client)
    with client.session_transaction() as session:
        seen = session[LOGGED_IN_AT] = session[SEEN_AT] = int(time.time()) - 3600  # an hour ago
    assert client.get(_url(letter, base_id)).status_code == 200
    with client.session_transaction() as session:
        assert session[SEEN_AT] == seen
    # A page the person opens does count.
    assert client.get(f"/letters/{letter.slug}/edit").status_code == 200
    with client.session_transaction() as session:
        assert session[SEEN_AT] > seen
