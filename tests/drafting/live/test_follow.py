"""The page that follows the live text read only (drafting.live_follow) and the letter
page's link to it: what each reader is shown, and that it is labelled as unsaved text
beside the last saved revision. In a browser: tests/e2e/test_live_editing.py."""

from __future__ import annotations

import base64
import re

import pytest
from flask.testing import FlaskClient
from pycrdt import Snapshot

from signon.accounts.models import User
from signon.core.permissions import TeamRole
from signon.drafting.live import crdt, operations, queries
from signon.letters import operations as letter_ops
from signon.letters.models import Letter, LetterStatus
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")

TEXT = "We call on the council to act.\n"


def _type_live(letter: Letter, author: User, text: str) -> None:
    """What an editor's socket stores: one update of the live document, not yet saved."""
    _live, doc, _ = operations.open_document(letter)
    update = crdt.replace_text(doc, text)
    assert update is not None
    operations.record_update(letter.id, update, author.id)


def _team() -> tuple[Letter, User, User]:
    coordinator, viewer = make_user(name="Cora"), make_user(name="Vic")
    letter = make_letter(coordinator, body=TEXT)
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    return letter, coordinator, viewer


def _textarea(html: str) -> str:
    found = re.search(r"<textarea[^>]*>", html)
    assert found is not None
    return found.group(0)


def test_a_viewer_follows_the_unsaved_live_text_labelled_as_such(client: FlaskClient) -> None:
    letter, coordinator, viewer = _team()
    _type_live(letter, coordinator, "We call on the city council to act now.\n")
    html = login(client, viewer).get(f"/letters/{letter.slug}/live/follow").get_data(as_text=True)
    assert "Unsaved live text." in html
    revision_1 = f'<a href="/letters/{letter.slug}/revisions/1">revision 1</a>'
    assert f"The last saved version is {revision_1}" in html
    assert "had changes that are not in revision 1 yet" in html
    assert "We call on the city council to act now." in html  # the live text, not revision 1
    assert "readonly" in _textarea(html)
    panel = re.search(r'<section class="live-panel"[^>]*>', html)
    assert panel is not None and "data-live-readonly" in panel.group(0)
    assert "Edit the text" not in html  # a viewer may not


def test_whoever_may_edit_follows_in_the_editor_and_a_frozen_text_is_its_revision(
    client: FlaskClient,
) -> None:
    letter, coordinator, viewer = _team()
    follow = f"/letters/{letter.slug}/live/follow"
    response = login(client, coordinator).get(follow)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/letters/{letter.slug}/edit"
    letter.status = LetterStatus.OPEN
    login(client, viewer)
    response = client.get(follow)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/letters/{letter.slug}/"
    assert "Follow the live text" not in client.get(f"/letters/{letter.slug}/").get_data(
        as_text=True
    )


def test_the_letter_page_links_to_the_live_text_and_says_when_it_is_unsaved(
    client: FlaskClient,
) -> None:
    letter, coordinator, viewer = _team()
    login(client, viewer)
    link = f'href="/letters/{letter.slug}/live/follow">Follow the live text'
    html = client.get(f"/letters/{letter.slug}/").get_data(as_text=True)
    assert link in html and "not saved as a revision yet" not in html
    _type_live(letter, coordinator, TEXT + "More.\n")
    html = client.get(f"/letters/{letter.slug}/").get_data(as_text=True)
    assert link in html and "not saved as a revision yet" in html
    login(client, coordinator)
    html = client.get(f"/letters/{letter.slug}/").get_data(as_text=True)
    assert "Follow the live text" not in html  # an editor's live view is the editor
    assert f'<a href="/letters/{letter.slug}/edit">see them in the editor</a>' in html


def test_the_saved_message_names_the_live_document_the_revision_holds() -> None:
    """The "saved" message carries the saved document's Yjs snapshot, so that a page
    compares its own document with it instead of trusting the order in which the message
    and the last keystrokes reach it (static/js/live.js, followSaves). A classic save
    made while the live text has changes is no state of the live document: no snapshot."""
    letter, coordinator, _viewer = _team()
    live, doc, _ = operations.open_document(letter)
    seeded = live.snapshot
    typed = crdt.replace_text(doc, TEXT + "Typed live.")
    assert typed is not None
    operations.record_update(letter.id, typed, coordinator.id)
    state = queries.saved_state(letter.id)
    assert state is not None
    assert (state["revision"], state["unsaved"]) == (1, True)
    assert state["snapshot"] == _encoded(crdt.snapshot_of(seeded))  # revision 1's document

    result = operations.save_live_version(letter, coordinator)
    assert result.revision is not None and result.update is not None  # the final newline
    state = queries.saved_state(letter.id)
    assert state is not None
    assert (state["revision"], state["unsaved"]) == (2, False)
    # What a page holds once it has every keystroke and the save's own edit.
    page = crdt.load([seeded, typed, result.update])
    assert crdt.text_of(page) == result.revision.body_markdown == TEXT + "Typed live.\n"
    assert state["snapshot"] == _encoded(Snapshot.from_doc(page).encode())
    # Before the save's edit reaches it, the page's document is not the saved one.
    assert state["snapshot"] != _encoded(crdt.snapshot_of(crdt.load([seeded, typed]).get_update()))

    operations.record_update(letter.id, crdt.replace_text(page, TEXT) or b"", coordinator.id)
    head = letter.head()
    assert head is not None
    letter_ops.save_revision(letter, coordinator, base=head, title=letter.title, body="Classic.\n")
    state = queries.saved_state(letter.id)
    assert state is not None
    assert (state["revision"], state["unsaved"], state["snapshot"]) == (3, True, None)


def _encoded(snapshot: bytes) -> str:
    return base64.b64encode(snapshot).decode()
