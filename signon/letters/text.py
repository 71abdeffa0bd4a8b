"""Diff, three-way merge and blame for letter texts (Markdown). Pure functions.

All three work on the same idea: a text is a sequence of *tokens* (words,
whitespace runs, single punctuation marks, single CJK characters) or of *lines*,
and sequences are aligned with :class:`difflib.SequenceMatcher`.

Aligning 200,000 characters token by token with ``autojunk=False`` would be
quadratic in the number of repeated tokens (every space matches every other
space), so alignment is hierarchical: first the common prefix and suffix are
trimmed, then whole lines (paragraphs) are aligned, then, only inside the
paragraphs that differ, sentences, and only inside the sentences that differ,
tokens. A typical edit therefore costs a line-level match plus a token-level
match of a sentence or two. A very large region in which no line or sentence
matched (a rewrite) is split at tokens found exactly once on each side, as in
patience diff, so that the time stays bounded.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Literal

from merge3 import Merge3

__all__ = [
    "BlameLine",
    "Conflict",
    "DiffSegment",
    "DiffStats",
    "MergeResult",
    "Opcode",
    "blame",
    "diff_stats",
    "three_way_merge",
    "token_diff",
    "tokenise",
    "word_diff",
]

# --------------------------------------------------------------------------- tokens

# Scripts written without spaces between words: each character is a token.
_CJK = (
    "\u3005-\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\uff66-\uff9f\U00020000-\U0003134f"
)
_WORD_CHAR = rf"(?:(?![{_CJK}])[^\W_])"
_TOKEN_RE = re.compile(
    # Whitespace: up to and including a newline, or a run without newline. Each
    # line break is its own token, so that the indentation of a line is apart from
    # the end of the previous line, and edits on either side of a break can merge.
    rf"[^\S\n]*\n|[^\S\n]+"
    rf"|[{_CJK}]"  # one CJK character
    rf"|{_WORD_CHAR}+(?:['\u2019]{_WORD_CHAR}+)*"  # a word; "don't" and "l'homme" stay whole
    rf"|.",  # anything else: one punctuation mark, symbol, combining mark...
    re.DOTALL,
)
_CJK_RE = re.compile(rf"[{_CJK}]")
_JOINERS = frozenset("\u200c\u200d")  # ZWNJ/ZWJ occur inside Persian and Indic words
# . ! ? … ؟ and the CJK full stop, exclamation mark and question mark.
_SENTENCE_END = frozenset(".!?\u2026\u061f\u3002\uff01\uff1f")
_CJK_SENTENCE_END = frozenset("\u3002\uff01\uff1f")


def _is_mark(token: str) -> bool:
    return len(token) == 1 and (token in _JOINERS or unicodedata.category(token)[0] == "M")


def _tokenise(text: str) -> list[str]:
    """Split ``text`` into tokens whose concatenation is ``text``.

    Python's ``\\w`` does not match combining marks (Devanagari vowel signs,
    Arabic harakat, a decomposed accent), so a word like "हिन्दी" comes out of the
    regular expression in pieces; the pieces are glued back together here.
    """
    tokens: list[str] = _TOKEN_RE.findall(text)
    if text.isascii():
        return tokens
    glued: list[str] = []
    previous_wordish = False
    for token in tokens:
        wordish = _is_mark(token) or (token[0].isalnum() and not _CJK_RE.match(token))
        if wordish and previous_wordish and glued:
            glued[-1] += token
        else:
            glued.append(token)
        previous_wordish = wordish
    return glued


def _is_word(token: str) -> bool:
    return any(char.isalnum() for char in token)


# ----------------------------------------------------------------- hierarchical match

#: Given a sequence and a range, the start index of each unit in that range.
_Grouper = Callable[[Sequence[str], int, int], list[int]]
_Block = tuple[int, int, int]

#: Up to this many elements (both sides together) a region is aligned exactly
#: (``autojunk=False``, quadratic in repeated elements); a larger one is first split
#: at unique common elements, at most ``_ANCHOR_DEPTH`` times, and what is still
#: larger after that is left unaligned (a replacement). Units (lines, sentences)
#: above the limit use difflib's ``autojunk`` heuristic.
_EXACT_LIMIT = 2000
_ANCHOR_DEPTH = 3


def _line_units(tokens: Sequence[str], lo: int, hi: int) -> list[int]:
    """Token units: a line with its newline and any blank lines after it."""
    starts = [lo]
    for index in range(lo + 1, hi):
        if tokens[index - 1][-1] == "\n" and tokens[index][-1] != "\n":
            starts.append(index)
    return starts


def _sentence_units(tokens: Sequence[str], lo: int, hi: int) -> list[int]:
    """Token units: a sentence with the whitespace that follows it."""
    starts = [lo]
    for index in range(lo, hi - 1):
        token = tokens[index]
        if token in _CJK_SENTENCE_END or (
            token[0].isspace() and index > lo and tokens[index - 1][-1] in _SENTENCE_END
        ):
            starts.append(index + 1)
    return starts


def _paragraph_units(lines: Sequence[str], lo: int, hi: int) -> list[int]:
    """Line units: a non-blank line with the blank lines after it.

    Blank lines are the most repeated element of a Markdown text; attaching them
    to the line before keeps the units nearly unique, hence cheap to align.
    """
    starts = [lo]
    for index in range(lo + 1, hi):
        if lines[index].strip():
            starts.append(index)
    return starts


_TOKEN_GROUPERS: tuple[_Grouper, ...] = (_line_units, _sentence_units)
_LINE_GROUPERS: tuple[_Grouper, ...] = (_paragraph_units,)


def _matching_blocks(
    a: Sequence[str], b: Sequence[str], groupers: Sequence[_Grouper]
) -> list[_Block]:
    """Like ``SequenceMatcher(None, a, b).get_matching_blocks()``, hierarchically.

    Blocks are ``(i, j, n)`` with ``a[i:i+n] == b[j:j+n]``, increasing in both
    ``i`` and ``j``, adjacent blocks merged, ending with ``(len(a), len(b), 0)``.
    """
    raw: list[_Block] = []
    _match(a, 0, len(a), b, 0, len(b), groupers, raw)
    blocks: list[_Block] = []
    for i, j, n in raw:
        if blocks and blocks[-1][0] + blocks[-1][2] == i and blocks[-1][1] + blocks[-1][2] == j:
            blocks[-1] = (blocks[-1][0], blocks[-1][1], blocks[-1][2] + n)
        elif n:
            blocks.append((i, j, n))
    blocks.append((len(a), len(b), 0))
    return blocks


def _match(
    a: Sequence[str],
    alo: int,
    ahi: int,
    b: Sequence[str],
    blo: int,
    bhi: int,
    groupers: Sequence[_Grouper],
    out: list[_Block],
    depth: int = _ANCHOR_DEPTH,
) -> None:
    prefix = 0
    while alo + prefix < ahi and blo + prefix < bhi and a[alo + prefix] == b[blo + prefix]:
        prefix += 1
    if prefix:
        out.append((alo, blo, prefix))
        alo += prefix
        blo += prefix
    suffix = 0
    while alo < ahi - suffix and blo < bhi - suffix and a[ahi - 1 - suffix] == b[bhi - 1 - suffix]:
        suffix += 1
    ahi -= suffix
    bhi -= suffix
    if alo < ahi and blo < bhi:
        _match_middle(a, alo, ahi, b, blo, bhi, groupers, out, depth)
    if suffix:
        out.append((ahi, bhi, suffix))


def _match_middle(
    a: Sequence[str],
    alo: int,
    ahi: int,
    b: Sequence[str],
    blo: int,
    bhi: int,
    groupers: Sequence[_Grouper],
    out: list[_Block],
    depth: int,
) -> None:
    level = 0
    while level < len(groupers):
        starts_a = groupers[level](a, alo, ahi)
        starts_b = groupers[level](b, blo, bhi)
        if len(starts_a) > 1 or len(starts_b) > 1:
            break
        level += 1
    else:
        _match_elements(a, alo, ahi, b, blo, bhi, out, depth)
        return

    finer = groupers[level + 1 :]
    starts_a.append(ahi)
    starts_b.append(bhi)
    # Units are interned to small integers: exact equality, cheap hashing.
    ids: dict[tuple[str, ...], int] = {}
    keys_a = [
        ids.setdefault(tuple(a[starts_a[k] : starts_a[k + 1]]), len(ids))
        for k in range(len(starts_a) - 1)
    ]
    keys_b = [
        ids.setdefault(tuple(b[starts_b[k] : starts_b[k + 1]]), len(ids))
        for k in range(len(starts_b) - 1)
    ]
    size = len(keys_a) + len(keys_b)
    unit_matcher = SequenceMatcher(None, keys_a, keys_b, autojunk=size > _EXACT_LIMIT)
    for tag, i1, i2, j1, j2 in unit_matcher.get_opcodes():
        if tag == "equal":
            out.append((starts_a[i1], starts_b[j1], starts_a[i2] - starts_a[i1]))
        else:
            _match(a, starts_a[i1], starts_a[i2], b, starts_b[j1], starts_b[j2], finer, out, depth)


def _match_elements(
    a: Sequence[str],
    alo: int,
    ahi: int,
    b: Sequence[str],
    blo: int,
    bhi: int,
    out: list[_Block],
    depth: int,
) -> None:
    """The finest level: align the elements themselves."""
    if (ahi - alo) + (bhi - blo) <= _EXACT_LIMIT:
        matcher = SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
        out.extend((alo + i, blo + j, n) for i, j, n in matcher.get_matching_blocks() if n)
        return
    if depth <= 0:
        return  # left unaligned: shown as a wholesale replacement
    # A large region where no line or sentence matched, i.e. a rewrite: split it
    # at elements found exactly once on each side ("patience" anchors).
    for i, j in [*_unique_anchors(a, alo, ahi, b, blo, bhi), (ahi, bhi)]:
        _match(a, alo, i, b, blo, j, (), out, depth - 1)
        if i < ahi:
            out.append((i, j, 1))
        alo, blo = i + 1, j + 1


def _unique_anchors(
    a: Sequence[str], alo: int, ahi: int, b: Sequence[str], blo: int, bhi: int
) -> list[tuple[int, int]]:
    """Pairs (i, j) with a[i] == b[j] occurring once in each range, increasing in both.

    The longest increasing run of such pairs, as in patience diff: O(n log n).
    """
    seen_a: dict[str, int] = {}
    for i in range(alo, ahi):
        seen_a[a[i]] = -1 if a[i] in seen_a else i
    seen_b: dict[str, int] = {}
    for j in range(blo, bhi):
        seen_b[b[j]] = -1 if b[j] in seen_b else j
    pairs = sorted(
        (i, seen_b[element])
        for element, i in seen_a.items()
        if i >= 0 and seen_b.get(element, -1) >= 0
    )
    # Longest increasing subsequence of the j's (pairs are sorted by i).
    tails: list[int] = []  # tails[k]: index in pairs of the smallest end of a run of length k+1
    tail_js: list[int] = []  # the j of each of those ends, for bisecting
    previous: list[int] = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        k = bisect_left(tail_js, j)
        if k:
            previous[index] = tails[k - 1]
        if k == len(tails):
            tails.append(index)
            tail_js.append(j)
        else:
            tails[k] = index
            tail_js[k] = j
    run: list[tuple[int, int]] = []
    index = tails[-1] if tails else -1
    while index >= 0:
        run.append(pairs[index])
        index = previous[index]
    run.reverse()
    return run


# ------------------------------------------------------------------------ word diff


@dataclass(frozen=True)
class DiffSegment:
    kind: Literal["equal", "insert", "delete"]
    text: str


@dataclass(frozen=True)
class DiffStats:
    words_added: int
    words_removed: int

    @property
    def unchanged(self) -> bool:
        return self.words_added == 0 and self.words_removed == 0


def word_diff(old: str, new: str) -> list[DiffSegment]:
    """A word-level diff of two texts, meant to be read by people.

    Joining the "equal" and "delete" segments gives ``old`` exactly; joining the
    "equal" and "insert" segments gives ``new`` exactly. A replaced passage is a
    "delete" followed by an "insert". A space between two changes on the same
    line is folded into them, so "the cat sat" -> "a dog sat" reads as "the cat"
    replaced by "a dog" rather than word-by-word confetti; whitespace containing
    a line break is never folded, so a change never spans two paragraphs
    because of this cleanup.
    """
    old_tokens = _tokenise(old)
    new_tokens = _tokenise(new)
    return [
        DiffSegment(kind, "".join(new_tokens[j1:j2] if kind == "insert" else old_tokens[i1:i2]))
        for kind, i1, i2, j1, j2 in token_diff(old_tokens, new_tokens)
    ]


#: (kind, i1, i2, j1, j2): old tokens [i1:i2] and new tokens [j1:j2] (one range empty
#: for an insertion or a deletion).
Opcode = tuple[Literal["equal", "insert", "delete"], int, int, int, int]


def token_diff(old_tokens: Sequence[str], new_tokens: Sequence[str]) -> list[Opcode]:
    """The word diff of :func:`word_diff` on token sequences (from :func:`tokenise`).

    Tokens are compared for equality only, so a caller may pass its own keys (a word
    with the link it sits in, say) as long as whitespace and line breaks stay as
    :func:`tokenise` makes them: they decide the alignment by lines and sentences
    and which spaces fold into a change.
    """
    opcodes: list[Opcode] = []
    i = j = 0
    for bi, bj, n in _matching_blocks(old_tokens, new_tokens, _TOKEN_GROUPERS):
        if i < bi:
            opcodes.append(("delete", i, bi, j, j))
        if j < bj:
            opcodes.append(("insert", bi, bi, j, bj))
        if n:
            opcodes.append(("equal", bi, bi + n, bj, bj + n))
        i, j = bi + n, bj + n
    return _fold_whitespace(opcodes, old_tokens)


def tokenise(text: str) -> list[str]:
    """The tokens of ``text`` (words, whitespace runs, punctuation marks, CJK characters)."""
    return _tokenise(text)


def _foldable(opcode: Opcode, old_tokens: Sequence[str]) -> bool:
    kind, i1, i2, _, _ = opcode
    text = "".join(old_tokens[i1:i2])
    return kind == "equal" and text.isspace() and "\n" not in text


def _fold_whitespace(opcodes: list[Opcode], old_tokens: Sequence[str]) -> list[Opcode]:
    out: list[Opcode] = []
    index = 0
    while index < len(opcodes):
        if opcodes[index][0] == "equal":
            out.append(opcodes[index])
            index += 1
            continue
        # A run of changes joined by foldable whitespace: change (ws change)*.
        end = index + 1
        while True:
            if end < len(opcodes) and opcodes[end][0] != "equal":
                end += 1
            elif (
                end + 1 < len(opcodes)
                and _foldable(opcodes[end], old_tokens)
                and opcodes[end + 1][0] != "equal"
            ):
                end += 2
            else:
                break
        run = opcodes[index:end]
        kinds = {opcode[0] for opcode in run}
        if "delete" in kinds and "insert" in kinds:
            i1, i2, j1, j2 = run[0][1], run[-1][2], run[0][3], run[-1][4]
            out.append(("delete", i1, i2, j1, j1))
            out.append(("insert", i2, i2, j1, j2))
        else:
            out.extend(run)
        index = end
    return out


def diff_stats(segments: Sequence[DiffSegment]) -> DiffStats:
    """Words (not whitespace or punctuation) added and removed; a CJK character is a word."""
    added = removed = 0
    for segment in segments:
        if segment.kind == "equal":
            continue
        count = sum(1 for token in _tokenise(segment.text) if _is_word(token))
        if segment.kind == "insert":
            added += count
        else:
            removed += count
    return DiffStats(words_added=added, words_removed=removed)


# --------------------------------------------------------------------- 3-way merge


@dataclass(frozen=True)
class Conflict:
    base: str
    ours: str  # the text of the user who is saving now
    theirs: str  # the text someone else saved meanwhile (the current head)


@dataclass(frozen=True)
class MergeResult:
    #: When clean, the merged text; when not, ours (the saving user's full text).
    text: str
    conflicts: tuple[Conflict, ...]
    #: The merge as a person resolves it: merged text between the conflicts, in order
    #: (``("merged",)`` when clean, ``("a", Conflict, "b")`` with one conflict...).
    pieces: tuple[str | Conflict, ...] = field(default=(), compare=False)

    @property
    def clean(self) -> bool:
        return not self.conflicts

    def resolved(self, chosen: Sequence[str]) -> str:
        """The merged text with ``chosen[k]`` in place of the k-th conflict."""
        if len(chosen) != len(self.conflicts):
            raise ValueError(f"{len(self.conflicts)} conflicts, {len(chosen)} choices")
        texts = iter(chosen)
        return "".join(
            piece if isinstance(piece, str) else _normalise_newlines(next(texts))
            for piece in self.pieces or (self.text,)
        )

    def around(self, index: int) -> tuple[str, str]:
        """The text of the lines (paragraphs) around conflict ``index``: what precedes it
        on its line and what follows it to the end of its line, with the other
        conflicts as the saving user wrote them."""
        before: list[str] = []
        after: list[str] = []
        position = 0
        for piece in self.pieces:
            text = piece if isinstance(piece, str) else piece.ours
            if not isinstance(piece, str):
                position += 1
                if position - 1 == index:
                    continue
            (before if position <= index else after).append(text)
        head, tail = "".join(before), "".join(after)
        return head[head.rfind("\n") + 1 :], tail.split("\n", 1)[0]


class _TokenMatcher:
    """The hierarchical matcher, shaped like difflib.SequenceMatcher for Merge3."""

    def __init__(
        self,
        isjunk: Callable[[str], bool] | None = None,
        a: Sequence[str] = "",
        b: Sequence[str] = "",
        autojunk: bool = True,
    ) -> None:
        self._a = a
        self._b = b

    def get_matching_blocks(self) -> list[_Block]:
        return _matching_blocks(self._a, self._b, _TOKEN_GROUPERS)


def _normalise_newlines(text: str) -> str:
    """CRLF and lone CR become LF (browsers submit textareas with CRLF)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _separates(tokens: Sequence[str]) -> bool:
    """Whether unchanged tokens keep two edits apart: a whole word or a line break."""
    return any(_is_word(token) or "\n" in token for token in tokens)


