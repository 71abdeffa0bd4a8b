"""Mailed links point at the configured address, never at the request's Host (issue 9, item 1).

The attack: with no canonical address configured, ``POST /forgot-password`` sent with
``Host: attacker.example`` mailed the victim ``http://attacker.example/reset-password/<token>``.
Now every link is built from ``SIGNON_BASE_URL`` (``Settings.base_url``), a Host that is not
the canonical one (or listed in ``SIGNON_ALLOWED_HOSTS``) gets 400 before anything runs,
and outside development the app does not start without the address.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import signon
from signon import create_app
from signon.accounts.models import OrganisationInvitation, User
from signon.config import ConfigurationError, Settings
from signon.core.input_guard import UNTRUSTED_HOST_MESSAGE
from signon.core.transaction import commit
from signon.extensions import db
from signon.signatures.models import Invitation
from tests.accounts.helpers import token_of
from tests.conftest import RequestIsolatingClient, login, make_settings
from tests.factories import make_letter, make_organisation, make_user
from tests.signatures.factories import coordinated_letter, make_public_letter
from tests.signatures.test_public_views import form_data
from tests.smtp import MailCatcher

CANONICAL = "https://signon.example.org"
#: A second name the site answers to (SIGNON_ALLOWED_HOSTS): links must still not use it.
ALIAS = "alias.example"
ATTACKER = "attacker.example"
_URL = re.compile(r"https?://[^\s<>\"')]+")


def urls_in(message: EmailMessage) -> list[str]:
    """Every absolute URL in both parts of a message."""
    return _URL.findall(MailCatcher.text_of(message)) + _URL.findall(MailCatcher.html_of(message))


def assert_only_canonical_links(messages: list[EmailMessage]) -> list[str]:
    """Each message has at least one link, and every one starts with the canonical address."""
    assert messages, "no mail was sent"
    found: list[str] = []
    for message in messages:
        urls = [u for u in urls_in(message) if not u.startswith("http://www.w3.org/")]
        assert urls, f"no link in {message['Subject']!r}"
        for url in urls:
            assert url.startswith(CANONICAL + "/"), f"{url} in {message['Subject']!r}"
            assert ALIAS not in url and ATTACKER not in url
        found.extend(urls)
    return found


class AliasClient(RequestIsolatingClient):
    """A client whose requests name the allowed alias as their Host, not the canonical one."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if args and isinstance(args[0], str):
            kwargs.setdefault("base_url", f"http://{ALIAS}")
        return super().open(*args, **kwargs)

    def session_transaction(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("base_url", f"http://{ALIAS}")
        return super().session_transaction(*args, **kwargs)


@pytest.fixture
def site(database_url: str, mail_catcher: MailCatcher) -> Iterator[Flask]:
    """An app whose canonical address differs from the host the requests name."""
    app = create_app(
        make_settings(database_url, mail_catcher, base_url=CANONICAL, allowed_hosts=(ALIAS,))
    )
    app.test_client_class = AliasClient
    with app.test_request_context():
        yield app


@pytest.fixture
def aliased(site: Flask) -> FlaskClient:
    """A client that reaches the site through the allowed alias, not the canonical host."""
    return site.test_client()


# --- A Host that is not allowed: 400, nothing happens -----------------------------------------


def test_forgot_password_with_a_forged_host_is_refused_and_mails_nothing(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    make_user("victim@example.org")
    commit()
    response = client.post(
        "/forgot-password",
        data={"email": "victim@example.org"},
        headers={"Host": ATTACKER},
    )
    assert response.status_code == 400
    assert response.get_data(as_text=True) == UNTRUSTED_HOST_MESSAGE
    assert outbox.to("victim@example.org") == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("GET", "/login"), ("POST", "/register"), ("GET", "/static/css/signon.css")],
)
def test_every_route_refuses_a_host_that_is_not_allowed(
    client: FlaskClient, method: str, path: str
) -> None:
    response = client.open(path, method=method, headers={"Host": f"{ATTACKER}:80"})
    assert response.status_code == 400
    assert "does not answer to the host name" in response.get_data(as_text=True)
    assert client.get(path if method == "GET" else "/login").status_code in (200, 302)


