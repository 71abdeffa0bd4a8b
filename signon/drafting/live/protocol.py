"""The y-websocket protocol, read strictly: anything else is a :class:`ProtocolError`.

A message is ``varuint type`` then, for type 0 (sync), ``varuint step`` and one
length-prefixed byte string (step 1: a state vector; step 2 and update: a Yjs update);
for type 1 (awareness), one length-prefixed awareness update; type 3 asks for the
awareness states and carries nothing. Every byte must be accounted for.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from pycrdt import YMessageType, YSyncMessageType

#: y-websocket's "query awareness" message (not in pycrdt's enum).
QUERY_AWARENESS = 3
#: A presence state larger than this (JSON) is refused: a name, a colour, a cursor.
MAX_AWARENESS_STATE = 2048


class ProtocolError(ValueError):
    """The message is not one the protocol allows: the socket is closed."""


class Kind(enum.StrEnum):
    STEP1 = "step1"
    STEP2 = "step2"
    UPDATE = "update"
    AWARENESS = "awareness"
    QUERY_AWARENESS = "query_awareness"

    @property
    def writes(self) -> bool:
        """Whether the message carries changes to the document."""
        return self in (Kind.STEP2, Kind.UPDATE)


@dataclass(frozen=True)
class Message:
    kind: Kind
    payload: bytes


class Reader:
    """Reads lib0's encoding: variable-length unsigned numbers and byte strings."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def uint(self) -> int:
        value = shift = 0
        while True:
            if self.at >= len(self.data) or shift > 49:
                raise ProtocolError("truncated or overlong number")
            byte = self.data[self.at]
            self.at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    def bytes(self) -> bytes:
        length = self.uint()
        end = self.at + length
        if end > len(self.data):
            raise ProtocolError("truncated byte string")
        chunk = self.data[self.at : end]
        self.at = end
        return chunk

    def end(self) -> None:
        if self.at != len(self.data):
            raise ProtocolError("trailing bytes")


def varuint(value: int) -> bytes:
    """``value`` in lib0's variable-length encoding (7 bits a byte, low first)."""
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(chunk: bytes) -> bytes:
    return varuint(len(chunk)) + chunk


_SYNC_KINDS = {
    YSyncMessageType.SYNC_STEP1: Kind.STEP1,
    YSyncMessageType.SYNC_STEP2: Kind.STEP2,
    YSyncMessageType.SYNC_UPDATE: Kind.UPDATE,
}


def parse(data: bytes | str) -> Message:
    """The message in ``data`` (a binary WebSocket frame); raises :class:`ProtocolError`."""
    if not isinstance(data, bytes):
        raise ProtocolError("text frame")
    reader = Reader(data)
    kind = reader.uint()
    if kind == YMessageType.SYNC:
        step = reader.uint()
        if step not in _SYNC_KINDS:
            raise ProtocolError("unknown sync step")
        message = Message(_SYNC_KINDS[YSyncMessageType(step)], reader.bytes())
    elif kind == YMessageType.AWARENESS:
        message = Message(Kind.AWARENESS, reader.bytes())
    elif kind == QUERY_AWARENESS:
        message = Message(Kind.QUERY_AWARENESS, b"")
    else:
        raise ProtocolError("unknown message type")
    reader.end()
    return message


def read_state(reader: Reader) -> dict[int, int]:
    """A Yjs state vector (client id -> the next clock), the last thing ``reader`` holds."""
    state = {reader.uint(): reader.uint() for _ in range(reader.uint())}
    reader.end()
    return state


def sync_step1(state_vector: bytes) -> bytes:
    return bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP1]) + _string(state_vector)


def sync_step2(update: bytes) -> bytes:
    return bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + _string(update)


def update_message(update: bytes) -> bytes:
    return bytes([YMessageType.SYNC, YSyncMessageType.SYNC_UPDATE]) + _string(update)


def awareness_message(update: bytes) -> bytes:
    return bytes([YMessageType.AWARENESS]) + _string(update)


#: y-protocols' auth message (type 2) and its one kind, "permission denied" (0).
AUTH, PERMISSION_DENIED = 2, 0


def permission_denied(reason: str) -> bytes:
    """y-protocols' "permission denied" with a reason for the person: sent before a refused
    socket is closed, so that the page can say why and stop reconnecting whatever close
    code reaches the browser (behind Werkzeug it sees 1006, not the server's 1008)."""
    return bytes([AUTH, PERMISSION_DENIED]) + _string(reason.encode())


#: Signon's own message, from the server only (after y-protocols' types 0-3): a version
#: of the text was saved. One JSON string: the revision now last saved (``revision``, its
#: author's ``author`` name, ``saved_at`` in ISO 8601), whether the live text still has
#: changes in no revision (``unsaved``) and the live document as the revision holds it
#: (``snapshot``: a Yjs snapshot, base64, or null; ``queries.saved_state``).
#: static/js/live.js shows it on the page that follows the text.
SAVED = 100


def saved_message(state: dict[str, Any]) -> bytes:
    return varuint(SAVED) + _string(json.dumps(state).encode())


# --- Presence (awareness) -------------------------------------------------------------


@dataclass(frozen=True)
class Presence:
    """One client's presence: its Yjs client id, clock and state (None: it left)."""

    client_id: int
    clock: int
    state: dict[str, Any] | None


def read_awareness(update: bytes) -> list[Presence]:
    """The entries of an awareness update; raises :class:`ProtocolError`."""
    reader = Reader(update)
    entries = []
    for _ in range(reader.uint()):
        client_id, clock = reader.uint(), reader.uint()
        raw = reader.bytes()
        if len(raw) > MAX_AWARENESS_STATE:
            raise ProtocolError("presence state too large")
        try:
            state = json.loads(raw.decode()) if raw else None
        except (UnicodeDecodeError, ValueError) as error:
            raise ProtocolError("presence state is not JSON") from error
        if state is not None and not isinstance(state, dict):
            raise ProtocolError("presence state is not an object")
        entries.append(Presence(client_id, clock, state))
    reader.end()
    return entries


def write_awareness(entries: list[Presence]) -> bytes:
    out = bytearray(varuint(len(entries)))
    for entry in entries:
        state = json.dumps(entry.state, separators=(",", ":")).encode()
        out += varuint(entry.client_id) + varuint(entry.clock) + _string(state)
    return bytes(out)
