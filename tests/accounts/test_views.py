"""Accounts through the Flask test client: every flow, with bad input and hostile links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from signon import create_app
from signon.accounts.models import (
    Membership,
    Organisation,
    OrganisationInvitation,
    TokenPurpose,
    User,
    UserToken,
)
from signon.core.passwords import verify_password
from signon.core.permissions import OrganisationRole
from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from tests.accounts.helpers import link_in, only_mail_to, token_of
from tests.conftest import RequestIsolatingClient, login, make_settings
from tests.factories import DEFAULT_PASSWORD, make_organisation, make_user
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")

NEW_PASSWORD = "a completely new passphrase"


def text(response: TestResponse) -> str:
    """The page as a reader sees it: tags and extra white space gone, entities decoded."""
    return unescape(" ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split()))


def html(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def flashes(client: FlaskClient) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def log_in(
    client: FlaskClient, email: str, password: str = DEFAULT_PASSWORD, next_url: str | None = None
) -> TestResponse:
    query = {"next": next_url} if next_url is not None else {}
    return client.post("/login", query_string=query, data={"email": email, "password": password})


def is_logged_in(client: FlaskClient) -> bool:
    return client.get("/account").status_code == 200


def count(model: type[object]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def membership(org: Organisation, user: User) -> Membership:
    found = db.session.scalar(
        select(Membership).where(
            Membership.organisation_id == org.id, Membership.user_id == user.id
        )
    )
    assert found is not None
    return found


# --- Registration ----------------------------------------------------------------------------

REGISTRATION = {
    "email": "Amira@Example.org",
    "display_name": "Amira Haddad",
    "password": "a long enough password",
    "password_confirm": "a long enough password",
    "timezone": "Africa/Nairobi",
}
#: What the confirmation page asks for: the password chosen at registration.
CHOSEN = {"password": REGISTRATION["password"]}


def test_register_page_has_the_fields_and_a_time_zone_input(client: FlaskClient) -> None:
    page = html(client.get("/register"))
    for name in ("email", "display_name", "password", "password_confirm"):
        assert f'name="{name}"' in page
    assert re.search(r'<input[^>]*data-timezone[^>]*type="hidden"', page)


def test_register_confirm_and_get_logged_in(client: FlaskClient, outbox: MailCatcher) -> None:
    response = client.post("/register", data=REGISTRATION)
    assert response.status_code == 302
    assert response.location == "/confirm"
    assert "amira@example.org" in flashes(client)[0]
    user = User.find_by_email("amira@example.org")
    assert user is not None
    assert (user.display_name, user.timezone, user.is_confirmed) == (
        "Amira Haddad",
        "Africa/Nairobi",
        False,
    )
    assert not is_logged_in(client)

    link = link_in(only_mail_to(outbox, "amira@example.org"), "/confirm/")
    page = client.get(link)
    assert page.status_code == 200
    assert "Confirm my address" in text(page)
    db.session.refresh(user)
    assert not user.is_confirmed, "a GET changes nothing (mail scanners follow links)"

    response = client.post(link, data={"password": "not the password chosen"})
    assert response.status_code == 422 and "reset the password" in text(response)
    db.session.refresh(user)
    assert not user.is_confirmed and not is_logged_in(client)
    response = client.post(link, data=CHOSEN)
    assert response.status_code == 302 and response.location == "/"
    db.session.refresh(user)
    assert user.is_confirmed
    assert is_logged_in(client)


def test_register_with_an_unknown_time_zone_falls_back_to_utc(client: FlaskClient) -> None:
    client.post("/register", data={**REGISTRATION, "timezone": "<script>"})
    user = User.find_by_email("amira@example.org")
    assert user is not None and user.timezone == "UTC"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": "short", "password_confirm": "short"}, "at least 12 characters"),
        ({"password_confirm": "something else entirely"}, "do not match"),
        ({"email": "not an address"}, "valid email address"),
        ({"display_name": "   "}, "Enter your name"),
    ],
)
def test_register_errors_keep_what_was_typed(
    client: FlaskClient, outbox: MailCatcher, changes: dict[str, str], message: str
) -> None:
    data = {**REGISTRATION, **changes}
    response = client.post("/register", data=data)
    assert response.status_code == 200
    assert message in text(response)
    page = html(response)
    if data["email"] != "not an address":
        assert 'value="amira@example.org"' in page
    else:
        assert 'value="not an address"' in page
    if data["display_name"].strip():
        assert 'value="Amira Haddad"' in page
    assert "a long enough password" not in page, "passwords are never echoed back"
    assert count(User) == 0
    assert len(outbox) == 0


def _register_answer(client: FlaskClient, email: str) -> tuple[int, str | None, str]:
    """Status, redirect and the page it leads to (with the address typed taken out)."""
    response = client.post("/register", data={**REGISTRATION, "email": email})
    page = text(client.get(response.location)) if response.location else text(response)
    return response.status_code, response.location, page.replace(email, "<address>")


def test_register_answers_the_same_for_a_registered_address(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    """Nobody learns who has an account: the same status, redirect, message and page; the
    owner of the existing account gets a mail instead of a confirmation link."""
    owner = make_user("taken@example.org", name="Tamar Owner")
    unconfirmed = make_user("waiting@example.org", confirmed=False)
    commit()
    new = _register_answer(client, "fresh@example.org")
    taken = _register_answer(client, "taken@example.org")
    waiting = _register_answer(client, "waiting@example.org")
    assert new == taken == waiting
    assert new[0] == 302 and new[1] == "/confirm"
    assert "We have sent a message to <address>" in new[2]
    assert "already" not in new[2]
    assert count(User) == 3, "only the new address got an account"
    assert link_in(only_mail_to(outbox, "fresh@example.org"), "/confirm/")
    for user in (owner, unconfirmed):
        message = only_mail_to(outbox, user.email)
        assert "tried to register" in message["Subject"]
        assert link_in(message, "/forgot-password")
    db.session.refresh(owner)
    assert verify_password(owner.password_hash, DEFAULT_PASSWORD)


def test_a_confirmation_link_works_once(client: FlaskClient, outbox: MailCatcher) -> None:
    client.post("/register", data=REGISTRATION)
    link = link_in(outbox.messages[0], "/confirm/")
    assert client.post(link, data=CHOSEN).status_code == 302
    client.post("/logout")
    again = client.get(link)
    assert again.status_code == 410
    assert "already been used" in text(again)
    assert "Nothing has been changed" in text(again)
    assert client.post(link).status_code == 410
    assert not is_logged_in(client)


def test_an_expired_confirmation_link_offers_a_new_one(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    client.post("/register", data=REGISTRATION)
    link = link_in(outbox.messages[0], "/confirm/")
    token = UserToken.find(token_of(link), TokenPurpose.CONFIRM_EMAIL)
    assert token is not None
    token.expires_at = utcnow() - timedelta(minutes=1)
    commit()  # an error page rolls back what is not committed
    page = client.get(link)
    assert page.status_code == 410
    assert "expired" in text(page)
    assert 'action="/confirm"' in html(page), "a form to send a new link"
    assert client.post(link, data=CHOSEN).status_code == 410
    user = User.find_by_email("amira@example.org")
    assert user is not None and not user.is_confirmed

    outbox.clear()
    response = client.post("/confirm", data={"email": "amira@example.org"})
    assert response.status_code == 302
    fresh_link = link_in(only_mail_to(outbox, "amira@example.org"), "/confirm/")
    assert client.post(fresh_link, data=CHOSEN).status_code == 302
    assert is_logged_in(client)


def test_an_unknown_confirmation_link(client: FlaskClient) -> None:
    page = client.get("/confirm/made-up-token")
    assert page.status_code == 404
    assert "not valid" in text(page)


def test_resending_answers_the_same_for_any_address(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    make_user("confirmed@example.org")
    make_user("waiting@example.org", confirmed=False)
    answers = []
    for address in ("confirmed@example.org", "waiting@example.org", "nobody@example.org"):
        response = client.post("/confirm", data={"email": address}, follow_redirects=True)
        answers.append(text(response).split("Check your inbox")[0])
    assert answers[0] == answers[1] == answers[2]
    assert [m["To"] for m in outbox.messages] == ["waiting@example.org"]


def test_registering_from_an_invitation_comes_back_to_it(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    admin = make_user()
    org = make_organisation("Open Knowledge", admin=admin)
    invite_path = _invitation_link(client, org, admin, outbox, "amira@example.org")
    client.post("/logout")
    outbox.clear()

    landing = client.get(invite_path)
    register_href = re.search(r'href="(/register\?[^"]+)"', html(landing))
    assert register_href is not None
    register_url = unescape(register_href.group(1))
    assert "a***@example.org" in text(landing) and "amira@" not in html(landing)
    client.post(register_url, data=REGISTRATION)
    confirm = link_in(only_mail_to(outbox, "amira@example.org"), "/confirm/")
    response = client.post(confirm, data=CHOSEN)
    assert response.location == invite_path
    response = client.post(invite_path)
    assert response.status_code == 302
    user = User.find_by_email("amira@example.org")
    assert user is not None and org.role_of(user) is OrganisationRole.MEMBER


# --- Login and logout ------------------------------------------------------------------------


def test_login_page_labels(client: FlaskClient) -> None:
    page = html(client.get("/login"))
    assert re.search(
        r'<label for="email">Email( <span class="required"[^>]*>\*</span>)?</label>', page
    )
    assert re.search(
        r'<label for="password">Password( <span class="required"[^>]*>\*</span>)?</label>', page
    )
    assert re.search(r"<button[^>]*>Log in</button>", page)
    assert "Forgot your password?" in page


def test_login_logs_in_and_records_the_time(client: FlaskClient) -> None:
    user = make_user("me@example.org")
    response = log_in(client, "ME@example.org ")
    assert response.status_code == 302 and response.location == "/"
    assert is_logged_in(client)
    db.session.refresh(user)
    assert user.last_login_at is not None


def test_wrong_password_and_unknown_address_get_the_same_answer(client: FlaskClient) -> None:
    make_user("me@example.org")
    wrong = log_in(client, "me@example.org", "not my password at all")
    unknown = log_in(client, "nobody@example.org", "not my password at all")
    assert wrong.status_code == unknown.status_code == 200
    message = "The email address or password is not right"
    assert message in text(wrong) and message in text(unknown)
    strip = re.compile(r'value="[^"]*"|name="csrf-token" content="[^"]*"')
    assert strip.sub("", html(wrong)) == strip.sub("", html(unknown))
    assert 'value="me@example.org"' in html(wrong), "the address typed is kept"
    assert "not my password" not in html(wrong)
    assert not is_logged_in(client)


def test_login_to_an_unconfirmed_account_mails_a_new_link(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    make_user("new@example.org", confirmed=False)
    response = log_in(client, "new@example.org")
    assert response.status_code == 302 and response.location == "/confirm"
    assert "confirm your email address" in flashes(client)[0]
    assert not is_logged_in(client)
    link = link_in(only_mail_to(outbox, "new@example.org"), "/confirm/")
    assert client.post(link, data={"password": DEFAULT_PASSWORD}).status_code == 302
    assert is_logged_in(client)


def test_wrong_password_on_an_unconfirmed_account_reveals_nothing(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    make_user("new@example.org", confirmed=False)
    response = log_in(client, "new@example.org", "wrong password, really")
    assert response.status_code == 200
    assert "The email address or password is not right" in text(response)
    assert len(outbox) == 0


def test_login_follows_a_next_path_on_this_site(client: FlaskClient) -> None:
    make_user("me@example.org")
    response = log_in(client, "me@example.org", next_url="/organisations?tab=1")
    assert response.location == "/organisations?tab=1"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/%0a/evil.example\n",
        " //evil.example",
        "javascript:alert(1)",
        "evil.example",
        "///evil.example",
    ],
)
def test_login_refuses_to_redirect_elsewhere(client: FlaskClient, target: str) -> None:
    make_user("me@example.org")
    response = log_in(client, "me@example.org", next_url=target)
    assert response.status_code == 302
    assert response.location == "/"


def test_login_page_does_not_put_an_outside_next_in_its_links(client: FlaskClient) -> None:
    page = html(client.get("/login", query_string={"next": "//evil.example"}))
    assert "evil.example" not in page


def test_login_starts_a_new_session(client: FlaskClient) -> None:
    make_user("me@example.org")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    log_in(client, "me@example.org")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"]


def test_logged_in_visitors_skip_the_login_and_register_pages(client: FlaskClient) -> None:
    login(client, make_user())
    assert client.get("/login").status_code == 302
    assert client.get("/register").status_code == 302


def test_logout_is_post_only(client: FlaskClient) -> None:
    login(client, make_user())
    commit()  # the 405 below rolls back what is not committed
    assert client.get("/logout").status_code == 405
    assert is_logged_in(client)
    response = client.post("/logout")
    assert response.status_code == 302 and response.location == "/"
    assert flashes(client) == ["You have logged out, on this device and every other one."]
    assert not is_logged_in(client)


@pytest.fixture
def csrf_client(database_url: str, mail_catcher: MailCatcher) -> Iterator[FlaskClient]:
    """A client of an app with CSRF protection on, as in production."""
    app: Flask = create_app(make_settings(database_url, mail_catcher, wtf_csrf_enabled=True))
    app.test_client_class = RequestIsolatingClient
    with app.test_request_context():
        yield app.test_client()


def csrf_token_in(response: TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html(response))
    assert found is not None
    return found.group(1)


def test_logout_and_login_need_the_csrf_token(csrf_client: FlaskClient) -> None:
    make_user("me@example.org")
    commit()
    refused = log_in(csrf_client, "me@example.org")
    assert refused.status_code == 400
    token = csrf_token_in(csrf_client.get("/login"))
    response = csrf_client.post(
        "/login",
        data={"email": "me@example.org", "password": DEFAULT_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert csrf_client.post("/logout").status_code == 400
    assert csrf_client.get("/account").status_code == 200
    token = csrf_token_in(csrf_client.get("/account"))
    assert csrf_client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert csrf_client.get("/account").status_code == 302


# --- Password reset ---------------------------------------------------------------------------


def test_forgot_password_answers_the_same_for_any_address(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    make_user("me@example.org")
    known = client.post("/forgot-password", data={"email": "me@example.org"})
    known_flash = flashes(client)
    client.get("/login")  # consume the flash
    unknown = client.post("/forgot-password", data={"email": "nobody@example.org"})
    unknown_flash = flashes(client)
    assert known.status_code == unknown.status_code == 302
    assert known.location == unknown.location == "/login"
    assert [m.replace("me@example.org", "X") for m in known_flash] == [
        m.replace("nobody@example.org", "X") for m in unknown_flash
    ]
    assert "If an account exists" in known_flash[0]
    assert [m["To"] for m in outbox.messages] == ["me@example.org"]


def test_reset_password_sets_it_ends_other_sessions_and_logs_in(
    app: Flask, client: FlaskClient, outbox: MailCatcher
) -> None:
    user = make_user("me@example.org")
    other_device = login(app.test_client(), user)
    assert is_logged_in(other_device)
    client.post("/forgot-password", data={"email": "me@example.org"})
    link = link_in(only_mail_to(outbox, "me@example.org"), "/reset-password/")
    form = client.get(link)
    assert form.status_code == 200 and "Set a new password" in text(form)

    mismatch = client.post(link, data={"password": NEW_PASSWORD, "password_confirm": "nope"})
    assert mismatch.status_code == 200 and "do not match" in text(mismatch)
    short = client.post(link, data={"password": "short", "password_confirm": "short"})
    assert "at least 12 characters" in text(short)

    response = client.post(link, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert is_logged_in(client)
    assert not is_logged_in(other_device)
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)

    again = client.post(
        link, data={"password": "yet another password", "password_confirm": "yet another password"}
    )
    assert again.status_code == 410 and "already been used" in text(again)
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    client.post("/logout")
    assert "not right" in text(log_in(client, "me@example.org", DEFAULT_PASSWORD))
    assert log_in(client, "me@example.org", NEW_PASSWORD).status_code == 302
    assert "password was changed" in outbox.messages[-1]["Subject"]


def test_an_expired_reset_link(client: FlaskClient, outbox: MailCatcher) -> None:
    user = make_user("me@example.org")
    client.post("/forgot-password", data={"email": "me@example.org"})
    link = link_in(outbox.messages[0], "/reset-password/")
    token = UserToken.find(token_of(link), TokenPurpose.RESET_PASSWORD)
    assert token is not None
    token.expires_at = utcnow() - timedelta(seconds=1)
    commit()
    page = client.get(link)
    assert page.status_code == 410 and "expired" in text(page)
    assert "/forgot-password" in html(page)
    response = client.post(link, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 410
    db.session.refresh(user)
    assert verify_password(user.password_hash, DEFAULT_PASSWORD)
    assert not is_logged_in(client)


def test_an_unknown_reset_link(client: FlaskClient) -> None:
    assert client.get("/reset-password/nothing-like-it").status_code == 404


# --- Account settings --------------------------------------------------------------------------


def test_settings_shows_the_profile_and_organisations(client: FlaskClient) -> None:
    user = make_user(name="Kofi", timezone="Africa/Accra")
    make_organisation("Zeta Watch", admin=user)
    page = client.get("/account") if login(client, user) else None
    assert page is not None and page.status_code == 200
    assert 'value="Kofi"' in html(page)
    assert re.search(
        r'<option selected value="Africa/Accra">|<option value="Africa/Accra" selected', html(page)
    )
    assert "Zeta Watch" in text(page)


def test_settings_saves_name_and_time_zone(client: FlaskClient) -> None:
    user = make_user()
    login(client, user)
    response = client.post("/account", data={"display_name": "Nia", "timezone": "Asia/Kolkata"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.display_name, user.timezone) == ("Nia", "Asia/Kolkata")


def test_settings_refuses_an_unknown_zone_and_keeps_the_name(client: FlaskClient) -> None:
    user = make_user(name="Before")
    login(client, user)
    response = client.post("/account", data={"display_name": "After", "timezone": "Moon/Base"})
    assert response.status_code == 200
    assert 'value="After"' in html(response)
    assert "Not a valid choice" in text(response)
    db.session.refresh(user)
    assert user.display_name == "Before"


def test_change_password_needs_the_current_one(client: FlaskClient) -> None:
    user = make_user()
    login(client, user)
    response = client.post(
        "/account/password",
        data={
            "current_password": "not the password",
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "not your current password" in text(response)
    db.session.refresh(user)
    assert verify_password(user.password_hash, DEFAULT_PASSWORD)


def test_change_password_keeps_this_session_and_ends_all_others(
    app: Flask, client: FlaskClient, outbox: MailCatcher
) -> None:
    user = make_user("me@example.org")
    login(client, user)
    other = login(app.test_client(), user)
    assert is_logged_in(client) and is_logged_in(other)
    old_cookie = client.get_cookie("session")
    assert old_cookie is not None

    response = client.post(
        "/account/password",
        data={
            "current_password": DEFAULT_PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert is_logged_in(client), "this session goes on"
    assert not is_logged_in(other), "every other session ends"
    replay = app.test_client()
    replay.set_cookie("session", old_cookie.value)
    assert not is_logged_in(replay), "the old session cookie no longer works"
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert only_mail_to(outbox, "me@example.org")["Subject"] == "Your Signon password was changed"


# --- Organisations ----------------------------------------------------------------------------


def test_organisations_page_has_a_helpful_empty_state(client: FlaskClient) -> None:
    login(client, make_user())
    page = client.get("/organisations")
    assert page.status_code == 200
    assert "not part of an organisation yet" in text(page)
    assert 'href="/organisations/new"' in html(page)


def test_organisations_page_lists_mine_with_my_role(client: FlaskClient) -> None:
    user = make_user()
    make_organisation("Alpha Rights", admin=user)
    make_organisation("Beta Watch", members=(user,))
    make_organisation("Not Mine")
    login(client, user)
    page = text(client.get("/organisations"))
    assert "Alpha Rights" in page and "Beta Watch" in page and "Not Mine" not in page
    assert re.search(r"Alpha Rights .*Admin.*Beta Watch .*Member", page)


def test_create_an_organisation(client: FlaskClient) -> None:
    user = make_user()
    login(client, user)
    response = client.post(
        "/organisations/new",
        data={
            "name": "Front Line Defenders",
            "short_name": "FLD",
            "country": "Ireland",
            "website": "www.frontlinedefenders.example",
        },
    )
    assert response.status_code == 302
    org = db.session.scalar(select(Organisation))
    assert org is not None
    assert response.location == f"/organisations/{org.id}"
    assert org.website == "https://www.frontlinedefenders.example"
    assert org.role_of(user) is OrganisationRole.ADMIN
    page = client.get(response.location)
    assert "Front Line Defenders" in text(page) and "Admin" in text(page)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "front line   DEFENDERS"}, "already exists"),
        ({"name": "New Org", "website": "javascript:alert(1)"}, "http:// or https://"),
        ({"name": "New Org", "website": "ftp://files.example"}, "http:// or https://"),
        ({"name": "New Org", "website": "https://"}, "http:// or https://"),
        ({"name": ""}, "Enter the organisation's name"),
    ],
)
def test_create_organisation_errors_keep_what_was_typed(
    client: FlaskClient, data: dict[str, str], message: str
) -> None:
    make_organisation("Front Line Defenders")
    login(client, make_user())
    response = client.post("/organisations/new", data={"country": "Chile", **data})
    assert response.status_code == 200
    assert message in text(response)
    assert 'value="Chile"' in html(response)
    assert count(Organisation) == 1


def test_organisation_page_shows_members_and_pending_invitations(client: FlaskClient) -> None:
    admin = make_user(name="Ada Admin")
    member = make_user(name="Mo Member")
    org = make_organisation("Gamma", admin=admin, members=(member,))
    db.session.add(
        OrganisationInvitation(
            organisation=org,
            email="pending@example.org",
            token_hash="0" * 64,
            invited_by=admin,
            expires_at=utcnow() + timedelta(days=1),
        )
    )
    db.session.add(
        OrganisationInvitation(
            organisation=org,
            email="stale@example.org",
            token_hash="1" * 64,
            expires_at=utcnow() - timedelta(days=1),
        )
    )
    db.session.flush()
    login(client, member)
    page = text(client.get(f"/organisations/{org.id}"))
    assert "Ada Admin" in page and "Mo Member" in page
    assert "pending@example.org" in page and "stale@example.org" not in page
    assert "Invite a colleague" not in page and "Withdraw" not in page, "members do not manage"
    login(client, admin)
    page = text(client.get(f"/organisations/{org.id}"))
    assert "Invite a colleague" in page and "Withdraw" in page


def test_admin_edits_the_details(client: FlaskClient) -> None:
    admin = make_user()
    org = make_organisation("Delta", admin=admin)
    make_organisation("Epsilon")
    login(client, admin)
    form = client.get(f"/organisations/{org.id}/edit")
    assert 'value="Delta"' in html(form)
    taken = client.post(f"/organisations/{org.id}/edit", data={"name": "EPSILON"})
    assert taken.status_code == 200 and "already exists" in text(taken)
    response = client.post(
        f"/organisations/{org.id}/edit",
        data={"name": "Delta Rights", "country": "Kenya", "website": "http://delta.example"},
    )
    assert response.status_code == 302
    db.session.refresh(org)
    assert (org.name, org.name_key, org.country, org.website) == (
        "Delta Rights",
        "delta rights",
        "Kenya",
        "http://delta.example",
    )


def _invitation_link(
    client: FlaskClient,
    org: Organisation,
    admin: User,
    outbox: MailCatcher,
    email: str,
    role: str = "member",
) -> str:
    login(client, admin)
    response = client.post(
        f"/organisations/{org.id}/invitations", data={"email": email, "role": role}
    )
    assert response.status_code == 302, text(response)
    return link_in(outbox.to(email)[-1], "/invitations/")


def test_invite_resend_and_field_errors(client: FlaskClient, outbox: MailCatcher) -> None:
    admin = make_user()
    member = make_user("member@example.org")
    org = make_organisation("Eta", admin=admin, members=(member,))
    first = _invitation_link(client, org, admin, outbox, "new@example.org")
    assert "new@example.org" in flashes(client)[0]
    assert "new@example.org" in text(client.get(f"/organisations/{org.id}"))
    second = _invitation_link(client, org, admin, outbox, "NEW@example.org", "admin")
    assert count(OrganisationInvitation) == 1
    assert len(outbox.to("new@example.org")) == 2
    assert client.get(first).status_code == 404, "the earlier link was replaced"
    assert "as admin" in text(client.get(second))

    existing = client.post(
        f"/organisations/{org.id}/invitations",
        data={"email": "Member@example.org", "role": "member"},
    )
    assert existing.status_code == 200
    assert "already a member" in text(existing)
    assert 'value="member@example.org"' in html(existing)
    bad = client.post(
        f"/organisations/{org.id}/invitations", data={"email": "nope", "role": "member"}
    )
    assert bad.status_code == 200 and "valid email address" in text(bad)
    bad_role = client.post(
        f"/organisations/{org.id}/invitations", data={"email": "x@example.org", "role": "owner"}
    )
    assert bad_role.status_code == 200 and "Not a valid choice" in text(bad_role)
    assert len(outbox) == 2


def test_revoke_an_invitation(client: FlaskClient, outbox: MailCatcher) -> None:
    admin = make_user()
    org = make_organisation("Theta", admin=admin)
    link = _invitation_link(client, org, admin, outbox, "new@example.org")
    invitation = db.session.scalar(select(OrganisationInvitation))
    assert invitation is not None
    response = client.post(f"/organisations/{org.id}/invitations/{invitation.id}/revoke")
    assert response.status_code == 302
    page = client.get(link)
    assert page.status_code == 410 and "withdrawn" in text(page)
    assert client.post(link).status_code == 410
    assert count(Membership) == 1


def test_invitation_landing_for_a_visitor_then_login_and_accept(
    app: Flask, client: FlaskClient, outbox: MailCatcher
) -> None:
    admin = make_user(name="Ada Admin")
    org = make_organisation("Iota", admin=admin)
    link = _invitation_link(app.test_client(), org, admin, outbox, "guest@example.org", "admin")
    guest = make_user("guest@example.org")

    landing = client.get(link)
    assert landing.status_code == 200
    page = text(landing)
    assert "Iota" in page and "admin" in page and "Ada Admin" in page
    assert "Log in to accept" in page
    login_href = re.search(r'href="(/login\?next=[^"]+)"', html(landing))
    assert login_href is not None
    assert client.post(link).location.startswith("/login?next=")
    assert count(Membership) == 1

    response = log_in(client, "guest@example.org", next_url=link)
    assert response.location == link
    confirm_page = client.get(link)
    assert "Accept and join Iota" in text(confirm_page)
    response = client.post(link)
    assert response.status_code == 302 and response.location == f"/organisations/{org.id}"
    assert org.role_of(guest) is OrganisationRole.ADMIN
    used = client.get(link)
    assert used.status_code == 410 and "already been used" in text(used)


def test_only_the_account_that_confirmed_the_invited_address_may_accept(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    """The link is no bearer token: another account with it cannot join, nor the invited
    address's account before it is confirmed; the refusal names the address as a hint."""
    admin = make_user()
    org = make_organisation("Kappa", admin=admin)
    link = _invitation_link(client, org, admin, outbox, "work@example.org", "admin")
    client.get("/organisations")  # the admin reads the "sent" message
    personal = make_user("personal@example.org")
    commit()  # the refused requests below roll back
    login(client, personal)
    page = client.get(link)
    assert page.status_code == 200
    assert "This invitation was sent to w***@example.org" in text(page)
    assert "work@example.org" not in html(page)
    assert "Accept and join" not in text(page)
    refused = client.post(link)
    assert refused.status_code == 403
    assert "log in with that address" in text(refused)
    assert org.role_of(personal) is None

    invited = make_user("work@example.org", confirmed=False)
    commit()
    login(client, invited)
    refused = client.post(link)
    assert refused.status_code == 403 and "Please confirm that address first" in text(refused)
    assert org.role_of(invited) is None
    invitation = db.session.scalar(select(OrganisationInvitation))
    assert invitation is not None and invitation.accepted_at is None

    invited.email_confirmed_at = utcnow()
    commit()
    accept = client.get(link)
    assert "Accept and join Kappa" in text(accept)
    assert client.post(link).location == f"/organisations/{org.id}"
    assert org.role_of(invited) is OrganisationRole.ADMIN


