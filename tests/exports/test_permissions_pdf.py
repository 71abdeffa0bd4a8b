"""Every PDF export route × every visitor: anonymous, outsider, viewer, drafter, coordinator.

Only coordinators export (``LETTER_EXPORT``). People who cannot see the letter get 404
(it does not exist for them); team members without the right get 403. An export record
is looked up within its letter: another letter's record is a 404 even for a coordinator.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

import signon.exports.pdf.views  # noqa: F401  (registers the routes; see the report)
from signon.core import transaction
from signon.core.permissions import TeamRole
from signon.exports.pdf import operations as pdf_operations
from tests.conftest import login
from tests.exports.factories import demo_letter, sign
from tests.factories import add_team_member, make_letter, make_user
from tests.permissions import (
    MANAGE_PAGE,
    MANAGE_POST,
    ROLES,
    Route,
    World,
    check_route,
    route_id,
    untested_rules,
)

ROUTES = [
    Route("exports.pdf_settings", "GET", "/letters/{slug}/export", MANAGE_PAGE),
    Route(
        "exports.pdf_settings",
        "POST",
        "/letters/{slug}/export",
        MANAGE_POST,
        {
            "layout": "letter",
            "page_size": "A4",
            "variant": "standard",
            "order": "alphabetical",
            "grouping": "none",
            "columns": "2",
            "individuals": "list",
            "audit_page": "y",
        },
    ),
    Route("exports.pdf_preview_image", "GET", "/letters/{slug}/export/preview.png", MANAGE_PAGE),
    Route("exports.pdf_preview", "GET", "/letters/{slug}/export/preview.pdf", MANAGE_PAGE),
    # a POST (it records an export), answered with the file
    Route("exports.word_download", "POST", "/letters/{slug}/export.docx", MANAGE_PAGE),
    Route("exports.pdf_export", "POST", "/letters/{slug}/exports", MANAGE_POST),
    Route("exports.pdf_record", "GET", "/letters/{slug}/exports/{record_id}", MANAGE_PAGE),
    Route("exports.pdf_download", "GET", "/letters/{slug}/exports/{record_id}.pdf", MANAGE_PAGE),
]


def build_world() -> World:
    coordinator, drafter, viewer, outsider = (make_user() for _ in range(4))
    letter = demo_letter(coordinator)
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    # the outsider coordinates another letter: that gives them nothing here
    other = make_letter(outsider, title="Another letter")
    sign(other, ["Someone"])
    record = pdf_operations.export_pdf(letter, coordinator).record
    other_record = pdf_operations.export_pdf(other, outsider).record
    return World(
        {"coordinator": coordinator, "drafter": drafter, "viewer": viewer, "outsider": outsider},
        {
            "slug": letter.slug,
            "record_id": record.id,
            "other_record_id": other_record.id,
            "other_slug": other.slug,
        },
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_route_permissions(app: Flask, client: FlaskClient, route: Route, role: str) -> None:
    with app.test_request_context():
        world = build_world()
        transaction.commit()
        check_route(client, route, world, role)


@pytest.mark.parametrize("suffix", ["", ".pdf"])
def test_a_record_is_looked_up_within_its_letter(
    app: Flask, client: FlaskClient, suffix: str
) -> None:
    with app.test_request_context():
        world = build_world()
        transaction.commit()
        login(client, world.users["coordinator"])
        path = f"/letters/{world.ids['slug']}/exports/{world.ids['other_record_id']}{suffix}"
        assert client.get(path).status_code == 404
        # and the other letter's coordinator cannot reach this letter's record through theirs
        login(client, world.users["outsider"])
        path = f"/letters/{world.ids['other_slug']}/exports/{world.ids['record_id']}{suffix}"
        assert client.get(path).status_code == 404


def test_every_pdf_route_is_in_the_matrix(app: Flask) -> None:
    assert untested_rules(app, ROUTES, prefixes=("exports.pdf_",)) == []