def three_way_merge(base: str, ours: str, theirs: str) -> MergeResult:
    """Merge two edits of ``base``, word by word.

    Line endings of all three texts are normalised to ``\\n`` first; the result
    (merged text, or ``ours`` on conflict) uses ``\\n``, nothing else is altered.

    Changes merge cleanly when they are separated by at least one unchanged word
    or line break, so two people can edit different sentences of the same
    paragraph. The same change made on both sides is taken once. Otherwise it is
    a conflict, in particular:

    * different changes to the same words, or to adjacent words with only
      spaces/punctuation between them (their combination could read wrongly);
    * two different insertions at the same place, e.g. both people appending a
      paragraph at the end: which should come first is a decision for a person.
    """
    base, ours, theirs = (_normalise_newlines(text) for text in (base, ours, theirs))
    if ours == theirs or theirs == base:
        return MergeResult(ours, (), (ours,))
    if ours == base:
        return MergeResult(theirs, (), (theirs,))

    base_t, ours_t, theirs_t = _tokenise(base), _tokenise(ours), _tokenise(theirs)
    merge = Merge3(base_t, ours_t, theirs_t, sequence_matcher=_TokenMatcher)
    merged: list[str] = []
    conflicts: list[Conflict] = []
    pieces: list[str | Conflict] = []

    def resolve(z0: int, z1: int, a0: int, a1: int, b0: int, b1: int) -> None:
        zs, os_, ts = base_t[z0:z1], ours_t[a0:a1], theirs_t[b0:b1]
        if os_ == ts or ts == zs:
            merged.extend(os_)
        elif os_ == zs:
            merged.extend(ts)
        else:
            conflicts.append(Conflict("".join(zs), "".join(os_), "".join(ts)))
            pieces.append("".join(merged))
            pieces.append(conflicts[-1])
            merged.clear()

    # Between two consecutive sync regions (unchanged on both sides) lies a hunk
    # changed on one side or both. Hunks separated only by spaces or punctuation
    # are resolved together as one cluster.
    cluster: list[int] | None = None  # [z0, a0, b0, z1, a1, b1]
    z = a = b = 0
    for zs, ze, as_, ae, bs, be in merge.find_sync_regions():
        if z < zs or a < as_ or b < bs:
            if cluster is None:
                cluster = [z, a, b, zs, as_, bs]
            else:
                cluster[3:] = [zs, as_, bs]
        if cluster is not None:
            if _separates(base_t[zs:ze]):
                resolve(cluster[0], cluster[3], cluster[1], cluster[4], cluster[2], cluster[5])
                cluster = None
            else:
                cluster[3:] = [ze, ae, be]
        if cluster is None:
            merged.extend(base_t[zs:ze])
        z, a, b = ze, ae, be
    if cluster is not None:
        resolve(cluster[0], cluster[3], cluster[1], cluster[4], cluster[2], cluster[5])

    rest = "".join(merged)
    if conflicts:
        return MergeResult(ours, tuple(conflicts), (*pieces, rest))
    return MergeResult(rest, (), (rest,))


# --------------------------------------------------------------------------- blame


@dataclass(frozen=True)
class BlameLine:
    text: str  # one line (paragraph) of the latest text, without its newline
    origin: int  # index into `versions` of the revision that last changed this line


def _lines(text: str) -> list[str]:
    text = _normalise_newlines(text)
    if not text:
        return []
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def blame(versions: Sequence[str]) -> list[BlameLine]:
    """Which revision last changed each line of the latest version.

    ``versions`` are full texts, oldest first. Each line of the last version gets
    the index of the earliest version from which it is unchanged; lines carried
    over unchanged keep their origin, inserted or edited lines take the index of
    the version that introduced them. A line deleted and later restored counts
    as new. Blank lines get an origin too.
    """
    if not versions:
        return []
    previous = _lines(versions[0])
    origins = [0] * len(previous)
    for index in range(1, len(versions)):
        current = _lines(versions[index])
        if current == previous:
            continue
        carried = [index] * len(current)
        for i, j, n in _matching_blocks(previous, current, _LINE_GROUPERS):
            carried[j : j + n] = origins[i : i + n]
        previous, origins = current, carried
    return [BlameLine(text, origin) for text, origin in zip(previous, origins, strict=True)]
