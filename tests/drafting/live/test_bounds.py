"""Forged updates through a real socket: only plain text into the shared Y.Text, within bounds.

Each forged update is built on the sender's own copy of the document (so that it would
integrate) and sent as y-websocket's update message. A refused one closes the sender's
socket; nothing is stored, the other editor's document is unchanged and keeps working,
and a later opener loads the document as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text, merge_updates
from sqlalchemy import func, select

from signon.drafting.live import crdt, protocol
from signon.drafting.live.models import LiveUpdate
from signon.extensions import db
from tests.drafting.live.client import LiveClient, eventually
from tests.drafting.live.conftest import Serve
from tests.drafting.live.test_save import revisions
from tests.drafting.live.world import BODY, Team, editor, make_team, stored_updates

pytestmark = [pytest.mark.real_commits, pytest.mark.usefixtures("app_context")]

Forge = Callable[[Doc[Any]], None]


@pytest.fixture
def team() -> Team:
    return make_team()


def forged(client: LiveClient, change: Forge, *, skip_gc: bool = False) -> bytes:
    """The update ``change`` makes to a copy of ``client``'s document."""
    copy: Doc[Any] = Doc(skip_gc=skip_gc)
    copy.apply_update(client.doc.get_update())
    before = copy.get_state()
    change(copy)
    return copy.get_update(before)


def _other_root(doc: Doc[Any]) -> None:
    doc.get("comments", type=Map)["note"] = "x" * 100


def _array_root(doc: Doc[Any]) -> None:
    doc.get("list", type=Array).append("item")


def _formatting(doc: Doc[Any]) -> None:
    doc.get(crdt.TEXT_NAME, type=Text).insert(0, "bold ", attrs={"bold": True})


def _embed(doc: Doc[Any]) -> None:
    doc.get(crdt.TEXT_NAME, type=Text).insert_embed(0, {"image": "x" * 50})


def _raw(info: int, tail: bytes) -> bytes:
    """One item of client 4242 at clock 0, in the root ``markdown`` (built by hand:
    pycrdt writes no map entry or nested type into a text)."""
    name = crdt.TEXT_NAME.encode()
    return bytes([1, 1]) + bytes([0x92, 0x21, 0, info, 1, len(name)]) + name + tail + b"\x00"


MAP_ENTRY = _raw(0x20 | 4, b"\x01k\x01v")  # parentSub "k", string "v"
NESTED_TYPE = _raw(7, b"\x00")  # content: a Y.Array inside the text


def _send_and_expect_close(
    serve: Serve, team: Team, update: bytes, code: int, **settings: Any
) -> None:
    server = serve(**settings)
    other = editor(server, team, team.coordinator)
    drafter = editor(server, team, team.drafter)
    drafter.send(protocol.update_message(update))
    eventually(drafter.closed.is_set, what="the forger's socket is closed")
    assert drafter.close_code == code
    assert stored_updates(team.letter) == 0
    assert other.body == BODY and list(other.doc.keys()) == [crdt.TEXT_NAME]
    other.append("Still here.\n")  # the other editor is unaffected
    eventually(lambda: stored_updates(team.letter) == 1, what="the other editor still writes")
    fresh = editor(server, team, team.viewer)
    # the update is stored before the server's room applies and relays it: a socket that
    # joins in between has it from the relay, just after its sync
    eventually(lambda: fresh.body == BODY + "Still here.\n", what="a new socket has the text")
    assert list(fresh.doc.keys()) == [crdt.TEXT_NAME]


@pytest.mark.parametrize(
    "change",
    [_other_root, _array_root, _formatting, _embed],
    ids=["map-root", "array-root", "formatting", "embed"],
)
def test_an_update_touching_anything_but_the_text_closes_the_socket(
    serve: Serve, team: Team, change: Forge
) -> None:
    server = serve()
    probe = editor(server, team, team.drafter)
    update = forged(probe, change)
    probe.close()
    server.stop()
    _send_and_expect_close(serve, team, update, 1003)


@pytest.mark.parametrize("update", [MAP_ENTRY, NESTED_TYPE], ids=["map-entry", "nested-type"])
def test_hand_made_items_that_are_not_plain_text_close_the_socket(
    serve: Serve, team: Team, update: bytes
) -> None:
    _send_and_expect_close(serve, team, update, 1003)


