"""Diffs of the text as readers see it (rendered), not of its Markdown source.

Coordinators classifying a change and organisations told about one read the letter,
not Markdown: ``**`` and ``[..](..)`` are noise to them, and a change of formatting
alone changes no word they read. The Markdown is rendered (the same renderer as the
pages) and turned back into readable text, one paragraph (or list item, heading,
table row) per line with blank lines between; the word diff of
:mod:`signon.letters.text` then runs on that.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from itertools import count
from typing import Literal, NamedTuple, Protocol

from markupsafe import Markup

from signon.core.markdown import DIFF_ATTRIBUTES, DIFF_TAGS, render_markdown, sanitise_html
from signon.letters.text import (
    Conflict,
    DiffSegment,
    DiffStats,
    MergeResult,
    Opcode,
    diff_stats,
    token_diff,
    tokenise,
    word_diff,
)

#: Elements that start a new paragraph of readable text.
_BLOCKS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "tr", "table", "ul", "ol", "hr"}
)
_SPACES = re.compile(r"[^\S\n]+")
_BLANKS = re.compile(r"\n{3,}")
#: Struck-through text (Markdown ``~~…~~``): a struck word reads as withdrawn, so striking
#: or un-striking a word changes what the text says, unlike bold or a heading's level.
_STRUCK = frozenset({"s", "del"})
#: How plain text shows struck-through words (the convention mail readers know).
_STRIKE_MARK = "~~"


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
        elif tag in _STRUCK:
            self.parts.append(_STRIKE_MARK)

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS or tag == "li":
            self.parts.append("\n\n")
        elif tag in _STRUCK:
            self.parts.append(_STRIKE_MARK)
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


# --------------------------------------------------------------- the diff, formatted

#: Elements that hold blocks or text as a block: a change never spans two of them.
_BLOCK_TAGS = _BLOCKS - {"hr"} | {"li", "thead", "tbody", "th", "td"}
_UIDS = count(1)
#: A paragraph that became a heading (or the reverse) is still the same passage.
_PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6"})


class _Element(NamedTuple):  # tuples: one per token, so cheap to make
    tag: str
    attrs: str  # serialised, escaped: ' href="…"'
    uid: int = 0  # blocks: which element (unique); inline elements: 0


class _Atom(NamedTuple):
    """A token of rendered text with the elements around it, or a block boundary."""

    key: str  # what the diff compares
    text: str = ""  # the text shown ("" for a boundary or a void element)
    void: str = ""  # "br" or "hr"
    blocks: tuple[_Element, ...] = ()
    inline: tuple[_Element, ...] = ()

    @property
    def boundary(self) -> bool:
        return not self.text and not self.void


_BOUNDARY_KEY = "\n"


class _Atoms(HTMLParser):
    """Sanitised HTML (from :func:`render_markdown`) as a sequence of :class:`_Atom`.

    Text is cut into the tokens of :func:`signon.letters.text.tokenise`; each block's
    start and end is a boundary whose key is a line break, so the diff aligns blocks
    as it aligns lines. A word in a link is keyed with the link's address: where a
    link leads is part of what was approved; a struck-through word is keyed as struck
    (``_STRUCK``): striking "not" through turns "do not support" into its opposite. Each
    item of a numbered list carries its number in its own text (``value``): a removed
    item keeps the number the old text gave it, the items around it the numbers the new
    text gives them, as each side shows.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.atoms: list[_Atom] = []
        #: The open lists, innermost last: a numbered list's last number, None for bullets.
        self._lists: list[int | None] = []
        self._blocks: list[_Element] = []
        self._inline: list[_Element] = []
        # The same tuples for every atom of a run: later steps compare them by identity.
        self._block_path: tuple[_Element, ...] = ()
        self._inline_path: tuple[_Element, ...] = ()
        self._pending = ""  # whitespace kept only if text follows in the same block

    def _paths_changed(self) -> None:
        self._block_path, self._inline_path = tuple(self._blocks), tuple(self._inline)

    def _boundary(self) -> None:
        self._pending = ""
        if self.atoms and not self.atoms[-1].boundary:
            self.atoms.append(_Atom(_BOUNDARY_KEY, blocks=self._block_path))

    def _add(self, key: str, text: str = "", void: str = "") -> None:
        self.atoms.append(_Atom(key, text, void, self._block_path, self._inline_path))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        serialised = "".join(
            f' {name}="{escape(value)}"' for name, value in attrs if value is not None
        )
        if tag in ("ol", "ul"):
            start = dict(attrs).get("start") if tag == "ol" else None
            first = int(start) if start and start.isdigit() else 1
            self._lists.append(first - 1 if tag == "ol" else None)
        elif tag == "li" and self._lists and self._lists[-1] is not None:
            number = (self._lists[-1] or 0) + 1
            self._lists[-1] = number
            serialised += f' value="{number}"'
        if tag in _BLOCK_TAGS:
            self._boundary()
            self._blocks.append(_Element(tag, serialised, next(_UIDS)))
            self._paths_changed()
        elif tag == "hr":
            self._boundary()
            self._add("---\n", void="hr")
            self._boundary()
        elif tag == "br":
            self._pending = ""
            self._add(_BOUNDARY_KEY, void="br")
        else:
            self._inline.append(_Element(tag, serialised))
            self._paths_changed()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("ol", "ul") and self._lists:
            self._lists.pop()
        stack = self._blocks if tag in _BLOCK_TAGS else self._inline
        if tag in _BLOCK_TAGS:
            self._boundary()
        for index in range(len(stack) - 1, -1, -1):
            if stack[index].tag == tag:
                del stack[index:]
                self._paths_changed()
                break

    def handle_data(self, data: str) -> None:
        preformatted = any(element.tag == "pre" for element in self._blocks)
        if not preformatted:
            data = data.replace("\n", " ")  # a soft line break reads as a space
            if data.isspace():
                self._pending += data
                return
        data, self._pending = self._pending + data, ""
        link = next((e.attrs for e in reversed(self._inline) if e.tag == "a"), None)
        meaning = "" if link is None else f"\0{link}"
        if any(e.tag in _STRUCK for e in self._inline):
            meaning += "\0struck"
        for token in tokenise(data):
            key = token if not meaning or token.isspace() else token + meaning
            self._add(key, token)


