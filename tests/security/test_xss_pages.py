"""Known XSS payloads through every user-controlled field reach the pages dead.

Each payload becomes, at once: a letter's title, addressee and text, a change
note, an organisation's name on the drafting team, and a user's display name.
Every page that shows them is then parsed for anything that would execute.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.core.permissions import TeamRole
from signon.letters import operations
from tests.conftest import login
from tests.factories import add_team_member, make_organisation, make_user
from tests.security.xss import TEMPLATE_PROBE, find_live_xss, load_payloads

PAYLOADS = load_payloads()


def test_the_corpus_is_large_enough() -> None:
    assert len(PAYLOADS) >= 50
    assert TEMPLATE_PROBE in PAYLOADS


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_is_dead_on_every_page(app: Flask, client: FlaskClient, payload: str) -> None:
    with app.test_request_context():
        coordinator = make_user(name=payload[:120])
        letter = operations.create_letter(
            coordinator,
            title=payload[:300],
            addressee=payload[:500],
            body=f"Intro.\n\n{payload}\n\nEnd.",
        )
        head = letter.head()
        assert head is not None
        operations.save_revision(
            letter,
            coordinator,
            base=head,
            title=payload[:300],
            body=f"Intro changed.\n\n{payload}\n\nEnd.\n\n{payload}",
            change_note=payload[:500],
        )
        organisation = make_organisation(
            payload[:300] + " NGO", admin=coordinator, short_name=payload[:80], website=None
        )
        add_team_member(letter, role=TeamRole.VIEWER, organisation=organisation)
        login(client, coordinator)
        slug = letter.slug
        pages = [
            "/letters/",
            f"/letters/{slug}/",
            f"/letters/{slug}/edit",
            f"/letters/{slug}/team",
            f"/letters/{slug}/revisions",
            f"/letters/{slug}/revisions/2",
            f"/letters/{slug}/diff?from=1&to=2",
            f"/letters/{slug}/authorship",
            f"/letters/{slug}/settings",
            "/organisations",
            f"/organisations/{organisation.id}",
            f"/organisations/{organisation.id}/edit",
            "/account",
        ]
        for path in pages:
            response = client.get(path)
            assert response.status_code == 200, path
            html = response.get_data(as_text=True)
            assert find_live_xss(html) == [], f"{path} renders {payload!r} live"
            if payload == TEMPLATE_PROBE and path.startswith(f"/letters/{slug}"):
                assert TEMPLATE_PROBE in html, f"{path}: the template probe was evaluated"
        preview = client.post("/preview", data={"body": payload})
        assert find_live_xss(preview.get_json()["html"]) == []
