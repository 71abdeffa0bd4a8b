"""The live documents this process holds open, their sockets, and the relay between servers.

One :class:`Hub` per app. A :class:`Room` is one letter's document in memory (pycrdt),
loaded from the database when its first socket opens and dropped when its last closes.
An update accepted on one socket is stored first (:mod:`.operations`), then applied to
the room, sent to the room's other sockets and published to the other app servers:
through Redis (one channel per letter under ``<job_queue>:live:``) when
``SIGNON_REDIS_URL`` is set, where each server applies it to its own room and forwards
it to its sockets; without Redis (``make run``, one process) the room is the only copy.

The same relay carries presence (awareness) and "check access again" (a team change or
a freeze, after its commit), so that a removed drafter is cut off on every server.
A maintenance thread re-checks every socket's access now and then (a backstop for
changes no signal reports, e.g. leaving an organisation) and runs the auto-save of the
documents held here.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Flask, current_app

from signon.core import transaction
from signon.drafting.live import clientids, crdt, operations, protocol, queries
from signon.drafting.live.protocol import Presence
from signon.drafting.live.queries import Access
from signon.extensions import db

log = logging.getLogger(__name__)

#: Seconds between two re-checks of every open socket's access by the maintenance thread.
RECHECK_SECONDS = 10.0

# WebSocket close codes (RFC 6455) and why.
CLOSE_POLICY = 1008  # not allowed: read-only socket, removed from the team, frozen letter
CLOSE_UNSUPPORTED = 1003  # malformed message
CLOSE_TOO_BIG = 1009  # message or document over the limit
CLOSE_ERROR = 1011  # the server could not store the update
CLOSE_GOING_AWAY = 1001

#: What the page shows when its socket loses the right it had (removed from the team, made
#: a viewer, logged out elsewhere, the text frozen): the same words whatever the cause,
#: which the page's reload then shows in full.
NO_LONGER_EDIT = (
    "You can no longer edit this letter here (your access changed or the text was frozen)."
    " Reload the page to see it as it is now."
)
NO_LONGER_READ = (
    "You can no longer follow this letter's text here (your access changed or the text was"
    " frozen). Reload the page to see it as it is now."
)

#: An update of at most this many bytes is taken without a trial on a copy of the document
#: while the room is far enough from its limits (a keystroke; see :meth:`Room.admit`).
FAST_UPDATE_BYTES = 1024
#: No update grows the document's encoded state by more than this many bytes per byte of
#: its own (an insertion or a deletion range splits at most two existing items).
GROWTH_PER_BYTE = 32


class Socket(Protocol):
    def send(self, data: bytes) -> None: ...
    def close(self, reason: int | None = None, message: str | None = None) -> None: ...


@dataclass(eq=False)
class Connection:
    """One open socket: whose it is and what it may do (re-checked as it goes)."""

    socket: Socket
    letter_id: int
    user_id: int
    name: str
    access: Access
    #: the login session it was opened under (``User.session_token``); rotated: closed
    session_token: str | None = None
    checked_at: float = field(default_factory=time.monotonic)
    #: Yjs client ids whose presence this socket announced (removed when it closes).
    client_ids: dict[int, int] = field(default_factory=dict)
    closed: bool = False
    send_lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            with self.send_lock:
                if self.closed:  # closed while this thread waited for the lock
                    return
                self.socket.send(data)
        except Exception:  # the socket is gone: its own loop ends it
            self.closed = True

    def close(self, code: int, reason: str, explanation: str | None = None) -> None:
        """Close the socket; ``explanation`` (for the person) is sent first as a refusal,
        which tells the page not to reconnect (see :func:`protocol.permission_denied`)."""
        if self.closed:
            return
        if explanation is not None:
            self.send(protocol.permission_denied(explanation))
        # Under the send lock: another thread relaying an update or presence to this socket
        # must not write its frame into the middle of the close frame (the browser then
        # reports "Invalid frame header" and sees 1006 instead of ``code``).
        with self.send_lock:
            if self.closed:
                return
            self.closed = True
            log.info(
                "live socket closed: letter=%s user=%s %s", self.letter_id, self.user_id, reason
            )
            try:
                self.socket.close(reason=code, message=reason)
            except Exception:  # already closed by the other side
                log.debug("closing an already closed socket", exc_info=True)


class Room:
    """One letter's live document in this process."""

    def __init__(self, letter_id: int) -> None:
        self.letter_id = letter_id
        self.doc: crdt.YDoc = crdt.new_doc()
        self.lock = threading.RLock()
        self.connections: set[Connection] = set()
        self.presence: dict[int, Presence] = {}
        self.loaded = threading.Event()
        self.load_error: BaseException | None = None
        #: at least ``len(doc.get_update())``: exact after a trial, raised by every apply
        self.state_bytes = 0
        #: who writes with each Yjs client id (:mod:`.clientids`)
        self.owners: clientids.Owners = {}

    def apply(self, update: bytes) -> None:
        with self.lock:
            self.doc.apply_update(update)
            self.state_bytes += GROWTH_PER_BYTE * len(update)

    def admit(self, update: bytes, limits: crdt.Limits, writer: int) -> bytes | None:
        """The update to store and share, checked against this document and its limits.

        Its shape first (plain text into the shared ``Y.Text`` only: :func:`crdt.check_shape`).
        A small update is then taken as it is when even its largest possible growth keeps
        the room within ``limits``; any other is tried on a copy of the document
        (:func:`crdt.try_update`), which measures the result exactly and gives what the
        document really gains (a passage inserted and deleted in the same update is kept
        as its length, what the document had is left out): that is stored, not what was
        sent. None: nothing new. Raises ``ValueError`` (see :func:`crdt.check_shape`), or
        :class:`clientids.ClientIdTakenError` for new items under another ``writer``'s id.
        """
        shape = crdt.check_shape(update)
        with self.lock:
            clientids.check(self.owners, shape, writer, self.doc)
            chars = len(crdt.text_of(self.doc))
            growth = GROWTH_PER_BYTE * len(update)
            if (
                len(update) <= FAST_UPDATE_BYTES
                and self.state_bytes + growth <= limits.state_bytes
                and chars + len(update) <= limits.chars
            ):
                return update
            state = self.doc.get_update()
            self.state_bytes = len(state)
            return crdt.try_update(state, update, limits).delta

    def others(self, sender: Connection | None) -> list[Connection]:
        with self.lock:
            return [c for c in self.connections if c is not sender]


