"""Invitation links: random per invitation, stored hashed, re-sendable.

The token is ``HMAC-SHA256(secret key, "<id>:<nonce>")`` (256 bits, URL-safe).
The database keeps only the nonce and the token's SHA-256, so a copy of the
database alone cannot open an invitation; the server can derive the same link
again for reminders and re-confirmation mails. A new nonce (after a
revocation) kills every earlier link. Rotating the secret key kills them all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import current_app
from sqlalchemy import inspect, select

from signon.core.tokens import hash_token
from signon.core.urls import canonical_url
from signon.extensions import db
from signon.signatures.models import Invitation


def _derive(invitation_id: int, nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"invitation:{invitation_id}:{nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def assign_new_link(invitation: Invitation) -> None:
    """Give the invitation a fresh link (flushes to get an id first if needed).

    A new invitation whose id was reserved already (a public sign-on's, on PostgreSQL)
    gets its link before its INSERT, and is flushed with the caller's next flush."""
    if invitation.id is None:
        invitation.link_nonce = ""
        invitation.token_hash = secrets.token_hex(32)  # placeholder, unique until replaced
        db.session.add(invitation)
        db.session.flush()
    invitation.link_nonce = secrets.token_hex(16)
    invitation.token_hash = hash_token(_derive(invitation.id, invitation.link_nonce))
    if inspect(invitation).persistent:
        db.session.flush()
    else:
        db.session.add(invitation)


def invitation_token(invitation: Invitation) -> str:
    return _derive(invitation.id, invitation.link_nonce)


def invitation_url(invitation: Invitation) -> str:
    """The absolute link for e-mails (the invitee page is ``signatures.sign``)."""
    return canonical_url("signatures.sign", token=invitation_token(invitation))


def withdraw_url(invitation: Invitation) -> str:
    """The absolute one-click link to withdraw (a confirmation page; it works always)."""
    return canonical_url("signatures.sign_withdraw_confirm", token=invitation_token(invitation))


def find_invitation(token: str) -> Invitation | None:
    """The invitation this token opens, whatever its state (callers check ``is_usable``)."""
    if not token or len(token) > 200:
        return None
    return db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token)))
