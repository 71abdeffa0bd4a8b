"""Invitation routes × every kind of visitor.

Coordinators' routes: anonymous (sent to log in), outsider (404: the letter does not
exist for them), viewer and drafter (403), coordinator (allowed), and the coordinator of
ANOTHER letter (404). Objects of another letter looked up through this letter: 404.

The invitation link's routes are public; what matters is the token: valid (and valid
with an approval), expired, revoked (410), tampered (404), and another letter's valid
token, which opens that other letter only (its forms refuse this letter's revision).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from signon.core.permissions import TeamRole
from signon.core.transaction import commit
from signon.db import utcnow
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations import operations as ops
from signon.signatures.uploads import process_logo
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user
from tests.permissions import (
    ANONYMOUS,
    MANAGE_PAGE,
    MANAGE_POST,
    VISITORS,
    World,
    assert_sent_to_login,
    assert_status,
    expect,
    fill_in,
    form_data,
    log_in_as,
    request_route,
    untested_rules,
    with_other_coordinator,
)
from tests.permissions import Route as MatrixRoute
from tests.signatures.factories import (
    coordinated_letter,
    image_bytes,
    invited,
    token_of,
)

pytestmark = pytest.mark.usefixtures("app_context")

TOKENS = ("valid", "approved", "expired", "revoked", "tampered", "other_letter")


def tokens(
    valid: int, approved: int, expired: int, revoked: int, tampered: int, other_letter: int
) -> dict[str, int]:
    return dict(
        zip(TOKENS, (valid, approved, expired, revoked, tampered, other_letter), strict=True)
    )


@dataclass(frozen=True)
class Route(MatrixRoute):
    """A matrix route whose path may hold the invitation link's ``{token}``.

    Its form is sent as a file upload when ``files`` is true.
    """

    files: bool = False

    @property
    def by_token(self) -> bool:
        return "{token}" in self.path


COORDINATOR_ONLY = with_other_coordinator(MANAGE_PAGE)
COORDINATOR_POST = with_other_coordinator(MANAGE_POST)
#: an object of another letter, looked up through this letter: 404 for its coordinator too
FOREIGN_OBJECT = with_other_coordinator(expect(302, 404, 403, 403, 404))
APPROVE = {
    "approve-name": "Matrix NGO",
    "approve-kind": "ngo",
    "approve-representative_name": "Rep",
    "approve-representative_title": "Director",
    "approve-authority": "y",
    "approve-revision": "{head_id}",
}

ROUTES = [
    # --- coordinators, within a letter
    Route("signatures.invitations", "GET", "/letters/{slug}/invitations", COORDINATOR_ONLY),
    Route(
        "signatures.invitation_create",
        "POST",
        "/letters/{slug}/invitations",
        COORDINATOR_POST,
        {"one-organisation_name": "New NGO", "one-email": "new@ngo.example.org"},
    ),
    Route(
        "signatures.invitations_bulk",
        "POST",
        "/letters/{slug}/invitations/bulk",
        COORDINATOR_ONLY,  # the report is shown on the page
        {"many-lines": "Bulk NGO, bulk@ngo.example.org\nBad line"},
    ),
    Route(
        "signatures.invitations_bulk",
        "POST",
        "/letters/{slug}/invitations/bulk",
        COORDINATOR_ONLY,
        {"many-csv_file": "organisation,email\nCsv NGO,csv@ngo.example.org\n"},
        files=True,
    ),
    Route(
        "signatures.invitation_revoke",
        "POST",
        "/letters/{slug}/invitations/{invitation_id}/revoke",
        COORDINATOR_POST,
    ),
    Route(
        "signatures.invitation_revoke",
        "POST",
        "/letters/{slug}/invitations/{foreign_invitation_id}/revoke",
        FOREIGN_OBJECT,
    ),
    Route(
        "signatures.invitation_resend",
        "POST",
        "/letters/{slug}/invitations/{invitation_id}/resend",
        COORDINATOR_POST,
    ),
    Route(
        "signatures.invitation_resend",
        "POST",
        "/letters/{slug}/invitations/{foreign_invitation_id}/resend",
        FOREIGN_OBJECT,
    ),
    Route(
        "signatures.signature_logo",
        "GET",
        "/letters/{slug}/signatures/{signature_id}/logo",
        COORDINATOR_ONLY,
    ),
    Route(
        "signatures.signature_logo",
        "GET",
        "/letters/{slug}/signatures/{foreign_signature_id}/logo",
        FOREIGN_OBJECT,
    ),
    # --- the invitation link (public): what counts is the token
    Route("signatures.sign", "GET", "/sign/{token}", tokens(200, 200, 410, 410, 404, 200)),
    Route(
        "signatures.sign_seen",
        "POST",
        "/sign/{token}/seen",
        tokens(204, 204, 410, 410, 404, 400),  # another letter's revision: refused
        {"revision": "{head_id}"},
    ),
    Route(
        "signatures.sign_approve",
        "POST",
        "/sign/{token}/approve",
        tokens(302, 302, 410, 410, 404, 200),  # 200: the form says the version is unknown
        APPROVE,
    ),
    Route(
        "signatures.sign_decline",
        "POST",
        "/sign/{token}/decline",
        tokens(302, 409, 410, 410, 404, 302),  # an approval is withdrawn, not declined
        {"decline-reason": "No"},
    ),
    Route(
        "signatures.sign_withdraw",
        "POST",
        "/sign/{token}/withdraw",
        # Withdrawing works with every real link, revoked or expired too: 409 where
        # there is no approval to withdraw.
        tokens(409, 302, 409, 409, 404, 409),
        {"withdraw-reason": ""},
    ),
    Route(
        "signatures.sign_withdraw_confirm",
        "GET",
        "/sign/{token}/withdraw",
        tokens(200, 200, 200, 200, 404, 200),  # the confirmation page: it changes nothing
    ),
]


@dataclass
class TokenWorld(World):
    """The world, and the invitation link's token of each of ``TOKENS``."""

    tokens: dict[str, str]


