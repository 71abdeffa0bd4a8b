"""A worker that dies in the middle of a request leaves nothing behind.

Each test makes an operation raise *after* it has written (flushed) its rows, drives
the real route through the test client of an app that handles errors as production
does (``TESTING`` off: the exception becomes a 500 page, it is not raised into the
test), and checks that no table gained or lost a row, that no e-mail was recorded in
the outbox and that none was sent. The data is committed for real (``real_commits``),
so what is checked is what another connection sees.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from signon.core.outbox import OutboxMessage
from signon.core.transaction import commit
from signon.extensions import db
from signon.letters import operations as letter_operations
from signon.letters.models import Letter
from signon.signatures.approvals import operations as signature_operations
from signon.signatures.invitations import links, notifications
from signon.signatures.invitations import operations as invitation_ops
from signon.signatures.models import Invitation
from tests.conftest import login
from tests.factories import make_letter, make_user
from tests.faults.helpers import row_counts
from tests.smtp import MailCatcher

pytestmark = pytest.mark.real_commits


class WorkerKilledError(RuntimeError):
    """Stands for the process dying: nothing after this point runs."""


def _after(original: Callable[..., Any]) -> Callable[..., Any]:
    """``original``, then a crash: its rows are flushed but the request never ends well."""

    def crash(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise WorkerKilledError("killed after the flush")

    return crash


def _letter_with_invitation(app: Flask) -> tuple[str, int, str, str]:
    """(slug, head id, invitation token, organisation name), committed."""
    with app.test_request_context():
        coordinator = make_user()
        letter = make_letter(coordinator, body="We agree.\n")
        report = invitation_ops.create_invitations(
            letter,
            invitation_ops.parse_pasted("Faulty NGO, contact@faulty.example.org"),
            invited_by=coordinator,
        )
        invitation = db.session.get(Invitation, report.created[0].invitation_id)
        assert invitation is not None
        result = (letter.slug, letter.head().id, links.invitation_token(invitation), "Faulty NGO")
        commit()
        db.session.remove()
    return result


def _approve(app: Flask, token: str, name: str, head_id: int) -> int:
    response = app.test_client().post(
        f"/sign/{token}/approve",
        data={
            "approve-name": name,
            "approve-kind": "ngo",
            "approve-representative_name": "Ana Representative",
            "approve-representative_title": "Director",
            "approve-authority": "y",
            "approve-revision": str(head_id),
        },
    )
    return response.status_code


def _counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        counts = row_counts()
        db.session.remove()
    return counts


@pytest.mark.parametrize(
    "target",
    [
        (signature_operations, "approve"),  # the signature, its event and audit event flushed
        (notifications, "mail_approval_receipt"),  # ...and the receipt written to the outbox
    ],
    ids=["after-approve", "after-receipt-queued"],
)
def test_an_approval_killed_after_its_flush_leaves_nothing(
    prod_app: Flask,
    outbox: MailCatcher,
    monkeypatch: pytest.MonkeyPatch,
    target: tuple[Any, str],
) -> None:
    _slug, head_id, token, name = _letter_with_invitation(prod_app)
    notifications.wait_for_background_sends()
    outbox.clear()
    before = _counts(prod_app)
    module, attribute = target
    monkeypatch.setattr(module, attribute, _after(getattr(module, attribute)))

    assert _approve(prod_app, token, name, head_id) == 500

    assert _counts(prod_app) == before
    assert len(outbox) == 0
    monkeypatch.undo()  # the control: the same request, without the crash, changes things
    assert _approve(prod_app, token, name, head_id) == 302
    after = _counts(prod_app)
    assert after["signatures"] == before["signatures"] + 1
    assert after["signature_events"] == before["signature_events"] + 1
    assert after["outbox_messages"] == before["outbox_messages"] + 1
    assert len(outbox.to("contact@faulty.example.org")) == 1


def test_a_save_killed_after_the_revision_insert_leaves_nothing(
    prod_app: Flask, outbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    with prod_app.test_request_context():
        coordinator = make_user()
        letter = make_letter(coordinator, body="Original text.\n")
        slug, head_id, user_id = letter.slug, letter.head().id, coordinator.id
        commit()
        db.session.remove()
    outbox.clear()
    before = _counts(prod_app)
    monkeypatch.setattr(letter_operations, "save_revision", _after(letter_operations.save_revision))
    client = prod_app.test_client()
    with prod_app.app_context():
        login(client, _user(user_id))
        db.session.remove()
    data = {"title": "New title", "body": "Changed text.\n", "base_revision": str(head_id)}
    assert client.post(f"/letters/{slug}/edit", data=data).status_code == 500

    assert _counts(prod_app) == before
    with prod_app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        assert letter is not None and letter.title != "New title"
        assert letter.head().number == 1
        db.session.remove()
    monkeypatch.undo()
    assert client.post(f"/letters/{slug}/edit", data=data).status_code == 302
    after = _counts(prod_app)
    assert after["revisions"] == before["revisions"] + 1
    assert after["audit_events"] == before["audit_events"] + 1
    assert len(outbox) == 0


def test_bulk_invitations_killed_midway_leave_nothing_and_mail_nobody(
    prod_app: Flask, outbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    with prod_app.test_request_context():
        coordinator = make_user()
        letter = make_letter(coordinator)
        slug, user_id = letter.slug, coordinator.id
        commit()
        db.session.remove()
    outbox.clear()
    before = _counts(prod_app)
    original = links.assign_new_link
    calls = {"n": 0}

    def crash_on_the_third(invitation: Invitation) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # two invitations have their link, all five rows are flushed
            raise WorkerKilledError("killed midway through the list")
        original(invitation)

    monkeypatch.setattr(links, "assign_new_link", crash_on_the_third)
    client = prod_app.test_client()
    with prod_app.app_context():
        login(client, _user(user_id))
        db.session.remove()
    lines = "\n".join(f"Org {i}, contact{i}@bulk{i}.example.org" for i in range(5))
    response = client.post(f"/letters/{slug}/invitations/bulk", data={"many-lines": lines})
    assert response.status_code == 500
    assert calls["n"] == 3
    notifications.wait_for_background_sends()

    assert _counts(prod_app) == before
    assert len(outbox) == 0
    monkeypatch.undo()
    response = client.post(f"/letters/{slug}/invitations/bulk", data={"many-lines": lines})
    assert response.status_code == 200
    notifications.wait_for_background_sends()
    assert _counts(prod_app)["invitations"] == before["invitations"] + 5
    assert len(outbox) == 5


def _user(user_id: int) -> Any:
    from signon.accounts.models import User

    return db.session.get(User, user_id)


def test_no_outbox_row_survives_a_failed_request(
    prod_app: Flask, outbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mail of a request that ends in 500 was queued, and is neither kept nor sent."""
    _slug, head_id, token, name = _letter_with_invitation(prod_app)
    notifications.wait_for_background_sends()
    outbox.clear()
    queued: list[int] = []
    original = notifications.mail_approval_receipt

    def queue_then_crash(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        queued.extend(db.session.scalars(select(OutboxMessage.id)))
        raise WorkerKilledError("killed after queueing the receipt")

    monkeypatch.setattr(notifications, "mail_approval_receipt", queue_then_crash)
    assert _approve(prod_app, token, name, head_id) == 500
    assert queued  # the row was written inside the request...
    with prod_app.app_context():  # ...and went away with it
        assert db.session.scalars(select(OutboxMessage)).all() == []
        db.session.remove()
    assert len(outbox) == 0
