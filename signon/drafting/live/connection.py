"""One socket's life: the y-websocket conversation, with every message checked.

Whatever a message is, it is checked before anything changes: its form
(:mod:`.protocol`), its size, the socket's rate, and for a change to the document the
sender's right to write (re-asked of the database at most :data:`ACCESS_TTL` seconds
after the last time, and at once when the team or the letter's status changes). A
message that fails any check closes the socket and changes nothing: it is neither
stored, nor applied, nor sent on.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from flask import current_app

from signon.core import transaction
from signon.drafting.live import crdt, operations, protocol
from signon.drafting.live.clientids import ClientIdTakenError
from signon.drafting.live.hub import (
    CLOSE_ERROR,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_UNSUPPORTED,
    Connection,
    Hub,
    Room,
)
from signon.drafting.live.protocol import Kind, Presence, ProtocolError
from signon.drafting.live.queries import Access
from signon.drafting.live.yupdate import ForbiddenUpdateError

log = logging.getLogger(__name__)

#: The largest WebSocket message accepted (bigger ones close the socket, code 1009):
#: a paste of a whole long letter fits; a flood does not.
MAX_MESSAGE_BYTES = 512 * 1024
#: Messages per socket: a burst of this many, refilled at this rate per second.
RATE_BURST = 300
RATE_PER_SECOND = 100.0
#: A socket's right to write is asked of the database again after this many seconds.
ACCESS_TTL = 2.0
#: Presence entries (Yjs client ids) one socket may speak for.
MAX_CLIENT_IDS = 4


#: What the page shows for each refusal (the page stops reconnecting: it would be
#: refused again). 1011 and 1001 send nothing: the page reconnects.
EXPLANATIONS = {
    CLOSE_POLICY: "Live editing stopped: this page may not change the text, or sent too much"
    " at once. Reload the page.",
    CLOSE_TOO_BIG: "Your last change was not kept: the letter would be longer than its size"
    " limit. Copy what you typed last, then reload the page.",
    CLOSE_UNSUPPORTED: "Live editing stopped: this page sent something the server does not"
    " accept. Reload the page.",
}


class RefusedError(Exception):
    """The message breaks a rule: close the socket with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    @property
    def explanation(self) -> str | None:
        """What the person is told (None: nothing, the page reconnects)."""
        return EXPLANATIONS.get(self.code)


@dataclass
class RateLimit:
    """A token bucket per socket."""

    tokens: float = RATE_BURST
    at: float = field(default_factory=time.monotonic)

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(RATE_BURST, self.tokens + (now - self.at) * RATE_PER_SECOND)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def greeting(hub: Hub, room: Room) -> list[bytes]:
    """What the server sends first: its state vector (sync step 1) and who is here."""
    with room.lock:
        messages = [protocol.sync_step1(room.doc.get_state())]
    presence = hub.presence_message(room)
    if presence is not None:
        messages.append(presence)
    return messages


def handle(hub: Hub, room: Room, connection: Connection, data: bytes | str) -> None:
    """Check and act on one message; raise :class:`RefusedError` to close the socket."""
    try:
        message = protocol.parse(data)
    except ProtocolError as error:
        raise RefusedError(CLOSE_UNSUPPORTED, f"malformed message: {error}") from error
    if message.kind == Kind.STEP1:
        try:
            with room.lock:
                missing = room.doc.get_update(message.payload)
        except ValueError as error:
            raise RefusedError(CLOSE_UNSUPPORTED, "malformed state vector") from error
        connection.send(protocol.sync_step2(missing))
    elif message.kind.writes:
        _write(hub, room, connection, message.payload)
    elif message.kind == Kind.AWARENESS:
        _presence(hub, room, connection, message.payload)
    elif message.kind == Kind.QUERY_AWARENESS:
        presence = hub.presence_message(room)
        if presence is not None:
            connection.send(presence)


