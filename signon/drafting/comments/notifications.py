"""Who is told of what happens in a comment thread: the one rule (issue 13).

=============================================================  =================================
what happens                                                   who is told
=============================================================  =================================
an invited organisation starts a thread, replies in it,        the team, by a "Comments from
resolves it or reopens it (through its link)                   invited organisations" notice
                                                               (coordinators: the daily digest,
                                                               unless they chose otherwise)
a person on the team writes ``@name`` in a comment or reply    each person named (not the
                                                               writer), by a "Mentions" notice
                                                               (at once, unless they chose)
the team replies in, resolves or reopens an organisation's     nobody outside the team: an
thread                                                         invited organisation is mailed
                                                               nothing about comments (it reads
                                                               its threads through its link),
                                                               neither a reply nor a resolving
anything else (the team's own threads resolved or reopened)    nobody
=============================================================  =================================

The operations call :func:`tell` once per change, after it is flushed; the notices go
through ``letters.notices`` (each person's choice, mail after the commit).
"""

from __future__ import annotations

import enum

from signon.accounts.models import User
from signon.core.notices import NoticeKind
from signon.core.oneline import one_line_text
from signon.drafting.comments.models import Comment, CommentThread
from signon.drafting.comments.queries import mentioned_people, passage_text
from signon.letters import notices
from signon.signatures.models import Invitation


class ThreadEvent(enum.StrEnum):
    """What happened in a thread (each is also its audit event's action)."""

    STARTED = "comment.added"
    REPLIED = "comment.replied"
    RESOLVED = "comment.resolved"
    REOPENED = "comment.reopened"


#: How a notice to the team words what an invited organisation did.
_INVITEE_DID = {
    ThreadEvent.STARTED: "commented on",
    ThreadEvent.REPLIED: "replied on",
    ThreadEvent.RESOLVED: "resolved its thread on",
    ThreadEvent.REOPENED: "reopened its thread on",
}


def tell(
    event: ThreadEvent,
    thread: CommentThread,
    *,
    user: User | None = None,
    invitation: Invitation | None = None,
    comment: Comment | None = None,
) -> None:
    """Tell whoever the module's table says is told of ``event``, done by ``user`` (a person
    on the team) or ``invitation`` (an invited organisation); ``comment``: what was written."""
    if invitation is not None:
        _tell_team(event, thread, invitation, comment)
    elif user is not None and comment is not None:
        _tell_mentioned(thread, comment, user)


def _tell_team(
    event: ThreadEvent, thread: CommentThread, invitation: Invitation, comment: Comment | None
) -> None:
    """The team hears of an invited organisation's doings as of an approval."""
    summary = f"{invitation.organisation_name} {_INVITEE_DID[event]} “{_excerpt(thread)}”"
    if comment is not None:
        summary += f": {one_line_text(comment.body)}"
    notices.notify(thread.letter, NoticeKind.INVITEE_COMMENTED, summary)


def _tell_mentioned(thread: CommentThread, comment: Comment, author: User) -> None:
    """Each person ``@named`` in the comment (not its author), by their choice."""
    people = [p for p in mentioned_people(thread.letter, comment.body) if p.id != author.id]
    if not people:
        return
    summary = (
        f"{author.display_name} mentioned you in a comment on “{_excerpt(thread)}”:"
        f" {one_line_text(comment.body)}"
    )
    for person in people:
        notices.notify(thread.letter, NoticeKind.MENTIONED, summary, to=person)


def _excerpt(thread: CommentThread, length: int = 60) -> str:
    """The thread's passage as the reader sees it (no Markdown), cut to ``length``."""
    head = thread.letter.head()
    assert head is not None
    text = one_line_text(passage_text(thread, head))
    return text if len(text) <= length else text[: length - 1] + "…"