def test_the_canonical_host_and_the_alias_are_served(site: Flask) -> None:
    assert site.config["TRUSTED_HOSTS"] == ["signon.example.org", ALIAS]
    client = site.test_client()
    assert client.get("/login", base_url=CANONICAL).status_code == 200
    assert client.get("/login", base_url=f"http://{ALIAS}").status_code == 200
    assert client.get("/login", base_url="http://localhost").status_code == 400  # not listed


# --- Through an allowed alias, every mailed link is still canonical ---------------------------


def test_password_reset_link_ignores_the_host(aliased: FlaskClient, outbox: MailCatcher) -> None:
    make_user("victim@example.org")
    commit()
    response = aliased.post("/forgot-password", data={"email": "victim@example.org"})
    assert response.status_code == 302
    (link,) = assert_only_canonical_links(outbox.to("victim@example.org"))[:1]
    assert link.startswith(f"{CANONICAL}/reset-password/")
    assert aliased.get(link.removeprefix(CANONICAL)).status_code == 200


def test_registration_and_resent_confirmation_links_ignore_the_host(
    aliased: FlaskClient, outbox: MailCatcher
) -> None:
    registration = {
        "email": "amira@example.org",
        "display_name": "Amira Haddad",
        "password": "a long enough password",
        "password_confirm": "a long enough password",
        "timezone": "Africa/Nairobi",
    }
    assert aliased.post("/register", data=registration).status_code == 302
    assert aliased.post("/confirm", data={"email": "amira@example.org"}).status_code == 302
    messages = outbox.to("amira@example.org")
    assert len(messages) == 2
    links = assert_only_canonical_links(messages)
    assert all(link.startswith(f"{CANONICAL}/confirm/") for link in links[:1])
    assert db.session.scalar(select(func.count()).select_from(User)) >= 1


def test_organisation_invitation_link_ignores_the_host(
    aliased: FlaskClient, outbox: MailCatcher
) -> None:
    admin = make_user()
    organisation = make_organisation("Eta", admin=admin)
    commit()
    login(aliased, admin)
    response = aliased.post(
        f"/organisations/{organisation.id}/invitations",
        data={"email": "new@example.org", "role": "member"},
    )
    assert response.status_code == 302
    links = assert_only_canonical_links(outbox.to("new@example.org"))
    invitation = db.session.scalar(select(OrganisationInvitation))
    assert invitation is not None
    assert any(link.startswith(f"{CANONICAL}/invitations/") for link in links)


def test_letter_invitation_link_ignores_the_host(aliased: FlaskClient, outbox: MailCatcher) -> None:
    coordinator, letter = coordinated_letter(title="Statement on cooperation")
    commit()
    login(aliased, coordinator)
    response = aliased.post(
        f"/letters/{letter.slug}/invitations",
        data={"one-organisation_name": "Human Rights Watch", "one-email": "hrw@hrw.example.org"},
    )
    assert response.status_code == 302
    assert db.session.scalar(select(Invitation)) is not None
    links = assert_only_canonical_links(outbox.to("hrw@hrw.example.org"))
    sign = next(link for link in links if "/sign/" in link)
    assert aliased.get(sign.removeprefix(CANONICAL)).status_code == 200


def test_public_sign_on_confirmation_link_ignores_the_host(
    aliased: FlaskClient, outbox: MailCatcher
) -> None:
    letter = make_public_letter(make_user())
    commit()
    response = aliased.post(f"/p/{letter.slug}/sign", data=form_data(letter))
    assert response.status_code == 302
    links = assert_only_canonical_links(outbox.to("amina@friends.example.org"))
    confirm = next(link for link in links if "/confirm/" in link)
    assert confirm.startswith(f"{CANONICAL}/p/{letter.slug}/confirm/")
    assert token_of(confirm)


def test_pages_that_show_shareable_links_use_the_canonical_address(
    aliased: FlaskClient, site: Flask
) -> None:
    letter = make_public_letter(make_user())
    commit()
    embed = aliased.get(f"/p/{letter.slug}/embed").get_data(as_text=True)
    assert f"{CANONICAL}/p/{letter.slug}" in embed
    assert ALIAS not in embed


