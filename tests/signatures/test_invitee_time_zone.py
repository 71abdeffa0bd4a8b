"""Issue 12 item 8: invitees read times in their browser's zone, in mail too. The zone
their page sends with "seen" is kept on the invitation, and later mail to that address
(the receipt, reminders, a later letter's invitation) shows its times in it."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from signon.signatures.invitations import operations as ops
from signon.signatures.invitations.reminders import send_reminders
from signon.signatures.invitations.zones import invitee_time, invitee_zone
from tests.signatures.factories import coordinated_letter, invited, sign_path
from tests.signatures.test_invitee_views import _approve_data
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")


def _tokyo(moment) -> str:
    local = moment.astimezone(ZoneInfo("Asia/Tokyo"))
    return f"{local.day} {local:%B %Y, %H:%M} JST"


def _utc(moment) -> str:
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


def test_the_zone_sent_with_seen_is_kept_and_a_bad_one_ignored(client: FlaskClient) -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator, email="kenji@example.jp")
    commit()
    assert invitee_zone("kenji@example.jp") == ZoneInfo("UTC")  # not seen yet
    for bad in ("Mars/Olympus", "x" * 64):
        data = {"revision": str(letter.head().id), "timezone": bad}
        assert client.post(sign_path(invitation, "/seen"), data=data).status_code == 204
        db.session.refresh(invitation)
        assert invitation.timezone is None
    data = {"revision": str(letter.head().id), "timezone": "Asia/Tokyo"}
    assert client.post(sign_path(invitation, "/seen"), data=data).status_code == 204
    db.session.refresh(invitation)
    assert invitation.timezone == "Asia/Tokyo"
    assert invitee_zone("kenji@example.jp") == ZoneInfo("Asia/Tokyo")
    assert invitee_zone("someone.else@example.jp") == ZoneInfo("UTC")


def test_the_receipt_shows_times_in_the_invitees_zone(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator, email="kenji@example.jp")
    commit()
    head = letter.head()
    seen = {"revision": head.id, "timezone": "Asia/Tokyo"}
    client.post(sign_path(invitation, "/seen"), data=seen)
    outbox.clear()
    client.post(sign_path(invitation, "/approve"), data=_approve_data(head.id))
    (receipt,) = outbox.to("kenji@example.jp")
    db.session.refresh(invitation)
    approved_at = invitation.signature.approved_at
    assert _tokyo(approved_at) in MailCatcher.text_of(receipt)
    assert "UTC" not in MailCatcher.text_of(receipt)


def test_reminders_and_a_later_letters_invitation_use_the_zone_of_the_address(
    outbox: MailCatcher,
) -> None:
    coordinator, letter = coordinated_letter()
    letter.deadline = (utcnow() + timedelta(days=30)).replace(second=0, microsecond=0)
    invitation = invited(letter, coordinator, email="kenji@example.jp")
    other = invited(letter, coordinator, email="ana@example.pt")
    ops.record_seen(invitation, letter.head(), "Asia/Tokyo")
    ops.record_seen(other, letter.head(), None)  # a browser without Intl: UTC as before
    commit()
    outbox.clear()
    send_reminders(letter.deadline - timedelta(hours=47))
    commit()
    (kenji,) = outbox.to("kenji@example.jp")
    assert _tokyo(letter.deadline) in MailCatcher.text_of(kenji)
    (ana,) = outbox.to("ana@example.pt")
    assert _utc(letter.deadline) in MailCatcher.text_of(ana)

    _, second = coordinated_letter()
    second.deadline = letter.deadline
    outbox.clear()
    invited(second, coordinator, email="kenji@example.jp")  # mailed after the commit
    commit()
    (invitation_mail,) = outbox.to("kenji@example.jp")
    assert _tokyo(letter.deadline) in MailCatcher.text_of(invitation_mail)
    assert invitee_time(None, "kenji@example.jp") == ""
