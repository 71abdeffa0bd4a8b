"""Read-only lookups of live editing: who may do what on the socket, what is stored."""

from __future__ import annotations

import enum
from datetime import datetime

from flask import g
from sqlalchemy import func, select

from signon.accounts.models import User
from signon.core.permissions import Action
from signon.drafting.live.models import LiveDocument, LiveUpdate
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus


class Access(enum.IntEnum):
    """What a socket may do, weakest first."""

    NONE = 0
    READ = 1
    WRITE = 2


def access_of(letter_id: int, user_id: int, session_token: str | None = None) -> Access:
    """What the user may do on the letter's live document, asked of the database now.

    ``session_token``: the one the socket was opened under (a socket outlives its
    request): once the person logs out or changes their password, the token is rotated
    and the socket may do nothing, as their pages may not.

    A frozen or closed letter has no live document (issue 13, item 4): nobody. A viewer
    reads; whoever may ``letter:live_edit`` writes. The request's memo of roles is
    dropped first: a socket lives long, and the role it had at the start proves nothing.
    """
    g.pop("_letter_roles", None)
    letter = db.session.get(Letter, letter_id, populate_existing=True)
    user = db.session.get(User, user_id)
    if letter is None or user is None or not user.is_active:
        return Access.NONE
    if session_token is not None and user.session_token != session_token:
        return Access.NONE
    if letter.status != LetterStatus.DRAFTING:
        return Access.NONE
    if letter.can(user, Action.LETTER_LIVE_EDIT):
        return Access.WRITE
    if letter.can(user, Action.LETTER_VIEW):
        return Access.READ
    return Access.NONE


def live_document(letter_id: int) -> LiveDocument | None:
    return db.session.get(LiveDocument, letter_id, populate_existing=True)


def pending_updates(letter_id: int) -> list[LiveUpdate]:
    """The updates not yet in a revision, oldest first."""
    return list(
        db.session.scalars(
            select(LiveUpdate).where(LiveUpdate.letter_id == letter_id).order_by(LiveUpdate.id)
        )
    )


def quiet_documents(before: datetime) -> list[int]:
    """Letters whose live document has unsaved updates, the newest older than ``before``."""
    newest = func.max(LiveUpdate.created_at)
    return list(
        db.session.scalars(
            select(LiveUpdate.letter_id)
            .group_by(LiveUpdate.letter_id)
            .having(newest < before)
            .order_by(LiveUpdate.letter_id)
        )
    )