def test_an_expired_invitation(client: FlaskClient, outbox: MailCatcher) -> None:
    admin = make_user()
    org = make_organisation("Lambda", admin=admin)
    link = _invitation_link(client, org, admin, outbox, "late@example.org")
    invitation = db.session.scalar(select(OrganisationInvitation))
    assert invitation is not None
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    late = make_user("late@example.org")
    commit()
    login(client, late)
    page = client.get(link)
    assert page.status_code == 410 and "expired" in text(page)
    assert client.post(link).status_code == 410
    assert org.role_of(late) is None


def test_an_unknown_invitation(client: FlaskClient) -> None:
    page = client.get("/invitations/no-such-invitation")
    assert page.status_code == 404 and "not valid" in text(page)


def test_change_roles_and_the_last_admin_rule(client: FlaskClient) -> None:
    admin = make_user()
    member = make_user(name="Mo")
    org = make_organisation("Mu", admin=admin, members=(member,))
    login(client, admin)
    mine = membership(org, admin)
    theirs = membership(org, member)

    response = client.post(
        f"/organisations/{org.id}/members/{mine.id}/role", data={"role": "member"}
    )
    assert response.status_code == 302
    assert "at least one admin" in flashes(client)[0]
    assert org.role_of(admin) is OrganisationRole.ADMIN

    client.get(f"/organisations/{org.id}")
    client.post(f"/organisations/{org.id}/members/{theirs.id}/role", data={"role": "admin"})
    assert "Mo is now admin." in flashes(client)
    assert org.role_of(member) is OrganisationRole.ADMIN
    client.post(f"/organisations/{org.id}/members/{mine.id}/role", data={"role": "member"})
    assert org.role_of(admin) is OrganisationRole.MEMBER
    assert client.get(f"/organisations/{org.id}/edit").status_code == 403


