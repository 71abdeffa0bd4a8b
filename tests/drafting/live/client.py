"""A Python editor speaking the y-websocket protocol, as the browser's WebsocketProvider does.

It keeps its own pycrdt document: on connecting it sends sync step 1 and answers the
server's step 1 with step 2; every local edit is sent as an update, every update from
the server applied. Tests type with :meth:`LiveClient.insert` and read :attr:`text`.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pycrdt import Doc, Text, TransactionEvent
from simple_websocket import Client, ConnectionClosed

from signon.drafting.live import protocol
from signon.drafting.live.crdt import TEXT_NAME
from signon.drafting.live.protocol import Kind, Presence


def eventually(check: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Wait until ``check()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or check}")
        time.sleep(0.02)


def socket_url(server_url: str, slug: str) -> str:
    return server_url.replace("http://", "ws://", 1) + f"/letters/{slug}/live"


class LiveClient:
    def __init__(
        self,
        server_url: str,
        slug: str,
        cookie: str | None,
        *,
        origin: str | None = None,
        presence: dict[str, Any] | None = None,
    ) -> None:
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get(TEXT_NAME, type=Text)
        self.lock = threading.RLock()
        self.applying = False
        self.synced = threading.Event()
        self.received: list[bytes] = []
        self.presence: dict[int, dict[str, Any] | None] = {}
        #: What the server said of each version saved (``protocol.SAVED``), in order.
        self.saves: list[dict[str, Any]] = []
        #: the reason of the server's "permission denied" (y-protocols' auth message), if any
        self.denied: str | None = None
        #: Called (in the reader thread) after each update from the server is applied.
        self.on_update: Callable[[LiveClient], None] | None = None
        headers = {"Origin": origin if origin is not None else server_url}
        if cookie:
            headers["Cookie"] = f"session={cookie}"
        self.socket = Client.connect(socket_url(server_url, slug), headers=headers)
        self.closed = threading.Event()
        self.doc.observe(self._on_change)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.send(protocol.sync_step1(self.doc.get_state()))
        if presence is not None:
            self.announce(presence)

    # --- what a test does ---------------------------------------------------------------

    @property
    def body(self) -> str:
        with self.lock:
            return str(self.text)

    def insert(self, index: int, words: str) -> None:
        with self.lock:
            self.text.insert(len(self.body[:index].encode()), words)

    def append(self, words: str) -> None:
        with self.lock:
            self.text += words

    def replace(self, old: str, new: str) -> None:
        """Replace the first ``old`` with ``new`` in one change (a selection typed over)."""
        with self.lock, self.doc.transaction():
            start = len(self.body[: self.body.index(old)].encode())
            del self.text[start : start + len(old.encode())]
            self.text.insert(start, new)

    def announce(self, state: dict[str, Any], clock: int = 1) -> None:
        entry = Presence(self.doc.client_id, clock, state)
        self.send(protocol.awareness_message(protocol.write_awareness([entry])))

    def send(self, data: bytes | str) -> None:
        try:
            self.socket.send(data)
        except (ConnectionClosed, OSError):
            self.closed.set()

    @property
    def close_code(self) -> int:
        return int(self.socket.close_reason)

    def close(self) -> None:
        self.socket.close()
        self.reader.join(timeout=5)

    # --- the protocol -------------------------------------------------------------------

    def _on_change(self, event: TransactionEvent) -> None:
        if not self.applying and event.update != b"\x00\x00":
            self.send(protocol.update_message(event.update))

    def _read(self) -> None:
        try:
            while True:
                data = self.socket.receive()
                if data is None:
                    continue
                self.received.append(data)
                if isinstance(data, bytes) and data[:2] == bytes([protocol.AUTH, 0]):
                    reader = protocol.Reader(data)  # "permission denied": the close follows
                    reader.uint(), reader.uint()
                    self.denied = reader.bytes().decode()
                    continue
                if isinstance(data, bytes) and data[:1] == protocol.varuint(protocol.SAVED):
                    reader = protocol.Reader(data)
                    reader.uint()
                    self.saves.append(json.loads(reader.bytes()))
                    continue
                message = protocol.parse(data)
                with self.lock:
                    if message.kind == Kind.STEP1:
                        self.send(protocol.sync_step2(self.doc.get_update(message.payload)))
                    elif message.kind.writes:
                        self.applying = True
                        try:
                            self.doc.apply_update(message.payload)
                        finally:
                            self.applying = False
                        if message.kind == Kind.STEP2:
                            self.synced.set()
                    if message.kind.writes and self.on_update is not None:
                        self.on_update(self)
                    elif message.kind == Kind.AWARENESS:
                        for entry in protocol.read_awareness(message.payload):
                            self.presence[entry.client_id] = entry.state
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()


def handshake_status(server_url: str, slug: str, cookie: str | None, origin: str | None) -> int:
    """The HTTP status a WebSocket handshake gets (101: the socket opened)."""
    parts = urlsplit(server_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    if origin:
        headers["Origin"] = origin
    if cookie:
        headers["Cookie"] = f"session={cookie}"
    connection.request("GET", f"/letters/{slug}/live", headers=headers)
    status = connection.getresponse().status
    connection.close()
    return status
