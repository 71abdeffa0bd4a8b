"""The counts of the public pages and the API come from ``letter_counts`` (maintained by a
periodic task, or by the reader that finds the row stale), never older than
``counts.FRESH_FOR`` seconds, in one statement while fresh."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text
from werkzeug.test import TestResponse

from signon.core import jobs, transaction
from signon.core.locks import _key_number, on_postgresql
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, LetterStatus
from signon.signatures import counts
from signon.signatures.dashboard import queries
from signon.signatures.listing import listed
from signon.signatures.models import (
    LetterCounts,
    Moderation,
    Signature,
    SignatureEvent,
    SignatureStatus,
)
from signon.signatures.public_signon import operations as public_ops
from tests.conftest import login
from tests.factories import add_revision, make_user
from tests.querycount import count_queries
from tests.signatures.factories import ask_and_confirm, make_public_letter, make_signature

pytestmark = pytest.mark.usefixtures("app_context")


def _letter(listed_count: int = 3) -> Letter:
    letter = make_public_letter(make_user())
    for i in range(listed_count):
        make_signature(letter, f"Organisation {i}")
    make_signature(letter, "Withdrawn Coalition", status=SignatureStatus.WITHDRAWN)
    return letter


def _exact(letter: Letter) -> counts.ShownCounts:
    listing = listed(letter)
    return counts.ShownCounts(listing.count(), listing.awaiting_reconfirmation())


def test_without_a_row_the_reader_counts_and_keeps_the_counts() -> None:
    letter = _letter()
    now = utcnow()
    assert counts.shown(listed(letter), now) == _exact(letter) == counts.ShownCounts(3, 0)
    row = db.session.get(LetterCounts, letter.id)
    assert row is not None and (row.listed, row.refreshed_at) == (3, now)


def test_the_row_is_shown_while_fresh_and_never_older_than_fresh_for() -> None:
    letter = _letter()
    taken = utcnow()
    assert counts.refresh(letter, taken) == counts.ShownCounts(3, 0)
    make_signature(letter, "Newcomer Coalition")
    make_signature(letter, "Another Newcomer")
    # Within FRESH_FOR seconds of the refresh the kept counts are shown ...
    within = taken + timedelta(seconds=counts.FRESH_FOR)
    assert counts.shown(listed(letter), within).listed == 3
    # ... after it the reader counts them and keeps them: never wrong for longer.
    after = taken + timedelta(seconds=counts.FRESH_FOR, microseconds=1)
    assert counts.shown(listed(letter), after) == _exact(letter) == counts.ShownCounts(5, 0)
    row = db.session.get(LetterCounts, letter.id)
    assert row is not None and (row.listed, row.refreshed_at) == (5, after)
    # A refresh makes the row exact again.
    make_signature(letter, "Third Newcomer")
    counts.refresh(letter, after)
    assert counts.shown(listed(letter), after) == counts.ShownCounts(6, 0)


def test_awaiting_reconfirmation_is_kept_too() -> None:
    letter = _letter(2)
    add_revision(letter, None, "A new text, not classified.\n")
    make_signature(letter, "Approved the new text")
    expected = counts.ShownCounts(1, 2)
    assert counts.shown(listed(letter)) == _exact(letter) == expected
    now = utcnow()
    assert counts.refresh(letter, now) == expected
    assert counts.shown(listed(letter), now) == expected


def test_one_statement_while_fresh_and_a_fixed_number_to_refresh() -> None:
    letter = _letter()
    add_revision(letter, None, "Another text.\n")  # so that the awaiting count is a query
    listing = listed(letter)
    now = utcnow()
    with count_queries() as missing:
        counts.shown(listing, now)
    with count_queries() as fresh:
        counts.shown(listing, now)
    later = now + timedelta(seconds=counts.FRESH_FOR + 1)
    with count_queries() as unchanged:
        counts.shown(listing, later)
    with count_queries() as fresh_again:
        counts.shown(listing, later)
    make_signature(letter, "Newcomer Coalition")
    with count_queries() as changed:
        shown = counts.shown(listing, later + timedelta(seconds=counts.FRESH_FOR + 1))
    assert shown == _exact(letter) == counts.ShownCounts(1, 3)
    assert fresh.count == fresh_again.count == 1
    # stale but unchanged: the kept row, (PostgreSQL) the refresh lock, the stamp, the row,
    # its refreshed_at moved; changed: counted again
    assert unchanged.count == 4 + on_postgresql()
    assert missing.count == changed.count > unchanged.count
    assert not _counted(unchanged.statements) and _counted(changed.statements)


def _counted(statements: list[str]) -> bool:
    """Whether these statements counted the list (the listed COUNT or the chart's slots)."""
    return any("letter_approval_slots" in s and s.startswith("DELETE") for s in statements)


def test_a_refresh_counts_again_only_when_something_changed() -> None:
    letter = _letter()
    head = letter.head()
    assert head is not None
    now = utcnow()
    counts.refresh(letter, now)
    step = timedelta(seconds=counts.REFRESH_EVERY)
    with count_queries() as nothing_new:
        assert counts.refresh(letter, now + step) == counts.ShownCounts(3, 0)
    assert not _counted(nothing_new.statements)
    row = db.session.get(LetterCounts, letter.id)
    assert row is not None and (row.refreshed_at, row.counted_at) == (now + step, now)

    def change(number: int) -> None:
        if number == 0:  # an insert
            make_signature(letter, "Newcomer Coalition")
        elif number == 1:  # an update
            _signature(letter, "Organisation 0").status = SignatureStatus.WITHDRAWN
        elif number == 2:  # a deletion
            db.session.delete(_signature(letter, "Withdrawn Coalition"))
        elif number == 3:  # a new text
            add_revision(letter, None, "A new text.\n")
        else:  # the new text classified
            revision = letter.head()
            assert revision is not None
            revision.change_kind = ChangeKind.EDITORIAL

    expected = [(4, 0), (3, 0), (3, 0), (0, 3), (3, 0)]
    for number, shown in enumerate(expected, start=2):
        change(number - 2)
        db.session.flush()
        with count_queries() as after_change:
            assert counts.refresh(letter, now + number * step) == counts.ShownCounts(*shown)
        assert _counted(after_change.statements), number
        assert counts.refresh(letter, now + number * step) == counts.ShownCounts(*shown)
    # unchanged for RECOUNT_AFTER seconds: counted again all the same
    late = now + timedelta(seconds=counts.RECOUNT_AFTER + 60)
    with count_queries() as long_after:
        counts.refresh(letter, late)
    assert _counted(long_after.statements)


def _signature(letter: Letter, name: str) -> Signature:
    found = db.session.scalar(
        select(Signature).where(Signature.letter_id == letter.id, Signature.name == name)
    )
    assert found is not None
    return found


def test_a_reader_that_finds_the_refresh_taken_counts_without_waiting() -> None:
    """Another transaction holds the letter's refresh lock (PostgreSQL): the reader does
    not wait for it, shows the exact counts and leaves the row to the lock's holder."""
    if not on_postgresql():
        pytest.skip("SQLite's transactions take turns already (the write lock)")
    letter = _letter()
    with db.engine.connect() as other, other.begin():
        assert other.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"),
            {"key": _key_number(f"letter-counts:{letter.id}")},
        )
        started = time.monotonic()
        assert counts.shown(listed(letter)) == _exact(letter) == counts.ShownCounts(3, 0)
        assert time.monotonic() - started < 2
        assert db.session.get(LetterCounts, letter.id) is None
    # the lock released, the next reader keeps the counts
    assert counts.shown(listed(letter)) == counts.ShownCounts(3, 0)
    assert db.session.get(LetterCounts, letter.id) is not None


