"""The coordinators' audit log page: every event, newest first, and the chain's state."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from signon.audit.models import AuditCheckpoint, AuditEvent
from signon.audit.operations import record_event
from signon.audit.verify import chain_head
from signon.core.transaction import commit
from signon.extensions import db
from signon.letters.audit_log import PER_PAGE, SHOWN_ITEMS
from tests.conftest import login
from tests.factories import make_letter, make_user
from tests.querycount import count_queries


def _page(client: FlaskClient, slug: str, page: int | None = None) -> str:
    url = f"/letters/{slug}/audit" + (f"?page={page}" if page else "")
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_events_newest_first_with_actor_words_details_and_reader_time(
    app: Flask, client: FlaskClient
) -> None:
    with app.test_request_context():
        coordinator = make_user(name="Cora Ordinator", timezone="Asia/Tokyo")
        letter = make_letter(coordinator)
        first = record_event("letter.frozen", letter_id=letter.id, actor=coordinator, revision=1)
        db.session.execute(
            update(AuditEvent)
            .where(AuditEvent.id == first.id)
            .values(created_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
        )
        db.session.expire_all()
        # re-hash so the chain stays intact with the new time
        first = db.session.get(AuditEvent, first.id)
        assert first is not None
        first.hash = first.compute_hash()
        db.session.flush()
        record_event(
            "signature.approved",
            letter_id=letter.id,
            actor_label="ngo@example.net",
            signature="Al-Haq <b>",
            revision=1,
        )
        login(client, coordinator)
        body = _page(client, letter.slug)
    frozen, approved = body.index("Froze the text for signature"), body.index("Approved the letter")
    assert approved < frozen  # newest first
    assert "Cora Ordinator (" in body and "ngo@example.net" in body
    assert "Al-Haq &lt;b&gt;" in body and "Al-Haq <b>" not in body
    assert "1 March 2026, 21:00 JST" in body  # 12:00 UTC in Tokyo, in the one date format
    assert "Intact." in body


def test_the_chain_head_is_shown_and_tampering_is_named(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        coordinator = make_user()
        letter = make_letter(coordinator)
        for i in range(3):
            record_event("letter.frozen", letter_id=letter.id, actor=coordinator, n=i)
        commit()
        head = chain_head(letter.id)
        login(client, coordinator)
        body = _page(client, letter.slug)  # no checkpoint yet: the full check
        assert head is not None and head in body and "Intact." in body
        added = record_event("letter.frozen", letter_id=letter.id, actor=coordinator, n=3)
        commit()
        _tamper(added.id, {"n": 99})  # an entry added after the checkpoint
        body = _page(client, letter.slug)
    assert "Broken at entry 5" in body  # entry 1 is the first revision's
    assert "its content does not match its hash" in body
    assert "Intact" not in body


def _tamper(event_id: int, details: dict[str, int]) -> None:
    """Change an event's details with plain SQL, as someone with database access would."""
    db.session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(details=details))
    db.session.expire_all()
    commit()


def _letter_viewed_once(client: FlaskClient, events: int = 3) -> tuple[str, list[AuditEvent]]:
    """A letter with ``events`` events after its first revision's, its log viewed once (the
    full check, which sets the checkpoint at the last event)."""
    coordinator = make_user()
    letter = make_letter(coordinator)
    recorded = [
        record_event("letter.frozen", letter_id=letter.id, actor=coordinator, n=i)
        for i in range(events)
    ]
    commit()
    login(client, coordinator)
    assert "Intact." in _page(client, letter.slug)
    return letter.slug, recorded


