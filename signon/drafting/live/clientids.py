"""Whose Yjs client ids are whose, per room: nobody writes new items under another's id.

Each editor's page is one Yjs client id, and Yjs assumes one writer per id: two people
writing items under the same id at the same instant make colliding clocks, the server
keeps one and drops the other, and the dropped one stays in its author's browser (the
copies diverge and that work is lost). So a client id belongs to the first person who
wrote new items with it in the room, and an update bringing new items (a clock beyond
what the document holds for that id) under someone else's id is refused. Deletions are
not items: anyone may delete anyone's text, and an update may carry items the document
already has (a sync step 2) whoever wrote them.

The room learns the owners when it loads (the stored updates not yet saved, with their
``author_id``) and as updates are admitted here or relayed from other servers (with
their author). The server's own edits (a save's text, a classic save taken in) belong
to nobody: no one may write new items under their ids. The ids whose updates were
compacted into the snapshot by a save are not attributed (the snapshot keeps no
author): the first person to write under one after the room loads takes it, so that a
browser reconnecting (its page keeps its id) after a save and a reload of the room can
go on typing; a different person's page never reuses an id (new pages draw new ids).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from signon.drafting.live import crdt, yupdate
from signon.drafting.live.protocol import ProtocolError, Reader, read_state

log = logging.getLogger(__name__)

#: client id -> the person who writes with it (None: the server's own edits, nobody)
Owners = dict[int, int | None]


class ClientIdTakenError(ValueError):
    """The update brings new items under a client id someone else writes with."""


def foreign_ids(owners: Owners, shape: yupdate.Shape, writer: int | None) -> list[int]:
    """The client ids in ``shape`` that ``writer`` does not own (nor nobody yet)."""
    return [c for c in shape.ends if c in owners and owners[c] != writer]


def check(owners: Owners, shape: yupdate.Shape, writer: int | None, doc: crdt.YDoc) -> None:
    """Refuse new items under another's id; then ``writer`` owns the ids no one had.

    Call under the room's lock (check and claim in one step, so that two people cannot
    both take a new id). A keystroke under the writer's own id reads no state vector.
    """
    foreign = foreign_ids(owners, shape, writer)
    if foreign:
        held = read_state(Reader(doc.get_state()))
        if any(shape.ends[c] > held.get(c, 0) for c in foreign):
            raise ClientIdTakenError("new items under another editor's client id")
    claim(owners, shape, writer)


def claim(owners: Owners, shape: yupdate.Shape, writer: int | None) -> None:
    for client in shape.ends:
        owners.setdefault(client, writer)


def record(owners: Owners, update: bytes, writer: int | None) -> None:
    """An update stored elsewhere (relayed, or the server's own): note who wrote its ids."""
    try:
        claim(owners, yupdate.read(update, crdt.TEXT_NAME), writer)
    except (ValueError, ProtocolError):
        log.warning("live: could not read the client ids of an update", exc_info=True)


def stored(snapshot: bytes, updates: Iterable[tuple[int | None, bytes]]) -> Owners:
    """The owners of the ids of the stored updates (oldest first, with their author).

    An id belongs to the author of the first update that brought new items under it
    (beyond the snapshot and the updates before); items a browser sent back that the
    document already had do not make them the sender's.
    """
    owners: Owners = {}
    held: dict[int, int] = {}
    for writer, update in [(-1, snapshot), *updates]:
        if not update or update == crdt.EMPTY_UPDATE:
            continue
        try:
            ends = yupdate.read(update, crdt.TEXT_NAME).ends
        except (ValueError, ProtocolError):
            log.warning("live: could not read a stored update's client ids", exc_info=True)
            continue
        for client, end in ends.items():
            if end > held.get(client, 0):
                held[client] = end
                if writer != -1:
                    owners.setdefault(client, writer)
    return owners
