"""Accounts operations, without HTTP: users, tokens, organisations, memberships."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from signon.accounts import operations as ops
from signon.accounts.models import (
    Membership,
    Organisation,
    OrganisationInvitation,
    TokenPurpose,
    User,
    UserToken,
)
from signon.core.passwords import needs_rehash, verify_password
from signon.core.permissions import OrganisationRole
from signon.core.tokens import hash_token
from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from tests.accounts.helpers import link_in, only_mail_to, token_of
from tests.factories import DEFAULT_PASSWORD, make_organisation, make_user
from tests.smtp import MailCatcher

NEW_PASSWORD = "a brand new passphrase"

pytestmark = pytest.mark.usefixtures("app_context")


def _count(model: type[object]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


# --- Registration and confirmation -----------------------------------------------------------


def test_register_creates_an_unconfirmed_user_and_mails_a_link_after_commit(
    outbox: MailCatcher,
) -> None:
    user = ops.register_user(
        " Amira@Example.ORG ", "  Amira  ", "long enough password", "Asia/Beirut"
    )
    assert user is not None
    assert user.email == "amira@example.org"
    assert user.display_name == "Amira"
    assert user.timezone == "Asia/Beirut"
    assert not user.is_confirmed
    assert user.password_hash != "long enough password"
    assert verify_password(user.password_hash, "long enough password")
    assert len(outbox) == 0, "mail goes out only after the commit"
    commit()
    link = link_in(only_mail_to(outbox, "amira@example.org"), "/confirm/")
    token = db.session.scalar(select(UserToken).where(UserToken.user_id == user.id))
    assert token is not None and token.purpose is TokenPurpose.CONFIRM_EMAIL
    assert token.token_hash == hash_token(token_of(link)), "only the hash is stored"
    assert token_of(link) not in token.token_hash


def test_register_falls_back_to_utc_for_an_unknown_time_zone() -> None:
    for email, zone in (("a@example.org", "Mars/Olympus"), ("b@example.org", "")):
        user = ops.register_user(email, "A", "x" * 12, zone)
        assert user is not None and user.timezone == "UTC"


def test_register_with_a_taken_address_mails_its_owner_and_changes_nothing(
    outbox: MailCatcher,
) -> None:
    owner = make_user("taken@example.org", name="Tamar Owner")
    before = (owner.password_hash, owner.display_name, owner.session_token)
    assert ops.register_user("Taken@example.org", "Someone", "x" * 12, "Asia/Tokyo") is None
    assert _count(User) == 1 and _count(UserToken) == 0
    assert (owner.password_hash, owner.display_name, owner.session_token) == before
    commit()
    message = only_mail_to(outbox, "taken@example.org")
    assert "tried to register" in message["Subject"]
    body = MailCatcher.text_of(message)
    assert "Tamar Owner" in body and "no new one was made" in body
    assert link_in(message, "/login") and link_in(message, "/forgot-password")
    assert "no new one was made" in MailCatcher.html_of(message), "an HTML part too"


def test_confirm_email_marks_the_address_and_uses_up_every_confirmation_link() -> None:
    user = make_user(confirmed=False)
    first, first_raw = UserToken.issue(user, TokenPurpose.CONFIRM_EMAIL, timedelta(hours=1))
    second, second_raw = UserToken.issue(user, TokenPurpose.CONFIRM_EMAIL, timedelta(hours=1))
    assert ops.confirm_email(second_raw, DEFAULT_PASSWORD) is user
    assert user.is_confirmed
    assert first.used_at is not None and second.used_at is not None
    with pytest.raises(ops.InvalidTokenError) as caught:
        ops.confirm_email(first_raw, DEFAULT_PASSWORD)
    assert caught.value.problem is ops.TokenProblem.USED


def test_confirm_email_refuses_expired_and_unknown_links() -> None:
    user = make_user(confirmed=False)
    token, raw = UserToken.issue(user, TokenPurpose.CONFIRM_EMAIL, timedelta(hours=1))
    token.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(ops.InvalidTokenError) as caught:
        ops.confirm_email(raw, DEFAULT_PASSWORD)
    assert caught.value.problem is ops.TokenProblem.EXPIRED
    assert not user.is_confirmed
    with pytest.raises(ops.InvalidTokenError) as caught:
        ops.confirm_email("not-a-token", DEFAULT_PASSWORD)
    assert caught.value.problem is ops.TokenProblem.UNKNOWN


def test_a_reset_token_does_not_confirm_an_address() -> None:
    user = make_user(confirmed=False)
    _token, raw = UserToken.issue(user, TokenPurpose.RESET_PASSWORD, timedelta(hours=1))
    with pytest.raises(ops.InvalidTokenError):
        ops.confirm_email(raw, DEFAULT_PASSWORD)


def test_resend_confirmation_mails_only_unconfirmed_accounts(outbox: MailCatcher) -> None:
    make_user("new@example.org", confirmed=False)
    make_user("old@example.org")
    for address in ("new@example.org", "old@example.org", "nobody@example.org"):
        ops.resend_email_confirmation(address)
    commit()
    assert [m["To"] for m in outbox.messages] == ["new@example.org"]


# --- Login ------------------------------------------------------------------------------------


def test_login_records_the_time_and_refuses_wrong_passwords_and_unknown_addresses() -> None:
    user = make_user("me@example.org")
    assert (
        ops.attempt_login("me@example.org", "wrong password!").status
        is ops.LoginStatus.BAD_CREDENTIALS
    )
    assert (
        ops.attempt_login("who@example.org", DEFAULT_PASSWORD).status
        is ops.LoginStatus.BAD_CREDENTIALS
    )
    assert user.last_login_at is None
    result = ops.attempt_login(" ME@example.org", DEFAULT_PASSWORD)
    assert result.status is ops.LoginStatus.OK and result.user is user
    assert user.last_login_at is not None


COMPOSED = "jos\u00e9@example.org"
DECOMPOSED = "jose\u0301@example.org"


def test_the_decomposed_spelling_of_an_address_is_the_same_account(outbox: MailCatcher) -> None:
    """NFC and NFD spellings of one address are one account: registering again with the
    other spelling is refused (the owner is told), and login and password reset find it."""
    assert COMPOSED != DECOMPOSED
    user = ops.register_user(DECOMPOSED, "José", "x" * 12, "UTC")
    assert user is not None and user.email == COMPOSED
    commit()
    user.email_confirmed_at = utcnow()
    assert ops.register_user(COMPOSED.upper(), "Someone", "x" * 12, "UTC") is None
    assert _count(User) == 1
    assert ops.attempt_login(COMPOSED, "x" * 12).user is user
    assert ops.attempt_login(DECOMPOSED, "x" * 12).user is user
    assert User.find_by_email(DECOMPOSED) is user
    ops.request_password_reset(DECOMPOSED)
    commit()
    resets = [m for m in outbox.to(COMPOSED) if "Reset" in m["Subject"]]
    assert len(resets) == 1 and link_in(resets[0], "/reset-password/")


def test_inviting_the_decomposed_spelling_renews_the_one_invitation() -> None:
    admin = make_user()
    org = make_organisation(admin=admin)
    first = ops.invite_to_organisation(org, admin, COMPOSED, OrganisationRole.MEMBER)
    second = ops.invite_to_organisation(org, admin, DECOMPOSED, OrganisationRole.MEMBER)
    assert second.id == first.id and second.email == COMPOSED
    assert _count(OrganisationInvitation) == 1


def test_login_on_an_unconfirmed_account_mails_a_fresh_link(outbox: MailCatcher) -> None:
    user = make_user("pending@example.org", confirmed=False)
    result = ops.attempt_login("pending@example.org", DEFAULT_PASSWORD, "/organisations")
    assert result.status is ops.LoginStatus.UNCONFIRMED
    assert user.last_login_at is None
    commit()
    link = link_in(only_mail_to(outbox, "pending@example.org"), "/confirm/")
    assert parse_qs(urlsplit(link).query)["next"] == ["/organisations"]


def test_login_upgrades_an_outdated_password_hash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(DEFAULT_PASSWORD)
    user = make_user("old@example.org")
    user.password_hash = weak
    assert needs_rehash(weak)
    assert ops.attempt_login("old@example.org", DEFAULT_PASSWORD).status is ops.LoginStatus.OK
    assert user.password_hash != weak
    assert not needs_rehash(user.password_hash)
    assert verify_password(user.password_hash, DEFAULT_PASSWORD)


# --- Passwords ------------------------------------------------------------------------------


def test_password_reset_for_an_unknown_address_sends_nothing(outbox: MailCatcher) -> None:
    ops.request_password_reset("nobody@example.org")
    commit()
    assert len(outbox) == 0
    assert _count(UserToken) == 0


def test_password_reset_sets_the_password_ends_sessions_and_uses_up_links(
    outbox: MailCatcher,
) -> None:
    user = make_user("reset@example.org")
    old_session = user.session_token
    ops.request_password_reset("reset@example.org")
    ops.request_password_reset("reset@example.org")
    commit()
    first, second = (token_of(link_in(m, "/reset-password/")) for m in outbox.messages)
    assert ops.reset_password(second, NEW_PASSWORD) is user
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert user.session_token != old_session
    for raw in (first, second):
        with pytest.raises(ops.InvalidTokenError) as caught:
            ops.reset_password(raw, "another passphrase!!")
        assert caught.value.problem is ops.TokenProblem.USED
    assert verify_password(user.password_hash, NEW_PASSWORD)


def test_an_expired_reset_link_changes_nothing() -> None:
    user = make_user()
    token, raw = UserToken.issue(user, TokenPurpose.RESET_PASSWORD, timedelta(hours=2))
    token.expires_at = utcnow() - timedelta(minutes=1)
    before = (user.password_hash, user.session_token)
    with pytest.raises(ops.InvalidTokenError) as caught:
        ops.reset_password(raw, NEW_PASSWORD)
    assert caught.value.problem is ops.TokenProblem.EXPIRED
    assert (user.password_hash, user.session_token) == before


def test_a_reset_link_confirms_an_unconfirmed_address() -> None:
    user = make_user(confirmed=False)
    _token, raw = UserToken.issue(user, TokenPurpose.RESET_PASSWORD, timedelta(hours=2))
    ops.reset_password(raw, NEW_PASSWORD)
    assert user.is_confirmed


def test_change_password_rotates_the_session_token_and_tells_the_user(outbox: MailCatcher) -> None:
    user = make_user("change@example.org")
    _token, reset_raw = UserToken.issue(user, TokenPurpose.RESET_PASSWORD, timedelta(hours=2))
    old_session = user.session_token
    with pytest.raises(ops.WrongPasswordError):
        ops.change_password(user, "not the password", NEW_PASSWORD)
    assert user.session_token == old_session
    ops.change_password(user, DEFAULT_PASSWORD, NEW_PASSWORD)
    assert user.session_token != old_session
    assert verify_password(user.password_hash, NEW_PASSWORD)
    with pytest.raises(ops.InvalidTokenError):
        ops.reset_password(reset_raw, "someone else's password")
    commit()
    assert "password" in only_mail_to(outbox, "change@example.org")["Subject"].lower()


def test_update_profile() -> None:
    user = make_user()
    ops.update_profile(user, " New Name ", "America/Bogota")
    assert (user.display_name, user.timezone) == ("New Name", "America/Bogota")
    ops.update_profile(user, "New Name", "Not/AZone")
    assert user.timezone == "UTC"


# --- Organisations -----------------------------------------------------------------------------


def test_create_organisation_makes_the_creator_its_admin() -> None:
    creator = make_user()
    org = ops.create_organisation(
        creator, "  Friends   of the Earth ", "FoE", "Nigeria", "https://foe.example"
    )
    assert org.name == "Friends of the Earth"
    assert org.name_key == "friends of the earth"
    assert (org.short_name, org.country, org.website) == ("FoE", "Nigeria", "https://foe.example")
    assert org.created_by_id == creator.id
    assert org.role_of(creator) is OrganisationRole.ADMIN


def test_organisation_names_are_unique_whatever_the_case() -> None:
    creator = make_user()
    ops.create_organisation(creator, "Amnesty International")
    with pytest.raises(ops.OrganisationNameTakenError):
        ops.create_organisation(creator, "AMNESTY  international")
    other = ops.create_organisation(creator, "Other")
    with pytest.raises(ops.OrganisationNameTakenError):
        ops.update_organisation(other, "amnesty international")
    assert _count(Organisation) == 2


def test_update_organisation_may_keep_its_own_name() -> None:
    org = make_organisation("Article 19")
    ops.update_organisation(org, "ARTICLE 19", None, "United Kingdom", None)
    assert (org.name, org.country, org.short_name) == ("ARTICLE 19", "United Kingdom", None)


def test_invite_mails_a_link_and_stores_only_its_hash(outbox: MailCatcher) -> None:
    admin = make_user(name="Ada Admin")
    org = make_organisation("Open Rights", admin=admin)
    invitation = ops.invite_to_organisation(org, admin, " New@Example.org", OrganisationRole.ADMIN)
    assert invitation.email == "new@example.org"
    assert invitation.is_pending
    commit()
    message = only_mail_to(outbox, "new@example.org")
    assert "Open Rights" in message["Subject"]
    raw = token_of(link_in(message, "/invitations/"))
    assert invitation.token_hash == hash_token(raw)
    assert "Ada Admin" in MailCatcher.text_of(message)
    assert "admin" in MailCatcher.html_of(message)


def test_inviting_again_resends_instead_of_duplicating(outbox: MailCatcher) -> None:
    admin = make_user()
    org = make_organisation(admin=admin)
    first = ops.invite_to_organisation(org, admin, "x@example.org", OrganisationRole.MEMBER)
    commit()
    first_raw = token_of(link_in(outbox.messages[0], "/invitations/"))
    second = ops.invite_to_organisation(org, admin, "X@example.org", OrganisationRole.ADMIN)
    commit()
    second_raw = token_of(link_in(outbox.messages[1], "/invitations/"))
    assert second.id == first.id
    assert _count(OrganisationInvitation) == 1
    assert second.role is OrganisationRole.ADMIN
    assert second.token_hash == hash_token(second_raw) != hash_token(first_raw)


def test_inviting_a_member_is_refused() -> None:
    admin = make_user()
    member = make_user("member@example.org")
    org = make_organisation(admin=admin, members=(member,))
    with pytest.raises(ops.AlreadyMemberError):
        ops.invite_to_organisation(org, admin, "MEMBER@example.org", OrganisationRole.MEMBER)


def _invite(
    org: Organisation, role: OrganisationRole = OrganisationRole.MEMBER
) -> OrganisationInvitation:
    admin = make_user()
    return ops.invite_to_organisation(org, admin, "guest@example.org", role)


def _guest() -> User:
    """The account that confirmed the invited address of :func:`_invite`."""
    return make_user("guest@example.org")


def test_accepting_an_invitation_joins_with_its_role_once() -> None:
    org = make_organisation()
    invitation = _invite(org, OrganisationRole.ADMIN)
    user = _guest()
    membership = ops.accept_invitation(invitation, user)
    assert membership.role is OrganisationRole.ADMIN
    assert org.role_of(user) is OrganisationRole.ADMIN
    assert invitation.accepted_at is not None and invitation.accepted_by_id == user.id
    with pytest.raises(ops.InvalidTokenError) as caught:
        ops.accept_invitation(invitation, user)
    assert caught.value.problem is ops.TokenProblem.USED


def test_revoked_and_expired_invitations_cannot_be_accepted() -> None:
    org = make_organisation()
    revoked = _invite(org)
    ops.revoke_invitation(revoked)
    guest = _guest()
    with pytest.raises(ops.InvalidTokenError) as caught:
        ops.accept_invitation(revoked, guest)
    assert caught.value.problem is ops.TokenProblem.REVOKED
    expired = ops.invite_to_organisation(
        org, make_user(), "late@example.org", OrganisationRole.MEMBER
    )
    expired.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(ops.InvalidTokenError) as caught:
        ops.accept_invitation(expired, make_user("late@example.org"))
    assert caught.value.problem is ops.TokenProblem.EXPIRED
    assert _count(Membership) == 0


def test_a_member_accepting_again_keeps_their_role() -> None:
    org = make_organisation()
    invitation = _invite(org, OrganisationRole.MEMBER)
    guest = _guest()  # joined meanwhile through another invitation, as admin
    db.session.add(Membership(user=guest, organisation=org, role=OrganisationRole.ADMIN))
    db.session.flush()
    membership = ops.accept_invitation(invitation, guest)
    assert membership.role is OrganisationRole.ADMIN
    assert invitation.accepted_at is not None


def test_the_last_admin_cannot_be_demoted_removed_or_leave() -> None:
    admin = make_user()
    member = make_user()
    org = make_organisation(admin=admin, members=(member,))
    admin_membership = db.session.scalar(select(Membership).where(Membership.user_id == admin.id))
    assert admin_membership is not None
    with pytest.raises(ops.LastAdminError, match="at least one admin"):
        ops.change_member_role(admin_membership, OrganisationRole.MEMBER)
    with pytest.raises(ops.LastAdminError):
        ops.remove_member(admin_membership)
    with pytest.raises(ops.LastAdminError):
        ops.leave_organisation(admin_membership)
    assert org.role_of(admin) is OrganisationRole.ADMIN


def test_with_a_second_admin_roles_change_and_members_go() -> None:
    admin = make_user()
    member = make_user()
    org = make_organisation(admin=admin, members=(member,))
    member_membership = db.session.scalar(select(Membership).where(Membership.user_id == member.id))
    admin_membership = db.session.scalar(select(Membership).where(Membership.user_id == admin.id))
    assert member_membership is not None and admin_membership is not None
    ops.change_member_role(member_membership, OrganisationRole.ADMIN)
    assert org.admin_count() == 2
    ops.change_member_role(admin_membership, OrganisationRole.MEMBER)
    assert org.role_of(admin) is OrganisationRole.MEMBER
    ops.leave_organisation(admin_membership)
    assert org.role_of(admin) is None
    assert org.role_of(member) is OrganisationRole.ADMIN


def test_removing_a_member() -> None:
    admin = make_user()
    member = make_user()
    org = make_organisation(admin=admin, members=(member,))
    membership = db.session.scalar(select(Membership).where(Membership.user_id == member.id))
    assert membership is not None
    ops.remove_member(membership)
    assert org.role_of(member) is None
    assert db.session.get(User, member.id) is not None, "the account itself stays"
