"""The shared document's shape, in one place: one ``Y.Text`` named "markdown".

The browser (Yjs) and the server (pycrdt) agree on it: the text is the letter's Markdown
body, exactly what a revision stores. The title is not in the live document (the
settings page changes it; a live save keeps the base revision's title).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

from pycrdt import Doc, Text

#: The name of the shared ``Y.Text`` (``ydoc.getText("markdown")`` in the browser).
TEXT_NAME = "markdown"
#: The encoding of an update that changes nothing (Yjs sends it in a sync step 2).
EMPTY_UPDATE = b"\x00\x00"

YDoc: TypeAlias = Doc[Any]


def new_doc(*, keep_deleted: bool = False) -> YDoc:
    """An empty document; ``keep_deleted`` keeps deleted text (for :mod:`.authorship`)."""
    doc: YDoc = Doc(skip_gc=keep_deleted)
    doc.get(TEXT_NAME, type=Text)
    return doc


def text_of(doc: YDoc) -> str:
    return str(doc.get(TEXT_NAME, type=Text))


def load(updates: Iterable[bytes], *, keep_deleted: bool = False) -> YDoc:
    """A document made of stored updates (a snapshot is one update like the others)."""
    doc = new_doc(keep_deleted=keep_deleted)
    for update in updates:
        if update and update != EMPTY_UPDATE:
            doc.apply_update(update)
    return doc


def check_update(update: bytes) -> None:
    """Raise ``ValueError`` unless ``update`` decodes as a Yjs update (v1).

    Applied to a scratch document, so a malformed update never reaches the shared one.
    """
    scratch: YDoc = Doc()
    scratch.apply_update(update)


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
