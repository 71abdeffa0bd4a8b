"""Adding a person to a drafting team by address: the same answer for every address,
an invitation by mail, and the role waiting until the address's owner takes it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.accounts.models import User
from signon.audit.models import AuditEvent
from signon.core.permissions import TeamRole
from signon.db import utcnow
from signon.extensions import db
from signon.letters import operations
from signon.letters.models import Letter, TeamInvitation
from signon.letters.operations import LetterError
from signon.letters.views import TEAM_INVITE_LIMIT
from tests.accounts.helpers import link_in, only_mail_to
from tests.conftest import AppFactory, login
from tests.factories import DEFAULT_PASSWORD, add_team_member, make_letter, make_user
from tests.smtp import MailCatcher

#: operations build the mail's absolute links: they need a request context
pytestmark = pytest.mark.usefixtures("app_context")


def _invite(client: FlaskClient, letter: Letter, email: str, role: str = "drafter") -> str:
    """Post the team's add-a-person form and return the page it leads to."""
    response = client.post(
        f"/letters/{letter.slug}/team/users",
        data={"user-email": email, "user-role": role},
        follow_redirects=True,
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _events(letter: Letter, action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.letter_id == letter.id, AuditEvent.action == action)
        )
    )


def _answer(page: str) -> str:
    """The flash message of a page."""
    found = re.search(r"Invitation sent to [^<]*", page)
    assert found is not None, page
    return found.group(0)


