"""An author withdraws their own open suggestion; nobody else does, and not once decided.
And a suggestion's words are text on the Suggestions page, never markup."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.accounts.models import User
from signon.core.permissions import TeamRole
from signon.drafting.suggestions.models import Suggestion, SuggestionState
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")

BASE = "We call on the council to act now.\n\nThe river is dying.\n"


def _team() -> tuple[Letter, User, User, User]:
    coordinator = make_user(name="Coral Coordinator")
    drafter = make_user(name="Dora Drafter")
    viewer = make_user(name="Vera Viewer")
    letter = make_letter(coordinator, body=BASE)
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    return letter, coordinator, drafter, viewer


def _suggest(client: FlaskClient, letter: Letter, body: str) -> Suggestion:
    data = {"body": body, "base_revision": str(letter.head().id)}
    assert client.post(f"/letters/{letter.slug}/suggest", data=data).status_code == 302
    found = db.session.scalars(select(Suggestion).order_by(Suggestion.id.desc())).first()
    assert found is not None
    return found


def _page(client: FlaskClient, letter: Letter) -> str:
    return client.get(f"/letters/{letter.slug}/suggestions").get_data(as_text=True)


def test_the_author_withdraws_their_open_suggestion(client: FlaskClient) -> None:
    letter, _, _, viewer = _team()
    login(client, viewer)
    suggestion = _suggest(client, letter, BASE.replace("now", "soon"))
    withdraw = f"/letters/{letter.slug}/suggestions/{suggestion.id}/withdraw"
    assert f'action="{withdraw}"' in _page(client, letter)
    response = client.post(withdraw)
    assert response.status_code == 302
    assert response.location == f"/letters/{letter.slug}/suggestions"
    page = _page(client, letter)
    assert "Your suggestion is withdrawn." in page
    assert "No suggestion is waiting" in page and "Withdrawn" in page
    assert suggestion.state == SuggestionState.WITHDRAWN
    assert suggestion.decided_by_id == viewer.id and suggestion.revision is None
    assert letter.head().number == 1
    # withdrawn is decided: not again, and nobody accepts it now
    client.post(withdraw)
    assert "was withdrawn meanwhile" in _page(client, letter)


def test_nobody_else_withdraws_it_not_even_a_coordinator(client: FlaskClient) -> None:
    letter, coordinator, drafter, viewer = _team()
    login(client, viewer)
    suggestion = _suggest(client, letter, BASE.replace("now", "soon"))
    withdraw = f"/letters/{letter.slug}/suggestions/{suggestion.id}/withdraw"
    for other in (drafter, coordinator):
        login(client, other)
        assert f'action="{withdraw}"' not in _page(client, letter)
        assert client.post(withdraw).status_code == 403
    # nor through another letter's address, where the author is on the team too
    other_letter = make_letter(coordinator, body=BASE)
    add_team_member(other_letter, role=TeamRole.VIEWER, user=viewer)
    login(client, viewer)
    url = f"/letters/{other_letter.slug}/suggestions/{suggestion.id}/withdraw"
    assert client.post(url).status_code == 404
    assert suggestion.state == SuggestionState.OPEN


def test_a_decided_suggestion_is_not_withdrawn(client: FlaskClient) -> None:
    letter, coordinator, _, viewer = _team()
    login(client, viewer)
    suggestion = _suggest(client, letter, BASE.replace("now", "soon"))
    login(client, coordinator)
    client.post(f"/letters/{letter.slug}/suggestions/{suggestion.id}/reject")
    login(client, viewer)
    withdraw = f"/letters/{letter.slug}/suggestions/{suggestion.id}/withdraw"
    assert f'action="{withdraw}"' not in _page(client, letter)
    client.post(withdraw)
    assert "was rejected meanwhile" in _page(client, letter)
    assert suggestion.state == SuggestionState.REJECTED


def test_frozen_means_no_withdrawing(client: FlaskClient) -> None:
    letter, _, _, viewer = _team()
    login(client, viewer)
    suggestion = _suggest(client, letter, BASE.replace("now", "soon"))
    letter.status = LetterStatus.OPEN
    db.session.flush()
    withdraw = f"/letters/{letter.slug}/suggestions/{suggestion.id}/withdraw"
    assert f'action="{withdraw}"' not in _page(client, letter)
    client.post(withdraw)
    assert "The text is frozen" in _page(client, letter)
    assert suggestion.state == SuggestionState.OPEN


def test_a_suggestions_words_are_text_not_markup(client: FlaskClient) -> None:
    letter, coordinator, _, viewer = _team()
    login(client, viewer)
    attack = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    _suggest(client, letter, BASE.replace("now", f"now {attack}"))
    login(client, coordinator)
    page = _page(client, letter)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    client.post(f"/letters/{letter.slug}/suggestions/reject-all")
    page = _page(client, letter)  # the decided table shows it too
    assert "<script>alert(1)" not in page and "<img src=x" not in page