def test_the_periodic_task_refreshes_public_letters_that_take_signatures() -> None:
    assert "refresh-letter-counts" in {task.name for task in jobs.periodic_tasks()}
    open_letter = _letter(2)
    closed = _letter(1)
    closed.status = LetterStatus.CLOSED
    private = make_public_letter(make_user(), is_public=False)
    db.session.flush()
    now = utcnow()
    assert counts.refresh_public_counts(now) >= 1
    rows = {
        row.letter_id: row
        for row in db.session.scalars(
            select(LetterCounts).where(
                LetterCounts.letter_id.in_([open_letter.id, closed.id, private.id])
            )
        )
    }
    assert set(rows) == {open_letter.id}
    assert (rows[open_letter.id].listed, rows[open_letter.id].refreshed_at) == (2, now)


def _shown_count(path: str, response: TestResponse) -> int:
    if path.endswith("/signatories"):
        return int(response.json["total"])  # type: ignore[index]
    if path.startswith("/api/"):
        return int(response.json["counts"]["published_signatories"])  # type: ignore[index]
    found = re.search(r"data-count>(\d+)<", response.get_data(as_text=True))
    assert found, path
    return int(found.group(1))


def test_pages_and_api_show_the_kept_counts_with_the_same_statements(
    client: FlaskClient,
) -> None:
    letter = _letter()
    transaction.commit()
    paths = [
        f"/p/{letter.slug}",
        f"/p/{letter.slug}/embed",
        f"/api/v1/letters/{letter.slug}",
        f"/api/v1/letters/{letter.slug}/signatories",
    ]
    assert client.get(paths[0]).status_code == 200  # the first reader keeps the counts
    counted = {}
    for path in paths:
        with count_queries() as counter:
            response = client.get(path)
        assert response.status_code == 200 and _shown_count(path, response) == 3, path
        counted[path] = counter.count
    counts.refresh(letter)
    make_signature(letter, "Newcomer Coalition")  # not counted yet: the row is fresh
    transaction.commit()
    for path in paths:
        with count_queries() as counter:
            response = client.get(path)
        assert counter.count == counted[path], path
        assert _shown_count(path, response) == 3, path


