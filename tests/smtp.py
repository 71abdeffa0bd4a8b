"""A real SMTP server in-process (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler:
    def __init__(self, catcher: MailCatcher) -> None:
        self.catcher = catcher

    async def handle_EHLO(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        with self.catcher.lock:
            self.catcher.connections += 1
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.catcher.lock:
            self.catcher.messages.append(message)
        return "250 Message accepted for delivery"


class MailCatcher:
    def __init__(self) -> None:
        self.port = _free_port()
        self.messages: list[EmailMessage] = []
        #: SMTP sessions opened (EHLO greetings), to show a connection is reused.
        self.connections = 0
        self.lock = threading.Lock()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def restart(self) -> None:
        """Stop (dropping every open connection) and listen again on the same port."""
        self.controller.stop()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.connections = 0

    def __len__(self) -> int:
        return len(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    @staticmethod
    def text_of(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        assert part is not None, "message has no text/plain part"
        return str(part.get_content())

    @staticmethod
    def html_of(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("html",))
        assert part is not None, "message has no text/html part"
        return str(part.get_content())