def _atoms(html: str) -> list[_Atom]:
    parser = _Atoms()
    parser.feed(html)
    parser.close()
    return parser.atoms


Mark = Literal["equal", "insert", "delete"]
_Path = tuple[_Element, ...]


class _Item(NamedTuple):
    atom: _Atom
    mark: Mark
    blocks: _Path  # the blocks it is shown in (a deleted atom's mapped into the new text)


#: Raised whenever a change to this module changes what a diff shows: diffs stored by an
#: older version (``letters.diff_store``) are then made again.
DIFF_VERSION = 2


@dataclass(frozen=True)
class MarkedDiff:
    """The new text, formatted, with the words removed and added marked inside it."""

    html: Markup  # sanitised
    stats: DiffStats


class Rendered(Protocol):
    """A revision, or anything with its text rendered once and stored."""

    @property
    def body_html(self) -> Markup: ...


def marked_revisions(old: Rendered, new: Rendered, changed_only: bool = False) -> MarkedDiff:
    """:func:`marked_diff` of two revisions, from the HTML stored with each (not rendered
    again). Revisions never change, so the latest diffs are kept in this process: the
    Changes and Compare pages, viewed again, do not diff again (up to seconds for a
    long letter, see benchmarks/README.md)."""
    old_html, new_html = str(old.body_html), str(new.body_html)
    key = (_digest(old_html), _digest(new_html), changed_only)
    with _kept_lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
            return found
    marked = _marked(old_html, new_html, changed_only)
    with _kept_lock:
        _kept[key] = marked
        while len(_kept) > KEPT_DIFFS:
            _kept.popitem(last=False)
    return marked


