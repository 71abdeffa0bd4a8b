"""The coordinators see their letter's unsent e-mails and can retry them."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from signon.accounts.models import User
from signon.core.mail import queue_mail
from signon.core.outbox import OutboxMessage
from signon.core.transaction import commit
from signon.extensions import db
from signon.letters.models import Letter
from tests.conftest import login
from tests.factories import make_letter, make_user
from tests.faults.helpers import flaky_mail_server
from tests.smtp import MailCatcher


def test_a_refused_mail_is_shown_to_the_coordinator_and_retried(
    app: Flask, prod_app: Flask, outbox: MailCatcher
) -> None:
    with app.test_request_context():
        coordinator = make_user()
        letter = make_letter(coordinator, title="Water for all")
        other = make_letter(coordinator, title="Another letter")
        slug, letter_id, other_id, user_id = letter.slug, letter.id, other.id, coordinator.id
        commit()
    with flaky_mail_server(app, prod_app) as server:
        with app.test_request_context():
            coordinator = db.session.get(User, user_id)
            queue_mail(
                "refused@ngo.example.org",
                "Invitation to sign: Water for all",
                "test_message",
                user=coordinator,
                letter=db.session.get(Letter, letter_id),
            )
            queue_mail(
                "elsewhere@ngo.example.org",
                "About another letter",
                "test_message",
                user=coordinator,
                letter=db.session.get(Letter, other_id),
            )
            commit()
            coordinator.get_id()  # loaded before the client's own request context
            client = login(prod_app.test_client(), coordinator)
        page = client.get(f"/letters/{slug}/mail").get_data(as_text=True)
        assert "refused@ngo.example.org" in page
        assert "Invitation to sign: Water for all" in page
        assert "550 5.7.1 Relaying denied for now" in page
        assert "elsewhere@ngo.example.org" not in page  # another letter's mail
        with app.test_request_context():
            message_id = db.session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.recipient == "refused@ngo.example.org")
            )

        response = client.post(f"/letters/{slug}/mail/{message_id}/retry")  # still refusing
        assert response.status_code == 302
        page = client.get(f"/letters/{slug}/mail").get_data(as_text=True)
        assert "refused@ngo.example.org" in page and "Retry now" in page

        server.refusing = False
        response = client.post(f"/letters/{slug}/mail/{message_id}/retry", follow_redirects=True)
        page = response.get_data(as_text=True)
        assert "refused@ngo.example.org" not in page.split("E-mails not sent yet")[1]
        assert "every e-mail about this letter has been sent" in page
        assert server.accepted == ["refused@ngo.example.org"]
        with app.test_request_context():
            db.session.expire_all()
            sent = db.session.get(OutboxMessage, message_id)
            assert sent is not None and sent.sent_at is not None and sent.attempts == 3

        # Pressing the button again (an old tab) sends nothing twice.
        client.post(f"/letters/{slug}/mail/{message_id}/retry")
        assert server.accepted == ["refused@ngo.example.org"]
    assert len(outbox) == 0


def test_failed_invitations_are_pointed_to(app: Flask, prod_app: Flask) -> None:
    from signon.signatures.invitations import operations as ops
    from signon.signatures.models import Invitation, InvitationStatus

    with app.test_request_context():
        coordinator = make_user()
        letter = make_letter(coordinator)
        report = ops.create_invitations(
            letter, ops.parse_pasted("Bounced NGO, bounced@ngo.example.org"), invited_by=coordinator
        )
        invitation_id, slug = report.created[0].invitation_id, letter.slug
        commit()  # sent after the commit...
        invitation = db.session.get(Invitation, invitation_id)
        assert invitation is not None and invitation.status == InvitationStatus.SENT
        invitation.status = InvitationStatus.FAILED  # ...as if the server had refused it
        commit()
        coordinator.get_id()
        client = login(prod_app.test_client(), coordinator)
    page = client.get(f"/letters/{slug}/mail").get_data(as_text=True)
    assert "1 invitation could not be sent" in page
    assert f"/letters/{slug}/invitations" in page
