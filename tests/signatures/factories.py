"""Test factories of the signatures feature (invitations, lifecycle, public sign-on).

Helpers for the invitation and invitee tests (holds no tests; named to stay in my files).

- ``invited(letter, ...)``: an invitation made through the real operation (with its link);
- ``png``/``jpeg``: small images made with Pillow;
- ``RefusingMailServer``: an aiosmtpd server that answers "550" for some addresses
  and keeps the others, to test invitations that fail to send.

Small factories for the signature state machine, lifecycle and reminder tests.

(Named ``test_lifecycle_*`` to stay within this area's files; it holds no tests.)
Invitations are created directly, with a real link from ``links.assign_new_link``;
approvals go through ``signon.signatures.approvals.operations``.

Helpers for the public sign-on tests (no tests here): public letters, signatures, requests.
"""

from __future__ import annotations

import io
import itertools
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller
from flask import Flask
from PIL import Image

from signon.accounts.models import User
from signon.core import transaction
from signon.core.permissions import TeamRole
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, Revision
from signon.signatures.approvals import operations
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations import links
from signon.signatures.invitations import operations as invitation_ops
from signon.signatures.invitations.links import assign_new_link
from signon.signatures.models import (
    Invitation,
    InvitationStatus,
    Moderation,
    SignatoryKind,
    Signature,
    SignatureSource,
    SignatureStatus,
)
from signon.signatures.public_signon import operations as public_ops
from tests.factories import add_team_member, make_letter, make_organisation, make_user
from tests.smtp import MailCatcher, _free_port

# --- invitations ------------------------------------------------------------

_invitation_counter = itertools.count(1)

LINK = re.compile(r"https?://[^\s<>\"]+/sign/[A-Za-z0-9_-]+")


def coordinated_letter(**fields: Any) -> tuple[User, Letter]:
    """A coordinator and their letter, with a drafting organisation on the team."""
    coordinator = make_user(name=fields.pop("coordinator_name", "Cora Coordinator"))
    letter = make_letter(coordinator, **fields)
    drafting = make_organisation(f"Drafting Org {next(_invitation_counter)}")
    add_team_member(letter, role=TeamRole.VIEWER, organisation=drafting, drafting=True)
    return coordinator, letter