#: Diffs kept per process, the least recently used dropped first: more than the
#: Changes page shows at once (its optional diffs and those approvals depend on).
KEPT_DIFFS = 64
_kept: OrderedDict[tuple[bytes, bytes, bool], MarkedDiff] = OrderedDict()
_kept_lock = threading.Lock()


def _digest(html: str) -> bytes:
    return hashlib.sha256(html.encode()).digest()


def marked_diff(old_markdown: str, new_markdown: str, changed_only: bool = False) -> MarkedDiff:
    """The rendered ``new_markdown`` with ``<del>``/``<ins>`` where words changed.

    The word diff (:func:`signon.letters.text.token_diff`) runs on the rendered texts'
    tokens, so a change of formatting alone marks nothing, and headings, lists,
    emphasis and links keep their form: the new text's for what stayed or was
    added, the old text's for what was removed (placed in the matching block of the
    new text where there is one, so a change spanning blocks is marked per block).
    ``changed_only`` leaves out the top-level blocks (paragraphs, lists, headings)
    in which nothing changed, with ``[…]`` where they were (for mails).
    """
    return _marked(
        str(render_markdown(old_markdown)), str(render_markdown(new_markdown)), changed_only
    )


def _marked(old_html: str, new_html: str, changed_only: bool) -> MarkedDiff:
    old, new = _atoms(old_html), _atoms(new_html)
    old_keys, new_keys = [a.key for a in old], [a.key for a in new]
    opcodes = _slid_to_blocks(token_diff(old_keys, new_keys), old_keys, new_keys)
    items = _items(old, new, opcodes)
    groups = _top_level_groups(items)
    parts: list[str] = []
    skipped = False
    for group in groups:
        if changed_only and all(item.mark == "equal" for item in group):
            skipped = True
            continue
        if skipped:
            parts.append("<p>[…]</p>")
        skipped = False
        parts.append(_serialise(group))
    if changed_only and skipped and parts:
        parts.append("<p>[…]</p>")
    html = sanitise_html("\n".join(parts), tags=DIFF_TAGS, attributes=DIFF_ATTRIBUTES)
    segments = [
        DiffSegment(item.mark, item.atom.text or _BOUNDARY_KEY)
        for item in items
        if item.atom.text or item.atom.boundary
    ]
    return MarkedDiff(Markup(html), diff_stats(segments))  # noqa: S704 - sanitised above


def _slid_to_blocks(
    opcodes: list[Opcode], old_keys: Sequence[str], new_keys: Sequence[str]
) -> list[Opcode]:
    """Whole removed or added blocks shown as such, not straddling two blocks.

    A removal between unchanged text can often sit in several places ("now.|A
    paragraph.|" or "now|.A paragraph|."): it is slid, within the unchanged text
    around it, to where it starts and ends at block boundaries if there is one.
    """
    out = list(opcodes)
    for index in range(1, len(out) - 1):
        kind = out[index][0]
        if kind == "equal" or out[index - 1][0] != "equal" or out[index + 1][0] != "equal":
            continue
        _, i1, i2, j1, j2 = out[index]
        if kind == "delete":
            keys, start, end = old_keys, i1, i2
            before, after = out[index - 1][1], out[index + 1][2]
        else:
            keys, start, end = new_keys, j1, j2
            before, after = out[index - 1][3], out[index + 1][4]
        best = _best_shift(keys, start, end, before, after)
        if best:  # the unchanged text around moves along in both texts
            p, c, n = out[index - 1], out[index], out[index + 1]
            out[index - 1] = ("equal", p[1], p[2] + best, p[3], p[4] + best)
            out[index] = (kind, c[1] + best, c[2] + best, c[3] + best, c[4] + best)
            out[index + 1] = ("equal", n[1] + best, n[2], n[3] + best, n[4])
    return [opcode for opcode in out if opcode[1] < opcode[2] or opcode[3] < opcode[4]]