def _approve(letter: Letter, name: str, at: datetime) -> None:
    signature = make_signature(letter, name)
    db.session.add(SignatureEvent(signature=signature, action="approved", created_at=at))
    db.session.flush()


def test_the_dashboard_chart_reads_its_kept_slots_while_fresh_in_one_statement() -> None:
    letter = _letter(0)
    now = utcnow()
    _approve(letter, "Early Coalition", now - timedelta(days=3))
    _approve(letter, "Second Coalition", now - timedelta(days=1))
    before = queries.approval_changes(letter)
    assert [came for _at, came, _left in before] == [1, 1]
    counts.refresh(letter, now)
    _approve(letter, "Newcomer Coalition", now)
    with count_queries() as fresh:
        # the kept slots while the letter's counts are fresh ...
        assert queries.approval_changes(letter, kept_since=counts.fresh_since(now)) == before
    with count_queries() as stale:
        # ... counted again (with the newcomer) once they are not
        later = counts.fresh_since(now + timedelta(seconds=counts.FRESH_FOR, microseconds=1))
        counted = queries.approval_changes(letter, kept_since=later)
    assert counted == queries.approval_changes(letter) != before
    assert sum(came for _at, came, _left in counted) == 3
    assert fresh.count == stale.count == 1
    # a refresh replaces the kept slots
    counts.refresh(letter, now)
    assert queries.approval_changes(letter, kept_since=counts.fresh_since(now)) == counted


def test_the_dashboard_shows_the_kept_listed_count_with_the_same_statements(
    client: FlaskClient,
) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    _approve(letter, "Early Coalition", utcnow() - timedelta(days=2))
    transaction.commit()
    login(client, coordinator)
    path = f"/letters/{letter.slug}/signatories"
    assert client.get(path).status_code == 200
    with count_queries() as counted:
        response = client.get(path)
    listed_before = _listed_on_dashboard(response)
    counts.refresh(letter)
    _approve(letter, "Newcomer Coalition", utcnow())  # not counted yet: the row is fresh
    transaction.commit()
    with count_queries() as kept:
        response = client.get(path)
    assert kept.count == counted.count
    assert _listed_on_dashboard(response) == listed_before
    counts.refresh(letter)
    transaction.commit()
    assert _listed_on_dashboard(client.get(path)) == listed_before + 1


def _listed_on_dashboard(response: TestResponse) -> int:
    found = re.search(r"data-listed>(\d+)<", response.get_data(as_text=True))
    assert found is not None
    return int(found.group(1))


def test_a_moderator_accepting_a_signature_sees_it_counted_at_once() -> None:
    """The coordinator who accepts a public signature looks at the public page or the
    embed next: the kept counts are outdated by the decision, not shown for FRESH_FOR
    more seconds (the journey that found it: tests/e2e/test_journey_public.py)."""
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    pending = ask_and_confirm(letter, "Waiting Coalition", "waiting@coalition.example.org")
    assert pending.moderation == Moderation.PENDING
    assert counts.shown(listed(letter)) == counts.ShownCounts(0, 0)  # kept, fresh
    public_ops.accept_signature(pending, moderator=coordinator)
    assert counts.shown(listed(letter)) == _exact(letter) == counts.ShownCounts(1, 0)
