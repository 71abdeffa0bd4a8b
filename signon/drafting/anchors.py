"""Where a passage of one revision is in another: the one rule for comments and suggestions.

A passage is a character range of a revision's Markdown body with the words it held. It is
found in a body from what a reader selected (:func:`locate`: the selection's text with a
little context, as the rendered page gives it, so without the Markdown markup), and it is
carried to a later body through the word diff of :mod:`signon.letters.text`
(:func:`carry`): the unchanged words of the passage are where they went, words inserted
between them (or replacing words at its edges) join it, and when every word of it was
deleted it is gone (``None``), unless the very words were deleted here and inserted
elsewhere as a whole (a moved paragraph), in which case it follows them.
:func:`touched` says whether the words of a passage (or right at its edges) changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from signon.letters.text import token_diff, tokenise

__all__ = [
    "Passage",
    "carry",
    "carry_all",
    "locate",
    "occurrences_before",
    "shown_passage",
    "shown_words",
    "touched",
]


@dataclass(frozen=True)
class Passage:
    start: int  # character offset into a revision's Markdown body
    end: int  # exclusive
    quote: str  # body[start:end] when it was anchored


# A word as the reader sees it (letters and digits; "don't" stays whole).
_WORD_RE = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
# What may sit between two words of a selection in the Markdown body but not in the
# rendered text: spaces and line breaks, punctuation, emphasis marks, and a link target.
_GAP = r"(?:\]\([^)\n]*\)|[^\w]|_)*?"
# A Markdown link's target: not part of the text a reader sees.
_LINK_TARGET_RE = re.compile(r"\]\([^)\n]*\)")
#: How many words of context either side are compared to choose between occurrences.
_CONTEXT_WORDS = 8


def _words(text: str) -> list[str]:
    return [word.casefold() for word in _WORD_RE.findall(text)]


def _words_pattern(words: Sequence[str]) -> re.Pattern[str]:
    """The words in order, with markup, punctuation or whitespace between them."""
    return re.compile(_GAP.join(re.escape(word) for word in words), re.IGNORECASE)


def shown_words(markdown: str) -> list[str]:
    """The words of a passage of Markdown as a reader sees them on the page (link targets
    left out): what the page's script looks for in the rendered text to mark it."""
    return _WORD_RE.findall(_LINK_TARGET_RE.sub("]", markdown))


def occurrences_before(body: str, passage: Passage) -> int:
    """How many times the passage's :func:`shown_words` occur in the text before it, as the
    page's script counts them in the rendered text (one after another, not overlapping,
    with anything but words between them): the page marks the next one, so that the right
    one of repeated words is marked, whatever markup lies between or around them."""
    words = shown_words(passage.quote)
    if not words:
        return 0
    before = _LINK_TARGET_RE.sub("]", body[: passage.start])
    return sum(1 for _ in _words_pattern(words).finditer(before))


def shown_passage(page_text: str, quote: str, occurrence: int) -> str | None:
    """The passage as a reader sees it: in ``page_text`` (its revision rendered, as plain
    text: ``core.markdown.plain_text``), the ``occurrence``-th place of its
    :func:`shown_words` (:func:`occurrences_before`, the place the page's script marks),
    with what the page shows between them: "river basin feeds three cities" for the
    Markdown ``river** basin feeds [three cities``. ``None`` when it is not there."""
    words = shown_words(quote)
    if not words:
        return None
    for index, match in enumerate(_words_pattern(words).finditer(page_text)):
        if index == occurrence:
            return " ".join(match.group().split())
    return None


def _candidates(body: str, quote: str) -> Iterator[tuple[int, int]]:
    """Every place ``quote`` occurs in ``body``: verbatim first, then word for word with
    Markdown markup, punctuation or other whitespace between the words (a selection of
    "river basin" where "river" is bold is ``river** basin`` in the body, even when the
    plain words occur elsewhere too: the context chooses)."""
    seen = set()
    start = body.find(quote)
    while start >= 0:
        seen.add(start)
        yield start, start + len(quote)
        start = body.find(quote, start + 1)
    words = _WORD_RE.findall(quote)
    if not words:
        return
    pattern = _words_pattern(words)
    position = 0
    while (match := pattern.search(body, position)) is not None:
        if match.start() not in seen:
            yield match.start(), match.end()
        position = match.start() + 1


def _common_tail(a: list[str], b: list[str]) -> int:
    count = 0
    while count < min(len(a), len(b)) and a[-1 - count] == b[-1 - count]:
        count += 1
    return count


def _common_head(a: list[str], b: list[str]) -> int:
    count = 0
    while count < min(len(a), len(b)) and a[count] == b[count]:
        count += 1
    return count


def _context_score(body: str, start: int, end: int, prefix: str, suffix: str) -> int:
    """How many words of context match either side of ``body[start:end]``."""
    before_words = _words(prefix)[-_CONTEXT_WORDS:]
    after_words = _words(suffix)[:_CONTEXT_WORDS]
    # Enough characters of the body to hold that many words, markup included.
    reach = 40 * _CONTEXT_WORDS + 80
    body_before = _words(body[max(0, start - reach) : start])
    body_after = _words(body[end : end + reach])
    return _common_tail(body_before, before_words) + _common_head(body_after, after_words)


