"""Splitting a live version per author (signon/drafting/live/authorship.py), no server.

Editors are pycrdt documents exchanging updates as the browsers do through the server;
each update is stored with its sender, as the socket stores it.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Text

from signon.drafting.live import crdt
from signon.drafting.live.authorship import AuthorVersion, versions_by_author

BASE = "The council should act.\n\nWe stand together.\n"
ADA, BEN, CY = 1, 2, 3


class Room:
    """A stored snapshot, the editors' documents, and the updates stored since."""

    def __init__(self, body: str = BASE) -> None:
        self.snapshot = crdt.seed(body)
        self.editors: dict[int | None, Doc[Any]] = {}
        self.updates: list[tuple[int | None, bytes]] = []

    def edit(self, who: int | None, change: str, at: str, *, delete: str = "") -> None:
        """``who`` replaces ``delete`` (found after the text ``at``) with ``change``."""
        doc = self.editors.setdefault(who, crdt.load([self.snapshot, *self._all()]))
        text = doc.get(crdt.TEXT_NAME, type=Text)
        before = doc.get_state()
        current = str(text)
        start = len(current[: current.index(at) + len(at)].encode())
        if delete:
            assert current[current.index(at) + len(at) :].startswith(delete)
            del text[start : start + len(delete.encode())]
        if change:
            text.insert(start, change)
        update = doc.get_update(before)
        self.updates.append((who, update))
        for other in self.editors.values():
            if other is not doc:
                other.apply_update(update)

    def _all(self) -> list[bytes]:
        return [update for _, update in self.updates]

    def text(self) -> str:
        return crdt.text_of(crdt.load([self.snapshot, *self._all()]))

    def versions(self) -> list[AuthorVersion]:
        return versions_by_author(self.snapshot, self.updates)


def test_each_author_gets_the_base_with_their_changes_in_the_order_of_their_last_change() -> None:
    room = Room()
    room.edit(ADA, " now", at="should act")
    room.edit(BEN, "\n\nSigned, the coalition.", at="We stand together.")
    room.edit(ADA, "must", at="The council ", delete="should")
    assert room.versions() == [
        AuthorVersion(BEN, BASE.replace("together.", "together.\n\nSigned, the coalition.")),
        AuthorVersion(ADA, room.text()),
    ]
    assert room.text() == (
        "The council must act now.\n\nWe stand together.\n\nSigned, the coalition.\n"
    )


def test_words_typed_inside_someone_elses_words_stay_where_they_were_typed() -> None:
    room = Room()
    room.edit(ADA, " and the mayor", at="The council")
    room.edit(BEN, " city", at="The council and the")  # inside Ada's new words
    room.edit(CY, "firmly ", at="We stand ")
    versions = room.versions()
    assert [v.author_id for v in versions] == [ADA, BEN, CY]
    assert versions[0].text == BASE.replace("council", "council and the mayor")
    assert versions[1].text == BASE.replace("council", "council and the city mayor")
    assert versions[2].text == room.text()


def test_deleting_someone_elses_words_is_the_deleters_change() -> None:
    room = Room()
    room.edit(ADA, " without delay", at="should act")
    room.edit(BEN, "", at="should act", delete=" without delay")
    room.edit(BEN, "", at="The council", delete=" should")
    # Ada's words are in her step; Ben's step takes them and his own deletion out.
    assert room.versions() == [
        AuthorVersion(ADA, BASE.replace("act.", "act without delay.")),
        AuthorVersion(BEN, BASE.replace(" should", "")),
    ]


def test_someone_who_typed_and_took_it_back_is_left_out() -> None:
    room = Room()
    room.edit(ADA, "Dear all,\n\n", at="")
    room.edit(BEN, " maybe", at="should act")
    room.edit(BEN, "", at="should act", delete=" maybe")
    assert room.versions() == [AuthorVersion(ADA, "Dear all,\n\n" + BASE)]


def test_updates_without_an_author_count_as_the_base() -> None:
    room = Room()
    room.edit(None, "Draft: ", at="")  # a former member's, or the server's own
    room.edit(ADA, " now", at="should act")
    assert room.versions() == [AuthorVersion(ADA, "Draft: " + BASE.replace("act.", "act now."))]
    assert versions_by_author(room.snapshot, room.updates[:1]) == []


def test_a_long_session_of_three_people_typing_in_turn_is_split_exactly() -> None:
    room = Room()
    for n in range(60):
        who = (ADA, BEN, CY)[n % 3]
        room.edit(who, f" {who}{n}", at=("should act", "The council", "We stand")[n % 3])
    versions = room.versions()
    assert [v.author_id for v in versions] == [ADA, BEN, CY]
    assert versions[-1].text == room.text()
    assert " 10" in versions[0].text and " 21" not in versions[0].text  # Ada's, not Ben's
    assert " 21" in versions[1].text and " 32" not in versions[1].text
