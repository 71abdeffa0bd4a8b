"""Cutting an edit into suggestions: every hunk quotes words of the old text, and the
hunks together make the new text."""

from __future__ import annotations

import itertools

import pytest

from signon.drafting.suggestions.hunks import Hunk, apply_hunks, split_into_hunks


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("the cat sat on the mat\n", "a dog sat on a mat, today\n"),
        ("One.\n\nTwo.\n", "Zero.\n\nOne.\n\nTwo.\n"),
        ("One.\n\nTwo.\n", "One.\n\nTwo.\n\nThree.\n"),
        ("cat sat\n", "dog sat very\n"),
        ("a, b\n", "a,x b\n"),
        ("Hello world\n", "Hello\n"),
        ("x\n", "! x\n"),
        ("a b c d\n", "a c d e\n"),
        ("", "Hello\n"),
        ("Une lettre ; deux.\n", "Une longue lettre ; trois.\n"),
    ],
)
def test_hunks_rebuild_the_new_text_and_quote_the_old(old: str, new: str) -> None:
    hunks = split_into_hunks(old, new)
    assert hunks
    assert apply_hunks(old, hunks) == new
    for hunk in hunks:
        assert old[hunk.start : hunk.end] == hunk.quote
        assert hunk.quote != hunk.replacement
        if old.strip():  # something to hold on to: every hunk quotes a word
            assert any(char.isalnum() for char in hunk.quote)
    starts = [hunk.start for hunk in hunks]
    assert starts == sorted(starts)
    assert all(a.end < b.start for a, b in itertools.pairwise(hunks))


def test_separate_changes_are_separate_hunks_and_an_insertion_takes_the_word_before() -> None:
    assert split_into_hunks("the cat sat on the mat\n", "a dog sat on the mat today\n") == [
        Hunk(0, 7, "the cat", "a dog"),
        Hunk(19, 22, "mat", "mat today"),
    ]


def test_the_same_text_has_no_hunk() -> None:
    assert split_into_hunks("Same.\n", "Same.\n") == []
