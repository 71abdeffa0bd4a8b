"""Read-only lookups of live editing: who may do what on the socket, what is stored."""

from __future__ import annotations

import base64
import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import g
from sqlalchemy import exists, func, or_, select

from signon.accounts.models import User
from signon.core.permissions import Action
from signon.drafting.live import crdt
from signon.drafting.live.models import LiveDocument, LiveUpdate
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus, Revision


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


def has_unsaved_changes(letter_id: int) -> bool:
    """Whether the live document holds changes that are in no revision yet."""
    return bool(db.session.scalar(select(exists().where(LiveUpdate.letter_id == letter_id))))


@dataclass(frozen=True)
class LiveText:
    """The shared text as the database holds it now, for a page that follows it."""

    text: str
    #: True when it differs from ``head`` by changes not saved as a revision yet.
    unsaved: bool


def live_text(letter_id: int, head: Revision) -> LiveText:
    """The live document's text (its snapshot and unsaved updates), read only.

    Without unsaved updates it is the head revision's text: the same rule as
    ``operations.open_document``, which makes a document with nothing pending take the
    head's text (someone saved through the classic editor since).
    """
    live = live_document(letter_id)
    pending = pending_updates(letter_id) if live is not None else []
    if live is None or not pending:
        return LiveText(head.body_markdown, unsaved=False)
    text = crdt.text_of(crdt.load([live.snapshot, *(row.data for row in pending)]))
    return LiveText(text, unsaved=text != head.body_markdown)


#: A live document with this many unsaved updates, or this many bytes of them, is saved
#: (and its updates compacted into the snapshot) without waiting for a quiet moment: every
#: opener loads them all (1,000 load in about 0.1 s, benchmarks/README.md "Live editing").
LONG_LOG_UPDATES = 2000
LONG_LOG_BYTES = 1024 * 1024


def documents_to_save(before: datetime) -> list[int]:
    """Letters whose live document has unsaved updates, and either the newest is older
    than ``before`` (a quiet document) or they are many (a long log, see
    :data:`LONG_LOG_UPDATES`: people who type for hours without a pause)."""
    newest = func.max(LiveUpdate.created_at)
    size = func.coalesce(func.sum(func.length(LiveUpdate.data)), 0)
    return list(
        db.session.scalars(
            select(LiveUpdate.letter_id)
            .group_by(LiveUpdate.letter_id)
            .having(or_(newest < before, func.count() >= LONG_LOG_UPDATES, size >= LONG_LOG_BYTES))
            .order_by(LiveUpdate.letter_id)
        )
    )


def saved_state(letter_id: int) -> dict[str, Any] | None:
    """What the pages in the text are told once a version is saved
    (``protocol.saved_message``): the last saved revision, whether the live text still
    has changes in none (:func:`has_unsaved_changes`: someone typed since, or saved through
    the classic editor while the live text had changes), and ``snapshot``, the live
    document as that revision holds it (:func:`saved_snapshot`).

    The page compares ``snapshot`` with its own document rather than trusting the order
    of messages: this one leaves from the saving request's thread and can reach a page
    before the last keystrokes the typist's socket relays (which the revision holds)."""
    head = db.session.scalars(
        select(Revision)
        .where(Revision.letter_id == letter_id)
        .order_by(Revision.number.desc())
        .limit(1)
    ).first()
    if head is None:
        return None
    snapshot = saved_snapshot(letter_id, head)
    return {
        "revision": head.number,
        "author": head.author.display_name if head.author is not None else None,
        "saved_at": head.created_at.isoformat(),
        "unsaved": has_unsaved_changes(letter_id),
        "snapshot": base64.b64encode(snapshot).decode() if snapshot is not None else None,
    }


def saved_snapshot(letter_id: int, head: Revision) -> bytes | None:
    """The Yjs snapshot (``crdt.snapshot_of``) of the live document whose text is ``head``'s:
    the stored snapshot, which a live save (and the first opening after a classic save)
    leaves holding the revision's text, with ``head`` as its base. None when the base is
    an older revision (a classic save since: no state of the live document is ``head``)."""
    live = live_document(letter_id)
    if live is None or live.base_revision_id != head.id:
        return None
    return crdt.snapshot_of(live.snapshot)
