"""Every accounts route × every kind of visitor: who gets a page, a redirect, 403 or 404.

``login`` means a redirect to the login page; ``302`` any other redirect.
Organisations hide from outsiders (404); members who may not manage get 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from signon.accounts.models import Membership, OrganisationInvitation, TokenPurpose, UserToken
from signon.core.notices import NoticeKind
from signon.core.permissions import OrganisationRole
from signon.core.tokens import hash_token, new_token
from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from tests.factories import DEFAULT_PASSWORD, make_organisation, make_user
from tests.permissions import log_in_as

pytestmark = pytest.mark.usefixtures("app_context")

ROLES = ("anonymous", "outsider", "member", "admin")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    expected: tuple[str, str, str, str]  # anonymous, outsider, member, admin
    data: dict[str, str] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ORG = "/organisations/{org}"
ROUTES = [
    # Public pages (logged-in visitors are sent on from login and register).
    Route("GET", "/login", ("200", "302", "302", "302")),
    Route("GET", "/register", ("200", "302", "302", "302")),
    Route("GET", "/confirm", ("200", "200", "200", "200")),
    Route("GET", "/confirm/{confirm}", ("200", "200", "200", "200")),
    Route("GET", "/confirm/unknown-token", ("404", "404", "404", "404")),
    Route("GET", "/forgot-password", ("200", "200", "200", "200")),
    Route("GET", "/reset-password/{reset}", ("200", "200", "200", "200")),
    Route("GET", "/reset-password/unknown-token", ("404", "404", "404", "404")),
    Route("GET", "/invitations/{invitation}", ("200", "200", "200", "200")),
    Route("GET", "/invitations/unknown-token", ("404", "404", "404", "404")),
    # Only the account that confirmed the invited address may accept (none of these has it).
    Route("POST", "/invitations/{invitation}", ("login", "403", "403", "403")),
    # Public forms: bad input gets the form again; good input a redirect.
    Route("POST", "/login", ("200", "200", "200", "200"), {"email": "x@example.org"}),
    Route("POST", "/register", ("200", "200", "200", "200"), {"email": "x@example.org"}),
    Route("POST", "/confirm", ("302", "302", "302", "302"), {"email": "pending@example.org"}),
    # The mailed link with the account's password confirms it; without it, nothing.
    Route("POST", "/confirm/{confirm}", ("422", "422", "422", "422")),
    Route(
        "POST",
        "/confirm/{confirm}",
        ("302", "302", "302", "302"),
        {"password": DEFAULT_PASSWORD},
    ),
    Route("POST", "/confirm/unknown-token", ("404", "404", "404", "404")),
    Route("POST", "/forgot-password", ("302", "302", "302", "302"), {"email": "x@example.org"}),
    Route("POST", "/reset-password/{reset}", ("200", "200", "200", "200"), {"password": "x"}),
    Route("POST", "/reset-password/unknown-token", ("404", "404", "404", "404")),
    # The second step of logging in: without a half-done login, back to the login page.
    Route("GET", "/login/code", ("302", "302", "302", "302")),
    Route("POST", "/login/code", ("302", "302", "302", "302"), {"code": "123456"}),
    # Private to any logged-in user.
    Route("POST", "/logout", ("login", "302", "302", "302")),
    Route("GET", "/account", ("login", "200", "200", "200")),
    Route(
        "POST", "/account", ("login", "302", "302", "302"), {"display_name": "N", "timezone": "UTC"}
    ),
    Route("POST", "/account/password", ("login", "200", "200", "200"), {"current_password": "x"}),
    # Each person's own notification choices: nobody else's can be named.
    Route(
        "POST",
        "/account/notifications",
        ("login", "302", "302", "302"),
        {f"notify-{kind.value}": "digest" for kind in NoticeKind},
    ),
    # Two-step login, for oneself only. Nobody here has it on: setting up starts (302),
    # the set-up and codes pages without a secret or codes waiting send back to settings,
    # turning off and new codes say it is not on.
    Route("POST", "/account/two-step", ("login", "302", "302", "302")),
    Route("GET", "/account/two-step/setup", ("login", "302", "302", "302")),
    Route(
        "POST",
        "/account/two-step/setup",
        ("login", "302", "302", "302"),
        {"current_password": "x", "code": "123456"},
    ),
    Route(
        "POST",
        "/account/two-step/disable",
        ("login", "302", "302", "302"),
        {"disable-current_password": "x", "disable-code": "123456"},
    ),
    Route(
        "POST",
        "/account/two-step/new-codes",
        ("login", "302", "302", "302"),
        {"newcodes-current_password": "x", "newcodes-code": "123456"},
    ),
    Route("GET", "/organisations", ("login", "200", "200", "200")),
    Route("GET", "/organisations/new", ("login", "200", "200", "200")),
    Route("POST", "/organisations/new", ("login", "302", "302", "302"), {"name": "A new one"}),
    # One organisation: members see it, admins manage it, outsiders do not know it exists.
    Route("GET", ORG, ("login", "404", "200", "200")),
    Route("GET", ORG + "/edit", ("login", "404", "403", "200")),
    Route("POST", ORG + "/edit", ("login", "404", "403", "302"), {"name": "Renamed"}),
    Route(
        "POST",
        ORG + "/invitations",
        ("login", "404", "403", "302"),
        {"email": "new@example.org", "role": "member"},
    ),
    Route("POST", ORG + "/invitations/{invitation_id}/revoke", ("login", "404", "403", "302")),
    Route("POST", ORG + "/invitations/999999/revoke", ("login", "404", "403", "404")),
    Route(
        "POST",
        ORG + "/members/{member_membership}/role",
        ("login", "404", "403", "302"),
        {"role": "admin"},
    ),
    Route("POST", ORG + "/members/{member_membership}/remove", ("login", "404", "403", "302")),
    Route("POST", ORG + "/members/{foreign_membership}/remove", ("login", "404", "403", "404")),
    Route("POST", ORG + "/leave", ("login", "404", "302", "302")),
    Route("GET", "/organisations/999999", ("login", "404", "404", "404")),
]


@pytest.fixture
def world(client: FlaskClient) -> dict[str, object]:
    admin = make_user("admin@example.org")
    member = make_user("member@example.org")
    outsider = make_user("outsider@example.org")
    org = make_organisation("Watched", admin=admin, members=(member,))
    other_admin = make_user()
    make_organisation("Elsewhere", admin=other_admin)
    raw_invitation = new_token()
    invitation = OrganisationInvitation(
        organisation=org,
        email="invited@example.org",
        role=OrganisationRole.MEMBER,
        token_hash=hash_token(raw_invitation),
        invited_by=admin,
        expires_at=utcnow() + timedelta(days=1),
    )
    db.session.add(invitation)
    pending = make_user("pending@example.org", confirmed=False)
    _confirm, raw_confirm = UserToken.issue(pending, TokenPurpose.CONFIRM_EMAIL, timedelta(hours=1))
    _reset, raw_reset = UserToken.issue(pending, TokenPurpose.RESET_PASSWORD, timedelta(hours=1))
    db.session.flush()

    def membership_id(user_id: int, org_id: int) -> int:
        found = db.session.query(Membership).filter_by(user_id=user_id, organisation_id=org_id)
        return found.one().id

    values: dict[str, object] = {
        "org": org.id,
        "invitation": raw_invitation,
        "invitation_id": invitation.id,
        "confirm": raw_confirm,
        "reset": raw_reset,
        "member_membership": membership_id(member.id, org.id),
        "foreign_membership": db.session.query(Membership)
        .filter_by(user_id=other_admin.id)
        .one()
        .id,
        "users": {"outsider": outsider, "member": member, "admin": admin},
    }
    commit()  # a 403/404 answer rolls back; the world must outlive it
    return values


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize("role", ROLES)
def test_who_may_use_each_route(
    client: FlaskClient, world: dict[str, object], route: Route, role: str
) -> None:
    users = world["users"]
    assert isinstance(users, dict)
    log_in_as(client, users, role)
    path = route.path.format(**{k: v for k, v in world.items() if k != "users"})
    response = client.open(path, method=route.method, data=route.data or {})
    expected = route.expected[ROLES.index(role)]
    if expected == "login":
        assert response.status_code == 302, response.status_code
        assert response.location.startswith("/login?next="), response.location
    else:
        assert str(response.status_code) == expected, (
            f"{role} {route}: {response.status_code} {response.location or ''}"
        )
        if expected == "302":
            assert not response.location.startswith("/login?next="), response.location


def test_every_accounts_route_is_covered(client: FlaskClient) -> None:
    url_map = client.application.url_map
    every = {
        (method, rule.endpoint)
        for rule in url_map.iter_rules()
        if rule.endpoint.startswith("accounts.")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    adapter = url_map.bind("localhost")
    sample = dict.fromkeys(
        ("org", "invitation_id", "member_membership", "foreign_membership"), 1
    ) | dict.fromkeys(("invitation", "confirm", "reset"), "token")
    covered = {
        (route.method, adapter.match(route.path.format(**sample), method=route.method)[0])
        for route in ROUTES
    }
    assert every - covered == set()