def _best_shift(keys: Sequence[str], start: int, end: int, before: int, after: int) -> int:
    """How far ``keys[start:end]`` may slide within ``keys[before:after]`` to sit best."""
    shifts = [0]
    left = 1
    while start - left >= before and keys[start - left] == keys[end - left]:
        shifts.append(-left)
        left += 1
    right = 1
    while end + right <= after and keys[start + right - 1] == keys[end + right - 1]:
        shifts.append(right)
        right += 1
    return max(shifts, key=lambda s: (_at_boundaries(keys, start + s, end + s), -abs(s)))


def _at_boundaries(keys: Sequence[str], start: int, end: int) -> int:
    """How many ends of ``keys[start:end]`` are block boundaries (0, 1 or 2)."""
    return (keys[start - 1] == _BOUNDARY_KEY) + (keys[end - 1] == _BOUNDARY_KEY)


def _items(old: list[_Atom], new: list[_Atom], opcodes: Sequence[Opcode]) -> list[_Item]:
    """The atoms to show, in order, each with the blocks it goes in."""
    # Which blocks of the new text each block of the old one continues (by the words
    # they share), as paths from the top: a removed word goes into one of them. The
    # innermost block is followed whatever its parents became (a paragraph turned
    # into a list item); the outer ones when the path agrees down to them.
    continues: dict[int, list[_Path]] = {}
    seen: set[tuple[int, int]] = set()
    for kind, i1, i2, j1, _ in opcodes:
        if kind != "equal":
            continue
        for a, b in zip(old[i1:i2], new[j1 : j1 + i2 - i1], strict=True):
            pair = (id(a.blocks), id(b.blocks))  # atoms of one block share its path
            # Only words tie blocks together: any two blocks end alike (a boundary),
            # and an old cell whose words all changed is not the next row's last cell.
            if not a.text.strip() or pair in seen:
                continue
            seen.add(pair)
            if a.blocks and b.blocks:
                leaf = continues.setdefault(-a.blocks[-1].uid, [])
                if b.blocks not in leaf:
                    leaf.append(b.blocks)
            for depth, (x, y) in enumerate(zip(a.blocks, b.blocks, strict=False)):
                if x.tag != y.tag and not {x.tag, y.tag} <= _PARAGRAPHS:
                    break
                paths = continues.setdefault(x.uid, [])
                if b.blocks[: depth + 1] not in paths:
                    paths.append(b.blocks[: depth + 1])
    items: list[_Item] = []
    shown: _Path = ()
    for index, (kind, i1, i2, j1, j2) in enumerate(opcodes):
        into = _replacing_block(opcodes, index, new) if kind == "delete" else None
        for atom in old[i1:i2] if kind == "delete" else new[j1:j2]:
            blocks = _mapped(atom.blocks, shown, continues) if kind == "delete" else atom.blocks
            if (
                into
                and blocks
                and blocks[-1] is atom.blocks[-1]  # its block continues none of the new text
                and blocks[:-1] == into[:-1]
                and _same_kind(blocks[-1], into[-1])
            ):
                blocks = into
            if atom.boundary:
                blocks = shown
            items.append(_Item(atom, kind, blocks))
            shown = blocks
    return items


def _replacing_block(opcodes: Sequence[Opcode], index: int, new: list[_Atom]) -> _Path | None:
    """The block the insertion right after deletion ``opcodes[index]`` starts in: a
    block whose words were all replaced is shown once, old and new words together (a
    table row keeps its number of cells, a list its number of items)."""
    if index + 1 == len(opcodes) or opcodes[index + 1][0] != "insert":
        return None
    _, _, _, j1, j2 = opcodes[index + 1]
    first = next((atom for atom in new[j1:j2] if atom.text.strip()), None)
    return first.blocks if first is not None and first.blocks else None


def _same_kind(a: _Element, b: _Element) -> bool:
    return a.tag == b.tag or {a.tag, b.tag} <= _PARAGRAPHS


def _mapped(path: _Path, shown: _Path, continues: dict[int, list[_Path]]) -> _Path:
    """An old atom's blocks in the new text: the one open now if it continues them."""
    if path and (leaf := continues.get(-path[-1].uid)):
        return shown if shown in leaf else leaf[0]
    out: _Path = ()
    for depth, element in enumerate(path):
        options = [p for p in continues.get(element.uid, ()) if p[:depth] == out]
        if not options:
            return out + path[depth:]
        out = shown[: depth + 1] if shown[: depth + 1] in options else options[0]
    return out


