"""Who sees which comment threads, and where their passages are now. Read only.

:func:`visible_threads` is the one home of the visibility rule: the drafting team (anyone
with a role on the letter) sees every thread; an invited organisation, through its link,
sees only its own threads, which hold its own comments and the coordinators' replies
(nobody else may write there). Nobody else sees any. :func:`may_reply` and
:func:`may_settle` say who writes in a thread and who resolves or reopens it, and
:func:`comments_open` whether the discussion is open at all (a frozen or closed letter).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from signon.accounts.models import Membership, User
from signon.core.markdown import plain_text
from signon.core.permissions import Action, letter_role_allows
from signon.drafting.anchors import (
    Passage,
    carry_all,
    locate,
    occurrences_before,
    shown_passage,
    shown_words,
)
from signon.drafting.comments.models import CommentSettings, CommentThread
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus, Revision, TeamMember
from signon.signatures.models import Invitation

#: ``@name`` in a comment: a word after an @ that does not follow a word (not an address).
MENTION_RE = re.compile(r"(?<![\w@])@([^\W_][\w.\-]*)")


def may(letter: Letter, user: object, action: Action) -> bool:
    """``letter.can``, asking the database once per request (a page asks per thread)."""
    return letter_role_allows(letter.role_of(user, cached=True), action)


def settings_of(letter: Letter) -> CommentSettings:
    """The letter's comment settings (the defaults, not added, when it has none)."""
    found = db.session.get(CommentSettings, letter.id)
    return found if found is not None else CommentSettings(letter_id=letter.id, on_frozen=False)


def comments_open(letter: Letter, settings: CommentSettings) -> bool:
    """Whether the discussion of the text is open: new threads, replies, resolving and
    reopening. While drafting; while frozen for signature only if the coordinator allows
    it (``settings.on_frozen``); never once signing is closed or the letter published.

    The one rule for a frozen or closed letter (issue 13 item 4): every comment operation
    refuses through it and the pages show their forms and buttons through it, so a
    resolved thread on a closed letter stays as it was when signing closed."""
    if letter.status == LetterStatus.DRAFTING:
        return True
    return letter.status == LetterStatus.OPEN and settings.on_frozen


def invitees_may_comment(letter: Letter, settings: CommentSettings, head: Revision) -> bool:
    """Invited organisations may comment: the coordinator opened the current revision to
    them, and comments are open at all."""
    return settings.invitees_revision_id == head.id and comments_open(letter, settings)


def may_reply(
    thread: CommentThread, *, user: object = None, invitation: Invitation | None = None
) -> bool:
    """Who writes in ``thread`` (the one rule; whether comments are open at all is
    :func:`comments_open`'s): in the team's threads, whoever on the team may comment; in an
    invited organisation's, the coordinators, and that organisation while invitees may
    comment; nobody else (the organisation reads the coordinators' replies, never the
    team's internal words)."""
    if invitation is not None:
        return _invitee_writes(thread, invitation)
    action = Action.LETTER_COMMENT if thread.invitation_id is None else Action.LETTER_MANAGE
    return may(thread.letter, user, action)


def may_settle(
    thread: CommentThread, *, user: object = None, invitation: Invitation | None = None
) -> bool:
    """Who resolves and reopens ``thread`` (the one rule; :func:`comments_open` aside):
    whoever on the team may comment, any thread, an invited organisation's included (the
    team says when a point is dealt with); an invited organisation, its own threads."""
    if invitation is not None:
        return _invitee_writes(thread, invitation)
    return may(thread.letter, user, Action.LETTER_COMMENT)


def _invitee_writes(thread: CommentThread, invitation: Invitation) -> bool:
    """An invited organisation writes in, resolves and reopens its own threads only, and
    only while the coordinators let invitees comment (:func:`invitees_may_comment`): the
    opening they give (and take back, or a new revision ends) covers the organisation's
    replies as its new threads, or they could not stop its comments short of revoking
    its invitation."""
    if thread.invitation_id != invitation.id:
        return False
    letter = thread.letter
    head = letter.head()
    return head is not None and invitees_may_comment(letter, settings_of(letter), head)


