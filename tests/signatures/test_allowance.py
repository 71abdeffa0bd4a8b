"""Daily mail allowances: mails to invitees are counted, per account and per letter.

One POST with 2,000 lines used to queue 2,000 mails. Now a large send asks the
coordinator to confirm the count (the list is kept), goes up to the allowance, and says
how many went and when the rest may go; single invitations and re-sends draw on the
same allowance; accounts younger than a week have a smaller one.
"""

from __future__ import annotations

import html
import io
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from signon.accounts.models import CoordinatorMail, User
from signon.config import Settings
from signon.core.permissions import TeamRole
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.invitations import allowance
from signon.signatures.invitations import operations as ops
from signon.signatures.invitations.operations import InvitationError
from signon.signatures.models import Invitation
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user
from tests.signatures.factories import invited
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")

Allow = Callable[..., None]


@pytest.fixture
def allow(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Allow:
    """Set allowance settings for this test only."""

    def set_(**values: object) -> None:
        monkeypatch.setitem(app.config, "SIGNON", app.config["SIGNON"].with_(**values))

    return set_


def _coordinator(days_old: int = 30, timezone: str = "UTC") -> tuple[User, Letter]:
    coordinator = make_user(created_at=utcnow() - timedelta(days=days_old), timezone=timezone)
    return coordinator, make_letter(coordinator)


def _lines(count: int, start: int = 0) -> str:
    return "\n".join(f"NGO {i}, n{i}@ngo{i}.example.org" for i in range(start, start + count))


def _parsed(count: int, start: int = 0) -> list[ops.InviteeLine]:
    return ops.parse_pasted(_lines(count, start))


def _invitations(letter: Letter) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.letter_id == letter.id)
        )
        or 0
    )


def _textarea(page: str, name: str = "many-lines") -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found is not None, f"no {name} textarea"
    return html.unescape(found.group(1)).strip("\r\n")


def _page(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _shown(moment: datetime, zone: str) -> str:
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.day} {local:%B %Y, %H:%M} {local.tzname()}"  # "4 December 2026, 17:05 CET"


# --------------------------------------------------------------------------- settings


def test_the_defaults_are_sane_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = Settings(secret_key="x")
    assert 0 < defaults.mail_allowance_new_account_day < defaults.mail_allowance_account_day
    assert defaults.mail_allowance_account_day <= defaults.mail_allowance_letter_day
    assert defaults.mail_allowance_letter_day < ops.MAX_BULK_LINES
    assert defaults.new_account_days == 7
    assert 0 < defaults.bulk_confirm_threshold < defaults.mail_allowance_new_account_day + 1
    monkeypatch.setenv("SIGNON_SECRET_KEY", secrets.token_hex(32))
    for name, value in {
        "MAIL_ALLOWANCE_ACCOUNT_DAY": "7",
        "MAIL_ALLOWANCE_NEW_ACCOUNT_DAY": "3",
        "MAIL_ALLOWANCE_LETTER_DAY": "9",
        "NEW_ACCOUNT_DAYS": "2",
        "BULK_CONFIRM_THRESHOLD": "4",
        "CONFIRMATION_MAILS_PER_HOUR": "2",
    }.items():
        monkeypatch.setenv(f"SIGNON_{name}", value)
    read = Settings.from_env()
    assert (
        read.mail_allowance_account_day,
        read.mail_allowance_new_account_day,
        read.mail_allowance_letter_day,
        read.new_account_days,
        read.bulk_confirm_threshold,
        read.confirmation_mails_per_hour,
    ) == (7, 3, 9, 2, 4, 2)


# --------------------------------------------------------------------------- bulk, through HTTP


