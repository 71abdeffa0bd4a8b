"""The downloads stream in batches and give the same bytes as the list made in one piece;
the list page shows one page of the list."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from signon import create_app
from signon.core.transaction import commit
from signon.exports.lists import formats as lists
from signon.exports.lists.views import LIST_PAGE_SIZE
from signon.extensions import db
from signon.signatures.listing import listed, signatory_list
from signon.signatures.models import OrderMode
from tests.conftest import login, make_settings
from tests.factories import make_letter, make_user
from tests.querycount import count_queries
from tests.signatures.test_listing import sign
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")


@pytest.mark.parametrize("size", [0, 1, 7])
@pytest.mark.parametrize("batch", [1, 3, 1000])
def test_streamed_downloads_are_the_bytes_of_the_whole_list(size: int, batch: int) -> None:
    letter = make_letter(make_user(), body="One.\n")
    head = letter.head()
    assert head is not None
    for i in range(size):
        sign(letter, head, f"Organisation {i}", country=f"Country {i % 3}")
    whole = signatory_list(letter, head, mode=OrderMode.COUNTRY)
    rows = lists.list_rows(whole)
    read = listed(letter, head, mode=OrderMode.COUNTRY)
    for bom in (False, True):
        streamed = b"".join(lists.csv_chunks(read.batches(batch), bom=bom))
        assert streamed == lists.rows_csv(rows, bom=bom)
    chunks = lists.json_chunks(letter, head, OrderMode.COUNTRY, read.count(), read.batches(batch))
    assert b"".join(chunks) == lists.rows_json(letter, whole, rows)


def test_the_list_page_shows_one_page_at_a_time(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, body="One.\n")
    head = letter.head()
    assert head is not None
    for i in range(LIST_PAGE_SIZE + 2):
        sign(letter, head, f"Organisation {i:03d}")
    commit()
    login(client, coordinator)
    first = client.get(f"/letters/{letter.slug}/export/signatories").get_data(as_text=True)
    assert first.count("data-name>") == LIST_PAGE_SIZE
    assert f"Listed ({LIST_PAGE_SIZE + 2})" in first
    assert f"/letters/{letter.slug}/export/signatories?page=2" in first
    second = client.get(f"/letters/{letter.slug}/export/signatories?page=2").get_data(as_text=True)
    assert second.count("data-name>") == 2
    names = signatory_list(letter).names
    assert f"data-name>{names[-1]}<" in second and f"data-name>{names[0]}<" not in second


def test_downloads_stream_after_the_commit_in_an_app_as_in_production(
    tmp_path: Path, mail_catcher: MailCatcher
) -> None:
    """The body is read after the request committed and its session ended (the shared
    session of the other tests keeps everything loaded and would hide a miss)."""
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'app.db'}", mail_catcher, testing=False))
    with app.app_context():
        db.create_all()
        coordinator = make_user()
        letter = make_letter(coordinator, body="One.\n")
        head = letter.head()
        assert head is not None
        for i in range(5):
            sign(letter, head, f"Organisation {i}")
        commit()
        slug, user_id = letter.slug, coordinator.get_id()
        db.session.remove()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
    for suffix in ("csv", "json"):
        response = client.get(f"/letters/{slug}/export/signatories.{suffix}")
        body = response.get_data(as_text=True)
        assert response.status_code == 200, body[:500]
        assert body.count("Organisation ") == 5
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_a_download_reads_the_list_in_one_sorted_query_whatever_its_length(
    client: FlaskClient, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of 2 from one query read as it goes: 3 and 9 signatories cost the same
    statements (OFFSET pages cost one more statement, and one more sort, per batch)."""
    monkeypatch.setattr("signon.exports.lists.views.DOWNLOAD_BATCH", 2)
    coordinator = make_user()
    login(client, coordinator)

    def statements(size: int) -> int:
        letter = make_letter(coordinator, body="One.\n")
        head = letter.head()
        assert head is not None
        for i in range(size):
            sign(letter, head, f"Organisation {i}")
        commit()
        path = f"/letters/{letter.slug}/export/signatories.{kind}"
        client.get(path).get_data()  # warm-up
        with count_queries() as counter:
            body = client.get(path).get_data(as_text=True)
        assert f"Organisation {size - 1}" in body
        return counter.count

    assert statements(3) == statements(9)


def test_the_list_page_sends_the_same_statements_whether_it_joins_the_names_or_not(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11 item 5: a short list is shown joined too ("as printed in a statement"); its
    page is then cut from the joined names' query, not read again, so a list of 2 and one
    of 9 (past the joined limit, here 3) send the same statements."""
    monkeypatch.setattr("signon.exports.lists.views.JOINED_MAX", 3)
    coordinator = make_user()
    login(client, coordinator)

    def statements(size: int) -> tuple[int, str]:
        letter = make_letter(coordinator, body="One.\n")
        head = letter.head()
        assert head is not None
        for i in range(size):
            sign(letter, head, f"Organisation {i}")
        commit()
        path = f"/letters/{letter.slug}/export/signatories"
        client.get(path).get_data()  # warm-up
        with count_queries() as counter:
            page = client.get(path).get_data(as_text=True)
        assert f"Listed ({size})" in page
        return counter.count, page

    short, short_page = statements(2)
    long, long_page = statements(9)
    assert "As printed in a statement<" in short_page
    assert "As printed in a statement<" not in long_page
    assert short == long
