"""No open redirect through ``next=``: every place that reads it, with hostile values.

``next`` is read by login, registration (and the confirmation link it mails),
the confirmation page, and the invitation landing page (which builds it itself).
Every one goes through :func:`signon.core.urls.safe_next_url`; these tests hit
the views, so a view that forgot it fails here.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from signon.accounts import operations
from signon.accounts.models import TokenPurpose, User, UserToken
from signon.core.permissions import OrganisationRole
from signon.core.tokens import hash_token
from signon.core.urls import safe_next_url
from signon.extensions import db
from tests.accounts.helpers import link_in, only_mail_to
from tests.conftest import login
from tests.factories import DEFAULT_PASSWORD, make_organisation, make_user
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")

#: As they appear in the query string (already percent-encoded where needed).
HOSTILE = [
    "//evil.com",
    "///evil.com",
    "////evil.com",
    "/%5Cevil.com",  # /\evil.com
    "%5C%5Cevil.com",  # \\evil.com
    "/%5C%5Cevil.com",
    "%5C/evil.com",
    "/%5C/evil.com",
    "/./%5Cevil.com",
    "https:evil.com",
    "http:/evil.com",
    "https://evil.com",
    "http://evil.com/path",
    "HTTPS://EVIL.COM",
    "%2F%2Fevil.com",
    "/%2F/evil.com",
    "/%09/evil.com",
    "/%0A/evil.com",
    "/%0D%0A/evil.com",
    "%09//evil.com",
    "%20//evil.com",
    "//%65vil.com",
    "//evil.com@localhost",
    "//localhost@evil.com",
    "https://localhost.evil.com/",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.domain)",
    "java%0Ascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:text/html,%3Cscript%3Ealert(1)%3C/script%3E",
    "vbscript:msgbox(1)",
    "mailto:someone@evil.com",
    "evil.com",
    "%EF%BC%8F%EF%BC%8Fevil.com",  # fullwidth solidi
    "http%3A%2F%2Fevil.com",
    "%252F%252Fevil.com",
    "/" + "a" * 2100,  # absurdly long
]

#: Local paths, followed (percent-encoded as in a query string).
LOCAL = ["/letters/", "/account%3Ftab%3D1", "/%252F%252Fevil.com", "/login%3Fnext%3D//evil.com"]


def assert_stays_here(response: TestResponse) -> None:
    """The response is a redirect to this site, or no redirect at all."""
    if response.status_code not in (301, 302, 303, 307, 308):
        return
    location = response.headers["Location"]
    assert "\\" not in location, location
    assert not any(ord(c) < 0x21 for c in location), repr(location)
    assert location.startswith("/") and not location.startswith("//"), location
    target = urlsplit(urljoin("http://localhost/login", location))
    assert (target.scheme, target.hostname) == ("http", "localhost"), location


def test_the_list_is_long_enough() -> None:
    assert len(set(HOSTILE)) >= 25


@pytest.mark.parametrize("raw", HOSTILE)
def test_safe_next_url_refuses(raw: str) -> None:
    assert safe_next_url(unquote(raw)) is None


@pytest.mark.parametrize("path", ["/", "/letters/abc/edit", "/p/x?y=1#z", *LOCAL])
def test_safe_next_url_keeps_local_paths(path: str) -> None:
    assert safe_next_url(unquote(path)) == unquote(path)


@pytest.mark.parametrize("raw", HOSTILE)
def test_login_never_redirects_away(app: Flask, client: FlaskClient, raw: str) -> None:
    user = make_user()
    page = client.get(f"/login?next={raw}")
    assert page.status_code == 200
    assert "evil.com" not in page.get_data(as_text=True).lower(), "the hostile next is not kept"
    response = client.post(
        f"/login?next={raw}", data={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert response.location == "/", response.location
    # already logged in: GET /login and /register redirect, still never away
    for path in ("/login", "/register"):
        again = client.get(f"{path}?next={raw}")
        assert again.status_code == 302
        assert_stays_here(again)
        assert again.location == "/"


def test_a_nul_byte_in_next_is_refused_outright(client: FlaskClient) -> None:
    """``%00//evil.com`` is refused before any view (signon/core/input_guard.py)."""
    assert client.get("/login?next=%00//evil.com").status_code == 400
    user = make_user()
    response = client.post(
        "/login?next=%00//evil.com", data={"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 400 and "Location" not in response.headers


@pytest.mark.parametrize("raw", HOSTILE)
def test_email_confirmation_never_redirects_away(client: FlaskClient, raw: str) -> None:
    user = make_user(confirmed=False)
    _token, token = UserToken.issue(user, TokenPurpose.CONFIRM_EMAIL, timedelta(hours=1))
    db.session.flush()
    page = client.get(f"/confirm/{token}?next={raw}")
    assert page.status_code == 200
    assert "evil.com" not in page.get_data(as_text=True).lower()
    response = client.post(f"/confirm/{token}?next={raw}", data={"password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert_stays_here(response)
    assert response.location == "/"


@pytest.mark.parametrize("raw", HOSTILE[:12])
def test_registration_mails_no_hostile_next(
    client: FlaskClient, outbox: MailCatcher, raw: str
) -> None:
    email = "newcomer@example.org"
    response = client.post(
        f"/register?next={raw}",
        data={
            "email": email,
            "display_name": "New Comer",
            "password": DEFAULT_PASSWORD,
            "password_confirm": DEFAULT_PASSWORD,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert_stays_here(response)
    link = link_in(only_mail_to(outbox, email), "/confirm/")
    assert "next" not in parse_qs(urlsplit(link).query)
    assert "evil.com" not in link.lower()


@pytest.mark.parametrize("path", LOCAL)
def test_local_next_paths_are_followed(client: FlaskClient, path: str) -> None:
    """The guard is not a blanket refusal: paths on this site are followed."""
    user = make_user()
    response = client.post(
        "/login",
        query_string={"next": unquote(path)},
        data={"email": user.email, "password": DEFAULT_PASSWORD},
    )
    assert response.status_code == 302
    assert_stays_here(response)
    assert response.location == unquote(path)


def test_the_login_redirect_of_a_private_page_comes_back_to_it(client: FlaskClient) -> None:
    user = make_user()
    response = client.get("/organisations?x=1")
    assert response.status_code == 302
    target = urlsplit(response.location)
    assert target.path == "/login"
    next_url = parse_qs(target.query)["next"][0]
    assert next_url == "/organisations?x=1"
    logged = client.post(
        "/login",
        query_string={"next": next_url},
        data={"email": user.email, "password": DEFAULT_PASSWORD},
    )
    assert logged.location == "/organisations?x=1"


@pytest.mark.parametrize("raw", HOSTILE[:10])
def test_invitation_landing_uses_its_own_path_as_next(client: FlaskClient, raw: str) -> None:
    """The invitation page builds ``next`` from its own URL, never from the request."""
    admin = make_user()
    organisation = make_organisation(admin=admin)
    invitation = operations.invite_to_organisation(
        organisation, admin, "guest@example.org", OrganisationRole.MEMBER
    )
    invitation.token_hash = hash_token("known-raw-token")
    db.session.flush()
    own = "/invitations/known-raw-token"
    landing = client.get(f"{own}?next={raw}")
    assert landing.status_code == 200
    assert "evil.com" not in landing.get_data(as_text=True).lower()
    response = client.post(f"{own}?next={raw}")
    assert response.status_code == 302
    assert_stays_here(response)
    assert parse_qs(urlsplit(response.location).query)["next"] == [own]
    guest = make_user("guest@example.org")
    logged = client.post(
        response.location, data={"email": guest.email, "password": DEFAULT_PASSWORD}
    )
    assert logged.location == own
    accepted = client.post(f"{own}?next={raw}")
    assert accepted.location == f"/organisations/{organisation.id}"


def test_logged_in_user_not_redirected_by_register_next(client: FlaskClient) -> None:
    user: User = make_user()
    login(client, user)
    response = client.get("/register?next=//evil.com")
    assert response.location == "/"