# Relay message kinds (one byte after the 16-byte server id).
UPDATE, AWARENESS, RECHECK = b"U", b"A", b"R"
#: "A version was saved": each server tells its own sockets (:meth:`Hub.tell_saved`).
SAVED = b"S"
#: "Check one person's sockets again" (payload: the user id), on :data:`PEOPLE_CHANNEL`.
RECHECK_PERSON = b"P"
#: The relay channel (after the prefix) of messages about a person, not a letter (letter
#: ids start at 1).
PEOPLE_CHANNEL = 0


class Hub:
    """The rooms of one app (process), and the relay to the other app servers."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server_id = uuid.uuid4().bytes
        self.rooms: dict[int, Room] = {}
        self.lock = threading.Lock()
        settings = app.config["SIGNON"]
        self.redis_url: str = settings.redis_url
        self.channel_prefix = f"{settings.job_queue}:live:"
        self._redis: Any = None
        self._threads_started = False
        self._stopping = threading.Event()

    # --- Rooms -------------------------------------------------------------------------

    def join(self, connection: Connection) -> Room:
        """Add the socket to its letter's room, loading the room if this is the first."""
        self._start_threads()
        with self.lock:
            room = self.rooms.get(connection.letter_id)
            loader = room is None
            if room is None:
                room = self.rooms[connection.letter_id] = Room(connection.letter_id)
            room.connections.add(connection)
        if loader:
            self._load(room)
        room.loaded.wait(timeout=30)
        if room.load_error is not None or not room.loaded.is_set():
            self.leave(connection)
            raise RuntimeError("the live document could not be loaded")
        return room

    def _load(self, room: Room) -> None:
        from signon.letters.models import Letter

        try:
            letter = db.session.get(Letter, room.letter_id)
            assert letter is not None
            live, doc, update = operations.open_document(letter)
            room.owners = clientids.stored(
                live.snapshot,
                [(row.author_id, row.data) for row in queries.pending_updates(letter.id)],
            )
            transaction.commit()
            state = doc.get_update()
            room.apply(state)
            room.state_bytes = len(state)
            if update is not None:
                self.publish_update(room.letter_id, update, None)
        except BaseException as error:
            transaction.rollback()
            room.load_error = error
            with self.lock:
                if self.rooms.get(room.letter_id) is room:
                    del self.rooms[room.letter_id]
            raise
        finally:
            room.loaded.set()

    def leave(self, connection: Connection) -> None:
        room = self.rooms.get(connection.letter_id)
        if room is None:
            return
        gone = []
        with room.lock:
            room.connections.discard(connection)
            for client_id, clock in connection.client_ids.items():
                if client_id in room.presence:
                    del room.presence[client_id]
                    gone.append(Presence(client_id, clock + 1, None))
        with self.lock:
            if not room.connections and self.rooms.get(room.letter_id) is room:
                del self.rooms[room.letter_id]
        if gone:
            self.share_presence(room, None, gone)

    # --- Fan-out -----------------------------------------------------------------------

    def share_update(self, room: Room, sender: Connection | None, update: bytes) -> None:
        """Apply a stored update to the room, send it to the others, publish it.

        ``sender`` None: the server's own edit (its ids are nobody's); a socket's update
        was checked and its ids claimed by :meth:`Room.admit`.
        """
        author = None if sender is None else sender.user_id
        if sender is None:
            with room.lock:
                clientids.record(room.owners, update, None)
        room.apply(update)
        message = protocol.update_message(update)
        for connection in room.others(sender):
            connection.send(message)
        self.publish_update(room.letter_id, update, author)

    def publish_update(self, letter_id: int, update: bytes, author: int | None) -> None:
        """Publish a stored update with its author (8 bytes, 0: the server's own edit),
        so that the other servers know whose its client ids are."""
        self.publish(letter_id, UPDATE, (author or 0).to_bytes(8, "big") + update)

    def share_presence(
        self, room: Room, sender: Connection | None, entries: list[Presence]
    ) -> None:
        with room.lock:
            for entry in entries:
                if entry.state is not None:
                    room.presence[entry.client_id] = entry
        encoded = protocol.write_awareness(entries)
        message = protocol.awareness_message(encoded)
        for connection in room.others(sender):
            connection.send(message)
        self.publish(room.letter_id, AWARENESS, encoded)

    def presence_message(self, room: Room) -> bytes | None:
        with room.lock:
            entries = list(room.presence.values())
        return protocol.awareness_message(protocol.write_awareness(entries)) if entries else None

    def publish(self, letter_id: int, kind: bytes, payload: bytes) -> None:
        """Tell the other app servers (nothing to do without Redis: this is the only one)."""
        if not self.redis_url:
            return
        try:
            self._client().publish(
                f"{self.channel_prefix}{letter_id}", self.server_id + kind + payload
            )
        except Exception:  # the update is stored: other servers get it when they reload
            log.exception("live: could not publish to Redis")

    def deliver(self, letter_id: int, kind: bytes, payload: bytes) -> None:
        """What another server published: apply it here (rooms this process holds only)."""
        if kind == RECHECK:
            self.recheck(letter_id)
            return
        if kind == RECHECK_PERSON:
            self.recheck(user_id=int(payload))
            return
        if kind == SAVED:
            self.tell_saved(letter_id)
            return
        room = self.rooms.get(letter_id)
        if room is None or not room.loaded.is_set():
            if room is None:
                return
            room.loaded.wait(timeout=30)
        if kind == UPDATE:
            author, update = int.from_bytes(payload[:8], "big") or None, payload[8:]
            with room.lock:
                clientids.record(room.owners, update, author)
            room.apply(update)
            message = protocol.update_message(update)
        elif kind == AWARENESS:
            entries = protocol.read_awareness(payload)
            with room.lock:
                for entry in entries:
                    if entry.state is None:
                        room.presence.pop(entry.client_id, None)
                    else:
                        room.presence[entry.client_id] = entry
            message = protocol.awareness_message(payload)
        else:
            return
        for connection in room.others(None):
            connection.send(message)

    # --- Access ------------------------------------------------------------------------

    def access_changed(self, letter_id: int) -> None:
        """Who may do what on the letter changed (committed): re-check every server's sockets."""
        self.recheck(letter_id)
        self.publish(letter_id, RECHECK, b"")

    def person_changed(self, user_id: int) -> None:
        """What this person may reach changed (committed): they left an organisation, or
        their sessions ended. Re-check their sockets on every server."""
        self.recheck(user_id=user_id)
        self.publish(PEOPLE_CHANNEL, RECHECK_PERSON, str(user_id).encode())

    def recheck(self, letter_id: int | None = None, *, user_id: int | None = None) -> None:
        """Ask the database again what each socket (of one letter, of one person, or
        all) may do."""
        with self.lock:
            rooms = [r for r in self.rooms.values() if letter_id in (None, r.letter_id)]
        connections = [
            connection
            for room in rooms
            for connection in room.others(None)
            if user_id in (None, connection.user_id)
        ]
        if not connections:
            return
        with self.app.app_context():
            try:
                for connection in connections:
                    self.check(connection)
            finally:
                db.session.remove()

    def check(self, connection: Connection) -> Access:
        """The socket's access, asked now; a socket that lost what it had is closed."""
        access = queries.access_of(
            connection.letter_id, connection.user_id, connection.session_token
        )
        db.session.rollback()  # end the read: a socket lives long
        connection.checked_at = time.monotonic()
        if access < connection.access:
            explanation = NO_LONGER_EDIT if connection.access == Access.WRITE else NO_LONGER_READ
            connection.access = Access.NONE
            connection.close(CLOSE_POLICY, "access withdrawn or letter frozen", explanation)
        else:
            connection.access = access
        return connection.access

    # --- Threads -----------------------------------------------------------------------

    def _client(self) -> Any:
        if self._redis is None:
            from redis import Redis

            self._redis = Redis.from_url(self.redis_url)
        return self._redis

    def _start_threads(self) -> None:
        with self.lock:
            if self._threads_started:
                return
            self._threads_started = True
        self._spawn("signon-live-maintenance", self._maintain)
        if self.redis_url:
            self._spawn("signon-live-relay", self._listen)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        threading.Thread(target=target, name=name, daemon=True).start()

    def _listen(self) -> None:
        """Apply what the other servers publish (reconnecting after a Redis failure)."""
        while not self._stopping.is_set():
            try:
                pubsub = self._client().pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(f"{self.channel_prefix}*")
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    self._on_relay(message["channel"], message["data"])
            except Exception:
                log.exception("live: Redis relay failed; reconnecting")
                time.sleep(1.0)

    def _on_relay(self, channel: bytes, data: bytes) -> None:
        if data[:16] == self.server_id or len(data) < 17:
            return
        try:
            letter_id = int(channel.decode().rsplit(":", 1)[1])
            self.deliver(letter_id, data[16:17], data[17:])
        except Exception:
            log.exception("live: could not apply a relayed message")

    def _maintain(self) -> None:
        settings = self.app.config["SIGNON"]
        last_check = time.monotonic()
        while not self._stopping.wait(min(5.0, max(0.2, settings.live_autosave_seconds / 4))):
            try:
                if time.monotonic() - last_check >= RECHECK_SECONDS:
                    last_check = time.monotonic()
                    self.recheck()
                if self.rooms:
                    self.autosave(settings.live_autosave_seconds)
            except Exception:
                log.exception("live: maintenance failed")

    def autosave(self, quiet_seconds: int) -> None:
        """Save the quiet documents (held here or not), then tell their editors."""
        with self.app.app_context():
            try:
                saved = operations.autosave_quiet(quiet_seconds)
                transaction.commit()
            except Exception:
                transaction.rollback()
                raise
            finally:
                db.session.remove()
        for letter_id, result in saved:
            self.after_save(letter_id, result.update)

    def after_save(self, letter_id: int, update: bytes | None) -> None:
        """A save (committed) edited the document: send the edit to every editor, then
        say again that the version is saved (:meth:`saved`, which the revisions' own
        announcement said before this edit reached the pages)."""
        if update is None:
            return
        room = self.rooms.get(letter_id)
        if room is not None and room.loaded.is_set():
            self.share_update(room, None, update)
        else:
            self.publish_update(letter_id, update, None)
        self.saved(letter_id)

    def saved(self, letter_id: int) -> None:
        """A revision of the letter was saved (committed), live or not: tell its sockets on
        every server which version is now the last saved one and whether the live text
        still has changes in none (:meth:`tell_saved`)."""
        self.tell_saved(letter_id)
        self.publish(letter_id, SAVED, b"")

    def tell_saved(self, letter_id: int) -> None:
        """Send ``queries.saved_state`` to the letter's sockets held here (none: no query)."""
        room = self.rooms.get(letter_id)
        connections = room.others(None) if room is not None else []
        if not connections:
            return
        with self.app.app_context():
            try:
                state = queries.saved_state(letter_id)
            finally:
                db.session.remove()
        if state is None:
            return
        message = protocol.saved_message(state)
        for connection in connections:
            connection.send(message)

    def stop(self) -> None:
        self._stopping.set()
        with self.lock:
            connections = [c for room in self.rooms.values() for c in room.connections]
        for connection in connections:
            connection.close(CLOSE_GOING_AWAY, "server stopping")


def hub(app: Flask | None = None) -> Hub:
    """The app's hub (made on first use)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("signon_live_hub")
    if found is None:
        with _HUB_LOCK:
            found = app.extensions.get("signon_live_hub")
            if found is None:
                found = app.extensions["signon_live_hub"] = Hub(app)
    result: Hub = found
    return result


_HUB_LOCK = threading.Lock()
