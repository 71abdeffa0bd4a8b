"""The letter editor's live-editing panel (signon/drafting/live/page.py,
templates/drafting/live/_panel.html): who gets it, with which addresses, and when the page
stays the classic form. The panel's behaviour in a browser is tests/e2e/test_live_editing.py."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import login_user

from signon.core.permissions import TeamRole
from signon.drafting.live.page import live_editing
from signon.letters.models import Letter, LetterStatus
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")


def _panel(client: FlaskClient, letter: Letter, query: str = "") -> dict[str, str] | None:
    response = client.get(f"/letters/{letter.slug}/edit{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    found = re.search(r'<section class="live-panel"[^>]*>', html)
    if found is None:
        assert "yjs-bundle.js" not in html and "js/live.js" not in html
        return None
    assert "vendor/yjs/yjs-bundle.js" in html and "js/live.js" in html
    return dict(re.findall(r'(data-live-[a-z-]+)(?:="([^"]*)")?', found.group(0)))


def test_a_drafter_gets_the_panel_with_the_socket_and_save_addresses(
    client: FlaskClient,
) -> None:
    coordinator = make_user(name="Cora Coordinator")
    drafter = make_user(name="Dan <Drafter>")
    letter = make_letter(coordinator)
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    panel = _panel(login(client, drafter), letter)
    assert panel is not None
    assert panel["data-live-for"] == "body"
    assert panel["data-live-url"] == f"ws://localhost/letters/{letter.slug}/live"
    assert panel["data-live-save-url"] == f"/letters/{letter.slug}/live/save"
    assert panel["data-live-name"] == "Dan &lt;Drafter&gt;"  # escaped, as all user text
    assert "data-live-readonly" not in panel


def test_on_ones_own_the_editor_is_the_classic_form(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    login(client, coordinator)
    assert _panel(client, letter) is not None
    assert _panel(client, letter, "?live=off") is None


def test_a_viewer_would_follow_read_only_and_a_frozen_letter_has_no_live_text(
    app: Flask,
) -> None:
    coordinator, viewer, outsider = make_user(), make_user(), make_user()
    letter = make_letter(coordinator)
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    with app.test_request_context():
        login_user(viewer)
        panel = live_editing(letter)
        assert panel is not None and panel.readonly
        login_user(outsider)
        assert live_editing(letter) is None
        login_user(coordinator)
        panel = live_editing(letter)
        assert panel is not None and not panel.readonly
        letter.status = LetterStatus.OPEN
        assert live_editing(letter) is None
