"""Diffs stored once made (signon/letters/diff_store.py): pages read them, not diff again."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from signon.core import transaction
from signon.extensions import db
from signon.letters import diff_store, operations
from signon.letters.models import Letter, Revision, RevisionDiff
from signon.letters.rendered_diff import DIFF_VERSION, marked_revisions
from tests.conftest import login
from tests.factories import add_revision, make_letter, make_user
from tests.querycount import count_queries

pytestmark = pytest.mark.usefixtures("app_context")

BODY = "## Climate finance\n\nWe urge the **Court** to act.\n\n- one\n- two\n"


def _save(letter: Letter, body: str) -> Revision:
    head = letter.head()
    assert head is not None
    result = operations.save_revision(
        letter, head.author, base=head, title=head.title, body=body, change_note=""
    )
    assert result.revision is not None
    return result.revision


def _stored() -> list[RevisionDiff]:
    return list(db.session.scalars(select(RevisionDiff)))


def test_a_saved_revision_is_diffed_with_the_one_before_once_committed() -> None:
    letter = make_letter(make_user(), body=BODY)
    first = letter.head()
    second = _save(letter, BODY.replace("act", "decide").replace("- two", "- three"))
    assert _stored() == []  # the job starts after the commit
    transaction.commit()
    (row,) = _stored()
    assert (row.old_revision_id, row.new_revision_id) == (first.id, second.id)
    expected = marked_revisions(first, second)
    assert row.version == DIFF_VERSION and row.html == str(expected.html)
    assert "<del>act</del><ins>decide</ins>" in row.html
    assert (row.words_added, row.words_removed) == (2, 2)


def test_pages_read_the_stored_diff(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, body=BODY)
    second = _save(letter, BODY.replace("act", "decide"))
    transaction.commit()
    # What the page shows comes from the row, not from diffing again.
    db.session.execute(
        update(RevisionDiff)
        .where(RevisionDiff.new_revision_id == second.id)
        .values(html="<p>stored <ins>diff</ins></p>")
    )
    login(client, coordinator)
    for path in ("diff", "changes"):
        page = client.get(f"/letters/{letter.slug}/{path}").get_data(as_text=True)
        assert "stored <ins>diff</ins>" in page, path
        assert "<del>act</del>" not in page, path


def test_a_diff_made_by_an_older_version_is_made_again() -> None:
    letter = make_letter(make_user(), body=BODY)
    first = letter.head()
    assert first is not None
    second = add_revision(letter, None, BODY.replace("Court", "Assembly"))
    assert diff_store.store_missing_diffs(letter.id) == 1
    db.session.execute(update(RevisionDiff).values(version=DIFF_VERSION - 1, html="<p>stale</p>"))
    (shown,) = diff_store.revision_diffs([(first, second)])
    assert "stale" not in shown.html and "<ins><strong>Assembly</strong></ins>" in shown.html
    assert diff_store.store_missing_diffs(letter.id) == 1
    (row,) = _stored()
    assert row.version == DIFF_VERSION and "<strong>Assembly</strong>" in row.html
    assert diff_store.store_missing_diffs(letter.id) == 0  # nothing left to do


def test_the_changes_page_reads_all_its_diffs_in_one_query(client: FlaskClient) -> None:
    def queries(revisions: int) -> int:
        coordinator = make_user()
        letter = make_letter(coordinator, body=BODY)
        for n in range(revisions):
            add_revision(letter, coordinator, BODY.replace("one", f"one {n}"))
        diff_store.store_missing_diffs(letter.id)
        login(client, coordinator)
        with count_queries() as counter:
            page = client.get(f"/letters/{letter.slug}/changes").get_data(as_text=True)
        assert "<ins>0</ins>" in page and f"<ins>{revisions - 1}</ins>" in page
        return counter.count

    assert queries(2) == queries(12)