def _top_level_groups(items: list[_Item]) -> list[list[_Item]]:
    groups: list[list[_Item]] = []
    top: _Element | None = None
    for item in items:
        this = item.blocks[0] if item.blocks else None
        if not groups or this != top:
            groups.append([])
            top = this
        groups[-1].append(item)
    return groups


def _marked_word(item: _Item | None, mark: Mark) -> bool:
    return item is not None and item.mark == mark and bool(item.atom.text.strip())


def _serialise(items: list[_Item]) -> str:
    """HTML for the items: each opened and closed elements as its path needs."""
    out: list[str] = []
    stack: list[tuple[object, _Element]] = []
    last: tuple[int, int, str] | None = None  # the paths and mark the stack is open for
    for index, item in enumerate(items):
        atom = item.atom
        # A space is marked only between two marked words; alone it is not worth a mark,
        # and a removed one is kept only where it still separates two words.
        before = items[index - 1] if index else None
        after = items[index + 1] if index + 1 < len(items) else None
        alone = atom.text.isspace() and not (
            _marked_word(before, item.mark) and _marked_word(after, item.mark)
        )
        removed_edge = alone and (
            before is None or after is None or before.atom.boundary or after.atom.boundary
        )
        if atom.boundary or (item.mark == "delete" and (atom.void or removed_edge)):
            continue
        mark = item.mark if item.mark != "equal" and atom.text and not alone else ""
        if last == (id(item.blocks), id(atom.inline), mark):  # the same elements are open
            out.append(f"<{atom.void}>" if atom.void else escape(atom.text))
            continue
        last = (id(item.blocks), id(atom.inline), mark)
        wanted: list[tuple[object, _Element]] = [(("block", e.uid), e) for e in item.blocks]
        if mark:
            tag = "ins" if mark == "insert" else "del"
            wanted.append((("mark", tag), _Element(tag, "")))
        wanted.extend((("inline", e.tag, e.attrs), e) for e in atom.inline)
        same = 0
        while same < min(len(stack), len(wanted)) and stack[same][0] == wanted[same][0]:
            same += 1
        out.extend(f"</{element.tag}>" for _, element in reversed(stack[same:]))
        out.extend(f"<{element.tag}{element.attrs}>" for _, element in wanted[same:])
        stack = wanted
        out.append(f"<{atom.void}>" if atom.void else escape(atom.text))
    out.extend(f"</{element.tag}>" for _, element in reversed(stack))
    return "".join(out)


#: Mail clients ignore style sheets: the marks' colours go inline (as on the pages).
_MAIL_MARKS = {
    "<ins>": '<ins style="background:#d8f3dc;color:#0f5130;text-decoration:underline">',
    "<del>": '<del style="background:#fddede;color:#8a1116;text-decoration:line-through">',
}


def for_mail(html: Markup) -> Markup:
    """A :func:`marked_diff`'s HTML with its marks styled inline, for the HTML part of a mail."""
    for mark, styled in _MAIL_MARKS.items():
        html = Markup(html.replace(mark, Markup(styled)))  # noqa: S704 - constant markup
    return html


@dataclass(frozen=True)
class ConflictView:
    """One conflict of a three-way merge as the conflict page shows it: its paragraph
    (line) twice, with the saving user's and the other person's wording marked against
    the text they both started from."""

    conflict: Conflict
    yours: Markup
    theirs: Markup


def conflict_views(merge: MergeResult) -> list[ConflictView]:
    """Each conflict of ``merge`` within its paragraph, both versions (see ConflictView)."""
    views = []
    for index, conflict in enumerate(merge.conflicts):
        before, after = merge.around(index)
        original = before + conflict.base + after
        views.append(
            ConflictView(
                conflict,
                marked_diff(original, before + conflict.ours + after).html,
                marked_diff(original, before + conflict.theirs + after).html,
            )
        )
    return views