# --- Who may be mentioned ----------------------------------------------------------------


def team_people(letter: Letter) -> list[User]:
    """Everyone on the letter's team, who may be mentioned: people with a role of their own
    and the members of its organisations, each once."""
    return list(
        db.session.scalars(
            select(User)
            .select_from(TeamMember)
            .outerjoin(Membership, Membership.organisation_id == TeamMember.organisation_id)
            .join(User, User.id == func.coalesce(TeamMember.user_id, Membership.user_id))
            .where(TeamMember.letter_id == letter.id)
            .distinct()
            .order_by(User.id)
        )
    )


def mention_keys(person: User) -> set[str]:
    """What names ``person`` after an @ (any case): the part of their address before the @,
    their name written without spaces, or their :func:`handle_of`."""
    keys = {
        person.email.split("@", 1)[0].casefold(),
        "".join(person.display_name.split()).casefold(),
    }
    handle = handle_of(person)
    return keys if handle is None else keys | {handle.casefold()}


def mentioned_people(letter: Letter, text: str) -> list[User]:
    """The people on the letter's team named in ``text`` as ``@name`` (:func:`mention_keys`)."""
    handles = {match.rstrip(".-").casefold() for match in MENTION_RE.findall(text)}
    if not handles:
        return []
    return [person for person in team_people(letter) if mention_keys(person) & handles]


#: What a handle cannot hold (see :data:`MENTION_RE`).
_NOT_IN_HANDLE = re.compile(r"[^\w.\-]")


def handle_of(person: User) -> str | None:
    """What the @mention autocomplete writes for ``person`` (one of :func:`mention_keys`):
    their name without spaces and without what a handle cannot hold ("DanDrafter",
    "OlgaOBrien" for Olga O'Brien). Never the part of their address before the @: the list
    goes to everyone on the team who may comment, and with an organisation's domain that
    part is the address, which the team page shows nobody of an organisation's members.
    None when the name holds nothing a handle can (the person is not listed)."""
    name = _NOT_IN_HANDLE.sub("", "".join(person.display_name.split()))
    name = name.lstrip("._-").rstrip(".-")
    return name if name and MENTION_RE.fullmatch("@" + name) else None


def visible_threads(
    letter: Letter, *, user: User | None = None, invitation: Invitation | None = None
) -> list[CommentThread]:
    """The threads of ``letter`` that this person (``user``) or invited organisation
    (``invitation``) may read, oldest first, with their comments loaded."""
    query = (
        select(CommentThread)
        .where(CommentThread.letter_id == letter.id)
        .options(
            selectinload(CommentThread.comments),
            selectinload(CommentThread.resolved_by),
            selectinload(CommentThread.invitation),
            selectinload(CommentThread.removed_in),
        )
        .order_by(CommentThread.id)
    )
    if invitation is not None:
        if invitation.letter_id != letter.id:
            return []
        query = query.where(CommentThread.invitation_id == invitation.id)
    elif not may(letter, user, Action.LETTER_VIEW):
        return []
    return list(db.session.scalars(query))


def visible_thread(
    letter: Letter,
    thread_id: int,
    *,
    user: User | None = None,
    invitation: Invitation | None = None,
) -> CommentThread | None:
    """One thread of ``letter``, if this reader may see it (:func:`visible_threads`' rule)."""
    thread = db.session.get(CommentThread, thread_id)
    if thread is None or thread.letter_id != letter.id:
        return None
    if invitation is not None:
        return thread if thread.invitation_id == invitation.id else None
    if not may(letter, user, Action.LETTER_VIEW):
        return None
    return thread


@dataclass(frozen=True)
class ShownThread:
    """A thread as a page shows it: where its passage is in the current text."""

    thread: CommentThread
    #: The passage in the head revision; ``None`` when its words were deleted.
    passage: Passage | None

    #: How many times the passage's words occur before it in the current text (to mark the
    #: right one of repeated words on the page: ``anchors.occurrences_before``).
    occurrence: int = 0

    #: The passage as the reader sees it (:func:`passage_text`): plain words, no Markdown.
    text: str = ""

    @property
    def quote(self) -> str:
        """The passage's Markdown, as anchored (never shown to a reader: :attr:`text` is)."""
        return self.passage.quote if self.passage is not None else self.thread.quote

    @property
    def words(self) -> str:
        """The passage's words as the page shows them, for its script to mark them."""
        return _words(self.quote)


