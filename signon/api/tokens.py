"""API tokens: created and revoked by a letter's coordinators. Add and flush; never commit.

A token reads one letter through the read-only API. It is shown once, when it is
created; the database keeps only its SHA-256 (:func:`signon.core.tokens.hash_token`)
and a short prefix so that coordinators can tell their tokens apart.

``last_used_at`` is deliberately never written: reading the API must not change
state (no write on GET, no commit per API call, nothing for two concurrent reads
to fight over). The column stays empty.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from signon.accounts.models import User
from signon.api.models import ApiToken
from signon.audit.operations import record_event
from signon.core.tokens import hash_token
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter

#: Every token starts with this, so that secret scanners (and people) recognise it.
TOKEN_MARKER = "sgn_"
#: Characters shown in lists: the marker and the first 8 random characters.
PREFIX_LENGTH = 12
#: Longest Authorization value looked at; anything longer is not one of ours.
MAX_TOKEN_LENGTH = 200


class ApiTokenError(Exception):
    """A rule was broken; the message is meant for the coordinator."""


def generate_token() -> str:
    """``sgn_`` and 43 URL-safe characters (256 random bits)."""
    return TOKEN_MARKER + secrets.token_urlsafe(32)


def create_api_token(letter: Letter, *, name: str, created_by: User) -> tuple[ApiToken, str]:
    """A new token for ``letter``. Returns the row and the raw token (shown once, never kept)."""
    name = " ".join(name.split())
    if not name:
        raise ApiTokenError("Give the token a name, e.g. the site or tool that will use it.")
    raw = generate_token()
    token = ApiToken(
        letter_id=letter.id,
        name=name[:120],
        token_hash=hash_token(raw),
        prefix=raw[:PREFIX_LENGTH],
        created_by_id=created_by.id,
        created_at=utcnow(),
    )
    db.session.add(token)
    db.session.flush()
    record_event(
        "api_token.created",
        letter_id=letter.id,
        actor=created_by,
        token_id=token.id,
        name=token.name,
        prefix=token.prefix,
    )
    return token, raw


def revoke_api_token(token: ApiToken, *, revoked_by: User) -> bool:
    """Revoke ``token`` for good. Returns ``False`` if it was already revoked (nothing changes)."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    db.session.flush()
    record_event(
        "api_token.revoked",
        letter_id=token.letter_id,
        actor=revoked_by,
        token_id=token.id,
        name=token.name,
        prefix=token.prefix,
    )
    return True


def tokens_of(letter: Letter) -> list[ApiToken]:
    """The letter's tokens, live ones first, newest first."""
    tokens = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.letter_id == letter.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        .options(selectinload(ApiToken.created_by))
    ).all()
    return sorted(tokens, key=lambda t: t.revoked_at is not None)


def token_of(letter: Letter, token_id: int) -> ApiToken | None:
    """One of this letter's tokens (a token of another letter does not exist here)."""
    return db.session.scalar(
        select(ApiToken).where(ApiToken.letter_id == letter.id, ApiToken.id == token_id)
    )


def find_live_token(raw: str) -> ApiToken | None:
    """The unrevoked token ``raw`` stands for, whichever letter it belongs to."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH or not raw.startswith(TOKEN_MARKER):
        return None
    return db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(raw), ApiToken.revoked_at.is_(None)
        )
    )
