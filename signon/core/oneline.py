"""One-line text: what a title, a name or a mail header may not contain.

Forms refuse such text on input (:func:`signon.core.forms.one_line`); mail headers are
built through :func:`one_line_text`, so that a value stored before the rule (or by a
path that skips forms) still cannot add a header or break a message.
"""

from __future__ import annotations

import re

#: Characters that break a line, or reorder or hide the text around them, beyond the
#: control characters (category Cc: NUL, CR, LF, TAB, ESC...): the line and paragraph
#: separators and the bidirectional embeddings, overrides and isolates (U+202A-U+202E,
#: U+2066-U+2069), which make "gpj.exe" read as "exe.jpg". Joiners (ZWJ, ZWNJ) and the
#: left-to-right/right-to-left marks stay allowed: names in many scripts need them.
NOT_ON_ONE_LINE = frozenset(
    [*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)), "\u2028", "\u2029"]
)

#: Category Cc is exactly U+0000-U+001F and U+007F-U+009F (fixed by Unicode's stability
#: policy; a test compares this with ``unicodedata`` over every code point).
_CONTROL_RANGES = "\x00-\x1f\x7f-\x9f"
#: Every character no one-line value may hold, as one regular expression: a form's fields
#: are checked on every public sign-on, and a Python loop over each character with a
#: Unicode look-up per character was a measurable part of the request.
_BREAKS = re.compile("[" + _CONTROL_RANGES + "".join(sorted(NOT_ON_ONE_LINE)) + "]")


def has_control_characters(text: str) -> bool:
    """True if ``text`` holds a character no one-line value may hold."""
    return _BREAKS.search(text) is not None


def one_line_text(text: str) -> str:
    """``text`` with each such character replaced by a space, runs of spaces collapsed:
    for values already stored that must go where a line break would do harm (mail
    headers)."""
    return " ".join(_BREAKS.sub(" ", text).split())
