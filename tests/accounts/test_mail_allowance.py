"""One daily mail allowance for every mail sent to addresses someone typed.

Invitations to sign were counted, but invitations to a letter's drafting team and to an
organisation were not: a new account could mail any number of addresses through them.
Now all of them draw on the same allowance (:mod:`signon.accounts.mail_allowance`): a
young account (the factories make accounts dated today) stops at 50 a day whichever
way it sends, and a refusal keeps what was typed, sends nothing and says when it may go.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from signon.accounts import mail_allowance
from signon.accounts import operations as account_ops
from signon.accounts.models import CoordinatorMail, OrganisationInvitation, User
from signon.config import Settings
from signon.core.outbox import OutboxMessage
from signon.core.permissions import OrganisationRole, TeamRole
from signon.db import utcnow
from signon.extensions import db
from signon.letters import operations as letter_ops
from signon.letters.models import Letter, TeamInvitation
from signon.letters.operations import LetterError
from signon.signatures.invitations import operations as signature_ops
from signon.signatures.invitations.operations import InvitationError
from tests.conftest import login
from tests.factories import make_letter, make_organisation, make_user
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")

Allow = Callable[..., None]


@pytest.fixture
def allow(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Allow:
    def set_(**values: object) -> None:
        monkeypatch.setitem(app.config, "SIGNON", app.config["SIGNON"].with_(**values))

    return set_


def _young_limit(app: Flask) -> int:
    settings: Settings = app.config["SIGNON"]
    return settings.mail_allowance_new_account_day


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _page(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _invite_team(letter: Letter, by: User, n: int) -> TeamInvitation:
    return letter_ops.invite_to_team(
        letter, email=f"drafter{n}@example.org", role=TeamRole.DRAFTER, invited_by=by
    )


def test_the_default_young_allowance_is_fifty(app: Flask) -> None:
    assert _young_limit(app) == 50


def test_a_young_account_stops_at_its_allowance_of_team_invitations(
    app: Flask, client: FlaskClient, outbox: MailCatcher
) -> None:
    limit = _young_limit(app)
    coordinator = make_user()  # created today: a young account
    letter = make_letter(coordinator)
    for n in range(limit):
        _invite_team(letter, coordinator, n)
    assert _count(TeamInvitation) == limit
    messages = _count(OutboxMessage)
    with pytest.raises(LetterError) as refused:
        _invite_team(letter, coordinator, limit)
    assert f"an account may send {limit:,} a day" in str(refused.value)
    assert "while an account is less than a week old" in str(refused.value)

    # through the page: the address typed stays in the form, nothing is sent or stored
    login(client, coordinator)
    response = client.post(
        f"/letters/{letter.slug}/team/users",
        data={"user-email": "one.more@example.org", "user-role": "viewer"},
    )
    page = _page(response)
    assert response.status_code == 200
    assert f"Nothing was sent: you have sent {limit} mails to invitees" in page
    assert "It may go from" in page
    assert 'value="one.more@example.org"' in page
    assert _count(TeamInvitation) == limit
    assert _count(OutboxMessage) == messages
    assert outbox.to("one.more@example.org") == []
    assert len(outbox) == 0
    assert (
        db.session.scalar(
            select(func.sum(CoordinatorMail.count)).where(CoordinatorMail.kind == "team_invitation")
        )
        == limit
    )


def test_a_young_account_stops_at_its_allowance_of_organisation_invitations(
    app: Flask, client: FlaskClient, outbox: MailCatcher
) -> None:
    limit = _young_limit(app)
    admin = make_user()
    organisation = make_organisation(admin=admin)
    for n in range(limit):
        account_ops.invite_to_organisation(
            organisation, admin, f"member{n}@example.org", OrganisationRole.MEMBER
        )
    assert _count(OrganisationInvitation) == limit
    messages = _count(OutboxMessage)
    with pytest.raises(account_ops.MailAllowanceError) as refused:
        account_ops.invite_to_organisation(
            organisation, admin, "late@example.org", OrganisationRole.MEMBER
        )
    assert f"an account may send {limit:,} a day" in str(refused.value)

    login(client, admin)
    response = client.post(
        f"/organisations/{organisation.id}/invitations",
        data={"email": "one.more@example.org", "role": "admin"},
    )
    page = _page(response)
    assert response.status_code == 200
    assert f"Nothing was sent: you have sent {limit} mails to invitees" in page
    assert 'value="one.more@example.org"' in page
    assert _count(OrganisationInvitation) == limit
    assert _count(OutboxMessage) == messages
    assert len(outbox) == 0
    # organisation invitations belong to no letter
    letters = set(
        db.session.scalars(
            select(CoordinatorMail.letter_id).where(
                CoordinatorMail.kind == "organisation_invitation"
            )
        )
    )
    assert letters == {None}


def test_every_kind_of_invitation_draws_on_one_allowance(allow: Allow) -> None:
    allow(mail_allowance_new_account_day=3)
    coordinator = make_user()
    letter = make_letter(coordinator)
    organisation = make_organisation(admin=coordinator)
    _invite_team(letter, coordinator, 1)
    account_ops.invite_to_organisation(
        organisation, coordinator, "member@example.org", OrganisationRole.MEMBER
    )
    signature_ops.create_invitations(
        letter,
        signature_ops.parse_pasted("First NGO, first@first.example.org"),
        invited_by=coordinator,
    )
    assert mail_allowance.standing(coordinator, letter).remaining == 0
    assert mail_allowance.standing(coordinator, None).account_used == 3
    with pytest.raises(LetterError):
        _invite_team(letter, coordinator, 2)
    with pytest.raises(account_ops.MailAllowanceError):
        account_ops.invite_to_organisation(
            organisation, coordinator, "other@example.org", OrganisationRole.MEMBER
        )
    with pytest.raises(InvitationError):
        signature_ops.create_invitations(
            letter,
            signature_ops.parse_pasted("Second NGO, second@second.example.org"),
            invited_by=coordinator,
        )
    assert sorted(db.session.scalars(select(CoordinatorMail.kind))) == [
        "invitation",
        "organisation_invitation",
        "team_invitation",
    ]


def test_team_invitations_count_against_the_letter_too(allow: Allow) -> None:
    allow(mail_allowance_account_day=100, mail_allowance_letter_day=2)
    coordinator = make_user(created_at=utcnow() - timedelta(days=30))
    letter = make_letter(coordinator)
    _invite_team(letter, coordinator, 1)
    _invite_team(letter, coordinator, 2)
    with pytest.raises(LetterError) as refused:
        _invite_team(letter, coordinator, 3)
    assert "this letter's coordinators have sent 2 mails" in str(refused.value)
    # another letter, and organisations (no letter), still have room
    _invite_team(make_letter(coordinator), coordinator, 4)
    account_ops.invite_to_organisation(
        make_organisation(admin=coordinator),
        coordinator,
        "member@example.org",
        OrganisationRole.MEMBER,
    )


def test_an_organisation_allowance_has_no_letter_part() -> None:
    admin = make_user()
    state = mail_allowance.standing(admin, None)
    assert state.letter_limit is None and not state.letter_binds
    assert state.remaining == state.account_limit == state.day