def _write(hub: Hub, room: Room, connection: Connection, update: bytes) -> None:
    if update == crdt.EMPTY_UPDATE:
        return  # "nothing new" (a sync step 2 of a client that is up to date)
    if time.monotonic() - connection.checked_at > ACCESS_TTL:
        hub.check(connection)
    if connection.access != Access.WRITE:
        raise RefusedError(CLOSE_POLICY, "this socket may not change the document")
    limits = crdt.Limits.for_letter(current_app.config["SIGNON"].max_body_chars)
    try:
        admitted = room.admit(update, limits, connection.user_id)
    except ClientIdTakenError as error:
        raise RefusedError(CLOSE_POLICY, f"update refused: {error}") from error
    except crdt.TooBigError as error:
        raise RefusedError(CLOSE_TOO_BIG, str(error)) from error
    except ForbiddenUpdateError as error:
        raise RefusedError(CLOSE_UNSUPPORTED, f"update refused: {error}") from error
    except ValueError as error:
        raise RefusedError(CLOSE_UNSUPPORTED, f"malformed update: {error}") from error
    if admitted is None:
        return  # nothing the document lacks (or waiting for what it depends on)
    update = admitted
    try:
        operations.record_update(room.letter_id, update, connection.user_id)
        transaction.commit()
    except Exception as error:
        transaction.rollback()
        log.exception("live: could not store an update")
        raise RefusedError(CLOSE_ERROR, "the update could not be stored") from error
    hub.share_update(room, connection, update)


def _presence(hub: Hub, room: Room, connection: Connection, payload: bytes) -> None:
    """Relay presence, each state stamped with the socket's own user (no one poses as another)."""
    try:
        entries = protocol.read_awareness(payload)
    except ProtocolError as error:
        raise RefusedError(CLOSE_UNSUPPORTED, f"malformed presence: {error}") from error
    stamped = []
    for entry in entries:
        if not _speaks_for(room, connection, entry):
            continue
        if entry.client_id not in connection.client_ids and (
            len(connection.client_ids) >= MAX_CLIENT_IDS
        ):
            raise RefusedError(CLOSE_POLICY, "too many presence ids on one socket")
        connection.client_ids[entry.client_id] = entry.clock
        state = entry.state
        if state is not None:
            claimed = state.get("user") if isinstance(state.get("user"), dict) else {}
            colour = claimed.get("color") if isinstance(claimed, dict) else None
            state = {
                **state,
                "user": {
                    "id": connection.user_id,
                    "name": connection.name,
                    "color": colour if isinstance(colour, str) and len(colour) <= 32 else "",
                    "canEdit": connection.access == Access.WRITE,
                },
            }
        stamped.append(Presence(entry.client_id, entry.clock, state))
    if stamped:
        hub.share_presence(room, connection, stamped)


def _speaks_for(room: Room, connection: Connection, entry: Presence) -> bool:
    """Whether this socket may announce (or withdraw) the presence of ``entry``'s client id.

    A presence id belongs to the socket that announced it first; while it is in the room
    (announced on this server or relayed from another) no other person's socket changes or
    removes it. The browser's provider (y-websocket) sends back the others' presence it
    receives: those entries are dropped, not stamped with the echoing person's name, and
    not counted as the socket's own (which its closing would remove for everyone). The
    same person's new socket takes their id over (a reconnection the server has not yet
    noticed the end of: the old socket's closing then removes nothing).
    """
    if entry.client_id in connection.client_ids:
        return True
    with room.lock:
        held = room.presence.get(entry.client_id)
        if held is None:
            return entry.state is not None
        user = held.state.get("user") if held.state is not None else None
        if not isinstance(user, dict) or user.get("id") != connection.user_id:
            return False
        for other in room.connections:
            if other is not connection:
                other.client_ids.pop(entry.client_id, None)
        return True


def serve(hub: Hub, socket: object, connection: Connection) -> None:
    """Run the socket until it closes (the caller closes it afterwards)."""
    room = hub.join(connection)
    limit = RateLimit()
    try:
        for message in greeting(hub, room):
            connection.send(message)
        while not connection.closed:
            data = socket.receive(timeout=5)  # type: ignore[attr-defined]
            if data is None:
                continue
            try:
                if not limit.take():
                    raise RefusedError(CLOSE_POLICY, "too many messages")
                handle(hub, room, connection, data)
            except RefusedError as refused:
                connection.close(refused.code, refused.reason, refused.explanation)
    finally:
        hub.leave(connection)
