"""Real concurrent approvals (threads, one connection each, real commits), through HTTP.

50 organisations approve the same letter at the same moment: all 50 are recorded, none
twice. The same approval form submitted 5 times at once: one signature, one event.
Runs on SQLite (writers queue: BEGIN IMMEDIATE) and on PostgreSQL (row locks on the
invitation and on the letter's audit chain; unique constraints as the last guard).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select

from signon.core.transaction import commit
from signon.extensions import db
from signon.signatures.invitations import links, notifications
from signon.signatures.invitations import operations as ops
from signon.signatures.models import (
    Invitation,
    InvitationStatus,
    Signature,
    SignatureEvent,
    SignatureStatus,
)
from tests.factories import make_letter, make_user
from tests.smtp import MailCatcher
from tests.threads import run_together

pytestmark = pytest.mark.real_commits


def _setup(app: Flask, organisations: int) -> tuple[int, int, list[tuple[str, str]]]:
    """A letter and ``organisations`` invitations; returns (letter id, head id, [(token, name)])."""
    with app.test_request_context():
        coordinator = make_user(name="Concurrent Coordinator")
        letter = make_letter(coordinator, body="We all agree on this text.\n")
        lines = "\n".join(
            f"Organisation {i:02d}, contact{i}@org{i}.example.org" for i in range(organisations)
        )
        report = ops.create_invitations(letter, ops.parse_pasted(lines), invited_by=coordinator)
        assert len(report.created) == organisations
        invitations = [db.session.get(Invitation, line.invitation_id) for line in report.created]
        result = [(links.invitation_token(i), i.organisation_name) for i in invitations]
        letter_id, head_id = letter.id, letter.head().id
        commit()
        notifications.wait_for_background_sends()  # more than a few are sent by a thread
        db.session.remove()
    return letter_id, head_id, result


def _approver(
    app: Flask,
    token: str,
    name: str,
    head_id: int,
    barrier: threading.Barrier,
    statuses: list[int],
) -> Callable[[], None]:
    def work() -> None:
        client = app.test_client()
        data = {
            "approve-name": name,
            "approve-kind": "ngo",
            "approve-representative_name": f"Representative of {name}",
            "approve-representative_title": "Director",
            "approve-authority": "y",
            "approve-revision": str(head_id),
        }
        barrier.wait()
        response = client.post(f"/sign/{token}/approve", data=data)
        statuses.append(response.status_code)

    return work


def test_fifty_organisations_approving_at_once_are_all_recorded_once(
    app: Flask, outbox: MailCatcher
) -> None:
    letter_id, head_id, invitees = _setup(app, 50)
    outbox.clear()
    barrier = threading.Barrier(len(invitees))
    statuses: list[int] = []
    run_together(
        [_approver(app, token, name, head_id, barrier, statuses) for token, name in invitees],
        timeout=240,
    )
    assert statuses == [302] * 50
    with app.app_context():
        signatures = db.session.scalars(
            select(Signature).where(Signature.letter_id == letter_id)
        ).all()
        assert len(signatures) == 50
        assert {s.name for s in signatures} == {name for _, name in invitees}
        assert all(s.status == SignatureStatus.APPROVED for s in signatures)
        assert all(s.revision_id == head_id for s in signatures)
        assert len({s.invitation_id for s in signatures}) == 50
        events = db.session.scalars(select(SignatureEvent)).all()
        assert len(events) == 50 and {e.action for e in events} == {"approved"}
        assert len({e.signature_id for e in events}) == 50
        statuses_after = db.session.scalars(
            select(Invitation.status).where(Invitation.letter_id == letter_id)
        ).all()
        assert set(statuses_after) == {InvitationStatus.APPROVED}
    assert len(outbox) == 50  # one receipt each


def test_the_same_form_submitted_five_times_at_once_records_one_approval(
    app: Flask, outbox: MailCatcher
) -> None:
    letter_id, head_id, invitees = _setup(app, 1)
    outbox.clear()
    (token, name) = invitees[0]
    barrier = threading.Barrier(5)
    statuses: list[int] = []
    run_together(
        [_approver(app, token, name, head_id, barrier, statuses) for _ in range(5)], timeout=240
    )
    assert statuses == [302] * 5
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Signature).where(Signature.letter_id == letter_id)
        )
        assert count == 1
        events = db.session.scalars(select(SignatureEvent.action)).all()
        assert events == ["approved"]
    assert len(outbox) == 1  # one receipt, not five
