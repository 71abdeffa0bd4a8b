"""An organisation can always withdraw with its link: after a revocation, after the deadline,
after signing closed or the letter was published; late withdrawals are a coordinators' task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.audit.models import AuditEvent
from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import LetterStatus
from signon.signatures.approvals import late_withdrawals
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations import operations as ops
from signon.signatures.models import InvitationStatus, Signature, SignatureStatus
from tests.conftest import login
from tests.signatures.factories import coordinated_letter, invited, sign_path
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")


@pytest.fixture
def approved():
    coordinator, letter = coordinated_letter(title="Joint statement")
    invitation = invited(
        letter, coordinator, name="Redress Trust", email="rita@redress.example.org"
    )
    ops.approve_invitation(
        invitation, letter.head(), SignatoryDetails(name="Redress Trust", authority_confirmed=True)
    )
    commit()
    return coordinator, letter, invitation


def _signature(letter_id: int) -> Signature:
    return db.session.scalars(select(Signature).where(Signature.letter_id == letter_id)).one()


def test_the_confirmation_page_changes_nothing(client: FlaskClient, approved) -> None:
    _coordinator, letter, invitation = approved
    response = client.get(sign_path(invitation, "/withdraw"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Withdraw your approval of “Joint statement”" in page
    assert f'action="{sign_path(invitation, "/withdraw")}"' in page
    assert 'name="csrf_token"' in page or "withdraw-reason" in page
    assert response.headers["Cache-Control"] == "no-store"
    assert _signature(letter.id).status == SignatureStatus.APPROVED


def test_unknown_link_is_404_for_the_confirmation_page(client: FlaskClient, approved) -> None:
    assert client.get("/sign/nothing/withdraw").status_code == 404


def test_withdraw_after_revocation(client: FlaskClient, approved, outbox: MailCatcher) -> None:
    coordinator, letter, invitation = approved
    ops.revoke_invitation(invitation, by=coordinator)
    commit()
    problem = client.get(sign_path(invitation))
    assert problem.status_code == 410
    assert sign_path(invitation, "/withdraw") in problem.get_data(as_text=True)
    assert client.get(sign_path(invitation, "/withdraw")).status_code == 200
    outbox.clear()
    response = client.post(sign_path(invitation, "/withdraw"), data={"withdraw-reason": "Board"})
    assert response.status_code == 302
    assert response.location.endswith(sign_path(invitation, "/withdraw"))
    signature = _signature(letter.id)
    assert signature.status == SignatureStatus.WITHDRAWN
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.REVOKED  # still revoked: the link stays closed
    page = client.get(response.location).get_data(as_text=True)
    assert "withdrew its approval" in page
    assert len(outbox.to(invitation.email)) == 1  # the receipt
    # Open letter, before the deadline: nothing for the coordinators to act on.
    assert late_withdrawals.needing_action(letter) == []


def test_withdraw_after_the_deadline_is_flagged(client: FlaskClient, approved) -> None:
    _coordinator, letter, invitation = approved
    letter.deadline = utcnow() - timedelta(hours=1)
    invitation.expires_at = letter.deadline
    commit()
    assert client.get(sign_path(invitation)).status_code == 410
    assert client.post(sign_path(invitation, "/withdraw"), data={}).status_code == 302
    assert [s.name for s in late_withdrawals.needing_action(letter)] == ["Redress Trust"]


@pytest.mark.parametrize("status", [LetterStatus.CLOSED, LetterStatus.PUBLISHED])
def test_withdraw_after_close_or_publication_needs_action(
    client: FlaskClient, approved, status: LetterStatus
) -> None:
    coordinator, letter, invitation = approved
    letter.status = status
    commit()
    page = client.get(sign_path(invitation, "/withdraw")).get_data(as_text=True)
    assert "You can still withdraw" in page
    assert client.post(sign_path(invitation, "/withdraw"), data={}).status_code == 302
    assert _signature(letter.id).status == SignatureStatus.WITHDRAWN
    withdrawn = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "signature.withdrawn")
    ).one()
    assert withdrawn.details["after_list_final"] is True

    login(client, coordinator)
    dashboard = client.get(f"/letters/{letter.slug}/signatories").get_data(as_text=True)
    assert "Needs your action" in dashboard and "Redress Trust" in dashboard
    signature = _signature(letter.id)
    ack = f"/letters/{letter.slug}/signatories/{signature.id}/acknowledge-withdrawal"
    assert client.post(ack, data={}).status_code == 302
    assert late_withdrawals.needing_action(letter) == []
    audit = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == late_withdrawals.AUDIT_ACKNOWLEDGED)
    ).one()
    assert audit.actor_id == coordinator.id and audit.details["signature"] == "Redress Trust"
    dashboard = client.get(f"/letters/{letter.slug}/signatories").get_data(as_text=True)
    assert "Needs your action" not in dashboard
    # Acknowledging twice records nothing more.
    client.post(ack, data={})
    assert (
        len(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == late_withdrawals.AUDIT_ACKNOWLEDGED)
            ).all()
        )
        == 1
    )


def test_acknowledging_another_letters_signature_is_404(client: FlaskClient, approved) -> None:
    _coordinator, letter, invitation = approved
    letter.status = LetterStatus.CLOSED
    ops.withdraw_invitation(invitation, reason=None)
    mine, other = coordinated_letter()
    commit()
    login(client, mine)
    signature = _signature(letter.id)
    response = client.post(
        f"/letters/{other.slug}/signatories/{signature.id}/acknowledge-withdrawal", data={}
    )
    assert response.status_code == 404
    assert late_withdrawals.needing_action(letter) != []
