"""Suggestions through the test client: suggest from the editor, review, accept, reject."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.accounts.models import User
from signon.core.permissions import TeamRole
from signon.drafting.suggestions.models import Suggestion, SuggestionState, SuggestionTarget
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus
from tests.conftest import login
from tests.factories import add_revision, add_team_member, make_letter, make_user
from tests.querycount import count_queries

pytestmark = pytest.mark.usefixtures("app_context")

BASE = "We call on the council to act now.\n\nThe river is dying.\n"


def _team() -> tuple[Letter, User, User]:
    coordinator = make_user(name="Coral Coordinator")
    viewer = make_user(name="Vera Viewer")
    letter = make_letter(coordinator, body=BASE)
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    return letter, coordinator, viewer


def _suggest(client: FlaskClient, letter: Letter, body: str, **extra: str):
    data = {"body": body, "base_revision": str(letter.head().id), **extra}
    return client.post(f"/letters/{letter.slug}/suggest", data=data)


def _suggestions() -> list[Suggestion]:
    return list(db.session.scalars(select(Suggestion).order_by(Suggestion.id)))


def test_a_viewer_suggests_and_sees_the_suggestions_marked_in_the_text(
    client: FlaskClient,
) -> None:
    letter, _, viewer = _team()
    login(client, viewer)
    page = client.get(f"/letters/{letter.slug}/suggestions").get_data(as_text=True)
    assert "Suggest changes" in page and "No suggestion is waiting" in page
    assert f'action="/letters/{letter.slug}/suggest"' in page
    assert "The river is dying.\n</textarea>" in page
    response = _suggest(client, letter, BASE.replace("call on", "urge").replace("dying", "dead"))
    assert response.status_code == 302
    assert response.location == f"/letters/{letter.slug}/suggestions"
    page = client.get(response.location).get_data(as_text=True)
    assert "2 suggestions made." in page
    assert page.count("by Vera Viewer") == 2
    assert "<del>call on</del>" in page and "<ins>urge</ins>" in page
    # each in its context: its line, whole when it is short
    assert ">The river is <del>dying</del><ins>dead</ins>.</div>" in page
    assert "Accept all" not in page  # a viewer suggests; drafters decide
    assert f"/suggestions/{_suggestions()[0].id}/accept" not in page
    assert letter.head().number == 1


def test_the_editors_suggest_button_posts_the_edit_as_suggestions(client: FlaskClient) -> None:
    letter, coordinator, _ = _team()
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/edit").get_data(as_text=True)
    assert f'formaction="/letters/{letter.slug}/suggest"' in page
    response = _suggest(
        client, letter, BASE.replace("now", "today"), title=letter.title, change_note="x"
    )
    assert response.status_code == 302
    assert [(s.quote, s.replacement) for s in _suggestions()] == [("now", "today")]


def test_a_changed_title_is_a_suggestion_of_its_own(client: FlaskClient) -> None:
    letter, _, viewer = _team()
    old_title = letter.title
    login(client, viewer)
    response = _suggest(client, letter, BASE.replace("now", "today"), title="  A new title ")
    assert response.status_code == 302
    title, text = _suggestions()
    assert (title.target, title.quote, title.replacement) == (
        SuggestionTarget.TITLE,
        old_title,
        "A new title",
    )
    assert (text.target, text.quote, text.replacement) == (SuggestionTarget.BODY, "now", "today")
    page = client.get(f"/letters/{letter.slug}/suggestions").get_data(as_text=True)
    assert "Suggestion 1 by Vera Viewer: the title" in page
    assert "Suggestion 2 by Vera Viewer</h3>" in page
    # The suggestion form offers the title, as the editor's "Suggest instead" posts it.
    assert f'name="title" type="text" value="{old_title}"' in page
    assert letter.title == old_title  # nothing is changed until accepted


def test_a_title_alone_or_unchanged(client: FlaskClient) -> None:
    letter, coordinator, _ = _team()
    login(client, coordinator)
    assert _suggest(client, letter, BASE, title="Only the title").status_code == 302
    (suggestion,) = _suggestions()
    assert suggestion.target == SuggestionTarget.TITLE
    # (a refused request rolls the test's data back: last)
    response = _suggest(client, letter, BASE, title=letter.title)
    assert response.status_code == 409
    assert "nothing to suggest" in response.get_data(as_text=True)


def test_accepting_a_title_makes_a_revision_credited_to_the_suggester(
    client: FlaskClient,
) -> None:
    letter, coordinator, viewer = _team()
    login(client, viewer)
    _suggest(client, letter, BASE.replace("is dying", "is dead"), title="The river")
    title, _text = _suggestions()
    login(client, coordinator)
    response = client.post(f"/letters/{letter.slug}/suggestions/{title.id}/accept")
    page = client.get(response.location).get_data(as_text=True)
    assert "Accepted as revision 2, by Vera Viewer." in page
    head = letter.head()
    assert (head.number, head.author, head.title) == (2, viewer, "The river")
    assert head.body_markdown == BASE  # the text suggestion is still open, not applied
    assert letter.title == "The river"
    assert "Suggestion by Vera Viewer, accepted by Coral Coordinator" in head.change_note
    # The text suggestion still applies to revision 2 (its words did not change).
    response = client.post(f"/letters/{letter.slug}/suggestions/accept-all")
    assert letter.head().number == 3
    assert letter.head().title == "The river"
    assert letter.head().body_markdown == BASE.replace("is dying", "is dead")


def test_a_title_changed_meanwhile_outdates_its_suggestion(client: FlaskClient) -> None:
    letter, coordinator, viewer = _team()
    login(client, viewer)
    _suggest(client, letter, BASE, title="The river")
    (suggestion,) = _suggestions()
    add_revision(letter, coordinator, BASE, title="Our river")
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/suggestions").get_data(as_text=True)
    assert "The title was changed after revision 1." in page
    response = client.post(f"/letters/{letter.slug}/suggestions/{suggestion.id}/accept")
    assert "Not applied" in client.get(response.location).get_data(as_text=True)
    assert suggestion.state == SuggestionState.OUTDATED
    assert (letter.head().number, letter.head().title) == (2, "Our river")


def test_nothing_changed_is_said_and_nothing_made(client: FlaskClient) -> None:
    letter, coordinator, _ = _team()
    login(client, coordinator)
    response = _suggest(client, letter, BASE)
    assert response.status_code == 409
    assert "nothing to suggest" in response.get_data(as_text=True)


def test_accepting_makes_a_revision_credited_to_the_suggester(client: FlaskClient) -> None:
    letter, coordinator, viewer = _team()
    login(client, viewer)
    _suggest(client, letter, BASE.replace("is dying", "is dead"))
    (suggestion,) = _suggestions()
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/suggestions").get_data(as_text=True)
    assert f"/suggestions/{suggestion.id}/accept" in page
    response = client.post(f"/letters/{letter.slug}/suggestions/{suggestion.id}/accept")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Accepted as revision 2, by Vera Viewer." in page
    head = letter.head()
    assert head.number == 2 and head.author == viewer
    assert head.body_markdown == BASE.replace("is dying", "is dead")
    authorship = client.get(f"/letters/{letter.slug}/authorship").get_data(as_text=True)
    assert "Vera Viewer" in authorship


def test_accepting_after_an_overlapping_edit_says_why_and_changes_nothing(
    client: FlaskClient,
) -> None:
    letter, coordinator, viewer = _team()
    login(client, viewer)
    _suggest(client, letter, BASE.replace("act now", "act this week"))
    (suggestion,) = _suggestions()
    add_revision(letter, coordinator, BASE.replace("act now", "act today"))
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/suggestions").get_data(as_text=True)
    assert "Outdated" in page and "after revision 1" in page
    assert f"/suggestions/{suggestion.id}/accept" not in page  # only Reject is offered
    response = client.post(f"/letters/{letter.slug}/suggestions/{suggestion.id}/accept")
    page = client.get(response.location).get_data(as_text=True)
    assert "Not applied" in page
    assert suggestion.state == SuggestionState.OUTDATED
    assert letter.head().number == 2


def test_reject_one_then_accept_and_reject_all(client: FlaskClient) -> None:
    letter, coordinator, viewer = _team()
    login(client, viewer)
    _suggest(client, letter, BASE.replace("call on", "urge").replace("dying", "dead"))
    _suggest(client, letter, BASE.replace("council", "city council"))
    first, *_others = _suggestions()
    assert len(_others) == 2
    login(client, coordinator)
    client.post(f"/letters/{letter.slug}/suggestions/{first.id}/reject")
    assert first.state == SuggestionState.REJECTED
    response = client.post(f"/letters/{letter.slug}/suggestions/accept-all")
    page = client.get(response.location).get_data(as_text=True)
    assert "2 suggestions accepted." in page
    assert letter.head().body_markdown == BASE.replace("council", "city council").replace(
        "dying", "dead"
    )
    assert "Rejected" in page and "Accepted" in page and "No suggestion is waiting" in page
    _suggest(client, letter, letter.head().body_markdown.replace("now", "soon"))
    response = client.post(f"/letters/{letter.slug}/suggestions/reject-all")
    assert "1 suggestion rejected." in client.get(response.location).get_data(as_text=True)
    assert {s.state for s in _suggestions()} == {
        SuggestionState.REJECTED,
        SuggestionState.ACCEPTED,
    }


def test_a_suggestion_of_another_letter_is_not_found(client: FlaskClient) -> None:
    letter, coordinator, viewer = _team()
    other = make_letter(coordinator, body=BASE)
    login(client, viewer)
    _suggest(client, letter, BASE.replace("now", "soon"))
    (suggestion,) = _suggestions()
    login(client, coordinator)
    response = client.post(f"/letters/{other.slug}/suggestions/{suggestion.id}/accept")
    assert response.status_code == 404
    assert suggestion.state == SuggestionState.OPEN


@pytest.mark.parametrize("status", [LetterStatus.OPEN, LetterStatus.CLOSED])
def test_frozen_means_no_suggesting_and_no_accepting(
    client: FlaskClient, status: LetterStatus
) -> None:
    letter, coordinator, viewer = _team()
    login(client, viewer)
    _suggest(client, letter, BASE.replace("now", "soon"))
    (suggestion,) = _suggestions()
    letter.status = status
    db.session.flush()
    page = client.get(f"/letters/{letter.slug}/suggestions").get_data(as_text=True)
    assert f'action="/letters/{letter.slug}/suggest"' not in page
    response = _suggest(client, letter, BASE.replace("now", "today"))
    assert response.status_code == 302 and response.location == f"/letters/{letter.slug}/"
    assert len(_suggestions()) == 1
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/suggestions").get_data(as_text=True)
    assert "The text is frozen" in page and "/accept" not in page
    response = client.post(f"/letters/{letter.slug}/suggestions/{suggestion.id}/accept")
    assert "The text is frozen" in client.get(response.location).get_data(as_text=True)
    client.post(f"/letters/{letter.slug}/suggestions/accept-all")
    assert suggestion.state == SuggestionState.OPEN and letter.head().number == 1


def _queries_for_suggestions_page(client: FlaskClient, authors: int) -> int:
    letter, coordinator, _ = _team()
    for i in range(authors):
        author = make_user()
        add_team_member(letter, role=TeamRole.VIEWER, user=author)
        login(client, author)
        _suggest(client, letter, BASE.replace("act now", f"act in {i + 1} days"))
        login(client, coordinator)
        client.post(f"/letters/{letter.slug}/suggestions/{_suggestions()[-1].id}/reject")
        login(client, author)
        _suggest(client, letter, BASE.replace("dying", f"dying {i}"))
    login(client, coordinator)
    db.session.expire_all()  # nothing already at hand, as in a request of its own
    with count_queries() as counter:
        assert client.get(f"/letters/{letter.slug}/suggestions").status_code == 200
    return counter.count


def test_the_suggestions_page_does_not_query_per_suggestion(client: FlaskClient) -> None:
    assert _queries_for_suggestions_page(client, 1) == _queries_for_suggestions_page(client, 6)


def test_the_letters_activity_tells_those_who_decide(client: FlaskClient) -> None:
    letter, coordinator, viewer = _team()
    login(client, viewer)
    _suggest(client, letter, BASE.replace("now", "soon"))
    said = "Vera Viewer suggested 1 change to revision 1"
    assert said not in client.get(f"/letters/{letter.slug}/").get_data(as_text=True)
    login(client, coordinator)
    assert said in client.get(f"/letters/{letter.slug}/").get_data(as_text=True)


def test_a_suggestion_in_a_long_paragraph_shows_whole_words_around_it(
    client: FlaskClient,
) -> None:
    words = " ".join(f"word{i}" for i in range(60))
    coordinator = make_user()
    letter = make_letter(coordinator, body=words + "\n")
    login(client, coordinator)
    _suggest(client, letter, words.replace("word30", "changed") + "\n")
    page = client.get(f"/letters/{letter.slug}/suggestions").get_data(as_text=True)
    shown = re.search(
        r'<div class="diff">([^<]*)<del>word30</del><ins>changed</ins>([^<]*)</div>', page
    )
    assert shown is not None
    before, after = shown.groups()
    assert before.startswith("word") and after.endswith(tuple("0123456789"))
    assert 40 < len(before) <= 80 and 40 < len(after) <= 80
    assert before.split()[0] in words.split() and after.split()[-1] in words.split()


def test_a_base_revision_of_another_letter_is_refused_and_the_text_kept(
    client: FlaskClient,
) -> None:
    letter, coordinator, _ = _team()
    other = make_letter(coordinator, body=BASE)
    login(client, coordinator)
    response = client.post(
        f"/letters/{letter.slug}/suggest",
        data={"body": BASE.replace("now", "today"), "base_revision": str(other.head().id)},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "a version of the letter we do not know" in page and "act today" in page
    assert _suggestions() == []