def invited(
    letter: Letter,
    by: User,
    *,
    name: str | None = None,
    email: str | None = None,
) -> Invitation:
    n = next(_invitation_counter)
    return invitation_ops.invite_organisation(
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


# --- lifecycle ------------------------------------------------------------

_lifecycle_counter = itertools.count(1)


def make_invitation(
    letter: Letter,
    *,
    organisation_name: str | None = None,
    email: str | None = None,
    status: InvitationStatus = InvitationStatus.SENT,
    expires_at: datetime | None = None,
    sent_at: datetime | None = None,
    revoked: bool = False,
) -> Invitation:
    n = next(_lifecycle_counter)
    invitation = Invitation(
        letter=letter,
        organisation_name=organisation_name or f"Invited NGO {n}",
        email=email or f"contact{n}@ngo{n}.example.org",
        status=InvitationStatus.REVOKED if revoked else status,
        expires_at=expires_at or letter.deadline or utcnow() + timedelta(days=30),
        sent_at=sent_at if sent_at is not None else utcnow() - timedelta(days=20),
        revoked_at=utcnow() if revoked else None,
    )
    assign_new_link(invitation)
    return invitation


def approve_through(
    invitation: Invitation,
    *,
    name: str | None = None,
    revision: Revision | None = None,
    website: str | None = None,
) -> Signature:
    """The invitee approves the current text (or ``revision``) through their invitation."""
    letter = invitation.letter
    target = revision or letter.head()
    return operations.approve(
        letter,
        target,
        SignatoryDetails(
            name=name or invitation.organisation_name, website=website, authority_confirmed=True
        ),
        email=invitation.email,
        invitation=invitation,
        require_current=revision is None,
    )


def classify(revision: Revision, kind: ChangeKind) -> Revision:
    """Set a classification directly (no side effects), for state tests."""
    revision.change_kind = kind
    revision.classified_at = utcnow()
    db.session.flush()
    return revision


def endpoint_of(app: Flask, url: str) -> tuple[str, dict[str, object]]:
    """The endpoint an absolute URL from a mail resolves to, and its arguments."""
    parts = urlsplit(url)
    adapter = app.url_map.bind(parts.netloc or "localhost")
    endpoint, args = adapter.match(parts.path, method="GET")
    return str(endpoint), dict(args)


# --- public ------------------------------------------------------------

_public_counter = itertools.count(1)


def make_public_letter(coordinator: User | None = None, **fields: Any) -> Letter:
    fields.setdefault("is_public", True)
    fields.setdefault("addressee", "The Assembly of States Parties")
    return make_letter(coordinator or make_user(), **fields)


def sign_data(name: str = "Friends of the Court", **overrides: Any) -> public_ops.PublicRequestData:
    values: dict[str, Any] = {
        "name": name,
        "country": "Kenya",
        "kind": SignatoryKind.NGO,
        "representative_name": "Amina Otieno",
        "representative_title": "Director",
        "website": "https://friends.example.org",
        "authority_confirmed": True,
    }
    values.update(overrides)
    return public_ops.PublicRequestData(**values)


def make_signature(
    letter: Letter,
    name: str | None = None,
    *,
    status: SignatureStatus = SignatureStatus.APPROVED,
    moderation: Moderation = Moderation.NOT_NEEDED,
    source: SignatureSource = SignatureSource.INVITATION,
    country: str | None = "Chile",
    email: str | None = None,
    website: str | None = None,
    logo_filename: str | None = None,
) -> Signature:
    """A signature row as the other features leave them (approved the head by default)."""
    n = next(_public_counter)
    name = name or f"Organisation {n}"
    head = letter.head()
    signature = Signature(
        letter=letter,
        source=source,
        status=status,
        moderation=moderation,
        kind=SignatoryKind.NGO,
        country=country,
        email=email or f"contact{n}@org{n}.example.org",
        website=website,
        representative_name=f"Person {n}",
        revision_id=head.id if head else None,
        approved_sha256=head.content_sha256 if head else None,
        approved_at=utcnow(),
        logo_filename=logo_filename,
    )
    signature.rename(name)
    db.session.add(signature)
    db.session.flush()
    return signature


def ask(
    letter: Letter,
    name: str = "Friends of the Court",
    email: str = "amina@friends.example.org",
    **details: Any,
) -> public_ops.RequestResult:
    """Ask to sign the head as a visitor would (the operation, no HTTP)."""
    head = letter.head()
    return public_ops.request_public_signature(
        letter, head, sign_data(name, **details), email=email, client_ip="192.0.2.7"
    )


def ask_and_confirm(
    letter: Letter,
    name: str = "Friends of the Court",
    email: str = "amina@friends.example.org",
    **details: Any,
) -> Signature:
    result = ask(letter, name, email, **details)
    assert result.request is not None
    return public_ops.confirm_public_request(result.request, letter.head())


def commit() -> None:
    """Commit (a SAVEPOINT release in tests): queued mail goes out."""
    transaction.commit()


def link_matching(outbox: MailCatcher, address: str, pattern: str) -> str:
    """The first link matching ``pattern`` in the last message to ``address`` (text part)."""
    messages = outbox.to(address)
    assert messages, f"no mail to {address}"
    text = MailCatcher.text_of(messages[-1])
    found = re.search(r"https?://\S*" + pattern + r"\S*", text)
    assert found, f"no link matching {pattern!r} in:\n{text}"
    return found.group(0)


def path_of(url: str) -> str:
    """``http://localhost/p/x`` -> ``/p/x`` (for the test client)."""
    return re.sub(r"^https?://[^/]+", "", url)
