"""Everything that changes the stored live document. Add and flush; never commit.

The socket loop commits after each call (one short transaction per accepted update);
"Save version" commits at its request's end, the auto-save as its periodic task.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from signon.accounts.models import User
from signon.core.locks import lock_row
from signon.db import utcnow
from signon.drafting.live import authorship, crdt, queries
from signon.drafting.live.models import LiveDocument, LiveUpdate
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus, Revision, UnresolvedDraft
from signon.letters.operations import SaveStatus, normalise_text, save_revision
from signon.letters.text import three_way_merge

#: The change note is a column of 500 characters.
NOTE_LIMIT = 500


def _head(letter: Letter) -> Revision:
    head = letter.head()
    assert head is not None, "every letter has a first revision"
    return head


def _stored(live: LiveDocument) -> list[bytes]:
    return [live.snapshot, *(row.data for row in queries.pending_updates(live.letter_id))]


def open_document(letter: Letter) -> tuple[LiveDocument, crdt.YDoc, bytes | None]:
    """The letter's live document, made from its head revision the first time.

    When nothing is waiting to be saved and someone saved through the classic editor
    since, the document first takes the head's text (the edit is returned, to be
    published to the servers that hold the document open).
    Returns the row, the document as stored, and that edit (None if none).
    """
    live = queries.live_document(letter.id)
    if live is None:
        head = _head(letter)
        live = LiveDocument(letter_id=letter.id, base_revision=head, snapshot=b"")
        live.snapshot = crdt.seed(head.body_markdown)
        try:
            with db.session.begin_nested():
                db.session.add(live)
                db.session.flush()
        except IntegrityError:  # another server seeded it first: theirs is the one
            live = queries.live_document(letter.id)
            assert live is not None
    doc = crdt.load(_stored(live))
    update = None
    head = _head(letter)
    if head.id != live.base_revision_id and not queries.pending_updates(letter.id):
        update = crdt.replace_text(doc, head.body_markdown)
        live.base_revision = head
        live.snapshot = doc.get_update()
        db.session.flush()
    return live, doc, update


def record_update(letter_id: int, data: bytes, author_id: int | None) -> LiveUpdate:
    """Store one accepted update of the document (before anyone else is sent it)."""
    row = LiveUpdate(letter_id=letter_id, data=data, author_id=author_id)
    db.session.add(row)
    db.session.flush()
    return row


@dataclass
class LiveSave:
    status: SaveStatus | None
    revision: Revision | None = None
    draft: UnresolvedDraft | None = None
    #: An edit the save made to the document (the merged text, or the head's after a
    #: conflict): publish it to the servers that hold the document open.
    update: bytes | None = None
    #: The revisions made, one per author, oldest first (``revision`` is the last).
    revisions: list[Revision] = field(default_factory=list)


@dataclass(frozen=True)
class _Step:
    """One revision of a live save: whose words, and the text with them."""

    author: User
    names: list[str]
    body: str


def save_live_version(letter: Letter, saver: User | None) -> LiveSave:
    """Make the live document revisions, one per author (``saver``: who asked; None: auto-save).

    Each person's changes since the last version become a revision by them, in the
    order of their last change (:mod:`.authorship`), as the merge and the suggestions
    credit each author: who-wrote-what and the history name who typed which words,
    whoever pressed "Save version". The first is saved through
    ``letters.operations.save_revision`` against the revision the document was seeded
    from, so someone's save through the classic editor meanwhile is merged three-way;
    the next ones on top of it. When a person's changes do not merge on their own
    (or nobody's account is left to credit), the version is one revision by who asked,
    or for the auto-save by whoever sent most updates, naming every contributor, and an
    overlap is kept as that person's conflict draft. Afterwards the document holds the
    last revision's text (after a conflict, the head's: the live text is in the draft),
    its updates compacted into the snapshot.
    """
    lock_row(Letter, letter.id, key_share=True)
    live = queries.live_document(letter.id)
    if live is None or letter.status != LetterStatus.DRAFTING:
        return LiveSave(None)
    rows = queries.pending_updates(letter.id)
    if not rows:
        return LiveSave(SaveStatus.UNCHANGED, revision=letter.head())
    doc = crdt.load([live.snapshot, *(row.data for row in rows)])
    steps = _steps(letter, live, rows, saver, crdt.text_of(doc))
    if not steps:  # only the server's own edits: nothing anyone wrote
        return LiveSave(SaveStatus.UNCHANGED, revision=letter.head())
    saved = _save_steps(letter, live.base_revision, steps, saver)
    record = saved.revision if saved.status != SaveStatus.CONFLICT else _head(letter)
    assert record is not None
    saved.update = crdt.replace_text(doc, record.body_markdown)
    live.base_revision = record
    live.snapshot = doc.get_update()
    db.session.execute(delete(LiveUpdate).where(LiveUpdate.id.in_([row.id for row in rows])))
    db.session.flush()
    return saved


def _steps(
    letter: Letter, live: LiveDocument, rows: list[LiveUpdate], saver: User | None, text: str
) -> list[_Step]:
    """The revisions to make: one per author, or one for all (see save_live_version).

    The first step's body is saved against the document's base revision (merged with
    any classic save meanwhile by ``save_revision``); each next one is the text with
    that author's changes too, already merged, saved on top of the step before.
    """
    versions = authorship.versions_by_author(
        live.snapshot, [(row.author_id, row.data) for row in rows]
    )
    counts = Counter(row.author_id for row in rows if row.author_id is not None)
    users = _users([*counts, *([saver.id] if saver is not None else [])])
    if versions:
        texts = [*(v.text for v in versions[:-1]), text]
        bodies = _merged_bodies(live.base_revision, _head(letter), texts)
        if bodies is not None:
            return [
                _Step(users[v.author_id], [users[v.author_id].display_name], body)
                for v, body in zip(versions, bodies, strict=True)
            ]
    contributors = [users[uid] for uid, _ in counts.most_common()]
    author = saver or (contributors[0] if contributors else None)
    if author is None:
        return []
    names = [user.display_name for user in contributors] or ["a former member"]
    return [_Step(author, names, text)]


def _merged_bodies(base: Revision, head: Revision, texts: list[str]) -> list[str] | None:
    """Each text merged with what was saved since ``base`` (the first left as it is).

    None when one of them does not merge cleanly: the version is then saved as one.
    """
    if head.id == base.id:
        return texts
    merges = [
        three_way_merge(base.body_markdown, normalise_text(text), head.body_markdown)
        for text in texts
    ]
    if not all(merge.clean for merge in merges):
        return None
    return [texts[0], *(merge.text for merge in merges[1:])]


def _users(user_ids: list[int]) -> dict[int, User]:
    return {user.id: user for user in db.session.query(User).filter(User.id.in_(user_ids))}


def _save_steps(letter: Letter, base: Revision, steps: list[_Step], saver: User | None) -> LiveSave:
    """Save each step as a revision, the first against ``base``, each next on the one before."""
    made: list[Revision] = []
    merged = False
    previous = base
    for step in steps:
        result = save_revision(
            letter,
            step.author,
            base=previous,
            title=previous.title,
            body=step.body,
            change_note=_note(step, saver),
        )
        if result.status == SaveStatus.CONFLICT:  # the first step only: the head is locked
            return LiveSave(result.status, draft=result.draft)
        assert result.revision is not None
        if result.status != SaveStatus.UNCHANGED:
            made.append(result.revision)
        merged = merged or result.status == SaveStatus.MERGED
        previous = result.revision
    if not made:
        return LiveSave(SaveStatus.UNCHANGED, revision=previous)
    status = SaveStatus.MERGED if merged else SaveStatus.SAVED
    return LiveSave(status, revision=previous, revisions=made)


def _note(step: _Step, saver: User | None) -> str:
    how = "Saved" if saver is not None else "Auto-saved"
    note = f"{how} from live editing: changes by {', '.join(step.names)}"
    if saver is not None and saver.id != step.author.id:
        note += f", saved by {saver.display_name}"
    return note[:NOTE_LIMIT]


def autosave_quiet(quiet_seconds: int) -> list[tuple[int, LiveSave]]:
    """Save every live document that changed and then stayed quiet for ``quiet_seconds``,
    and every one whose unsaved updates make a long log (``queries.documents_to_save``)."""
    saved = []
    for letter_id in queries.documents_to_save(utcnow() - timedelta(seconds=quiet_seconds)):
        letter = db.session.get(Letter, letter_id)
        if letter is not None and letter.status == LetterStatus.DRAFTING:
            saved.append((letter_id, save_live_version(letter, None)))
    return saved