def test_team_invitation_links_ignore_the_host(aliased: FlaskClient, outbox: MailCatcher) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, title="Joint letter")
    commit()
    login(aliased, coordinator)
    response = aliased.post(
        f"/letters/{letter.slug}/team/users",
        data={"user-email": "colleague@example.org", "user-role": "drafter"},
    )
    assert response.status_code == 302
    links = assert_only_canonical_links(outbox.to("colleague@example.org"))
    assert f"{CANONICAL}/letters/team-invitations" in links


def test_registration_attempt_links_ignore_the_host(
    aliased: FlaskClient, outbox: MailCatcher
) -> None:
    make_user("owner@example.org")
    commit()
    registration = {
        "email": "owner@example.org",
        "display_name": "Someone Else",
        "password": "a long enough password",
        "password_confirm": "a long enough password",
        "timezone": "UTC",
    }
    assert aliased.post("/register", data=registration).status_code == 302
    links = assert_only_canonical_links(outbox.to("owner@example.org"))
    assert any(link.startswith(f"{CANONICAL}/login") for link in links)


#: ``url_for``'s keyword, not a word ending in it (python-docx's ``is_external=True`` of a
#: hyperlink in the Word export builds no address from the request).
_EXTERNAL = re.compile(r"(?<![A-Za-z0-9])_external\b")


def test_no_link_is_built_from_the_request_anywhere_in_the_code() -> None:
    """``url_for(..., _external=True)`` takes the host from the request: every absolute
    link goes through ``signon.core.urls.canonical_url`` instead."""
    root = Path(signon.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in sorted(root.rglob("*.py"))
        if _EXTERNAL.search(path.read_text(encoding="utf-8")) and path.name != "urls.py"
    ]
    templates = Path(signon.__file__).parent.parent / "templates"
    offenders += [
        str(path.relative_to(templates))
        for path in sorted(templates.rglob("*.*"))
        if _EXTERNAL.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# --- Start-up: the address is required outside development ------------------------------------


def _bare(**fields: object) -> Settings:
    return Settings(secret_key="k", database_url="sqlite://", **fields)  # type: ignore[arg-type]


def test_production_without_the_address_does_not_start() -> None:
    with pytest.raises(ConfigurationError, match="SIGNON_BASE_URL is not set"):
        create_app(_bare())


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("signon.example.org", "must start with http:// or https://"),
        ("ftp://signon.example.org", "must start with http:// or https://"),
        ("https://", "must start with http:// or https://"),
        ("https://signon.example.org/app", "only a scheme, a host and an optional port"),
        ("https://user@signon.example.org", "only a scheme, a host and an optional port"),
        ("https://signon.example.org:99999", "is not a valid address"),
    ],
)
def test_a_malformed_address_is_refused_with_a_clear_message(value: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(problem)):
        create_app(_bare(base_url=value))


def test_development_falls_back_to_the_local_address() -> None:
    settings = _bare(environment="development")
    assert settings.canonical_url == "http://127.0.0.1:5000"
    assert {"127.0.0.1", "localhost"} <= set(settings.trusted_hosts)
    app = create_app(settings)
    assert app.config["SERVER_NAME"] == "127.0.0.1:5000"


def test_the_older_server_name_setting_still_gives_the_address() -> None:
    settings = _bare(server_name="signon.example.org", preferred_url_scheme="https")
    assert settings.canonical_url == "https://signon.example.org"
    assert settings.trusted_hosts == ["signon.example.org"]


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNON_SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("SIGNON_BASE_URL", "https://Signon.Example.org:8443/")
    monkeypatch.setenv("SIGNON_ALLOWED_HOSTS", "internal.example, .health.example")
    settings = Settings.from_env()
    assert settings.canonical_url == "https://signon.example.org:8443"
    assert settings.trusted_hosts == ["signon.example.org", "internal.example", ".health.example"]
    assert settings.environment == "production"
