"""Propose how to classify a revision from its diff: the one rule for "looks editorial".

A change is proposed **editorial** only when, comparing the words of the two texts
(title and body), nothing but punctuation, whitespace, Markdown formatting, letter
case or small misspellings changed. Anything else is proposed **substantive**:

- a word added or removed ("not" inserted, a sentence deleted);
- a word replaced by a different word ("SUPPORT" -> "OPPOSE", "triple" -> "double");
- any change of a number ("2028" -> "2035", "1.5" -> "15") or of a currency, percent
  or maths sign;
- any change touching a negation ("can" -> "can't", "now" -> "not").

A misspelling fix is a replaced word, with the same number of words around it,
within a small edit distance (one edit for words of five to seven letters, two for
longer ones; transpositions count as one), neither side a number or a negation.
Shorter words never count as misspellings: "a" -> "an", "form" -> "from"... would
change meaning too easily.

This is a proposal shown to coordinators, not a decision: classifying against it
needs a reason (see :mod:`signon.signatures.lifecycle.operations`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from signon.letters.models import ChangeKind

#: Words whose presence or absence flips a sentence's meaning.
NEGATIONS = frozenset(
    {
        "no",
        "not",
        "never",
        "nor",
        "neither",
        "none",
        "nothing",
        "nobody",
        "without",
        "cannot",
        "against",
    }
)

_WORD_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
#: Symbols that carry meaning although they are not letters: currencies, maths, percent.
_MEANINGFUL_SYMBOLS = frozenset("%‰‱")


@dataclass(frozen=True)
class Proposal:
    kind: ChangeKind
    #: Why, for the coordinator: the first few differences that decided it.
    reasons: tuple[str, ...]

    @property
    def editorial(self) -> bool:
        return self.kind == ChangeKind.EDITORIAL


def words(text: str) -> list[str]:
    """The words of ``text`` (case-folded, NFKC) and its meaningful symbols, in order."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    position = 0
    for match in _WORD_RE.finditer(text):
        out.extend(_symbols(text[position : match.start()]))
        out.append(match.group())
        position = match.end()
    out.extend(_symbols(text[position:]))
    return out


def _symbols(gap: str) -> list[str]:
    return [
        char
        for char in gap
        if char in _MEANINGFUL_SYMBOLS or unicodedata.category(char) in {"Sc", "Sm"}
    ]


def _is_negation(word: str) -> bool:
    return word in NEGATIONS or word.endswith(("n't", "n\u2019t"))


def _is_number(word: str) -> bool:
    return any(char.isdigit() for char in word)


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def is_misspelling_fix(old: str, new: str) -> bool:
    """Whether replacing ``old`` by ``new`` (case-folded words) reads as a spelling fix."""
    if old == new:
        return True
    if _is_number(old) or _is_number(new) or _is_negation(old) or _is_negation(new):
        return False
    shortest = min(len(old), len(new))
    if shortest < 5 or not (old.isalpha() and new.isalpha()):
        return False
    allowed = 1 if shortest < 8 else 2
    return edit_distance(old, new) <= allowed


def _quote(items: list[str]) -> str:
    return "“" + " ".join(items) + "”" if items else "nothing"


def _spelling_only(removed: list[str], added: list[str]) -> bool:
    """A replacement word for word, each a misspelling fix."""
    return len(removed) == len(added) and all(
        is_misspelling_fix(a, b) for a, b in zip(removed, added, strict=True)
    )


def _word_reasons(old: list[str], new: list[str]) -> list[str]:
    """The differences between two word lists that are more than spelling fixes."""
    reasons: list[str] = []
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed, added = old[i1:i2], new[j1:j2]
        if _spelling_only(removed, added):
            continue
        if tag == "insert":
            reasons.append(f"added {_quote(added)}")
        elif tag == "delete":
            reasons.append(f"removed {_quote(removed)}")
        else:
            reasons.append(f"{_quote(removed)} became {_quote(added)}")
    return reasons


@lru_cache(maxsize=4096)
def _line_words(line: str) -> tuple[str, ...]:
    """:func:`words` of one line, kept: consecutive revisions share most of their lines."""
    return tuple(words(line))


def _body_reasons(old_body: str, new_body: str) -> list[str]:
    """:func:`_word_reasons` of two texts, compared line by line first (by their words)
    and word by word only within each run of changed lines.

    The word matcher's cost grows with the words' repetitions across the whole text: on
    a 50,000-character letter one comparison took 0.1-0.9 s, and the Changes page makes
    one per revision shown. Lines whose words are the same (formatting aside) match
    first; a line rewrapped or a paragraph split still compares word by word within
    the run it falls in.
    """
    old_lines = [line for line in map(_line_words, old_body.split("\n")) if line]
    new_lines = [line for line in map(_line_words, new_body.split("\n")) if line]
    matcher = SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    reasons: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed = [word for line in old_lines[i1:i2] for word in line]
            added = [word for line in new_lines[j1:j2] for word in line]
            reasons += _word_reasons(removed, added)
    return reasons


def propose(old_title: str, old_body: str, new_title: str, new_body: str) -> Proposal:
    """Editorial when only punctuation, spacing, formatting, case or spelling changed."""
    reasons = [f"title: {r}" for r in _word_reasons(words(old_title), words(new_title))]
    reasons += _body_reasons(old_body, new_body)
    if reasons:
        return Proposal(ChangeKind.SUBSTANTIVE, tuple(reasons[:5]))
    return Proposal(
        ChangeKind.EDITORIAL,
        ("only punctuation, spacing, formatting, letter case or spelling changed",),
    )