def test_2000_lines_ask_to_confirm_then_go_up_to_the_allowance_and_say_when_the_rest_may(
    client: FlaskClient, outbox: MailCatcher, allow: Allow
) -> None:
    allow(mail_allowance_account_day=15)
    coordinator, letter = _coordinator(timezone="Asia/Tokyo")
    login(client, coordinator)
    lines = _lines(2000)
    url = f"/letters/{letter.slug}/invitations/bulk"

    page = _page(client.get(f"/letters/{letter.slug}/invitations"))
    assert "In the next 24 hours you may send 15 more" in page
    asked = _page(client.post(url, data={"many-lines": lines}))
    assert "Please confirm: this sends 2,000 invitation e-mails on your behalf" in asked
    assert "lets 15 go now" in asked and "The other 1,985 lines are not sent" in asked
    assert _textarea(asked) == lines  # nothing typed is lost
    assert re.search(r'name="many-confirm_count"[^>]*value="2000"', asked)
    assert _invitations(letter) == 0 and len(outbox) == 0
    assert db.session.scalar(select(func.count()).select_from(CoordinatorMail)) == 0

    sent = _page(client.post(url, data={"many-lines": lines, "many-confirm_count": "2000"}))
    assert _invitations(letter) == 15
    assert sorted(m["To"] for m in outbox.messages) == sorted(
        f"n{i}@ngo{i}.example.org" for i in range(15)
    )
    row = db.session.scalars(select(CoordinatorMail)).one()
    assert (row.user_id, row.letter_id, row.count) == (coordinator.id, letter.id, 15)
    when = _shown(row.created_at + allowance.WINDOW, "Asia/Tokyo")
    assert "15 organisations are invited" in sent
    assert "1985 lines were not sent: the daily mail allowance let 15 go now" in sent
    assert f"may go from {when}" in sent
    assert _textarea(sent) == _lines(1985, start=15)  # the rest is back in the box

    refused = _page(client.post(url, data={"many-lines": _lines(1985, start=15)}))
    assert "Nothing was sent: you have sent 15 mails to invitees in the past 24 hours" in refused
    assert "an account may send 15 a day" in refused
    assert f"Up to 15 of these 1,985 mails may go from {when}" in refused
    assert _textarea(refused) == _lines(1985, start=15)
    assert _invitations(letter) == 15 and len(outbox) == 15


def test_a_changed_list_is_asked_again_and_a_small_one_goes_without_asking(
    client: FlaskClient, outbox: MailCatcher, allow: Allow
) -> None:
    allow(bulk_confirm_threshold=5)
    coordinator, letter = _coordinator()
    login(client, coordinator)
    url = f"/letters/{letter.slug}/invitations/bulk"
    # confirmed for 6, but the list now has 7: the new count is asked for
    again = _page(client.post(url, data={"many-lines": _lines(7), "many-confirm_count": "6"}))
    assert "Please confirm: this sends 7 invitation e-mails" in again
    assert _invitations(letter) == 0
    small = _page(client.post(url, data={"many-lines": _lines(5, start=100)}))
    assert "Please confirm" not in small and _invitations(letter) == 5


def test_a_csv_file_survives_the_confirmation_step(
    client: FlaskClient, outbox: MailCatcher, allow: Allow
) -> None:
    allow(bulk_confirm_threshold=3)
    coordinator, letter = _coordinator()
    login(client, coordinator)
    csv_text = "email;organisation\n" + "\n".join(
        f"c{i}@csv{i}.example.org;Réseau {i}, Inc." for i in range(5)
    )
    url = f"/letters/{letter.slug}/invitations/bulk"
    asked = _page(
        client.post(
            url,
            data={"many-csv_file": (io.BytesIO(csv_text.encode("utf-8-sig")), "list.csv")},
            content_type="multipart/form-data",
        )
    )
    assert "Please confirm: this sends 5 invitation e-mails" in asked
    assert "The CSV file you chose is kept" in asked
    kept = _textarea(asked, "many-csv_text")
    assert kept == csv_text
    assert _invitations(letter) == 0
    client.post(url, data={"many-csv_text": kept, "many-confirm_count": "5"})
    names = set(
        db.session.scalars(
            select(Invitation.organisation_name).where(Invitation.letter_id == letter.id)
        )
    )
    assert names == {f"Réseau {i}, Inc." for i in range(5)}
    assert len(outbox) == 5


def test_a_single_invitation_over_the_allowance_is_refused_keeping_what_was_typed(
    client: FlaskClient, outbox: MailCatcher, allow: Allow
) -> None:
    allow(mail_allowance_account_day=1)
    coordinator, letter = _coordinator()
    login(client, coordinator)
    url = f"/letters/{letter.slug}/invitations"
    data = {"one-organisation_name": "First NGO", "one-email": "first@first.example.org"}
    assert client.post(url, data=data).status_code == 302
    second = {"one-organisation_name": "Second NGO", "one-email": "second@second.example.org"}
    page = _page(client.post(url, data=second))
    assert "Nothing was sent: you have sent 1 mail to invitees in the past 24 hours" in page
    assert "It may go from" in page
    assert 'value="Second NGO"' in page and 'value="second@second.example.org"' in page
    assert _invitations(letter) == 1 and len(outbox) == 1


