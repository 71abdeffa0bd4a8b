"""Who wrote what in a live version: the document's changes, split per author.

Every stored update has the user who sent it (``LiveUpdate.author_id``, checked by the
socket, not claimed by the browser). Replaying the updates in the order they were stored
shows which Yjs items each one added (the document's state vector grows) and which it
deleted (its delete set grows): that is each author's part, whatever Yjs client ids the
browser used. "The base with only these authors' changes" is then the whole document
seen through a Yjs snapshot whose delete set hides the other authors' insertions and
leaves out their deletions. Every item stays where the CRDT put it, so a word typed
inside someone else's sentence is still in its place, and nothing has to be diffed.

A save makes one revision per author from these texts, as the three-way merge and the
suggestions do (``operations.save_live_version``), so who-wrote-what and the history
credit each person with their own words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from pycrdt import Doc, Snapshot

from signon.drafting.live import crdt
from signon.drafting.live.protocol import Reader, read_state, varuint

#: Yjs item ids as clock ranges per client: client id -> sorted, disjoint [start, end).
IdRanges: TypeAlias = dict[int, list[tuple[int, int]]]
#: A state vector: client id -> the next clock.
State: TypeAlias = dict[int, int]


@dataclass(frozen=True)
class AuthorVersion:
    """The base with the changes of ``author_id`` and of every author before it."""

    author_id: int
    text: str


def versions_by_author(
    snapshot: bytes, updates: Sequence[tuple[int | None, bytes]]
) -> list[AuthorVersion]:
    """The texts of a live version made one author at a time.

    ``snapshot`` is the stored document the version started from, ``updates`` the
    (author id, update) pairs stored since, oldest first. Authors come in the order of
    their last update, so a passage two people changed is credited to the one who
    changed it last (as a later revision would be). The last text is the whole document.
    Updates without an author (a deleted account's, the server's own) count as part of
    the base. An author whose changes show nothing (typed and took it back) is left out.
    """
    replay = crdt.load([snapshot], keep_deleted=True)
    parts = _parts(replay, updates)
    order = sorted(parts.last, key=parts.last.__getitem__)
    versions: list[AuthorVersion] = []
    previous = parts.text_with({None}, replay)
    for count, author in enumerate(order, start=1):
        text = parts.text_with({None, *order[:count]}, replay)
        if text != previous:
            versions.append(AuthorVersion(author, text))
        previous = text
    return versions


@dataclass
class _Parts:
    """What each author added and deleted, as Yjs item ids."""

    base_deleted: IdRanges
    state: State
    added: dict[int | None, IdRanges] = field(default_factory=dict)
    deleted: dict[int | None, IdRanges] = field(default_factory=dict)
    #: author id -> the index of their last update
    last: dict[int, int] = field(default_factory=dict)

    def text_with(self, shown: set[int | None], replay: crdt.YDoc) -> str:
        """The document with the changes of the ``shown`` authors only."""
        hidden = _union(
            self.base_deleted,
            *(ids for who, ids in self.deleted.items() if who in shown),
            *(ids for who, ids in self.added.items() if who not in shown),
        )
        view = Doc.from_snapshot(Snapshot.decode(_write_snapshot(hidden, self.state)), replay)
        return crdt.text_of(view)


def _parts(replay: crdt.YDoc, updates: Sequence[tuple[int | None, bytes]]) -> _Parts:
    """Apply ``updates`` to ``replay`` (which keeps deleted items), noting who did what.

    The document's growth is read once per run of one author's updates.
    """
    reading = _Reading(replay)
    parts = _Parts(reading.deleted, reading.state)
    for index, (author, data) in enumerate(updates):
        if data and data != crdt.EMPTY_UPDATE:
            replay.apply_update(data)
        if author is not None:
            parts.last[author] = index
        if index + 1 < len(updates) and updates[index + 1][0] == author:
            continue
        added, deleted = reading.growth()
        for mine, new in ((parts.added, added), (parts.deleted, deleted)):
            ids = mine.setdefault(author, {})
            for client, ranges in new.items():
                ids.setdefault(client, []).extend(ranges)
    parts.state = reading.state
    return parts


class _Reading:
    """A document's delete set and state vector, read again after it changed.

    The delete set is parsed only when its bytes changed (a Yjs snapshot is the delete
    set followed by the state vector): most updates delete nothing.
    """

    def __init__(self, doc: crdt.YDoc) -> None:
        self.doc = doc
        self.deleted_bytes = b""
        self.deleted: IdRanges = {}
        self.state: State = {}
        self.growth()

    def growth(self) -> tuple[IdRanges, IdRanges]:
        """The items added and the items deleted since the last reading."""
        snapshot, state_bytes = Snapshot.from_doc(self.doc).encode(), self.doc.get_state()
        state = read_state(Reader(state_bytes))
        added = _growth(self.state, state)
        deleted_bytes = snapshot[: -len(state_bytes)]
        if snapshot.endswith(state_bytes) and deleted_bytes == self.deleted_bytes:
            gone: IdRanges = {}
        else:
            now, _ = _read_snapshot(snapshot)
            gone = _minus(now, self.deleted)
            self.deleted, self.deleted_bytes = now, deleted_bytes
        self.state = state
        return added, gone


# --- Item id ranges and Yjs snapshots (lib0 encoding: delete set, then state vector) ---


def _growth(before: State, after: State) -> IdRanges:
    """The items added between two state vectors."""
    return {
        client: [(before.get(client, 0), clock)]
        for client, clock in after.items()
        if clock > before.get(client, 0)
    }


def _normalised(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _union(*sets: IdRanges) -> IdRanges:
    clients = {client for ids in sets for client in ids}
    return {
        client: _normalised(r for ids in sets for r in ids.get(client, [])) for client in clients
    }


def _minus(ids: IdRanges, removed: IdRanges) -> IdRanges:
    """The ids of ``ids`` not in ``removed`` (both normalised)."""
    left: IdRanges = {}
    for client, ranges in ids.items():
        holes = removed.get(client, [])
        if ranges == holes:
            continue
        kept = _ranges_minus(ranges, holes)
        if kept:
            left[client] = kept
    return left


def _ranges_minus(
    ranges: list[tuple[int, int]], holes: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Sorted disjoint ranges minus sorted disjoint holes, in one pass over both."""
    kept: list[tuple[int, int]] = []
    hole = 0
    for start, end in ranges:
        at = start
        while hole < len(holes) and holes[hole][1] <= at:
            hole += 1
        probe = hole
        while probe < len(holes) and holes[probe][0] < end:
            if holes[probe][0] > at:
                kept.append((at, holes[probe][0]))
            at = max(at, holes[probe][1])
            probe += 1
        if at < end:
            kept.append((at, end))
    return kept


def _read_snapshot(data: bytes) -> tuple[IdRanges, State]:
    reader = Reader(data)
    deleted: IdRanges = {}
    for _ in range(reader.uint()):
        client = reader.uint()
        ranges = []
        for _ in range(reader.uint()):
            clock, length = reader.uint(), reader.uint()
            ranges.append((clock, clock + length))
        deleted[client] = _normalised(ranges)
    state = read_state(reader)
    return deleted, state


def _write_snapshot(deleted: IdRanges, state: State) -> bytes:
    out = bytearray(varuint(len(deleted)))
    for client, ranges in deleted.items():
        out += varuint(client) + varuint(len(ranges))
        for start, end in ranges:
            out += varuint(start) + varuint(end - start)
    out += varuint(len(state))
    for client, clock in state.items():
        out += varuint(client) + varuint(clock)
    return bytes(out)