def build_world() -> TokenWorld:
    coordinator, letter = coordinated_letter()
    viewer, drafter, outsider = make_user(), make_user(), make_user()
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    make_letter(outsider)  # their own letter gives them nothing here
    other_coordinator, other = coordinated_letter()

    def approve(invitation: Any, with_logo: bool = False) -> Any:
        logo = process_logo(io.BytesIO(image_bytes())) if with_logo else None
        return ops.approve_invitation(
            invitation,
            invitation.letter.head(),
            SignatoryDetails(name=invitation.organisation_name, authority_confirmed=True),
            logo=logo,
        ).signature

    valid = invited(letter, coordinator, name="Valid NGO")
    approved = invited(letter, coordinator, name="Approved NGO")
    signature = approve(approved, with_logo=True)
    expired = invited(letter, coordinator, name="Expired NGO")
    expired.expires_at = utcnow() - timedelta(hours=1)
    revoked = invited(letter, coordinator, name="Revoked NGO")
    revoked_token = token_of(revoked)
    ops.revoke_invitation(revoked, by=coordinator)
    foreign = invited(other, other_coordinator, name="Foreign NGO")
    foreign_signature = approve(invited(other, other_coordinator, name="Foreign Signed"), True)
    good = token_of(valid)
    commit()
    return TokenWorld(
        users={
            "outsider": outsider,
            "viewer": viewer,
            "drafter": drafter,
            "coordinator": coordinator,
            "other_coordinator": other_coordinator,
        },
        ids={
            "slug": letter.slug,
            "head_id": letter.head().id,
            "invitation_id": valid.id,
            "foreign_invitation_id": foreign.id,
            "signature_id": signature.id,
            "foreign_signature_id": foreign_signature.id,
        },
        tokens={
            "valid": good,
            "approved": token_of(approved),
            "expired": token_of(expired),
            "revoked": revoked_token,
            "tampered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
            "other_letter": token_of(foreign),
        },
    )


def _cases() -> list[Any]:
    cases = []
    for route in ROUTES:
        kinds = TOKENS if route.by_token else VISITORS
        for kind in kinds:
            cases.append(pytest.param(route, kind, id=f"{route.method} {route.path} as {kind}"))
    return cases


def _request(client: FlaskClient, route: Route, ids: dict[str, Any]) -> TestResponse:
    if not route.files:
        return request_route(client, route, ids)
    files = {
        key: (io.BytesIO(value.encode()), "list.csv")
        for key, value in form_data(route, ids).items()
    }
    path = fill_in(route.path, ids)
    return client.open(path, method=route.method, data=files, content_type="multipart/form-data")


@pytest.mark.parametrize(("route", "kind"), _cases())
def test_route_permissions(client: FlaskClient, storage: Path, route: Route, kind: str) -> None:
    world = build_world()
    ids = dict(world.ids)
    if route.by_token:
        ids["token"] = world.tokens[kind]
    else:
        log_in_as(client, world.users, kind)
    response = _request(client, route, ids)
    assert_status(response, route, kind)
    if kind == ANONYMOUS and not route.by_token:
        assert_sent_to_login(response)


def test_invitation_links_work_the_same_for_logged_in_people(
    client: FlaskClient, storage: Path
) -> None:
    """Being logged in (even as the coordinator) changes nothing about a token's answer."""
    world = build_world()
    login(client, world.users["coordinator"])
    assert client.get(f"/sign/{world.tokens['valid']}").status_code == 200
    assert client.get(f"/sign/{world.tokens['revoked']}").status_code == 410
    assert client.get(f"/sign/{world.tokens['tampered']}").status_code == 404


def test_every_invitation_route_is_in_the_matrix(app: Flask) -> None:
    mine = {
        "signatures.invitations",
        "signatures.invitation_create",
        "signatures.invitations_bulk",
        "signatures.invitation_revoke",
        "signatures.invitation_resend",
        "signatures.signature_logo",
        "signatures.sign",
        "signatures.sign_seen",
        "signatures.sign_approve",
        "signatures.sign_decline",
        "signatures.sign_withdraw",
        "signatures.sign_withdraw_confirm",
    }
    assert untested_rules(app, ROUTES, endpoints=mine) == []