# --------------------------------------------------------------------------- the rule


def test_a_letter_has_its_own_allowance_shared_by_its_coordinators(allow: Allow) -> None:
    allow(mail_allowance_account_day=100, mail_allowance_letter_day=10)
    first, letter = _coordinator()
    second = make_user(created_at=utcnow() - timedelta(days=30))
    add_team_member(letter, role=TeamRole.COORDINATOR, user=second)
    assert len(ops.create_invitations(letter, _parsed(6), invited_by=first).created) == 6
    with pytest.raises(InvitationError) as refused:
        ops.create_invitations(letter, _parsed(6, start=10), invited_by=second)
    message = str(refused.value)
    assert "this letter's coordinators have sent 6 mails" in message
    assert "a letter may send 10 a day" in message
    assert _invitations(letter) == 6
    assert len(ops.create_invitations(letter, _parsed(4, start=10), invited_by=second).created)
    with pytest.raises(InvitationError):
        invited(letter, second)
    # the account has room left: on another letter it may still send
    other = make_letter(second)
    assert len(ops.create_invitations(other, _parsed(5), invited_by=second).created) == 5


def test_an_account_younger_than_a_week_has_a_smaller_allowance(app: Flask) -> None:
    settings: Settings = app.config["SIGNON"]
    young_limit = settings.mail_allowance_new_account_day
    young, letter = _coordinator(days_old=0)
    with pytest.raises(InvitationError) as refused:
        ops.create_invitations(letter, _parsed(young_limit + 1), invited_by=young)
    assert "while an account is less than a week old" in str(refused.value)
    assert f"an account may send {young_limit:,} a day" in str(refused.value)
    assert f"Only {young_limit:,} mails more may go now" in str(refused.value)
    assert _invitations(letter) == 0
    report = ops.create_invitations(letter, _parsed(young_limit), invited_by=young)
    assert len(report.created) == young_limit
    older, other = _coordinator(days_old=settings.new_account_days + 1)
    report = ops.create_invitations(other, _parsed(young_limit + 1), invited_by=older)
    assert len(report.created) == young_limit + 1


def test_the_window_is_a_rolling_day_counted_from_the_database(allow: Allow) -> None:
    allow(mail_allowance_account_day=10)
    coordinator, letter = _coordinator()
    earlier = utcnow() - timedelta(hours=23)
    db.session.add(
        CoordinatorMail(
            user_id=coordinator.id,
            letter_id=letter.id,
            kind="invitation",
            count=10,
            created_at=utcnow() - timedelta(hours=25),
        )
    )
    db.session.add(
        CoordinatorMail(
            user_id=coordinator.id,
            letter_id=letter.id,
            kind="invitation",
            count=9,
            created_at=earlier,
        )
    )
    db.session.flush()
    assert allowance.standing(coordinator, letter).account_used == 9
    invited(letter, coordinator)  # the tenth
    with pytest.raises(InvitationError) as refused:
        invited(letter, coordinator)
    assert f"It may go from {_shown(earlier + allowance.WINDOW, 'UTC')}" in str(refused.value)
    assert "(in 1 hours)" not in str(refused.value)


def test_re_sending_counts_and_is_refused_past_the_allowance(allow: Allow) -> None:
    allow(mail_allowance_account_day=2)
    coordinator, letter = _coordinator()
    invitation = invited(letter, coordinator)
    ops.resend_invitation(invitation, by=coordinator)
    with pytest.raises(InvitationError) as refused:
        ops.resend_invitation(invitation, by=coordinator)
    assert "Nothing was sent" in str(refused.value)
    kinds = sorted(db.session.scalars(select(CoordinatorMail.kind)))
    assert kinds == ["invitation", "resend"]


def test_re_confirmation_requests_are_counted_but_never_held_back(allow: Allow) -> None:
    allow(mail_allowance_account_day=1)
    coordinator, letter = _coordinator()
    invited(letter, coordinator)
    allowance.record(coordinator, letter, 3, allowance.MailKind.RECONFIRMATION)
    state = allowance.standing(coordinator, letter)
    assert state.account_used == 4 and state.remaining == 0