def shown(threads: Sequence[CommentThread], head: Revision) -> list[ShownThread]:
    """The threads with their passages in ``head``, and each passage as the reader sees it
    (read in the revisions' stored HTML: a page view renders nothing)."""
    passages = _passages_in(threads, head)
    removed = _removed_texts([t for t in threads if passages[t.id] is None])
    shown_anywhere = any(passage is not None for passage in passages.values())
    page_text = plain_text(head.html) if shown_anywhere else ""
    result = []
    for thread in threads:
        passage = passages[thread.id]
        if passage is None:
            result.append(ShownThread(thread, None, 0, removed[thread.id]))
            continue
        occurrence = occurrences_before(head.body_markdown, passage)
        text = shown_passage(page_text, passage.quote, occurrence)
        result.append(ShownThread(thread, passage, occurrence, text or _words(passage.quote)))
    return result


def _passages_in(threads: Sequence[CommentThread], head: Revision) -> dict[int, Passage | None]:
    """Each thread's passage in ``head`` (``None``: removed).

    Saving a revision carries every thread to it (``operations``), so this usually diffs
    nothing; a thread still anchored to an older revision (a revision made without a
    save, such as an import) is carried here in memory, one word diff per older
    revision, not stored: a page view changes nothing.
    """
    stale: dict[int, list[CommentThread]] = defaultdict(list)
    passages: dict[int, Passage | None] = {}
    for thread in threads:
        if thread.passage_removed:
            passages[thread.id] = None
        elif thread.anchor_revision_id != head.id:
            stale[thread.anchor_revision_id].append(thread)
        else:
            passages[thread.id] = anchored_passage(thread)
    for revision_id, group in stale.items():
        old = db.session.get(Revision, revision_id)
        assert old is not None
        carried = carry_all(
            [anchored_passage(t) for t in group], old.body_markdown, head.body_markdown
        )
        passages.update(zip((t.id for t in group), carried, strict=True))
    return passages


def passage_text(thread: CommentThread, head: Revision) -> str:
    """The thread's passage as the reader sees it (for a notice), in ``head``."""
    return shown([thread], head)[0].text


def _words(quote: str) -> str:
    return " ".join(shown_words(quote))


def _removed_texts(threads: Sequence[CommentThread]) -> dict[int, str]:
    """The removed passages as the reader saw them: each quote is the text of the revision
    before the one that removed it, read there (one query for them all); when it is not
    found there (carried from an older one), its words."""
    before_ids = {t.removed_in.parent_id for t in threads if t.removed_in is not None}
    before_ids.discard(None)
    before = (
        {r.id: r for r in db.session.scalars(select(Revision).where(Revision.id.in_(before_ids)))}
        if before_ids
        else {}
    )
    texts = {}
    for thread in threads:
        parent_id = thread.removed_in.parent_id if thread.removed_in is not None else None
        revision = before.get(parent_id) if parent_id is not None else None
        texts[thread.id] = _text_in(revision, thread.quote) or _words(thread.quote)
    return texts


def _text_in(revision: Revision | None, quote: str) -> str | None:
    """``quote`` (Markdown of ``revision``'s body) as the reader saw it there."""
    if revision is None:
        return None
    passage = locate(revision.body_markdown, quote)
    if passage is None:
        return None
    occurrence = occurrences_before(revision.body_markdown, passage)
    return shown_passage(plain_text(revision.html), quote, occurrence)


def anchored_passage(thread: CommentThread) -> Passage:
    """The passage where the thread was last anchored (not removed)."""
    assert thread.anchor_start is not None and thread.anchor_end is not None
    return Passage(thread.anchor_start, thread.anchor_end, thread.quote)
