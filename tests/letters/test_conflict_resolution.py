"""The conflict page resolves one conflict at a time: yours, theirs, or your own wording,
each shown within its paragraph; the result is saved as an ordinary revision."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from signon.core.permissions import TeamRole
from signon.extensions import db
from signon.letters.models import Letter, UnresolvedDraft
from signon.letters.text import three_way_merge
from tests.conftest import login
from tests.factories import add_revision, add_team_member, make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")

BASE = (
    "We call on all states to protect civic space. They must stop counting the costs.\n\n"
    "We ask the Council to act this year.\n\n"
    "Signed in Geneva.\n"
)
ALICE = (
    BASE.replace("stop counting", "count")
    .replace("this year", "soon")
    .replace("Geneva", "Geneva, 4 December")
)
BOB = BASE.replace("stop counting", "report").replace("this year", "now")


def _conflict(client: FlaskClient) -> tuple[Letter, int, int]:
    """Bob saved BOB on revision 1 after Alice saved ALICE: his draft and its URL's id."""
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    letter = make_letter(alice, body=BASE)
    add_team_member(letter, role=TeamRole.DRAFTER, user=bob)
    base_id = letter.head().id
    head = add_revision(letter, alice, ALICE)
    login(client, bob)
    response = client.post(
        f"/letters/{letter.slug}/edit",
        data={"title": letter.title, "body": BOB, "base_revision": str(base_id)},
    )
    match = re.search(r"/drafts/(\d+)$", response.location)
    assert match, response.location
    return letter, int(match.group(1)), head.id


def _resolve(client: FlaskClient, letter: Letter, draft_id: int, head_id: int, **fields: str):
    data = {"title": letter.title, "base_revision": str(head_id), **fields}
    return client.post(f"/letters/{letter.slug}/drafts/{draft_id}", data=data)


def test_the_merge_keeps_the_text_between_conflicts() -> None:
    merge = three_way_merge(BASE, BOB, ALICE)
    assert [c.ours for c in merge.conflicts] == ["report", "now"]
    assert merge.around(0) == (
        "We call on all states to protect civic space. They must ",
        " the costs.",
    )
    assert merge.around(1) == ("We ask the Council to act ", ".")
    assert merge.resolved(["report", "soon"]) == ALICE.replace("count", "report")
    with pytest.raises(ValueError):
        merge.resolved(["only one"])


def test_each_conflict_is_shown_in_its_paragraph_with_three_choices(
    client: FlaskClient,
) -> None:
    letter, draft_id, _head_id = _conflict(client)
    page = client.get(f"/letters/{letter.slug}/drafts/{draft_id}").get_data(as_text=True)
    assert "Passage 1 of 2" in page and "Passage 2 of 2" in page
    assert (
        "<p>We call on all states to protect civic space. They must "
        "<del>stop counting</del><ins>report</ins> the costs.</p>"
    ) in page
    assert "<p>We ask the Council to act <del>this year</del><ins>soon</ins>.</p>" in page
    for value in ("ours", "theirs", "edit"):
        assert f'name="conflicts-0-choice" type="radio" value="{value}"' in page
    radio = re.search(r"<input[^>]*conflicts-0-choice-0[^>]*>", page)
    assert radio and "checked" in radio.group(0), radio
    assert re.search(r'<textarea[^>]*name="conflicts-1-text"[^>]*>\s*now</textarea>', page)


def test_choices_per_conflict_are_saved_as_a_revision(client: FlaskClient) -> None:
    letter, draft_id, head_id = _conflict(client)
    response = _resolve(
        client,
        letter,
        draft_id,
        head_id,
        **{
            "conflicts-0-choice": "edit",
            "conflicts-0-text": "report on",
            "conflicts-1-choice": "theirs",
            "conflicts-1-text": "now",
            "change_note": "Both versions combined",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    head = letter.head()
    assert head.number == 3
    assert head.body_markdown == (
        "We call on all states to protect civic space. They must report on the costs.\n\n"
        "We ask the Council to act soon.\n\n"
        "Signed in Geneva, 4 December.\n"
    )
    assert head.change_note == "Both versions combined"
    assert db.session.get(UnresolvedDraft, draft_id).resolved_at is not None


def test_someone_saving_again_meanwhile_merges_or_keeps_the_choices(
    client: FlaskClient,
) -> None:
    letter, draft_id, head_id = _conflict(client)
    carol = make_user(name="Carol")
    add_revision(letter, carol, ALICE.replace("soon", "at once"))  # the same passage again
    response = _resolve(
        client,
        letter,
        draft_id,
        head_id,
        **{"conflicts-0-choice": "ours", "conflicts-1-choice": "ours"},
    )
    # A new conflict: the combined text is kept as a new draft, nothing is lost.
    assert "/drafts/" in response.location
    assert db.session.get(UnresolvedDraft, draft_id).resolved_at is not None
    kept = db.session.scalars(
        db.select(UnresolvedDraft).where(UnresolvedDraft.resolved_at.is_(None))
    ).one()
    assert "must report the costs" in kept.body_markdown
    assert "Geneva, 4 December" in kept.body_markdown
    assert letter.head().number == 3


def test_a_refused_form_keeps_what_was_typed(client: FlaskClient) -> None:
    letter, draft_id, head_id = _conflict(client)
    response = _resolve(
        client,
        letter,
        draft_id,
        head_id,
        title="",
        **{"conflicts-0-choice": "edit", "conflicts-0-text": "my own words"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "my own words" in page
    radio = re.search(r"<input[^>]*conflicts-0-choice-2[^>]*>", page)
    assert radio and "checked" in radio.group(0), radio
    assert letter.head().number == 2


def test_both_added_a_paragraph_at_the_end_and_changed_the_title(client: FlaskClient) -> None:
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    letter = make_letter(alice, body=BASE, title="Civic space")
    add_team_member(letter, role=TeamRole.DRAFTER, user=bob)
    base_id = letter.head().id
    head = add_revision(letter, alice, BASE + "\nAlice's closing words.\n", title="Civic space now")
    login(client, bob)
    response = client.post(
        f"/letters/{letter.slug}/edit",
        data={
            "title": "Protect civic space",
            "body": BASE + "\nBob's closing words.\n",
            "base_revision": str(base_id),
        },
    )
    draft_url = response.location
    page = client.get(draft_url).get_data(as_text=True)
    assert "Passage 1 of 1" in page
    assert "<ins>Bob's closing words.</ins>" in page.replace("&#39;", "'")
    assert "<ins>Alice's closing words.</ins>" in page.replace("&#39;", "'")
    assert "Title in revision 2: “Civic space now”" in page
    response = client.post(
        draft_url,
        data={
            "title": "Protect civic space now",
            "base_revision": str(head.id),
            "conflicts-0-choice": "edit",
            "conflicts-0-text": "\nAlice's closing words.\n\nBob's closing words.\n",
        },
    )
    assert response.status_code == 302
    saved = letter.head()
    assert saved.number == 3 and saved.title == "Protect civic space now"
    assert saved.body_markdown == BASE + "\nAlice's closing words.\n\nBob's closing words.\n"
