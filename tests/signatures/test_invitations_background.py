"""A long list of invitations is mailed by a background job (here its thread: no Redis);
outcomes still land, and the invitations page shows the job.

Real commits: the thread has its own application context, session and connection.
"""

from __future__ import annotations

import time

import pytest
from flask import Flask
from sqlalchemy import select

from signon.accounts.models import User
from signon.core import jobs
from signon.core.transaction import commit
from signon.extensions import db
from signon.signatures.invitations import notifications
from signon.signatures.models import Invitation, InvitationStatus
from tests.conftest import login
from tests.factories import make_letter, make_user
from tests.signatures.factories import refusing_mail_server

pytestmark = pytest.mark.real_commits


@pytest.fixture(autouse=True)
def _jobs_in_threads(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs as ``make run`` runs them: a thread of the process (the tests' default is at once)."""
    monkeypatch.setitem(app.config, "SIGNON", app.config["SIGNON"].with_(jobs_synchronous=False))


COUNT = 45
assert COUNT > notifications.SEND_IN_REQUEST


def test_a_long_list_is_sent_in_the_background_and_every_outcome_recorded(app: Flask) -> None:
    with app.app_context():
        user = make_user()
        letter = make_letter(user)
        slug, letter_id, user_id = letter.slug, letter.id, user.id
        commit()
        db.session.remove()
    emails = [
        f"{'refuse' if i % 20 == 7 else 'contact'}{i}@org{i}.example.org" for i in range(COUNT)
    ]
    refused = {e for e in emails if e.startswith("refuse")}
    assert len(refused) == 2
    lines = "\n".join(f"Organisation {i}, {email}" for i, email in enumerate(emails))
    client = app.test_client()
    with app.app_context():
        login(client, db.session.get(User, user_id))
        db.session.remove()
    with refusing_mail_server(app) as server:
        started = time.perf_counter()
        response = client.post(f"/letters/{slug}/invitations/bulk", data={"many-lines": lines})
        assert response.status_code == 200
        assert f"{COUNT} organisations are invited" in response.get_data(as_text=True)
        notifications.wait_for_background_sends()
        elapsed = time.perf_counter() - started
    assert sorted(server.accepted) == sorted(set(emails) - refused), elapsed
    with app.app_context():
        statuses = {
            i.email: (i.status, i.send_attempts, i.last_error)
            for i in db.session.scalars(select(Invitation).where(Invitation.letter_id == letter_id))
        }
    failed = {e for e, (status, _, _) in statuses.items() if status == InvitationStatus.FAILED}
    sent = {e for e, (status, _, _) in statuses.items() if status == InvitationStatus.SENT}
    assert failed == refused and sent == set(emails) - refused
    assert all(attempts == 1 for _, attempts, _ in statuses.values())
    assert all("550" in (statuses[e][2] or "") for e in refused)
    with app.app_context():
        [job] = jobs.jobs_of(letter_id)
        assert (job.kind, job.state, job.progress) == (
            notifications.INVITATION_JOB,
            jobs.JobState.DONE,
            100,
        )
        assert job.started_by_id == user_id and job.attempts == 1
        db.session.remove()
    page = client.get(f"/letters/{slug}/invitations").get_data(as_text=True)
    assert "Invitations being sent" in page and "Sending invitations" in page