def locate(body: str, quote: str, prefix: str = "", suffix: str = "") -> Passage | None:
    """Find a quoted passage (with a little context either side, as a browser selection gives).

    The quote is looked for verbatim, then word for word across Markdown markup. When it
    occurs more than once, the occurrence whose neighbouring words best match ``prefix``
    and ``suffix`` wins (on a tie, a verbatim one, then the first). ``None`` when it is not
    there, or when the quote holds nothing but whitespace.
    """
    if not quote.strip():
        return None
    best: tuple[int, int] | None = None
    best_score = -1
    for start, end in _candidates(body, quote):
        score = _context_score(body, start, end, prefix, suffix) if prefix or suffix else 0
        if score > best_score:
            best, best_score = (start, end), score
    if best is None:
        return None
    return Passage(best[0], best[1], body[best[0] : best[1]])


# -------------------------------------------------------------------- the word diff

_Op = tuple[str, int, int, int, int]  # kind, old start, old end, new start, new end (chars)


def _char_opcodes(old_body: str, new_body: str) -> list[_Op]:
    """The word diff of the two bodies, with character offsets instead of token indices."""
    old_tokens, new_tokens = tokenise(old_body), tokenise(new_body)
    old_at = _offsets(old_tokens)
    new_at = _offsets(new_tokens)
    return [
        (kind, old_at[i1], old_at[i2], new_at[j1], new_at[j2])
        for kind, i1, i2, j1, j2 in token_diff(old_tokens, new_tokens)
    ]


def _offsets(tokens: list[str]) -> list[int]:
    offsets = [0]
    for token in tokens:
        offsets.append(offsets[-1] + len(token))
    return offsets


def _has_word(text: str) -> bool:
    return any(char.isalnum() for char in text)


def carry(passage: Passage, old_body: str, new_body: str) -> Passage | None:
    """Where the passage's words are in new_body, through letters.text's word diff; None when every
    word of it was deleted. Words inserted strictly inside the passage extend it."""
    return carry_all([passage], old_body, new_body)[0]


def carry_all(passages: Sequence[Passage], old_body: str, new_body: str) -> list[Passage | None]:
    """:func:`carry` of each passage, with one word diff of the two bodies for them all."""
    if old_body == new_body:
        return list(passages)
    opcodes = _char_opcodes(old_body, new_body)
    return [_carry(passage, old_body, new_body, opcodes) for passage in passages]


def _carry(passage: Passage, old_body: str, new_body: str, opcodes: list[_Op]) -> Passage | None:
    start, end = passage.start, passage.end
    needs_word = _has_word(old_body[start:end])
    new_start: int | None = None
    new_end: int | None = None
    survived = False
    for index, (kind, o1, o2, n1, _) in enumerate(opcodes):
        if kind == "equal":
            low, high = max(o1, start), min(o2, end)
            if low < high:
                kept = old_body[low:high]
                survived = survived or not needs_word or _has_word(kept)
                mapped_start, mapped_end = n1 + (low - o1), n1 + (high - o1)
                new_start = mapped_start if new_start is None else min(new_start, mapped_start)
                new_end = mapped_end if new_end is None else max(new_end, mapped_end)
        elif kind == "delete" and o1 < end and o2 > start:
            # Words of the passage replaced by others: the replacement joins the passage.
            following = opcodes[index + 1] if index + 1 < len(opcodes) else None
            if following is not None and following[0] == "insert" and following[1] == o2:
                new_start = following[3] if new_start is None else min(new_start, following[3])
                new_end = following[4] if new_end is None else max(new_end, following[4])
    if not survived or new_start is None or new_end is None:
        return _moved(passage, old_body, new_body, opcodes)
    # A deleted first or last word leaves the space that followed or preceded it.
    if not passage.quote[:1].isspace():
        while new_start < new_end and new_body[new_start].isspace():
            new_start += 1
    if not passage.quote[-1:].isspace():
        while new_end > new_start and new_body[new_end - 1].isspace():
            new_end -= 1
    return Passage(new_start, new_end, new_body[new_start:new_end])


def _moved(passage: Passage, old_body: str, new_body: str, opcodes: list[_Op]) -> Passage | None:
    """The passage deleted in one place and inserted whole in another (a moved paragraph),
    or None."""
    inserted = [(n1, n2) for kind, _, _, n1, n2 in opcodes if kind == "insert"]
    if not inserted or not passage.quote.strip():
        return None
    prefix = old_body[max(0, passage.start - 200) : passage.start]
    suffix = old_body[passage.end : passage.end + 200]
    best: tuple[int, int] | None = None
    best_score = -1
    at = new_body.find(passage.quote)
    while at >= 0:
        stop = at + len(passage.quote)
        if any(n1 <= at and stop <= n2 for n1, n2 in inserted):
            score = _context_score(new_body, at, stop, prefix, suffix)
            if score > best_score:
                best, best_score = (at, stop), score
        at = new_body.find(passage.quote, at + 1)
    if best is None:
        return None
    return Passage(best[0], best[1], passage.quote)


def touched(passage: Passage, old_body: str, new_body: str) -> bool:
    """Whether any word inside the passage (or at its edges) changed between the two bodies."""
    if old_body == new_body:
        return False
    start, end = passage.start, passage.end
    for kind, o1, o2, _, _ in _char_opcodes(old_body, new_body):
        if kind == "delete" and o1 <= end and o2 >= start:
            return True
        if kind == "insert" and start <= o1 <= end:
            return True
    return False
