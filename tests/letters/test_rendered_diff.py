"""The diff of the text as readers see it (signon/letters/rendered_diff.py)."""

from __future__ import annotations

from signon.letters.rendered_diff import before_and_after, readable_diff, readable_text
from signon.letters.text import DiffSegment


def test_readable_text_drops_markup_and_keeps_paragraphs_items_and_link_targets() -> None:
    markdown = "# Heading\n\nWe **urge** the [Court](https://icc.example.org).\n\n- one\n- *two*\n"
    assert readable_text(markdown) == (
        "Heading\n\nWe urge the Court (https://icc.example.org).\n\n• one\n\n• two\n"
    )


def test_a_formatting_change_alone_changes_no_word() -> None:
    segments = readable_diff("We urge the Court.\n", "We **urge** the _Court_.\n")
    assert [s.kind for s in segments] == ["equal"]


def test_a_word_change_is_shown_without_markdown() -> None:
    segments = readable_diff("We **SUPPORT** it.\n", "We **OPPOSE** it.\n")
    assert DiffSegment("delete", "SUPPORT") in segments
    assert DiffSegment("insert", "OPPOSE") in segments
    assert before_and_after(segments) == ("We SUPPORT it.\n", "We OPPOSE it.\n")
