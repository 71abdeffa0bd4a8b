"""The shared document's shape, in one place: one ``Y.Text`` named "markdown".

The browser (Yjs) and the server (pycrdt) agree on it: the text is the letter's Markdown
body, exactly what a revision stores. The title is not in the live document (the
settings page changes it; a live save keeps the base revision's title).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeAlias

from pycrdt import Doc, Snapshot, Text, TransactionEvent

from signon.drafting.live import yupdate

log = logging.getLogger(__name__)

#: The name of the shared ``Y.Text`` (``ydoc.getText("markdown")`` in the browser).
TEXT_NAME = "markdown"
#: The encoding of an update that changes nothing (Yjs sends it in a sync step 2).
EMPTY_UPDATE = b"\x00\x00"
#: The stored document (its encoded state: the text, and what Yjs keeps of every edit,
#: deleted passages included) may hold this many bytes per character of the letter's size
#: limit (``max_body_chars``): 8 x 100,000 = 800 KB. Text takes 1-4 bytes a character in
#: UTF-8; the rest is room for the edits' history (a 100,000-character letter after 2,000
#: scattered edits encodes in about 2 bytes a character).
STATE_BYTES_PER_CHAR = 8
#: Yjs client ids whose items one update may bring (each editor's page is one; an update
#: brought back from the browser's offline store may hold a few more).
MAX_CLIENTS_PER_UPDATE = 16

YDoc: TypeAlias = Doc[Any]


class TooBigError(ValueError):
    """The update would make the document larger than its limits."""


@dataclass(frozen=True)
class Limits:
    """How large the stored document may grow: its text and its encoded state."""

    chars: int
    state_bytes: int

    @classmethod
    def for_letter(cls, max_body_chars: int) -> Limits:
        return cls(max_body_chars, STATE_BYTES_PER_CHAR * max_body_chars)


def new_doc(*, keep_deleted: bool = False) -> YDoc:
    """An empty document; ``keep_deleted`` keeps deleted text (for :mod:`.authorship`)."""
    doc: YDoc = Doc(skip_gc=keep_deleted)
    doc.get(TEXT_NAME, type=Text)
    return doc


def text_of(doc: YDoc) -> str:
    return str(doc.get(TEXT_NAME, type=Text))


def load(updates: Iterable[bytes], *, keep_deleted: bool = False) -> YDoc:
    """A document made of stored updates (a snapshot is one update like the others).

    A stored update that pycrdt cannot apply is skipped and logged, not raised: every
    update is checked before it is stored, and one bad row must not make the letter's
    live document impossible to open.
    """
    doc = new_doc(keep_deleted=keep_deleted)
    for update in updates:
        if update and update != EMPTY_UPDATE:
            try:
                doc.apply_update(update)
            except ValueError:
                log.exception("live: a stored update could not be applied; skipped")
    return doc


def snapshot_of(update: bytes) -> bytes:
    """The Yjs snapshot of the document ``update`` encodes: its delete set, then its state
    vector (lib0 v1, what ``Y.decodeSnapshot`` reads in the browser). It names exactly which
    insertions and deletions the document holds, whatever order they came in."""
    return Snapshot.from_doc(load([update])).encode()


def check_shape(update: bytes) -> yupdate.Shape:
    """What ``update`` holds, if it only writes plain text into the shared ``Y.Text``.

    Raises :class:`yupdate.MalformedUpdateError` (not a Yjs update),
    :class:`yupdate.ForbiddenUpdateError` (another top-level type, a map entry, an embed,
    formatting, a nested type or sub-document) or :class:`TooBigError` (structs of more
    than :data:`MAX_CLIENTS_PER_UPDATE` client ids).
    """
    shape = yupdate.read(update, TEXT_NAME)
    if shape.clients > MAX_CLIENTS_PER_UPDATE:
        raise TooBigError("too many client ids in one update")
    return shape


@dataclass(frozen=True)
class Applied:
    """An update tried on a copy of the document: what it really adds, and the result."""

    #: the update as the document takes it (None: nothing new). What was deleted in the
    #: same update travels as a length, not its text; what the document had is left out.
    delta: bytes | None
    state_bytes: int


def try_update(state: bytes, update: bytes, limits: Limits) -> Applied:
    """Apply ``update`` to a copy of the document encoded in ``state``; check the result.

    Raises :class:`TooBigError` if the text or the encoded state would grow past
    ``limits`` (an update that shrinks a document already over them passes), and
    ``ValueError`` if pycrdt cannot apply it. An update whose dependencies the document
    lacks changes nothing (``delta`` None): Yjs holds such structs back until they come.
    """
    scratch = load([state])
    chars_before = len(text_of(scratch))
    captured: list[bytes] = []

    def capture(event: TransactionEvent) -> None:
        captured.append(event.update)

    subscription = scratch.observe(capture)
    scratch.apply_update(update)
    scratch.unobserve(subscription)
    delta = next((u for u in captured if u != EMPTY_UPDATE), None)
    after = scratch.get_update()
    chars = len(text_of(scratch))
    if chars > limits.chars and chars > chars_before:
        raise TooBigError("the text would exceed the letter's size limit")
    if len(after) > limits.state_bytes and len(after) > len(state):
        raise TooBigError("the document would exceed its stored size limit")
    return Applied(delta, len(after))


def seed(body: str) -> bytes:
    """The update of a new document holding ``body``."""
    doc = new_doc()
    doc.get(TEXT_NAME, type=Text).insert(0, body)
    return doc.get_update()


def replace_text(doc: YDoc, new: str) -> bytes | None:
    """Change the document's text to ``new`` with the smallest edit; its update, or None.

    Only the middle that differs is replaced (common prefix and suffix kept), so editors'
    cursors outside it stay where they are.
    """
    text = doc.get(TEXT_NAME, type=Text)
    old = str(text)
    if old == new:
        return None
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old -= 1
        end_new -= 1
    # pycrdt counts offsets in UTF-8 bytes (Yjs in the browser counts UTF-16 units; the
    # updates themselves carry no offsets, so both sides agree on the result).
    at = len(old[:start].encode())
    removed = len(old[start:end_old].encode())
    before = doc.get_state()
    with doc.transaction():
        if removed:
            del text[at : at + removed]
        if end_new > start:
            text.insert(at, new[start:end_new])
    return doc.get_update(before)
