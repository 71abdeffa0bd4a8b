"""One-line text: what a title, a name or a mail header may not contain.

Forms refuse such text on input (:func:`signon.core.forms.one_line`); mail headers are
built through :func:`one_line_text`, so that a value stored before the rule (or by a
path that skips forms) still cannot add a header or break a message.
"""

from __future__ import annotations

import unicodedata

#: Characters that break a line, or reorder or hide the text around them, beyond the
#: control characters (category Cc: NUL, CR, LF, TAB, ESC...): the line and paragraph
#: separators and the bidirectional embeddings, overrides and isolates (U+202A-U+202E,
#: U+2066-U+2069), which make "gpj.exe" read as "exe.jpg". Joiners (ZWJ, ZWNJ) and the
#: left-to-right/right-to-left marks stay allowed: names in many scripts need them.
NOT_ON_ONE_LINE = frozenset(
    [*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)), "\u2028", "\u2029"]
)


def _breaks_the_line(char: str) -> bool:
    return char in NOT_ON_ONE_LINE or unicodedata.category(char) == "Cc"


def has_control_characters(text: str) -> bool:
    """True if ``text`` holds a character no one-line value may hold."""
    return any(_breaks_the_line(c) for c in text)


def one_line_text(text: str) -> str:
    """``text`` with each such character replaced by a space, runs of spaces collapsed:
    for values already stored that must go where a line break would do harm (mail
    headers)."""
    cleaned = "".join(" " if _breaks_the_line(c) else c for c in text)
    return " ".join(cleaned.split())
