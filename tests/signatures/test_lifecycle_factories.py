"""Small factories for the signature state machine, lifecycle and reminder tests.

(Named ``test_lifecycle_*`` to stay within this area's files; it holds no tests.)
Invitations are created directly, with a real link from ``links.assign_new_link``;
approvals go through ``signon.signatures.operations``.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import Flask

from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, Revision
from signon.signatures import operations
from signon.signatures.links import assign_new_link
from signon.signatures.models import Invitation, InvitationStatus, Signature
from signon.signatures.operations import SignatoryDetails

_counter = itertools.count(1)


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
    n = next(_counter)
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