def test_a_view_checks_only_what_came_after_the_checkpoint(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        slug, events = _letter_viewed_once(client)
        record_event("letter.unfrozen", letter_id=events[0].letter_id, n=9)
        commit()
        body = _page(client, slug)
        assert "Intact since the last check." in body
        assert "Entries 5 to 5 were checked just now" in body
        assert "Entries 1 to 4 were found intact" in body
        body = _page(client, slug)  # the checkpoint moved on to entry 5
        assert "Nothing was added since the last check." in body
        assert "Entries 1 to 5 were found intact" in body
        assert "were last checked in full on" in body and "Check everything now" in body


def test_a_changed_fingerprint_of_the_checkpoints_entry_shows_at_once(
    app: Flask, client: FlaskClient
) -> None:
    with app.test_request_context():
        slug, events = _letter_viewed_once(client)
        db.session.execute(
            update(AuditEvent).where(AuditEvent.id == events[-1].id).values(hash="0" * 64)
        )
        db.session.expire_all()
        commit()
        body = _page(client, slug)
    assert "Broken at entry 4" in body and "Intact" not in body
    assert "no longer the entry the last check ended at" in body


def test_a_changed_content_of_the_checkpoints_entry_shows_in_the_full_check(
    app: Flask, client: FlaskClient
) -> None:
    """Its content is not hashed again on a view (like the entries before it)."""
    with app.test_request_context():
        slug, events = _letter_viewed_once(client)
        _tamper(events[-1].id, {"n": 99})
        assert "Intact since the last check." in _page(client, slug)
        client.post(f"/letters/{slug}/audit/check")
        body = _page(client, slug)
    assert "Broken at entry 4" in body and "its content does not match its hash" in body


def test_tampering_before_the_checkpoint_shows_in_the_full_check_and_stays(
    app: Flask, client: FlaskClient
) -> None:
    """A view does not re-read entries before its checkpoint, and says so; the full check
    (the button, or flask verify-audit) finds the change and moves the checkpoint back to
    the entry before the break, so that from then on every view meets the break at once."""
    with app.test_request_context():
        slug, events = _letter_viewed_once(client)
        _tamper(events[0].id, {"n": 99})  # entry 2, before the checkpoint (entry 4)
        body = _page(client, slug)
        assert "Intact since the last check." in body
        assert "shows only in a full check" in body
        response = client.post(f"/letters/{slug}/audit/check")
        assert response.status_code == 302
        body = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "The full check found a problem" in body
        assert "Broken at entry 2" in body and "Intact" not in body
        body = _page(client, slug)  # and the next view, without the button
        assert "Broken at entry 2" in body and "Intact" not in body
        checkpoint = db.session.get(AuditCheckpoint, f"letter:{events[0].letter_id}")
        assert checkpoint is not None and checkpoint.seq == 1  # the entry before the break
        assert checkpoint.full_checked_at is None  # the last full check found the break


def test_verify_audit_finds_tampering_before_the_checkpoint(
    app: Flask, client: FlaskClient
) -> None:
    with app.test_request_context():
        slug, events = _letter_viewed_once(client)
        _tamper(events[0].id, {"n": 99})
        result = app.test_cli_runner().invoke(args=["verify-audit", slug])
        assert result.exit_code == 1
        assert "BROKEN at event #2" in result.output
        body = _page(client, slug)
    assert "Broken at entry 2" in body


def test_the_full_check_button_moves_the_checkpoint(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        slug, events = _letter_viewed_once(client)
        record_event("letter.unfrozen", letter_id=events[0].letter_id)
        commit()
        response = client.post(f"/letters/{slug}/audit/check")
        body = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "Checked all 5 entries from the first: intact." in body
        assert "Nothing was added since the last check." in body
        checkpoint = db.session.get(AuditCheckpoint, f"letter:{events[0].letter_id}")
        assert checkpoint is not None and checkpoint.seq == 5
        assert checkpoint.full_checked_at is not None


def test_pages_of_events_and_a_page_out_of_range(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        coordinator = make_user()
        letter = make_letter(coordinator)
        for i in range(PER_PAGE + 5):
            record_event("letter.reminders_sent", letter_id=letter.id, actor=coordinator, n=i)
        commit()
        login(client, coordinator)
        first = _page(client, letter.slug)
        second = _page(client, letter.slug, 2)
        # PER_PAGE + 5 events after the first revision's
        assert 'id="event-56"' in first and 'id="event-7"' in first
        assert 'id="event-6"' not in first
        assert 'id="event-6"' in second and 'id="event-1"' in second
        assert "Page 2 of 2" in second and 'rel="prev"' in second
        assert client.get(f"/letters/{letter.slug}/audit?page=3").status_code == 404
        assert client.get(f"/letters/{letter.slug}/audit?page=x").status_code == 200


def test_only_this_letters_chain_is_shown(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        coordinator = make_user()
        letter, other = make_letter(coordinator), make_letter(coordinator)
        record_event("letter.frozen", letter_id=other.id, actor=coordinator, marker="other-one")
        record_event("letter.frozen", letter_id=None, actor=coordinator, marker="global-one")
        login(client, coordinator)
        body = _page(client, letter.slug)
    assert "other-one" not in body and "global-one" not in body
    assert 'id="event-1"' in body and 'id="event-2"' not in body  # its first revision only
    assert "Wrote the first revision" in body


def test_the_page_costs_a_fixed_number_of_queries(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        coordinator = make_user()
        letter = make_letter(coordinator)
        users = [make_user() for _ in range(10)]

        def load(n: int) -> int:
            for user in users[:n]:
                record_event("letter.frozen", letter_id=letter.id, actor=user)
            with count_queries() as counter:
                _page(client, letter.slug)
            return counter.count

        login(client, coordinator)
        _page(client, letter.slug)  # warm-up: the first request after setup loads more
        few = load(2)
        many = load(10)
    assert many == few


def test_a_long_list_in_an_entry_is_shown_in_part_with_a_count(
    app: Flask, client: FlaskClient
) -> None:
    """An import records every signature in one entry: the page shows the first ones and
    says how many more (the full record stays in the log and in verify-audit)."""
    with app.test_request_context():
        coordinator = make_user()
        letter = make_letter(coordinator)
        names = [f"Org-{i:04d}" for i in range(SHOWN_ITEMS + 1234)]
        record_event("signatures.imported", letter_id=letter.id, printed=names)
        commit()
        login(client, coordinator)
        body = _page(client, letter.slug)
    assert f"Org-{SHOWN_ITEMS - 1:04d}, and 1,234 more" in body
    assert f"Org-{SHOWN_ITEMS:04d}" not in body


def test_recorded_times_in_the_details_read_as_every_date_does(
    app: Flask, client: FlaskClient
) -> None:
    """Issue 12 item 8: a deadline moved, an invitation's expiry, a list's "new since"
    day show in the one format and the reader's zone, not "2027-01-04T18:00:00+00:00"; a
    name that looks like a day is left as recorded."""
    with app.test_request_context():
        coordinator = make_user(timezone="Asia/Tokyo")
        letter = make_letter(coordinator)
        record_event(
            "letter.deadline_extended",
            letter_id=letter.id,
            actor=coordinator,
            old="2027-01-04T18:00:00+00:00",
            new="2027-02-01T09:30:00+00:00",
            expires_at="2027-02-01T09:30:00Z",
        )
        record_event(
            "signatures.list_order_changed",
            letter_id=letter.id,
            actor=coordinator,
            new_since="2026-01-31",
            name="2026-01-31",
        )
        login(client, coordinator)
        body = _page(client, letter.slug)
    assert "<dd>5 January 2027, 03:00 JST</dd>" in body
    assert body.count("<dd>1 February 2027, 18:30 JST</dd>") == 2
    assert "<dd>31 January 2026</dd>" in body
    assert "<dd>2026-01-31</dd>" in body  # the name, as recorded
    assert "T18:00:00" not in body
