"""A Yjs client id is its first writer's: new items under another person's id close the socket.

Two people writing under one client id at the same instant make colliding clocks: the
server keeps one keystroke and the other stays in its author's browser only (the copies
diverge). Through real sockets: a forged insert under another editor's id is refused
(1008) and nothing is stored, whether the id's owner is known from this server's
updates, from the stored log when the room loads, or from another server through Redis;
the same person's reconnection or second tab goes on writing under their id, and anyone
may still delete anyone's text.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pycrdt import Doc, Text

from signon.drafting.live import crdt, protocol
from signon.drafting.live.hub import hub
from tests.drafting.live.client import LiveClient, eventually
from tests.drafting.live.conftest import Serve
from tests.drafting.live.world import BODY, Team, editor, make_team, post, stored_updates
from tests.redis_urls import redis_db

pytestmark = [pytest.mark.real_commits, pytest.mark.usefixtures("app_context")]

REDIS_URL = redis_db(11)


@pytest.fixture
def team() -> Team:
    return make_team()


def under_id(sender: LiveClient, client_id: int, words: str) -> bytes:
    """An insertion of ``words`` at the start, written under ``client_id`` on a copy of
    ``sender``'s document (so it integrates: the next clock of that id)."""
    copy: Doc[Any] = Doc(client_id=client_id)
    copy.apply_update(sender.doc.get_update())
    before = copy.get_state()
    copy.get(crdt.TEXT_NAME, type=Text).insert(0, words)
    return copy.get_update(before)


def expect_refused(forger: LiveClient, victim: LiveClient, stored: int, letter: int) -> None:
    """``forger`` sends an insertion under ``victim``'s id: closed, nothing stored, and the
    victim goes on typing."""
    forger.send(protocol.update_message(under_id(forger, victim.doc.client_id, "Forged. ")))
    eventually(forger.closed.is_set, what="the forger's socket is closed")
    assert forger.close_code == 1008
    assert stored_updates(letter) == stored
    victim.append("Victim again.\n")
    eventually(lambda: stored_updates(letter) == stored + 1, what="the victim still writes")
    assert "Forged" not in victim.body


def test_an_insert_under_another_editors_id_is_refused_and_the_copies_converge(
    serve: Serve, team: Team
) -> None:
    server = serve()
    ada = editor(server, team, team.coordinator)
    ada.append("Ada's words.\n")
    eventually(lambda: stored_updates(team.letter) == 1, what="Ada's update is stored")
    bob = editor(server, team, team.drafter)
    eventually(lambda: bob.body == ada.body, what="Bob has Ada's words")
    expect_refused(bob, ada, 1, team.letter)
    expected = BODY + "Ada's words.\nVictim again.\n"
    assert ada.body == expected
    viewer = editor(server, team, team.viewer)
    assert viewer.body == expected
    # Bob's new page (a new id) may delete and rewrite Ada's text
    again = editor(server, team, team.drafter)
    again.replace("Ada's words.", "Bob's rewrite.")
    rewritten = expected.replace("Ada's words.", "Bob's rewrite.")
    eventually(lambda: ada.body == viewer.body == rewritten, what="the rewrite reaches everyone")
    assert not again.closed.is_set()


def test_the_same_person_writes_under_their_id_from_another_socket(
    serve: Serve, team: Team
) -> None:
    """A reconnection (the page keeps its id) or a second tab of the same person."""
    server = serve()
    first = editor(server, team, team.coordinator)
    viewer = editor(server, team, team.viewer)
    first.append("First.\n")
    eventually(lambda: viewer.body.endswith("First.\n"), what="the first socket writes")
    second = editor(server, team, team.coordinator)
    second.send(protocol.update_message(under_id(second, first.doc.client_id, "Second. ")))
    eventually(lambda: viewer.body.startswith("Second. "), what="the second socket writes")
    assert not second.closed.is_set() and stored_updates(team.letter) == 2


def test_the_owner_is_known_from_the_stored_log_and_survives_a_save(
    serve: Serve, team: Team
) -> None:
    """A room loaded anew learns the owners from the stored updates. After a save the
    snapshot keeps no author: the page that reconnects with its id may still write."""
    server = serve()
    ada = editor(server, team, team.coordinator)
    ada.append("Ada.\n")
    eventually(lambda: stored_updates(team.letter) == 1, what="Ada's update is stored")
    ada_id = ada.doc.client_id
    ada.close()
    eventually(lambda: not hub(server.app).rooms, what="the room is unloaded")
    bob = editor(server, team, team.drafter)
    ada = editor(server, team, team.coordinator)
    bob.send(protocol.update_message(under_id(bob, ada_id, "Forged. ")))
    eventually(bob.closed.is_set, what="the forger's socket is closed")
    assert bob.close_code == 1008 and stored_updates(team.letter) == 1
    post(server, team, team.coordinator, f"/letters/{team.slug}/live/save")
    assert stored_updates(team.letter) == 0
    ada.close()
    eventually(lambda: not hub(server.app).rooms, what="the room is unloaded")
    back = editor(server, team, team.coordinator)
    viewer = editor(server, team, team.viewer)
    back.send(protocol.update_message(under_id(back, ada_id, "Back. ")))
    eventually(lambda: viewer.body.startswith("Back. "), what="the reconnected page writes")
    assert not back.closed.is_set()


def test_the_owner_is_relayed_to_the_other_server(serve: Serve, team: Team) -> None:
    queue = f"test-live-{uuid.uuid4().hex[:8]}"
    one = serve(redis_url=REDIS_URL, job_queue=queue)
    two = serve(redis_url=REDIS_URL, job_queue=queue)
    ada = editor(one, team, team.coordinator)
    bob = editor(two, team, team.drafter)
    ada.append("Ada on one.\n")
    eventually(lambda: bob.body == ada.body, what="the update is relayed")
    expect_refused(bob, ada, 1, team.letter)
    viewer = editor(two, team, team.viewer)
    eventually(lambda: viewer.body == ada.body, what="the copies converge")
