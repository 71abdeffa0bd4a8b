"""A long list of invitations is a background job: a retry sends only what no earlier
attempt sent (a killed worker must not mail an organisation twice)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from signon.core import jobs, transaction
from signon.extensions import db
from signon.signatures.invitations import notifications
from signon.signatures.invitations import operations as ops
from signon.signatures.models import Invitation, InvitationStatus
from tests.factories import make_letter, make_user
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")

COUNT = notifications.SEND_IN_REQUEST + 5


def test_a_retried_invitation_job_mails_nobody_twice(outbox: MailCatcher) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    lines = "\n".join(f"Organisation {i}, contact{i}@org{i}.example.org" for i in range(COUNT))
    ops.create_invitations(letter, ops.parse_pasted(lines), invited_by=coordinator)
    transaction.commit()  # the job runs (at once, in the tests)
    [job] = jobs.jobs_of(letter.id)
    assert (job.kind, job.state, job.progress) == (notifications.INVITATION_JOB, "done", 100)
    assert len(outbox.messages) == COUNT
    invitations = list(
        db.session.scalars(select(Invitation).where(Invitation.letter_id == letter.id))
    )
    assert {i.status for i in invitations} == {InvitationStatus.SENT}
    ids = [i.id for i in invitations]

    # a second attempt of the same job (a worker killed after sending): nothing again
    notifications.send_invitation_batch(
        jobs.RunningJob(job.id, 2), invitation_ids=ids, inviter_id=coordinator.id
    )
    assert len(outbox.messages) == COUNT

    # one the first attempt never reached (sent before the job was queued, e.g. a re-send)
    missed = invitations[3]
    missed.sent_at = job.queued_at - timedelta(minutes=1)
    db.session.flush()
    notifications.send_invitation_batch(
        jobs.RunningJob(job.id, 3), invitation_ids=ids, inviter_id=coordinator.id
    )
    assert len(outbox.messages) == COUNT + 1
    assert outbox.messages[-1]["To"] == missed.email
