"""Pending audit events (public sign-ons): sealed in order, never lost, never sealed twice."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from signon.audit import sealing
from signon.audit.models import AuditEvent, PendingAuditEvent
from signon.audit.verify import verify_letter
from signon.core import jobs, transaction
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.public_signon import operations as public_ops
from tests.conftest import login
from tests.factories import make_user
from tests.signatures.factories import ask_and_confirm, make_public_letter
from tests.smtp import MailCatcher
from tests.threads import run_together


def _chain(letter_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.chain == f"letter:{letter_id}")
            .order_by(AuditEvent.seq)
        )
    )


def _pending(letter_id: int) -> int:
    return sealing.pending_count(letter_id)


@pytest.mark.usefixtures("app_context")
def test_a_later_event_of_the_chain_seals_the_pending_ones_first() -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    signature = ask_and_confirm(letter, "Friends of the Court")
    assert _pending(letter.id) == 2
    assert "signature.approved" not in _chain(letter.id)
    # the signature is vouched for already: the record check counts pending events
    assert verify_letter(letter.id).intact
    public_ops.accept_signature(signature, moderator=coordinator)
    assert _pending(letter.id) == 0
    chain = _chain(letter.id)
    # its creation comes before its acceptance, though the acceptance was written first
    assert chain[-3:] == [
        "public_signature.requested",
        "signature.approved",
        "signature.moderation_accepted",
    ]
    assert verify_letter(letter.id).intact


@pytest.mark.usefixtures("app_context")
def test_a_sealed_event_keeps_its_own_time_and_actor() -> None:
    letter = make_public_letter()
    ask_and_confirm(letter, "Timed Org", email="timed@example.org")
    pending = db.session.scalars(
        select(PendingAuditEvent).where(PendingAuditEvent.letter_id == letter.id)
    ).all()
    expected = [(p.action, p.actor_label, p.created_at, p.details) for p in pending]
    assert sealing.seal_letter(letter.id)
    sealed = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.chain == f"letter:{letter.id}")
        .order_by(AuditEvent.seq)
        .offset(1)  # the first revision
    ).all()
    assert [(e.action, e.actor_label, e.created_at, e.details) for e in sealed] == expected
    assert not sealing.seal_letter(letter.id)  # nothing left: no lock taken, nothing written


def _sign_ons_never_handed_over(app: Flask, monkeypatch: pytest.MonkeyPatch, count: int) -> int:
    """A letter with ``count`` public sign-ons committed whose events nobody sealed."""
    monkeypatch.setattr(sealing, "seal_soon", lambda letter_id: None)
    with app.app_context():
        letter = make_public_letter()
        for i in range(count):
            ask_and_confirm(letter, f"Org {i}", email=f"p{i}@example.org")
        transaction.commit()
        letter_id = letter.id
        db.session.remove()
    return letter_id


@pytest.mark.real_commits
def test_events_committed_but_never_handed_over_are_sealed_by_the_scheduler(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between the commit and the seal (the hand-over lost): nothing is lost."""
    letter_id = _sign_ons_never_handed_over(app, monkeypatch, 3)
    with app.app_context():
        assert _pending(letter_id) == 6
        assert verify_letter(letter_id).intact
        db.session.remove()
    task = next(task for task in jobs.periodic_tasks() if task.name == "seal-audit")
    with app.app_context():
        task.function()  # what `flask scheduler` runs every few seconds
        transaction.commit()
        assert _pending(letter_id) == 0
        assert _chain(letter_id).count("signature.approved") == 3
        assert verify_letter(letter_id).intact


@pytest.mark.real_commits
def test_a_commit_outside_a_request_with_nothing_left_to_seal_still_sends_its_mail(
    app: Flask, outbox: MailCatcher
) -> None:
    """The commit's callbacks seal first, then send: sealing that finds nothing must end
    its read. On SQLite the read began a write transaction (BEGIN IMMEDIATE) on the
    shared session, and the outbox's claim on a connection of its own then waited out
    the busy timeout and failed ("database is locked"): no acceptance mail (the e2e
    journey tests/e2e/test_journey_public_changes.py, without a browser)."""
    with app.app_context():  # no request: the callbacks run at the commit, as in the CLI
        coordinator = make_user()
        letter = make_public_letter(coordinator)
        signature = ask_and_confirm(letter, "Sealed Choir", email="choir@example.org")
        public_ops.accept_signature(signature, moderator=coordinator)  # seals the pending
        transaction.commit()
        assert [m["Subject"] for m in outbox.to("choir@example.org")], "no mail was sent"
        assert not db.session().in_transaction()  # nothing holds the write lock
        assert _pending(letter.id) == 0
        db.session.remove()


@pytest.mark.usefixtures("app_context")
def test_verify_audit_seals_first(app: Flask) -> None:
    letter = make_public_letter()
    ask_and_confirm(letter, "Checked Org", email="checked@example.org")
    db.session.flush()
    assert _pending(letter.id) == 2
    result = app.test_cli_runner().invoke(args=["verify-audit", letter.slug])
    assert result.exit_code == 0, result.output
    assert "Sealed the pending audit events of 1 letter(s)" in result.output
    assert "intact" in result.output
    assert _pending(letter.id) == 0


def test_the_audit_log_page_says_what_is_pending(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        coordinator = make_user()
        letter = make_public_letter(coordinator)
        ask_and_confirm(letter, "Pending Org", email="pending@example.org")
        db.session.flush()
        login(client, coordinator)
        body = client.get(f"/letters/{letter.slug}/audit").get_data(as_text=True)
    assert "2 entries pending sealing" in body
    assert "Intact" in body and "does not match" not in body


@pytest.mark.real_commits
def test_two_sealers_at_once_seal_each_event_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    letter_id = _sign_ons_never_handed_over(app, monkeypatch, 10)
    barrier = threading.Barrier(3)

    def seal() -> None:
        with app.app_context():
            barrier.wait()
            sealing.seal_letter(letter_id)
            db.session.remove()

    run_together([seal, seal, seal])
    with app.app_context():
        seqs = list(
            db.session.scalars(
                select(AuditEvent.seq)
                .where(AuditEvent.chain == f"letter:{letter_id}")
                .order_by(AuditEvent.seq)
            )
        )
        assert seqs == list(range(1, len(seqs) + 1))
        assert _chain(letter_id).count("signature.approved") == 10
        assert db.session.scalar(select(func.count(PendingAuditEvent.id))) == 0
        assert verify_letter(letter_id).intact
        assert db.session.get(Letter, letter_id) is not None
