"""The audit chain: every event links to the one before; tampering is named."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text, update

from signon.audit.models import AuditEvent
from signon.audit.operations import EventDraft, record_event, record_events
from signon.audit.verify import chain_head, verify_all, verify_chain
from signon.core.transaction import commit
from signon.extensions import db
from tests.factories import make_letter, make_user


@pytest.fixture
def chained(app_context: None) -> tuple[int, list[AuditEvent]]:
    user = make_user()
    letter = make_letter(user)
    events = [
        record_event("letter.frozen", letter_id=letter.id, actor=user),
        record_event(
            "signature.approved",
            letter_id=letter.id,
            actor_label="a@example.org",
            signature="Al-Haq",
            revision=1,
        ),
        record_event("letter.unfrozen", letter_id=letter.id, actor=user, reason="typo"),
    ]
    return letter.id, events


def test_events_link_into_a_chain(chained: tuple[int, list[AuditEvent]]) -> None:
    letter_id, events = chained
    # event 1 is the first revision's (its SHA-256, vouched for)
    assert [e.seq for e in events] == [2, 3, 4]
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    report = verify_chain(f"letter:{letter_id}")
    assert report.intact and report.events == 4
    assert chain_head(letter_id) == events[2].hash


def test_events_appended_in_bulk_extend_the_chain_as_one_by_one(
    chained: tuple[int, list[AuditEvent]],
) -> None:
    letter_id, events = chained
    user = make_user()
    bulk = record_events(
        [
            EventDraft("signature.approved", {"signature": "A", "dropped": None}, actor=user),
            EventDraft("signature.approved", {"signature": "B"}, actor_label="b@example.org"),
            EventDraft("letter.frozen"),
        ],
        letter_id=letter_id,
    )
    assert [e.seq for e in bulk] == [5, 6, 7]
    assert bulk[0].prev_hash == events[-1].hash
    assert [e.prev_hash for e in bulk[1:]] == [e.hash for e in bulk[:-1]]
    assert [e.actor_label for e in bulk] == [user.email, "b@example.org", "system"]
    assert bulk[0].details == {"signature": "A"} and bulk[0].actor_id == user.id
    db.session.expire_all()
    assert verify_chain(f"letter:{letter_id}").intact
    assert chain_head(letter_id) == bulk[-1].hash
    assert record_event("letter.unfrozen", letter_id=letter_id).seq == 8


def test_chains_are_per_letter(app_context: None) -> None:
    user = make_user()
    first, second = make_letter(user), make_letter(user)
    a = record_event("x", letter_id=first.id, actor=user)
    b = record_event("x", letter_id=second.id, actor=user)
    assert a.seq == b.seq == 2  # after each letter's first revision
    assert all(r.intact for r in verify_all())


@pytest.mark.parametrize(
    "tamper",
    [
        lambda e: (
            update(AuditEvent).where(AuditEvent.id == e.id).values(details={"reason": "none"})
        ),
        lambda e: update(AuditEvent).where(AuditEvent.id == e.id).values(actor_label="x@evil.org"),
        lambda e: update(AuditEvent).where(AuditEvent.id == e.id).values(prev_hash="f" * 64),
    ],
    ids=["details", "actor", "link"],
)
def test_tampering_with_a_row_is_caught(chained, tamper) -> None:
    letter_id, events = chained
    db.session.execute(tamper(events[2]))
    db.session.expire_all()
    report = verify_chain(f"letter:{letter_id}")
    assert not report.intact
    assert report.broken_at.id == events[2].id


def test_deleting_an_event_is_caught(chained) -> None:
    letter_id, events = chained
    db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[1].id})
    db.session.expire_all()
    report = verify_chain(f"letter:{letter_id}")
    assert not report.intact and report.broken_at.id == events[2].id


@pytest.mark.real_commits
def test_verify_audit_command_names_the_first_broken_event(app: Flask) -> None:
    with app.app_context():
        user = make_user()
        letter = make_letter(user, slug="audited")
        for i in range(4):
            record_event("signature.approved", letter_id=letter.id, actor=user, n=i)
        commit()
        runner = app.test_cli_runner()
        ok = runner.invoke(args=["verify-audit", "audited"])
        assert ok.exit_code == 0 and "intact" in ok.output
        second = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.letter_id == letter.id).order_by(AuditEvent.seq)
        ).all()[1]
        db.session.execute(
            update(AuditEvent).where(AuditEvent.id == second.id).values(action="signature.declined")
        )
        commit()
        broken = runner.invoke(args=["verify-audit", "audited"])
        assert broken.exit_code == 1
        assert f"BROKEN at event #2 (id {second.id}" in broken.output
        assert "content does not match its hash" in broken.output
