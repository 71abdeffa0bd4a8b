"""Everything that changes comments. Add and flush; never commit.

A thread is anchored to the current revision when it starts, and carried to every
revision saved after it (:func:`carry_threads`, on ``core.signals.revision_saved``), so
pages read where each passage is without diffing anything.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from signon.accounts.models import User
from signon.audit.operations import record_event
from signon.core.signals import revision_saved
from signon.db import utcnow
from signon.drafting.anchors import Passage, carry, carry_all, locate
from signon.drafting.comments.models import Comment, CommentSettings, CommentThread
from signon.drafting.comments.notifications import ThreadEvent, tell
from signon.drafting.comments.queries import (
    anchored_passage,
    comments_open,
    invitees_may_comment,
    may_reply,
    may_settle,
    settings_of,
)
from signon.extensions import db
from signon.letters.models import Letter, Revision
from signon.signatures.models import Invitation

#: Longest comment, in characters.
MAX_COMMENT_LENGTH = 5000
#: Longest selected passage, in characters.
MAX_QUOTE_LENGTH = 5000

ADDED = ThreadEvent.STARTED
REPLIED = ThreadEvent.REPLIED
RESOLVED = ThreadEvent.RESOLVED
REOPENED = ThreadEvent.REOPENED
SETTINGS_CHANGED = "comments.settings_changed"


INVITEES_CLOSED = "Comments from invited organisations are not open on this text."


class CommentError(Exception):
    """A rule of comments was broken; the message is meant for the person."""


def _invitee_refusal(thread: CommentThread, invitation: Invitation) -> str:
    """Why an invited organisation may not write in ``thread`` (``queries.may_reply``)."""
    if thread.invitation_id != invitation.id:
        return "This is not your organisation's thread."
    return INVITEES_CLOSED


def _require_open(letter: Letter) -> None:
    if not comments_open(letter, settings_of(letter)):
        raise CommentError(
            "Comments on the text are closed: the letter is frozen or closed, so threads"
            " take no new comments and are neither resolved nor reopened (the coordinators"
            " may keep comments open on a frozen text)."
        )


def _clean_body(body: str) -> str:
    text = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise CommentError("Write a comment first.")
    if len(text) > MAX_COMMENT_LENGTH:
        raise CommentError(f"A comment is at most {MAX_COMMENT_LENGTH} characters.")
    return text


def anchor_passage(
    letter: Letter, revision: Revision, quote: str, prefix: str = "", suffix: str = ""
) -> tuple[Revision, Passage]:
    """The selected words of ``revision``, carried to the current revision."""
    if len(quote) > MAX_QUOTE_LENGTH:
        raise CommentError(f"Select at most {MAX_QUOTE_LENGTH} characters of the text.")
    passage = locate(revision.body_markdown, quote, prefix, suffix)
    if passage is None:
        raise CommentError(f"Those words are not in the text of revision {revision.number}.")
    head = letter.head()
    assert head is not None
    if head.id != revision.id:
        carried = carry(passage, revision.body_markdown, head.body_markdown)
        if carried is None:
            raise CommentError("Those words were deleted from the text meanwhile.")
        passage = carried
    return head, passage


def start_thread(
    letter: Letter,
    revision: Revision,
    *,
    quote: str,
    prefix: str = "",
    suffix: str = "",
    body: str,
    author: User | None = None,
    invitation: Invitation | None = None,
) -> CommentThread:
    """A thread on the selected words of ``revision``, by a person on the team
    (``author``) or by an invited organisation (``invitation``)."""
    _require_open(letter)
    if invitation is not None:
        head = letter.head()
        assert head is not None
        if not invitees_may_comment(letter, settings_of(letter), head) or revision.id != head.id:
            raise CommentError(INVITEES_CLOSED)
    text = _clean_body(body)
    head, passage = anchor_passage(letter, revision, quote, prefix, suffix)
    thread = CommentThread(
        letter_id=letter.id,
        invitation_id=invitation.id if invitation is not None else None,
        started_on_id=revision.id,
        anchor_revision_id=head.id,
        anchor_start=passage.start,
        anchor_end=passage.end,
        quote=passage.quote,
        created_at=utcnow(),
    )
    db.session.add(thread)
    db.session.flush()
    _add_comment(letter, thread, text, author=author, invitation=invitation, action=ADDED)
    return thread


def reply(
    thread: CommentThread,
    *,
    body: str,
    author: User | None = None,
    invitation: Invitation | None = None,
) -> Comment:
    """A reply. In an invited organisation's thread only that organisation and the
    coordinators write; in a team thread, whoever on the team may comment."""
    letter = thread.letter
    _require_open(letter)
    if (author is None and invitation is None) or not may_reply(
        thread, user=author, invitation=invitation
    ):
        raise CommentError(
            _invitee_refusal(thread, invitation)
            if invitation is not None
            else "Only the coordinators reply to an invited organisation."
        )
    text = _clean_body(body)
    return _add_comment(letter, thread, text, author=author, invitation=invitation, action=REPLIED)


def _add_comment(
    letter: Letter,
    thread: CommentThread,
    text: str,
    *,
    author: User | None,
    invitation: Invitation | None,
    action: ThreadEvent,
) -> Comment:
    if (author is None) == (invitation is None):
        raise ValueError("a comment has one author: a person or an invited organisation")
    name = author.display_name if author is not None else invitation.organisation_name  # type: ignore[union-attr]
    comment = Comment(
        thread=thread,
        author_id=author.id if author is not None else None,
        invitation_id=invitation.id if invitation is not None else None,
        author_name=name[:300],
        body=text,
        created_at=utcnow(),
    )
    db.session.add(comment)
    db.session.flush()
    record_event(
        action,
        letter_id=letter.id,
        actor=author,
        actor_label=None if author is not None else f"invited organisation {name}",
        thread=thread.id,
        comment=comment.id,
    )
    tell(action, thread, user=author, invitation=invitation, comment=comment)
    return comment


def resolve_thread(
    thread: CommentThread, user: User | None = None, *, invitation: Invitation | None = None
) -> None:
    """Mark the thread settled, by a person on the team or by the invited organisation
    whose thread it is (``queries.may_settle``)."""
    _require_settler(thread, user, invitation)
    if thread.resolved_at is not None:
        return
    thread.resolved_at = utcnow()
    thread.resolved_by = user
    thread.resolved_by_invitation_id = invitation.id if invitation is not None else None
    db.session.flush()
    _record_settling(RESOLVED, thread, user, invitation)


def reopen_thread(
    thread: CommentThread, user: User | None = None, *, invitation: Invitation | None = None
) -> None:
    """Open a resolved thread again (the same people as :func:`resolve_thread`)."""
    _require_settler(thread, user, invitation)
    if thread.resolved_at is None:
        return
    thread.resolved_at = None
    thread.resolved_by = None
    thread.resolved_by_invitation_id = None
    db.session.flush()
    _record_settling(REOPENED, thread, user, invitation)


def _require_settler(
    thread: CommentThread, user: User | None, invitation: Invitation | None
) -> None:
    _require_open(thread.letter)
    if (user is None) == (invitation is None):
        raise ValueError("a thread is resolved by one: a person or an invited organisation")
    if not may_settle(thread, user=user, invitation=invitation):
        raise CommentError(
            _invitee_refusal(thread, invitation)
            if invitation is not None
            else "Only drafters and coordinators resolve or reopen threads."
        )


def _record_settling(
    action: ThreadEvent, thread: CommentThread, user: User | None, invitation: Invitation | None
) -> None:
    label = None if invitation is None else f"invited organisation {invitation.organisation_name}"
    record_event(
        action, letter_id=thread.letter_id, actor=user, actor_label=label, thread=thread.id
    )
    tell(action, thread, user=user, invitation=invitation)


def update_settings(
    letter: Letter,
    *,
    invitees_may_comment: bool,
    on_frozen: bool,
    actor: User,
    seen_revision: int | None,
) -> CommentSettings:
    """Open (or close) the current revision to invited organisations' comments, and say
    whether comments stay open while the text is frozen.

    ``seen_revision``: the number of the revision the coordinator saw as the current one.
    A revision saved since (the live text saves itself every few minutes) is not opened
    unseen: opening it is refused until they have it before them."""
    settings = db.session.get(CommentSettings, letter.id)
    if settings is None:
        settings = CommentSettings(letter_id=letter.id)
        db.session.add(settings)
    head = letter.head()
    assert head is not None
    opening = invitees_may_comment and settings.invitees_revision_id != head.id
    if opening and seen_revision != head.number:
        raise CommentError(
            f"Revision {head.number} was saved after you opened this page: read it, then open"
            " it to comments from invited organisations. Nothing was changed."
        )
    settings.invitees_revision_id = head.id if invitees_may_comment else None
    settings.on_frozen = on_frozen
    settings.updated_by_id = actor.id
    db.session.flush()
    record_event(
        SETTINGS_CHANGED,
        letter_id=letter.id,
        actor=actor,
        invitees_revision=head.number if invitees_may_comment else None,
        on_frozen=on_frozen,
    )
    return settings


# --- Carrying threads to new revisions --------------------------------------------------


def carry_threads(revision: Revision) -> int:
    """Anchor every thread of the letter to ``revision``; those whose words were deleted
    are kept, marked removed in it, with their old text. Returns how many moved.

    One word diff per revision the threads were anchored to (usually one: the parent).
    """
    threads = db.session.scalars(
        select(CommentThread).where(
            CommentThread.letter_id == revision.letter_id,
            CommentThread.removed_in_id.is_(None),
            CommentThread.anchor_revision_id != revision.id,
        )
    ).all()
    by_revision: dict[int, list[CommentThread]] = defaultdict(list)
    for thread in threads:
        by_revision[thread.anchor_revision_id].append(thread)
    for revision_id, group in by_revision.items():
        old = db.session.get(Revision, revision_id)
        assert old is not None
        carried = carry_all(
            [anchored_passage(t) for t in group], old.body_markdown, revision.body_markdown
        )
        for thread, passage in zip(group, carried, strict=True):
            thread.anchor_revision_id = revision.id
            if passage is None:
                thread.removed_in_id = revision.id
                thread.anchor_start = thread.anchor_end = None
            else:
                thread.anchor_start, thread.anchor_end = passage.start, passage.end
                thread.quote = passage.quote
    db.session.flush()
    return len(threads)


@revision_saved.connect
def _on_revision_saved(sender: Revision, **_extra: object) -> None:
    carry_threads(sender)