def test_remove_a_member_but_not_the_last_admin(client: FlaskClient) -> None:
    admin = make_user()
    member = make_user(name="Mo")
    org = make_organisation("Nu", admin=admin, members=(member,))
    login(client, admin)
    page = html(client.get(f"/organisations/{org.id}"))
    assert 'data-confirm="Remove Mo from Nu?"' in page
    mine = membership(org, admin)
    response = client.post(f"/organisations/{org.id}/members/{mine.id}/remove")
    assert response.status_code == 302
    assert "at least one admin" in flashes(client)[0]
    assert org.role_of(admin) is OrganisationRole.ADMIN
    client.get(f"/organisations/{org.id}")
    theirs = membership(org, member)
    client.post(f"/organisations/{org.id}/members/{theirs.id}/remove")
    assert org.role_of(member) is None
    login(client, member)
    assert client.get(f"/organisations/{org.id}").status_code == 404


def test_members_leave_but_the_last_admin_stays(client: FlaskClient) -> None:
    admin = make_user()
    member = make_user()
    org = make_organisation("Xi", admin=admin, members=(member,))
    login(client, member)
    response = client.post(f"/organisations/{org.id}/leave")
    assert response.status_code == 302 and response.location == "/organisations"
    assert org.role_of(member) is None
    login(client, admin)
    assert "Leave this organisation" not in text(client.get(f"/organisations/{org.id}"))
    client.post(f"/organisations/{org.id}/leave")
    assert "at least one admin" in flashes(client)[0]
    assert org.role_of(admin) is OrganisationRole.ADMIN


def test_members_of_another_organisation_cannot_be_reached_through_mine(
    client: FlaskClient,
) -> None:
    admin = make_user()
    mine = make_organisation("Omicron", admin=admin)
    stranger = make_user()
    other = make_organisation("Pi", admin=stranger)
    login(client, admin)
    theirs = membership(other, stranger)
    commit()
    response = client.post(f"/organisations/{mine.id}/members/{theirs.id}/remove")
    assert response.status_code == 404
    assert other.role_of(stranger) is OrganisationRole.ADMIN
