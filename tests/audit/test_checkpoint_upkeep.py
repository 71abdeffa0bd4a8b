"""No view of the audit log checks a long chain from its first entry (issue 11 item 5): the
scheduler's task moves the checkpoints on, a view checks a bounded number of new entries,
and what a full check found wrong stays visible without checking everything again."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from signon.accounts.models import User
from signon.audit import checkpoints
from signon.audit.models import AuditCheckpoint, AuditEvent
from signon.audit.operations import record_event
from signon.core import jobs
from signon.core.transaction import commit
from signon.extensions import db
from signon.letters.models import Letter, Revision
from tests.audit.test_tamper import signed_letter
from tests.conftest import login
from tests.factories import make_letter, make_user

#: A view checks at most this many entries in these tests.
LIMIT = 4


@pytest.fixture(autouse=True)
def small_view_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoints, "VIEW_CHECK_LIMIT", LIMIT)


def _page(client: FlaskClient, slug: str) -> str:
    response = client.get(f"/letters/{slug}/audit")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _letter_with_events(count: int) -> tuple[Letter, User]:
    """A letter whose chain has ``count`` entries after its first revision's; its coordinator."""
    coordinator = make_user()
    letter = make_letter(coordinator)
    for i in range(count):
        record_event("letter.frozen", letter_id=letter.id, actor=coordinator, n=i)
    commit()
    return letter, coordinator


def _checkpoint(letter: Letter) -> AuditCheckpoint | None:
    db.session.expire_all()
    return db.session.get(AuditCheckpoint, f"letter:{letter.id}")


def test_a_long_chain_without_checkpoint_is_left_to_the_background_check(
    app: Flask, client: FlaskClient
) -> None:
    with app.test_request_context():
        letter, coordinator = _letter_with_events(LIMIT + 3)  # 8 entries
        login(client, coordinator)
        body = _page(client, letter.slug)
        assert "Not checked yet." in body and "8 entries" in body
        assert "Check everything now" in body and "Intact" not in body
        assert _checkpoint(letter) is None  # the view checked nothing
        assert checkpoints.advance_checkpoints() == 1
        commit()
        checkpoint = _checkpoint(letter)
        assert checkpoint is not None and checkpoint.seq == 8
        assert checkpoint.full_checked_at is not None
        assert checkpoints.advance_checkpoints() == 0  # nothing new
        body = _page(client, letter.slug)
    assert "Intact since the last check." in body and "Nothing was added" in body


def test_a_view_checks_a_bounded_number_of_new_entries(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        letter, coordinator = _letter_with_events(2)  # 3 entries: the view checks in full
        login(client, coordinator)
        assert "Intact." in _page(client, letter.slug)
        for i in range(LIMIT + 2):  # entries 4 to 9
            record_event("letter.unfrozen", letter_id=letter.id, n=i)
        commit()
        body = _page(client, letter.slug)
        assert "Entries 4 to 7 were checked just now" in body
        assert "The 2 newest entries are checked in the background" in body
        checkpoint = _checkpoint(letter)
        assert checkpoint is not None and checkpoint.seq == 7
        assert checkpoints.advance_checkpoints() == 1
        commit()
        checkpoint = _checkpoint(letter)
        assert checkpoint is not None and checkpoint.seq == 9


def test_a_view_hashes_as_many_entries_at_most_however_long_the_gap(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[int] = []
    original = AuditEvent.compute_hash

    def counted(event: AuditEvent) -> str:
        hashed.append(event.seq)
        return original(event)

    with app.test_request_context():
        letter, coordinator = _letter_with_events(2)
        login(client, coordinator)
        _page(client, letter.slug)

        def hashed_by_a_view_after(new_entries: int) -> int:
            for i in range(new_entries):
                record_event("letter.unfrozen", letter_id=letter.id, n=i)
            commit()
            hashed.clear()
            with monkeypatch.context() as patch:
                patch.setattr(AuditEvent, "compute_hash", counted)
                _page(client, letter.slug)
            return len(hashed)

        assert hashed_by_a_view_after(2) == 2
        assert hashed_by_a_view_after(LIMIT * 5) == LIMIT


def test_a_break_found_by_the_background_check_shows_on_every_view(
    app: Flask, client: FlaskClient
) -> None:
    with app.test_request_context():
        letter, coordinator = _letter_with_events(LIMIT + 3)
        db.session.execute(
            update(AuditEvent)
            .where(AuditEvent.chain == f"letter:{letter.id}", AuditEvent.seq == 5)
            .values(details={"n": 99})
        )
        commit()
        checkpoints.advance_checkpoints()  # the full check: broken at entry 5
        commit()
        checkpoint = _checkpoint(letter)
        assert checkpoint is not None and checkpoint.seq == 4  # the last entry before it
        login(client, coordinator)
        body = _page(client, letter.slug)
    assert "Broken at entry 5" in body and "Intact" not in body


def test_records_that_differ_stay_shown_after_the_full_check(
    app: Flask, client: FlaskClient
) -> None:
    with app.test_request_context():
        letter, _signature = signed_letter()
        coordinator = db.session.get(User, letter.created_by_id)
        assert coordinator is not None
        db.session.execute(
            update(Revision)
            .where(Revision.letter_id == letter.id)
            .values(body_markdown="We call on no state.\n")
        )
        commit()
        (report,) = checkpoints.check_in_full(letter.id)
        commit()
        assert report.findings
        checkpoint = _checkpoint(letter)
        assert checkpoint is not None and checkpoint.findings == list(report.findings)
        login(client, coordinator)
        body = _page(client, letter.slug)  # from the checkpoint: records not read again
    assert "The letter does not match its log." in body
    assert "revision 1: its text does not match its stored SHA-256" in body


def test_the_scheduler_runs_the_upkeep() -> None:
    tasks = {task.name: task for task in jobs.periodic_tasks()}
    assert tasks["audit-checkpoints"].every_seconds == checkpoints.ADVANCE_EVERY_SECONDS
