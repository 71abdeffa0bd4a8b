"""Two coordinators acknowledging the same late withdrawal at once record it once."""

from __future__ import annotations

import functools
import threading

import pytest
from flask import Flask
from sqlalchemy import func, select

from signon.audit.models import AuditEvent
from signon.core.permissions import TeamRole
from signon.core.transaction import commit
from signon.extensions import db
from signon.letters.models import LetterStatus
from signon.signatures.approvals import late_withdrawals
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations import operations as ops
from signon.signatures.models import Signature, SignatureEvent
from tests.factories import add_team_member, make_user
from tests.signatures.factories import coordinated_letter, invited, sign_path
from tests.threads import run_together

pytestmark = pytest.mark.real_commits


def _late_withdrawal(app: Flask) -> tuple[str, str, list[str]]:
    """A closed letter whose one signatory withdrew; (slug, ack path, coordinators' ids)."""
    with app.test_request_context():
        coordinator, letter = coordinated_letter(title="Closed statement")
        second = make_user(name="Second Coordinator")
        add_team_member(letter, role=TeamRole.COORDINATOR, user=second)
        invitation = invited(letter, coordinator, name="Redress Trust", email="r@redress.example")
        ops.approve_invitation(
            invitation,
            letter.head(),
            SignatoryDetails(name="Redress Trust", authority_confirmed=True),
        )
        letter.status = LetterStatus.CLOSED
        commit()
        withdraw = sign_path(invitation, "/withdraw")
        ids = [coordinator.get_id(), second.get_id()]
        slug = letter.slug
        db.session.remove()
    response = app.test_client().post(withdraw, data={})
    assert response.status_code == 302
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        path = f"/letters/{slug}/signatories/{signature.id}/acknowledge-withdrawal"
        db.session.remove()
    return slug, path, ids


def test_two_coordinators_acknowledging_at_once_record_it_once(app: Flask) -> None:
    _slug, path, ids = _late_withdrawal(app)
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def acknowledger(user_id: str) -> None:
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = user_id
            session["_fresh"] = True
        barrier.wait()
        statuses.append(client.post(path, data={}).status_code)

    run_together([functools.partial(acknowledger, u) for u in ids * 2], timeout=120)
    assert statuses == [302] * 4
    with app.app_context():
        acknowledged = db.session.scalar(
            select(func.count())
            .select_from(SignatureEvent)
            .where(SignatureEvent.action == late_withdrawals.ACKNOWLEDGED)
        )
        audited = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == late_withdrawals.AUDIT_ACKNOWLEDGED)
        )
        assert (acknowledged, audited) == (1, 1)