def _many_writers(base: bytes) -> bytes:
    """One character from each of 17 Yjs client ids, merged into one update."""
    parts = []
    for client_id in range(1000, 1000 + crdt.MAX_CLIENTS_PER_UPDATE + 1):
        doc: Doc[Any] = Doc(client_id=client_id)
        doc.apply_update(base)
        before = doc.get_state()
        doc.get(crdt.TEXT_NAME, type=Text).insert(0, "x")
        parts.append(doc.get_update(before))
    return merge_updates(*parts)


def test_an_update_from_too_many_client_ids_closes_the_socket(serve: Serve, team: Team) -> None:
    server = serve()
    probe = editor(server, team, team.drafter)
    update = _many_writers(probe.doc.get_update())
    probe.close()
    server.stop()
    _send_and_expect_close(serve, team, update, 1009)


def _tombstones(doc: Doc[Any]) -> None:
    """400 characters typed at scattered places and deleted: 400 separate deleted items."""
    text = doc.get(crdt.TEXT_NAME, type=Text)
    for n in range(400):
        at = (n * 7) % 30
        text.insert(at, "x")
        del text[at : at + 1]


def test_an_update_that_would_grow_the_stored_document_past_its_bound_closes_the_socket(
    serve: Serve, team: Team
) -> None:
    # max_body_chars 200: the encoded document may hold 8 x 200 = 1,600 bytes
    server = serve(max_body_chars=200)
    probe = editor(server, team, team.drafter)
    update = forged(probe, _tombstones)
    assert len(crdt.load([probe.doc.get_update(), update]).get_update()) > 200 * 8
    probe.close()
    server.stop()
    _send_and_expect_close(serve, team, update, 1009, max_body_chars=200)


def _huge_passage_deleted(doc: Doc[Any]) -> None:
    text = doc.get(crdt.TEXT_NAME, type=Text)
    with doc.transaction():
        text.insert(5, "y" * 300_000)
    with doc.transaction():
        del text[5:300_005]


def stored_bytes(letter_id: int) -> int:
    db.session.rollback()
    try:
        query = select(func.coalesce(func.sum(func.length(LiveUpdate.data)), 0))
        return int(db.session.scalar(query.where(LiveUpdate.letter_id == letter_id)) or 0)
    finally:
        db.session.rollback()


def test_a_passage_inserted_and_deleted_in_one_update_is_stored_as_its_length(
    serve: Serve, team: Team
) -> None:
    """300,000 characters sent and deleted in the same update: the document keeps a
    tombstone of a few bytes, and so does the stored log (not the 300 KB sent)."""
    server = serve()
    other = editor(server, team, team.coordinator)
    drafter = editor(server, team, team.drafter)
    update = forged(drafter, _huge_passage_deleted, skip_gc=True)
    assert len(update) > 300_000
    drafter.send(protocol.update_message(update))
    eventually(lambda: stored_updates(team.letter) == 1, what="the update is stored")
    assert stored_bytes(team.letter) < 100
    assert not drafter.closed.is_set()
    drafter.append("Next.\n")
    eventually(lambda: other.body == BODY + "Next.\n", what="the other editor follows")


def test_a_long_log_is_saved_and_compacted_without_waiting_for_quiet(
    serve: Serve, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """People who type for hours never leave the document quiet: its log is saved (one
    revision, the updates compacted into the snapshot) once it is long."""
    from signon.drafting.live import queries

    monkeypatch.setattr(queries, "LONG_LOG_UPDATES", 5)
    server = serve(live_autosave_seconds=3600)
    drafter = editor(server, team, team.drafter)
    for word in ("One.\n", "Two.\n", "Three.\n", "Four.\n", "Five.\n"):
        drafter.append(word)
    typed = BODY + "One.\nTwo.\nThree.\nFour.\nFive.\n"
    eventually(lambda: revisions(team.letter)[-1][2] == typed, timeout=15, what="a revision")
    assert stored_updates(team.letter) == 0  # the log compacted into the snapshot
    assert editor(server, team, team.coordinator).body == typed
