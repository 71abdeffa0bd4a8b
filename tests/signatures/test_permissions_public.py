"""Public sign-on and moderation routes × visitors.

The public routes answer everyone alike (anonymous or logged in, on the team or
not) while the letter's public page is on, and 404 for everyone when it is off.
The moderation routes are for the letter's coordinators: outsiders (and the
coordinators of another letter) get 404, other team members 403.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.accounts.models import User
from signon.core import transaction
from signon.core.permissions import TeamRole
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations.operations import approve_invitation
from signon.signatures.models import Moderation, Signature
from signon.signatures.public_signon import changes as public_changes
from signon.signatures.public_signon import operations as ops
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user
from tests.permissions import (
    EVERYONE_200,
    EVERYONE_302,
    MANAGE_PAGE,
    MANAGE_POST,
    ROLES,
    LetterWorld,
    Route,
    check_route,
    log_in_as,
    request_route,
    route_id,
    untested_rules,
)
from tests.signatures.factories import ask, make_public_letter, make_signature

#: A stored logo's name (``uploads.LOGO_NAME``): the logo a held change proposes.
PROPOSED_LOGO = "0" * 32 + ".png"

SIGN_FORM = {
    "name": "Visiting Organisation",
    "country": "Chile",
    "kind": "ngo",
    "representative_name": "Rosa Díaz",
    "email": "rosa@visiting.example.org",
    "authority": "y",
    "revision_id": "{head_id}",
}

ROUTES = [
    Route("signatures.public_page", "GET", "/p/{slug}", EVERYONE_200),
    Route("signatures.public_sign", "POST", "/p/{slug}/sign", EVERYONE_302, SIGN_FORM),
    Route("signatures.public_check_email", "GET", "/p/{slug}/check-email", EVERYONE_200),
    Route("signatures.public_confirm", "GET", "/p/{slug}/confirm/{token}", EVERYONE_200),
    Route(
        "signatures.public_confirm",
        "POST",
        "/p/{slug}/confirm/{token}",
        EVERYONE_302,
        {"revision_id": "{head_id}"},
    ),
    Route("signatures.public_embed", "GET", "/p/{slug}/embed", EVERYONE_200),
    Route("signatures.public_logo", "GET", "/p/{slug}/logos/{listed_id}", EVERYONE_200),
    Route("signatures.moderation", "GET", "/letters/{slug}/moderation", MANAGE_PAGE),
    Route(
        "signatures.moderation_public_settings",
        "POST",
        "/letters/{slug}/moderation/public",
        MANAGE_POST,
        {"is_public": "y"},
    ),
    Route(
        "signatures.moderation_accept",
        "POST",
        "/letters/{slug}/moderation/{pending_id}/accept",
        MANAGE_POST,
    ),
    Route(
        "signatures.moderation_reject",
        "POST",
        "/letters/{slug}/moderation/{pending_id}/reject",
        MANAGE_POST,
        {"reject-{pending_id}-reason": "Spam"},
    ),
    Route(
        "signatures.moderation_selection",
        "POST",
        "/letters/{slug}/moderation/selection",
        MANAGE_POST,
        {"selection-selected": "{pending_id}", "selection-reject": "y"},
    ),
    Route(
        "signatures.moderation_change_accept",
        "POST",
        "/letters/{slug}/moderation/{changed_id}/change/accept",
        MANAGE_POST,
    ),
    Route(
        "signatures.moderation_change_logo",
        "GET",
        "/letters/{slug}/moderation/{changed_id}/change/logo",
        MANAGE_PAGE,
    ),
    Route(
        "signatures.moderation_change_reject",
        "POST",
        "/letters/{slug}/moderation/{changed_id}/change/reject",
        MANAGE_POST,
        {"change-reject-{changed_id}-reason": "Not them"},
    ),
    Route(
        "signatures.moderation_remove",
        "POST",
        "/letters/{slug}/moderation/{changed_id}/remove",
        MANAGE_POST,
        {"remove-{changed_id}-reason": "Impersonation"},
    ),
    Route(
        "signatures.moderation_merge",
        "POST",
        "/letters/{slug}/moderation/{pending_id}/merge",
        MANAGE_POST,
        {"merge-{pending_id}-target": "{listed_id}"},
    ),
    Route(
        "signatures.moderation_merge_duplicate",
        "POST",
        "/letters/{slug}/moderation/{twin_id}/merge-duplicate",
        MANAGE_POST,
        {"target": "{listed_id}"},
    ),
    Route(
        "signatures.moderation_undo_merge",
        "POST",
        "/letters/{slug}/moderation/{merged_id}/undo-merge",
        MANAGE_POST,
    ),
]
PUBLIC_ROUTES = [r for r in ROUTES if r.path.startswith("/p/")]
MODERATION_ROUTES = [r for r in ROUTES if r.path.startswith("/letters/")]


@pytest.fixture
def logo_storage(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setitem(app.config, "SIGNON", app.config["SIGNON"].with_(storage_dir=str(tmp_path)))
    (tmp_path / "logos").mkdir()
    (tmp_path / "logos" / "listed.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "logos" / PROPOSED_LOGO).write_bytes(b"\x89PNG\r\n\x1a\n")
    return tmp_path


def _accepted_with_a_held_change(letter: Letter, coordinator: User) -> Signature:
    """An accepted public signature whose signatory then proposed a new name."""
    signature = ops.confirm_public_request(
        ask(letter, "Changed Org", "c@changed.org").request, letter.head()
    )
    ops.accept_signature(signature, moderator=coordinator)
    assert signature.invitation is not None
    approve_invitation(
        signature.invitation,
        letter.head(),
        SignatoryDetails(name="Changed Org (renamed)", authority_confirmed=True),
    )
    change = public_changes.pending_change(signature)
    assert change is not None
    change.logo_filename = PROPOSED_LOGO  # written by the logo_storage fixture
    return signature


def build_world(*, public: bool = True) -> LetterWorld:
    coordinator, drafter, viewer, outsider = (make_user() for _ in range(4))
    letter = make_public_letter(coordinator, is_public=True)
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    make_letter(outsider)  # coordinating another letter gives nothing here
    listed = make_signature(letter, "Listed Org", logo_filename="listed.png")
    pending = ops.confirm_public_request(ask(letter, "Pending Org").request, letter.head())
    token = ask(letter, "Asking Org", email="asking@example.org").token
    changed = _accepted_with_a_held_change(letter, coordinator)
    # possible duplicates of "Listed Org": one to merge, one merged already (to undo)
    twin = make_signature(letter, "listed  ORG")
    merged = make_signature(letter, "Listed Org")
    ops.merge_signature(merged, listed, moderator=coordinator, take_details=False)
    letter.is_public = public
    transaction.commit()  # responses >= 400 roll back: the world must survive them
    return LetterWorld(
        {"coordinator": coordinator, "drafter": drafter, "viewer": viewer, "outsider": outsider},
        {
            "slug": letter.slug,
            "head_id": letter.head().id,
            "token": token,
            "listed_id": listed.id,
            "pending_id": pending.id,
            "changed_id": changed.id,
            "twin_id": twin.id,
            "merged_id": merged.id,
        },
        letter,
    )


@pytest.mark.usefixtures("logo_storage")
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_route_permissions(app: Flask, client: FlaskClient, route: Route, role: str) -> None:
    with app.test_request_context():
        # the public routes redirect everyone alike: only moderation sends to the login page
        login_redirect = route in MODERATION_ROUTES
        check_route(client, route, build_world(), role, login_redirect=login_redirect)


@pytest.mark.usefixtures("logo_storage")
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", PUBLIC_ROUTES, ids=route_id)
def test_public_routes_answer_404_to_everyone_when_the_page_is_off(
    app: Flask, client: FlaskClient, route: Route, role: str
) -> None:
    with app.test_request_context():
        world = build_world(public=False)
        log_in_as(client, world.users, role)
        assert request_route(client, route, world.ids).status_code == 404


@pytest.mark.parametrize("route", MODERATION_ROUTES, ids=route_id)
def test_another_letters_coordinator_gets_404(
    app: Flask, client: FlaskClient, route: Route
) -> None:
    with app.test_request_context():
        world = build_world()
        other_coordinator = make_user()
        make_public_letter(other_coordinator)
        transaction.commit()
        login(client, other_coordinator)
        assert request_route(client, route, world.ids).status_code == 404


@pytest.mark.parametrize(
    ("link", "status"),
    [("valid", 200), ("expired", 410), ("used", 410), ("other_letter", 404), ("tampered", 404)],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_confirmation_links(
    app: Flask, client: FlaskClient, link: str, status: int, method: str
) -> None:
    with app.test_request_context():
        world = build_world()
        letter = world.letter
        token = world.ids["token"]
        slug = letter.slug
        if link == "expired":
            ops.find_request(letter, token).expires_at = utcnow()
        elif link == "used":
            ops.confirm_public_request(ops.find_request(letter, token), letter.head())
        elif link == "other_letter":
            slug = make_public_letter().slug
        elif link == "tampered":
            token = token[:-3] + "abc"
        transaction.commit()
        response = client.open(
            f"/p/{slug}/confirm/{token}",
            method=method,
            data={"revision_id": str(world.ids["head_id"])},
        )
        expected = 302 if (link == "valid" and method == "POST") else status
        assert response.status_code == expected


def test_every_public_route_is_in_the_matrix(app: Flask) -> None:
    mine = {
        "signatures.public_page",
        "signatures.public_sign",
        "signatures.public_check_email",
        "signatures.public_confirm",
        "signatures.public_embed",
        "signatures.public_logo",
        "signatures.moderation",
        "signatures.moderation_public_settings",
        "signatures.moderation_accept",
        "signatures.moderation_reject",
        "signatures.moderation_selection",
        "signatures.moderation_merge",
        "signatures.moderation_change_accept",
        "signatures.moderation_change_logo",
        "signatures.moderation_change_reject",
        "signatures.moderation_remove",
        "signatures.moderation_merge_duplicate",
        "signatures.moderation_undo_merge",
    }
    assert untested_rules(app, ROUTES, endpoints=mine) == []


@pytest.mark.parametrize(
    "suffix", ["change/accept", "change/reject", "remove"], ids=lambda suffix: suffix
)
def test_the_change_and_removal_routes_take_no_get(
    app: Flask, client: FlaskClient, suffix: str
) -> None:
    """A state change never happens on GET: even the coordinator gets 405."""
    with app.test_request_context():
        world = build_world()
        log_in_as(client, world.users, "coordinator")
        path = f"/letters/{world.ids['slug']}/moderation/{world.ids['changed_id']}/{suffix}"
        assert client.get(path).status_code == 405
        assert public_changes.pending_change(db.session.get(Signature, world.ids["changed_id"]))


@pytest.mark.parametrize(
    ("suffix", "kept"),
    [("{twin_id}/merge-duplicate", "twin_id"), ("{merged_id}/undo-merge", "merged_id")],
    ids=["merge-duplicate", "undo-merge"],
)
def test_the_duplicate_routes_take_no_get(
    app: Flask, client: FlaskClient, suffix: str, kept: str
) -> None:
    """Merging and undoing never happen on GET: even the coordinator gets 405."""
    with app.test_request_context():
        world = build_world()
        log_in_as(client, world.users, "coordinator")
        before = db.session.get(Signature, world.ids[kept]).moderation
        path = f"/letters/{world.ids['slug']}/moderation/{suffix.format(**world.ids)}"
        assert client.get(path, query_string={"target": world.ids["listed_id"]}).status_code == 405
        db.session.expire_all()
        assert db.session.get(Signature, world.ids[kept]).moderation == before


def test_a_duplicate_is_not_merged_into_another_letters_signature(
    app: Flask, client: FlaskClient
) -> None:
    with app.test_request_context():
        world = build_world()
        foreign = make_signature(make_public_letter(), "Listed Org")
        transaction.commit()
        log_in_as(client, world.users, "coordinator")
        path = f"/letters/{world.ids['slug']}/moderation/{world.ids['twin_id']}/merge-duplicate"
        assert client.post(path, data={"target": str(foreign.id)}).status_code == 404
        db.session.expire_all()
        twin = db.session.get(Signature, world.ids["twin_id"])
        assert twin.moderation != Moderation.REJECTED
