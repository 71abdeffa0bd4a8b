"""Everything that changes the stored live document. Add and flush; never commit.

The socket loop commits after each call (one short transaction per accepted update);
"Save version" commits at its request's end, the auto-save as its periodic task.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from signon.accounts.models import User
from signon.core.locks import lock_row
from signon.db import utcnow
from signon.drafting.live import crdt, queries
from signon.drafting.live.models import LiveDocument, LiveUpdate
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus, Revision, UnresolvedDraft
from signon.letters.operations import SaveStatus, save_revision

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


def _names(user_ids: list[int]) -> str:
    users = {u.id: u.display_name for u in db.session.query(User).filter(User.id.in_(user_ids))}
    return ", ".join(users.get(uid, "a former user") for uid in user_ids)


def save_live_version(letter: Letter, saver: User | None) -> LiveSave:
    """Make the live document a revision (``saver``: who asked; None for the auto-save).

    Saved through ``letters.operations.save_revision`` against the revision the
    document was seeded from, so someone's save through the classic editor meanwhile
    is merged three-way, and an overlap is kept as the conflict draft. The revision's
    author is who asked, or for the auto-save whoever sent most of the updates; every
    contributor since the last version is named in the change note. Afterwards the
    document holds the revision's text (the merge's result; after a conflict, the head's:
    the live text is in the draft), its updates are compacted into the snapshot.
    """
    lock_row(Letter, letter.id, key_share=True)
    live = queries.live_document(letter.id)
    if live is None or letter.status != LetterStatus.DRAFTING:
        return LiveSave(None)
    rows = queries.pending_updates(letter.id)
    if not rows:
        return LiveSave(SaveStatus.UNCHANGED, revision=letter.head())
    doc = crdt.load([live.snapshot, *(row.data for row in rows)])
    counts = Counter(row.author_id for row in rows if row.author_id is not None)
    contributors = [uid for uid, _ in counts.most_common()]
    author = saver
    if author is None and contributors:
        author = db.session.get(User, contributors[0])
    if author is None:  # only the server's own edits: nothing anyone wrote
        return LiveSave(SaveStatus.UNCHANGED, revision=letter.head())
    how = "Saved" if saver is not None else "Auto-saved"
    note = f"{how} from live editing by {_names(contributors) or author.display_name}"
    base = live.base_revision
    result = save_revision(
        letter,
        author,
        base=base,
        title=base.title,
        body=crdt.text_of(doc),
        change_note=note[:NOTE_LIMIT],
    )
    record = result.revision if result.status != SaveStatus.CONFLICT else _head(letter)
    assert record is not None
    update = crdt.replace_text(doc, record.body_markdown)
    live.base_revision = record
    live.snapshot = doc.get_update()
    db.session.execute(delete(LiveUpdate).where(LiveUpdate.id.in_([row.id for row in rows])))
    db.session.flush()
    return LiveSave(result.status, revision=result.revision, draft=result.draft, update=update)


def autosave_quiet(quiet_seconds: int) -> list[tuple[int, LiveSave]]:
    """Save every live document that changed and then stayed quiet for ``quiet_seconds``."""
    saved = []
    for letter_id in queries.quiet_documents(utcnow() - timedelta(seconds=quiet_seconds)):
        letter = db.session.get(Letter, letter_id)
        if letter is not None and letter.status == LetterStatus.DRAFTING:
            saved.append((letter_id, save_live_version(letter, None)))
    return saved
