"""An edit of a text cut into hunks: one suggestion each. A pure function."""

from __future__ import annotations

from dataclasses import dataclass

from signon.letters.text import token_diff, tokenise


@dataclass(frozen=True)
class Hunk:
    """``old[start:end]`` (``quote``) replaced by ``replacement``."""

    start: int
    end: int
    quote: str
    replacement: str


def _is_word(token: str) -> bool:
    return any(char.isalnum() for char in token)


def split_into_hunks(old: str, new: str) -> list[Hunk]:
    """The changes that turn ``old`` into ``new``, as the word diff of
    :func:`signon.letters.text.token_diff` sees them: a run of changed tokens (a
    replacement is a deletion and an insertion side by side) is one hunk.

    A pure insertion has no words of its own in ``old`` to be anchored by, so it takes the
    word before it (or, at the very start, the word after it) into its quote and its
    replacement: "is good" -> "is very good" is the hunk "is" -> "is very". When there is
    no such word between it and the neighbouring hunk, it joins that hunk.
    Applying every hunk to ``old`` (from the last to the first) gives ``new``.
    """
    old_tokens, new_tokens = tokenise(old), tokenise(new)
    groups: list[list[int]] = []  # [i1, i2, j1, j2]: old tokens [i1:i2] -> new [j1:j2]
    previous_equal = True
    for kind, i1, i2, j1, j2 in token_diff(old_tokens, new_tokens):
        if kind == "equal":
            previous_equal = True
            continue
        if previous_equal:
            groups.append([i1, i2, j1, j2])
        else:
            groups[-1][1], groups[-1][3] = i2, j2
        previous_equal = False
    widened: list[list[int]] = []
    for index, group in enumerate(groups):
        i1, i2, j1, j2 = group
        if i1 < i2:
            widened.append(group)
            continue
        floor = widened[-1][1] if widened else 0
        ceiling = groups[index + 1][0] if index + 1 < len(groups) else len(old_tokens)
        before = next((k for k in range(i1 - 1, floor - 1, -1) if _is_word(old_tokens[k])), None)
        after = next((k for k in range(i2, ceiling) if _is_word(old_tokens[k])), None)
        if before is not None:
            widened.append([before, i2, j1 - (i1 - before), j2])
        elif widened:  # only spaces or marks since the previous hunk: one hunk with it
            widened[-1][1], widened[-1][3] = i2, j2
        elif after is not None:
            widened.append([i1, after + 1, j1, j2 + (after + 1 - i2)])
        else:  # nothing to hold on to: the next hunk (or, alone, the whole text) holds it
            widened.append(group)
    merged: list[list[int]] = []
    for group in widened:
        if merged and (merged[-1][0] == merged[-1][1] or group[0] <= merged[-1][1]):
            merged[-1][1], merged[-1][3] = max(merged[-1][1], group[1]), group[3]
        else:
            merged.append(group)
    old_at, new_at = _offsets(old_tokens), _offsets(new_tokens)
    return [
        Hunk(old_at[i1], old_at[i2], old[old_at[i1] : old_at[i2]], new[new_at[j1] : new_at[j2]])
        for i1, i2, j1, j2 in merged
    ]


def _offsets(tokens: list[str]) -> list[int]:
    offsets = [0]
    for token in tokens:
        offsets.append(offsets[-1] + len(token))
    return offsets


def apply_hunks(old: str, hunks: list[Hunk]) -> str:
    """``old`` with every hunk applied (they must not overlap)."""
    text = old
    for hunk in sorted(hunks, key=lambda h: h.start, reverse=True):
        text = text[: hunk.start] + hunk.replacement + text[hunk.end :]
    return text
