"""A strict reader of Yjs updates (v1 encoding): what an update touches, before it is applied.

pycrdt applies any well-formed update: new top-level types, maps, arrays, embedded
objects, formatting, sub-documents. The live document is one ``Y.Text`` of plain text
(:mod:`.crdt`), so an update from a socket may only insert strings into that text (or
carry items already deleted, and deletions): anything else would be stored and loaded
by every later opener. This reader walks the update's structs (the format of Yjs's
``readClientsStructRefs`` and ``readDeleteSet``, v1) and refuses everything else;
every byte must be accounted for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from signon.drafting.live.protocol import ProtocolError, Reader

# Struct kinds (the low 5 bits of an item's info byte; 0 and 10 are not items).
_GC, _DELETED, _STRING, _SKIP = 0, 1, 4, 10
_ORIGIN, _RIGHT_ORIGIN, _PARENT_SUB = 0x80, 0x40, 0x20
#: Yjs clocks and lengths are 32-bit (yrs reads larger ones wrongly rather than failing).
_MAX_CLOCK = 2**32 - 1
_NAMES = {
    2: "JSON",
    3: "binary",
    5: "embed",
    6: "format",
    7: "nested type",
    8: "any",
    9: "sub-document",
}


class MalformedUpdateError(ProtocolError):
    """The bytes are not a Yjs v1 update."""


class ForbiddenUpdateError(ValueError):
    """A well-formed update that touches something other than the shared text."""


@dataclass(frozen=True)
class Shape:
    """What an update holds: how many writers' structs, items, deletion ranges."""

    clients: int
    items: int
    deletions: int
    #: each client id's structs: the clock after its last one (what a document holding
    #: them holds of that id); skipped ranges are not structs and not counted
    ends: dict[int, int] = field(default_factory=dict)


class _Reader(Reader):
    """lib0's numbers and strings (:class:`protocol.Reader`), and Yjs's 32-bit clocks."""

    def clock(self) -> int:
        value = self.uint()
        if value > _MAX_CLOCK:
            raise MalformedUpdateError("clock or length out of range")
        return value

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise MalformedUpdateError("truncated struct")
        self.at += 1
        return self.data[self.at - 1]


def _item(reader: _Reader, info: int, text_name: bytes) -> int:
    """Read one item's origins, parent and content; refuse what is not plain text.

    Returns the item's length in clock units (UTF-16 code units for a string, as Yjs).
    """
    kind = info & 0x1F
    if info & _ORIGIN:
        reader.uint(), reader.clock()
    if info & _RIGHT_ORIGIN:
        reader.uint(), reader.clock()
    if not info & (_ORIGIN | _RIGHT_ORIGIN):  # no neighbour: the parent is written out
        if reader.uint() != 1:
            raise ForbiddenUpdateError("an item inside a nested type")
        if reader.bytes() != text_name:
            raise ForbiddenUpdateError("another top-level type")
        if info & _PARENT_SUB:
            raise ForbiddenUpdateError("a map entry")
    if kind == _DELETED:
        return reader.clock()
    if kind == _STRING:
        try:
            text = reader.bytes().decode()
        except UnicodeDecodeError as error:
            raise MalformedUpdateError("a string that is not UTF-8") from error
        return len(text.encode("utf-16-le")) // 2
    raise ForbiddenUpdateError(f"{_NAMES.get(kind, 'unknown')} content")


def read(update: bytes, text_name: str) -> Shape:
    """The shape of ``update``; raises :class:`MalformedUpdateError` or
    :class:`ForbiddenUpdateError`."""
    reader = _Reader(update)
    name = text_name.encode()
    clients = reader.uint()
    items = 0
    ends: dict[int, int] = {}
    for _ in range(clients):
        structs = reader.uint()
        client = reader.uint()
        clock = reader.clock()
        for _ in range(structs):
            info = reader.byte()
            if (info & 0x1F) in (_GC, _SKIP):
                clock += reader.clock()
            else:
                clock += _item(reader, info, name)
                items += 1
            if clock > _MAX_CLOCK:
                raise MalformedUpdateError("clock out of range")
            if info & 0x1F != _SKIP:
                ends[client] = max(ends.get(client, 0), clock)
    deletions = 0
    for _ in range(reader.uint()):
        reader.uint()  # client id
        ranges = reader.uint()
        for _ in range(ranges):
            if reader.clock() + reader.clock() > _MAX_CLOCK:  # clock, length
                raise MalformedUpdateError("deletion out of range")
        deletions += ranges
    reader.end()
    return Shape(clients, items, deletions, ends)