def test_the_answer_is_the_same_with_or_without_an_account(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator = make_user()
    make_user("holder@example.org", name="Known Person")
    letter = make_letter(coordinator, title="Our joint letter")
    login(client, coordinator)

    holder = _invite(client, letter, "Holder@Example.org")
    stranger = _invite(client, letter, "stranger@example.org")

    assert _answer(holder) == (
        "Invitation sent to holder@example.org: they join the team as drafter once they accept it."
    )
    assert _answer(stranger) == _answer(holder).replace("holder@", "stranger@")
    for page in (holder, stranger):
        assert "Known Person" not in page
        assert "No account" not in page
    # nobody joined yet: both wait, side by side, as invitations
    assert [m.user_id for m in letter.team] == [coordinator.id]
    assert {i.email for i in db.session.scalars(select(TeamInvitation))} == {
        "holder@example.org",
        "stranger@example.org",
    }
    # the two mails are the same but for the address
    to_holder = only_mail_to(outbox, "holder@example.org")
    to_stranger = only_mail_to(outbox, "stranger@example.org")
    assert to_holder["Subject"] == to_stranger["Subject"]
    assert "Our joint letter" in to_holder["Subject"]
    assert MailCatcher.text_of(to_stranger) == MailCatcher.text_of(to_holder).replace(
        "holder@", "stranger@"
    )
    assert link_in(to_holder, "/letters/team-invitations") == "/letters/team-invitations"
    assert link_in(to_stranger, "/register").startswith("/register?next=")
    assert [e.details for e in _events(letter, "team.invited")] == [
        {"email": "holder@example.org", "role": "drafter"},
        {"email": "stranger@example.org", "role": "drafter"},
    ]


def test_coordinators_see_the_waiting_invitations_and_can_revoke_them(
    client: FlaskClient,
) -> None:
    coordinator, invitee = make_user(), make_user("invitee@example.org")
    letter = make_letter(coordinator)
    login(client, coordinator)
    page = _invite(client, letter, "invitee@example.org", role="viewer")
    assert "Invitations waiting" in page and "invitee@example.org" in page
    invitation = db.session.scalar(select(TeamInvitation))
    assert invitation is not None
    response = client.post(
        f"/letters/{letter.slug}/team/invitations/{invitation.id}/revoke", follow_redirects=True
    )
    assert "The invitation to invitee@example.org is revoked." in response.get_data(as_text=True)
    assert db.session.scalars(select(TeamInvitation)).all() == []
    assert [e.details["email"] for e in _events(letter, "team.invitation_revoked")] == [
        "invitee@example.org"
    ]
    # the invitee finds nothing to accept any more
    login(client, invitee)
    assert client.post(f"/letters/team-invitations/{invitation.id}/accept").status_code == 404


def test_team_members_who_are_not_coordinators_do_not_see_invitations(
    client: FlaskClient,
) -> None:
    coordinator, drafter = make_user(), make_user()
    letter = make_letter(coordinator)
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    operations.invite_to_team(
        letter, email="secret@example.org", role=TeamRole.VIEWER, invited_by=coordinator
    )
    login(client, drafter)
    page = client.get(f"/letters/{letter.slug}/team").get_data(as_text=True)
    assert "secret@example.org" not in page


def test_someone_already_on_the_team_is_refused_and_the_address_kept(
    client: FlaskClient,
) -> None:
    coordinator = make_user()
    member = make_user("member@example.org")
    letter = make_letter(coordinator)
    add_team_member(letter, role=TeamRole.VIEWER, user=member)
    login(client, coordinator)
    response = client.post(
        f"/letters/{letter.slug}/team/users",
        data={"user-email": "member@example.org", "user-role": "drafter"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "member@example.org is already on the team." in page
    assert 'value="member@example.org"' in page
    assert db.session.scalars(select(TeamInvitation)).all() == []


def test_inviting_an_address_again_renews_the_one_invitation() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    first = operations.invite_to_team(
        letter, email="again@example.org", role=TeamRole.VIEWER, invited_by=coordinator
    )
    first.expires_at = utcnow() - timedelta(days=1)
    second = operations.invite_to_team(
        letter, email="AGAIN@example.org", role=TeamRole.DRAFTER, invited_by=coordinator
    )
    assert second.id == first.id
    assert (second.role, second.is_expired) == (TeamRole.DRAFTER, False)
    assert len(db.session.scalars(select(TeamInvitation)).all()) == 1


def test_the_decomposed_spelling_of_an_address_is_the_same_invitation() -> None:
    """ "josé" typed with a combining accent is the composed "josé": one invitation, and
    the account that confirmed the composed spelling is found as already on the team."""
    coordinator = make_user()
    letter = make_letter(coordinator)
    composed, decomposed = "jos\u00e9@example.org", "jose\u0301@example.org"
    first = operations.invite_to_team(
        letter, email=composed, role=TeamRole.VIEWER, invited_by=coordinator
    )
    second = operations.invite_to_team(
        letter, email=decomposed, role=TeamRole.DRAFTER, invited_by=coordinator
    )
    assert second.id == first.id and second.email == composed
    assert len(db.session.scalars(select(TeamInvitation)).all()) == 1
    member = make_user(composed)
    add_team_member(letter, role=TeamRole.VIEWER, user=member)
    with pytest.raises(LetterError):
        operations.invite_to_team(
            letter, email=decomposed, role=TeamRole.DRAFTER, invited_by=coordinator
        )


def test_send_again_mails_an_expired_invitation_anew_with_its_role(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    invitation = operations.invite_to_team(
        letter, email="late@example.org", role=TeamRole.VIEWER, invited_by=coordinator
    )
    invitation.expires_at = utcnow() - timedelta(days=1)
    db.session.flush()
    outbox.clear()
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/team").get_data(as_text=True)
    assert "Expired: send it again to renew it" in page and "Send again" in page
    response = client.post(
        f"/letters/{letter.slug}/team/invitations/{invitation.id}/resend", follow_redirects=True
    )
    assert "The invitation to late@example.org is sent again" in response.get_data(as_text=True)
    db.session.refresh(invitation)
    assert (invitation.role, invitation.is_expired) == (TeamRole.VIEWER, False)
    assert invitation.expires_at > utcnow() + timedelta(days=operations.TEAM_INVITATION_DAYS - 1)
    assert "Join the drafting team" in str(only_mail_to(outbox, "late@example.org")["Subject"])
    assert len(_events(letter, "team.invited")) == 2


def test_a_new_person_registers_confirms_and_finds_the_role_waiting(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    login(client, coordinator)
    _invite(client, letter, "newcomer@example.org", role="drafter")
    register = link_in(only_mail_to(outbox, "newcomer@example.org"), "/register")
    outbox.clear()

    newcomer = client.application.test_client()
    response = newcomer.post(
        register,
        data={
            "email": "Newcomer@example.org",
            "display_name": "New Comer",
            "password": "a long enough password",
            "password_confirm": "a long enough password",
        },
    )
    assert response.status_code == 302
    user = User.find_by_email("newcomer@example.org")
    assert user is not None
    assert letter.role_of(user) is None, "not before the address is confirmed"
    confirm = link_in(only_mail_to(outbox, "newcomer@example.org"), "/confirm/")
    response = newcomer.post(confirm, data={"password": "a long enough password"})
    assert response.status_code == 302
    assert response.location == f"/letters/{letter.slug}/"
    assert letter.role_of(user) == TeamRole.DRAFTER
    assert db.session.scalars(select(TeamInvitation)).all() == []
    (claimed,) = _events(letter, "team.invitation_claimed")
    assert claimed.actor_id == user.id
    assert claimed.details == {"email": "newcomer@example.org", "role": "drafter"}


def test_an_account_confirmed_already_accepts_on_the_invitations_page(
    client: FlaskClient,
) -> None:
    coordinator, invitee = make_user(), make_user("member@example.org")
    letter = make_letter(coordinator, title="Water for all")
    operations.invite_to_team(
        letter, email="member@example.org", role=TeamRole.COORDINATOR, invited_by=coordinator
    )
    login(client, invitee)
    page = client.get("/letters/team-invitations").get_data(as_text=True)
    assert "Water for all" in page and "Join the team" in page
    (invitation,) = db.session.scalars(select(TeamInvitation)).all()
    response = client.post(
        f"/letters/team-invitations/{invitation.id}/accept", follow_redirects=True
    )
    assert "You joined the drafting team of “Water for all” as coordinator." in (
        response.get_data(as_text=True)
    )
    assert letter.role_of(invitee) == TeamRole.COORDINATOR
    assert len(_events(letter, "team.invitation_claimed")) == 1


def test_declining_removes_the_invitation(client: FlaskClient) -> None:
    coordinator, invitee = make_user(), make_user("member@example.org")
    letter = make_letter(coordinator)
    invitation = operations.invite_to_team(
        letter, email="member@example.org", role=TeamRole.VIEWER, invited_by=coordinator
    )
    login(client, invitee)
    client.post(f"/letters/team-invitations/{invitation.id}/decline")
    assert db.session.scalars(select(TeamInvitation)).all() == []
    assert letter.role_of(invitee) is None
    assert len(_events(letter, "team.invitation_declined")) == 1


def test_an_unconfirmed_account_sees_no_invitation_until_it_confirms(
    client: FlaskClient,
) -> None:
    coordinator = make_user()
    unconfirmed = make_user("later@example.org", confirmed=False)
    letter = make_letter(coordinator, title="Clean air")
    invitation = operations.invite_to_team(
        letter, email="later@example.org", role=TeamRole.VIEWER, invited_by=coordinator
    )
    login(client, unconfirmed)
    assert "Clean air" not in client.get("/letters/team-invitations").get_data(as_text=True)
    assert client.post(f"/letters/team-invitations/{invitation.id}/accept").status_code == 404
    with pytest.raises(LetterError):
        operations.accept_team_invitation(invitation, unconfirmed)
    assert letter.role_of(unconfirmed) is None


def test_confirming_takes_every_waiting_role_but_not_expired_ones() -> None:
    from signon.accounts import operations as accounts

    coordinator = make_user()
    user = make_user("taker@example.org", confirmed=False)
    first, second, stale = (make_letter(coordinator) for _ in range(3))
    for letter in (first, second, stale):
        operations.invite_to_team(
            letter, email="taker@example.org", role=TeamRole.VIEWER, invited_by=coordinator
        )
    old = db.session.scalar(select(TeamInvitation).where(TeamInvitation.letter_id == stale.id))
    assert old is not None
    old.expires_at = utcnow() - timedelta(minutes=1)
    accounts.confirm_email(_fresh_confirmation_token(user), DEFAULT_PASSWORD)
    assert first.role_of(user) == TeamRole.VIEWER
    assert second.role_of(user) == TeamRole.VIEWER
    assert stale.role_of(user) is None
    assert db.session.scalars(select(TeamInvitation.letter_id)).all() == [stale.id]


def test_the_owner_who_proves_the_address_by_a_password_reset_takes_the_role() -> None:
    """Someone registered the invited address and never confirmed it (not its owner, or
    the owner who lost the mail): they get nothing. The owner, refused at registration,
    resets the password through the link mailed to the address, which confirms it, and
    the role waiting for it is theirs at once, as after a confirmation link."""
    from signon.accounts import operations as accounts
    from signon.accounts.models import TokenPurpose, UserToken

    coordinator = make_user()
    squatted = make_user("owner@example.org", confirmed=False)
    letter = make_letter(coordinator)
    operations.invite_to_team(
        letter, email="owner@example.org", role=TeamRole.DRAFTER, invited_by=coordinator
    )
    assert letter.role_of(squatted) is None
    _token, raw = UserToken.issue(squatted, TokenPurpose.RESET_PASSWORD, timedelta(hours=1))
    db.session.flush()
    accounts.reset_password(raw, "the owner's own long password")
    assert squatted.is_confirmed
    assert letter.role_of(squatted) == TeamRole.DRAFTER
    assert db.session.scalars(select(TeamInvitation)).all() == []


def _fresh_confirmation_token(user: User) -> str:
    from signon.accounts.models import TokenPurpose, UserToken

    _token, raw = UserToken.issue(user, TokenPurpose.CONFIRM_EMAIL, timedelta(hours=1))
    db.session.flush()
    return raw


def test_taking_an_invitation_never_lowers_a_role() -> None:
    coordinator, colleague = make_user(), make_user("colleague@example.org")
    letter = make_letter(coordinator)
    add_team_member(letter, role=TeamRole.COORDINATOR, user=colleague)
    invitation = operations.invite_to_team(
        letter, email="other@example.org", role=TeamRole.VIEWER, invited_by=coordinator
    )
    invitation.email = "colleague@example.org"  # as if they had been invited before joining
    member = operations.accept_team_invitation(invitation, colleague)
    assert member.role == TeamRole.COORDINATOR


def test_the_31st_team_invitation_in_a_minute_is_refused(
    limited: AppFactory, outbox: MailCatcher
) -> None:
    assert TEAM_INVITE_LIMIT == "30 per minute;300 per hour"
    app = limited()
    with app.test_request_context():
        coordinator = make_user()
        letter = make_letter(coordinator)
        db.session.commit()
        client = login(app.test_client(), coordinator)
        for n in range(30):
            response = client.post(
                f"/letters/{letter.slug}/team/users",
                data={"user-email": f"person{n}@example.org", "user-role": "viewer"},
            )
            assert response.status_code == 302, n
        refused = client.post(
            f"/letters/{letter.slug}/team/users",
            data={"user-email": "person30@example.org", "user-role": "viewer"},
        )
        assert refused.status_code == 429
        assert "Too many requests" in refused.get_data(as_text=True)
        assert outbox.to("person30@example.org") == []
        assert len(db.session.scalars(select(TeamInvitation)).all()) == 30


def test_registering_someone_elses_invited_address_does_not_take_their_role(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    """Red team: Mallory registers the address a coordinator invited (she cannot read its
    mail) and knows the password. The address's owner, who expects mail from Signon after
    the invitation, opens the confirmation link and presses "Confirm my address". Before,
    that confirmed Mallory's account, logged the owner into it and gave it the drafter
    role: Mallory then logged in with her password and drafted. The link proves who reads
    the mail, not who chose the password: confirming now asks for the password too, so the
    owner cannot confirm an account they did not create (they reset the password instead)."""
    coordinator = make_user()
    letter = make_letter(coordinator)
    login(client, coordinator)
    _invite(client, letter, "ada@example.org", role="drafter")
    outbox.clear()

    mallory = client.application.test_client()
    registered = mallory.post(
        "/register",
        data={
            "email": "ada@example.org",
            "display_name": "Ada",
            "password": "mallory's long password",
            "password_confirm": "mallory's long password",
        },
    )
    assert registered.status_code == 302
    confirm = link_in(only_mail_to(outbox, "ada@example.org"), "/confirm/")

    ada = client.application.test_client()
    assert "Confirm my address" in ada.get(confirm).get_data(as_text=True)
    pressed = ada.post(confirm, data={"password": "the password she would choose"})
    assert pressed.status_code == 422
    assert "reset" in pressed.get_data(as_text=True).lower()
    squatted = User.find_by_email("ada@example.org")
    assert squatted is not None and not squatted.is_confirmed
    assert letter.role_of(squatted) is None
    assert ada.get(f"/letters/{letter.slug}/").status_code == 302, "not logged in"
    pressed = ada.post(confirm)  # no password at all: the same
    assert pressed.status_code == 422 and not squatted.is_confirmed

    # The owner takes the account over with a new password; the role waiting for the
    # address is hers then, and Mallory's password is worth nothing.
    outbox.clear()
    ada.post("/forgot-password", data={"email": "ada@example.org"})
    reset = link_in(only_mail_to(outbox, "ada@example.org"), "/reset-password/")
    mine = "correct horse battery staple 7"
    chosen = {"password": mine, "password_confirm": mine}
    assert ada.post(reset, data=chosen).status_code == 302
    assert squatted.is_confirmed and letter.role_of(squatted) == TeamRole.DRAFTER
    refused = mallory.post(
        "/login", data={"email": "ada@example.org", "password": "mallory's long password"}
    )
    assert refused.status_code == 200 and "Log in" in refused.get_data(as_text=True)
