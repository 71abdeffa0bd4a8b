"""Diffs of the text as readers see it (rendered), not of its Markdown source.

Coordinators classifying a change and organisations told about one read the letter,
not Markdown: ``**`` and ``[..](..)`` are noise to them, and a change of formatting
alone changes no word they read. The Markdown is rendered (the same renderer as the
pages) and turned back into readable text, one paragraph (or list item, heading,
table row) per line with blank lines between; the word diff of
:mod:`signon.letters.text` then runs on that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html.parser import HTMLParser

from signon.core.markdown import render_markdown
from signon.letters.text import DiffSegment, word_diff

#: Elements that start a new paragraph of readable text.
_BLOCKS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "table", "ul", "ol", "hr"}
)
_SPACES = re.compile(r"[^\S\n]+")
_BLANKS = re.compile(r"\n{3,}")


class _TextOf(HTMLParser):
    """Collects the text of rendered HTML; paragraphs become blank-line separated."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "li":
            self.parts.append("\n\n• ")
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag == "a":
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS or tag == "li":
            self.parts.append("\n\n")
        elif tag == "a" and self._href:
            # Where a link leads is part of what was approved: shown after its text.
            self.parts.append(f" ({self._href})")
            self._href = None

    def handle_data(self, data: str) -> None:
        self.parts.append(data.replace("\n", " "))


def readable_text(markdown: str) -> str:
    """The text of ``markdown`` as a reader sees it: no markup, one paragraph per line."""
    parser = _TextOf()
    parser.feed(str(render_markdown(markdown)))
    parser.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).split("\n"))
    text = "\n".join(line.removeprefix("| ") for line in lines)
    return _BLANKS.sub("\n\n", text).strip() + "\n"


def readable_diff(old_markdown: str, new_markdown: str) -> list[DiffSegment]:
    """The word diff of the two texts as rendered (see the module doc)."""
    return word_diff(readable_text(old_markdown), readable_text(new_markdown))


def before_and_after(segments: Sequence[DiffSegment]) -> tuple[str, str]:
    """The old and the new text of a diff (of one passage, say), plainly."""
    before = "".join(s.text for s in segments if s.kind != "insert")
    after = "".join(s.text for s in segments if s.kind != "delete")
    return before, after
