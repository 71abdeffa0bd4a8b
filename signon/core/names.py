"""Organisation names: cleaned once when stored, compared exactly and by look-alike.

A printed name must not hide characters (zero-width spaces, bidirectional
overrides) or differ from another only by letters that look the same (Cyrillic
"а" for Latin "a"). :func:`clean_name` removes what cannot be seen; :func:`name_key`
finds exact collisions (case and spacing aside); :func:`skeleton` finds look-alikes
with the confusable skeleton of Unicode TS #39, computed by ICU's spoof checker.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import icu

#: Invisible characters that change nothing a reader sees, or the order in which they see it:
#: soft hyphen, combining grapheme joiner, Arabic letter mark, Mongolian vowel separator,
#: zero-width space/joiners and the left-to-right/right-to-left marks (U+200B-U+200F), the
#: bidirectional embeddings and overrides (U+202A-U+202E), word joiner and invisible
#: operators (U+2060-U+2064), the bidirectional isolates (U+2066-U+2069) and the byte
#: order mark / zero-width no-break space (U+FEFF).
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def clean_name(name: str) -> str:
    """The name as it is stored and printed: NFC, no invisible characters, single spaces."""
    visible = _INVISIBLE.sub("", unicodedata.normalize("NFC", name))
    return " ".join(visible.split())


def name_key(name: str) -> str:
    """Exact collisions: the cleaned name without case ("amnesty  INTERNATIONAL")."""
    return clean_name(name).casefold()


@cache
def _spoof_checker() -> icu.SpoofChecker:
    return icu.SpoofChecker()


def skeleton(name: str) -> str:
    """Look-alike collisions: the TS #39 confusable skeleton of the cleaned name.

    Case is kept on purpose: a skeleton maps capital "I" and small "l" together, which
    a case-folded one could not; names that differ only by case are found by
    :func:`name_key`.
    """
    return str(_spoof_checker().getSkeleton(0, clean_name(name)))
