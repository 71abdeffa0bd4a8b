"""Helpers for the invitation and invitee tests (holds no tests; named to stay in my files).

- ``invited(letter, ...)``: an invitation made through the real operation (with its link);
- ``png``/``jpeg``: small images made with Pillow;
- ``RefusingMailServer``: an aiosmtpd server that answers "550" for some addresses
  and keeps the others, to test invitations that fail to send.
"""

from __future__ import annotations

import io
import itertools
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from flask import Flask
from PIL import Image

from signon.accounts.models import User
from signon.core.permissions import TeamRole
from signon.letters.models import Letter
from signon.signatures import invitations as ops
from signon.signatures import links
from signon.signatures.models import Invitation
from tests.factories import add_team_member, make_letter, make_organisation, make_user
from tests.smtp import MailCatcher, _free_port

_counter = itertools.count(1)

LINK = re.compile(r"https?://[^\s<>\"]+/sign/[A-Za-z0-9_-]+")


def coordinated_letter(**fields: Any) -> tuple[User, Letter]:
    """A coordinator and their letter, with a drafting organisation on the team."""
    coordinator = make_user(name=fields.pop("coordinator_name", "Cora Coordinator"))
    letter = make_letter(coordinator, **fields)
    drafting = make_organisation(f"Drafting Org {next(_counter)}")
    add_team_member(letter, role=TeamRole.VIEWER, organisation=drafting, drafting=True)
    return coordinator, letter


def invited(
    letter: Letter,
    by: User,
    *,
    name: str | None = None,
    email: str | None = None,
) -> Invitation:
    n = next(_counter)
    return ops.invite_organisation(
        letter,
        organisation_name=name or f"Invited Org {n}",
        email=email or f"contact{n}@org{n}.example.org",
        invited_by=by,
    )


def token_of(invitation: Invitation) -> str:
    return links.invitation_token(invitation)


def sign_path(invitation: Invitation, suffix: str = "") -> str:
    return f"/sign/{token_of(invitation)}{suffix}"


def link_in(message: EmailMessage) -> str:
    found = LINK.search(MailCatcher.text_of(message))
    assert found is not None, "no invitation link in the message"
    return found.group(0)


def image_bytes(
    width: int = 40,
    height: int = 20,
    *,
    fmt: str = "PNG",
    mode: str = "RGB",
    color: Any = (200, 30, 30),
    **save: Any,
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def png_bomb(side: int = 20_000) -> bytes:
    """A few dozen KB on disk, ``side``² pixels once decoded (1 bit per pixel)."""
    buffer = io.BytesIO()
    Image.new("1", (side, side), 0).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>alert(1)</script><rect width="10" height="10"/></svg>'
)


class _RefusingHandler:
    def __init__(self, server: RefusingMailServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.server.refuses(address):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.server.lock:
            self.server.accepted.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


class RefusingMailServer:
    """An SMTP server that refuses every address containing ``refuse_marker``."""

    def __init__(self, refuse_marker: str = "refuse") -> None:
        self.refuse_marker = refuse_marker
        self.port = _free_port()
        self.accepted: list[str] = []
        self.lock = threading.Lock()
        self.controller = Controller(_RefusingHandler(self), hostname="127.0.0.1", port=self.port)

    def refuses(self, address: str) -> bool:
        return self.refuse_marker in address


@contextmanager
def refusing_mail_server(app: Flask, refuse_marker: str = "refuse") -> Iterator[RefusingMailServer]:
    """Point the app's mail at a refusing server for the duration of the block."""
    server = RefusingMailServer(refuse_marker)
    server.controller.start()
    state = app.extensions["mailman"]
    original = state.port
    state.port = server.port
    try:
        yield server
    finally:
        state.port = original
        server.controller.stop()
