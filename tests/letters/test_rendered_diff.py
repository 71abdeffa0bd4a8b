"""The diff of the text as readers see it (signon/letters/rendered_diff.py)."""

from __future__ import annotations

import re

from signon.core.markdown import render_markdown
from signon.letters.rendered_diff import (
    KEPT_DIFFS,
    before_and_after,
    marked_diff,
    marked_revisions,
    readable_diff,
    readable_text,
)
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


# --------------------------------------------------------------- marked_diff


def test_headings_lists_bold_and_links_keep_their_form_with_changes_marked() -> None:
    old = (
        "# Climate finance\n\n**Dear Ministers**, we urge you.\n\n- one item\n- two items\n\n"
        "See [the Court](https://icc.example.org) now.\n"
    )
    new = (
        "# Climate finance now\n\n**Dear Ministers**, we strongly urge you.\n\n"
        "- one item\n- three items\n- four\n\nSee [the Court](https://icc.example.org) today.\n"
    )
    html = str(marked_diff(old, new).html)
    assert html == (
        "<h1>Climate finance <ins>now</ins></h1>\n"
        "<p><strong>Dear Ministers</strong>, we <ins>strongly</ins> urge you.</p>\n"
        "<ul><li>one item</li><li><del>two</del><ins>three</ins> items</li>"
        "<li><ins>four</ins></li></ul>\n"
        '<p>See <a href="https://icc.example.org" rel="noopener noreferrer nofollow">the Court</a>'
        " <del>now</del><ins>today</ins>.</p>"
    )


def test_changes_inside_bold_and_links_stay_inside_them() -> None:
    html = str(
        marked_diff(
            "We **urge the** [Court](https://a.org).\n",
            "We **urge all the** [big Court](https://a.org).\n",
        ).html
    )
    assert "<strong>urge </strong><ins><strong>all</strong></ins><strong> the</strong>" in html
    assert '<ins><a href="https://a.org" rel="noopener noreferrer nofollow">big</a></ins>' in html


def test_a_changed_link_target_is_a_change() -> None:
    html = str(marked_diff("[the Court](https://a.org)\n", "[the Court](https://b.org)\n").html)
    assert '<del><a href="https://a.org"' in html and '<ins><a href="https://b.org"' in html


def test_striking_a_word_through_is_a_change_in_every_diff() -> None:
    """A struck word reads as withdrawn: "We do ~~not~~ support" says the opposite of
    "We do not support". Striking through is no formatting-only change (red team: it was
    marked nowhere, neither on the pages nor in the re-confirmation mail's parts)."""
    old, new = "We do not support the motion.\n", "We do ~~not~~ support the motion.\n"
    marked = marked_diff(old, new)
    assert "<del>not</del><ins><s>not</s></ins>" in marked.html
    assert not marked.stats.unchanged
    assert marked_diff(old, new, changed_only=True).html != ""
    segments = readable_diff(old, new)
    assert before_and_after(segments) == (old, "We do ~~not~~ support the motion.\n")
    assert [s.kind for s in segments] != ["equal"]
    # and the reverse: a strike taken away
    assert "<del><s>not</s></del><ins>not</ins>" in marked_diff(new, old).html


def test_a_formatting_change_alone_marks_nothing() -> None:
    old, new = "## Title\n\nWe urge the Court.\n", "# Title\n\nWe **urge** the _Court_.\n"
    marked = marked_diff(old, new)
    assert "<ins>" not in marked.html and "<del>" not in marked.html
    assert "<h1>Title</h1>" in marked.html and "<strong>urge</strong>" in marked.html
    assert marked.stats.unchanged


def test_a_change_across_paragraphs_is_marked_per_paragraph() -> None:
    old = "We urge the Court to act.\n\nStates must cooperate fully.\n"
    new = "We urge the Court to decide. States must cooperate fully.\n"
    html = str(marked_diff(old, new).html)
    assert html == (
        "<p>We urge the Court to <del>act</del><ins>decide</ins>. States must cooperate fully.</p>"
    )
    # a change that takes words from the end of one paragraph and the start of the next
    html = str(marked_diff("One two three.\n\nFour five six.\n", "One two.\n\nfive six.\n").html)
    assert html == "<p>One two <del>three</del>.</p>\n<p><del>Four</del> five six.</p>"
    assert html.count("<p>") == 2 and html.count("</p>") == 2
    for paragraph in html.split("\n"):
        assert paragraph.count("<del>") == paragraph.count("</del>")


def test_a_removed_paragraph_and_list_item_keep_their_block() -> None:
    html = str(marked_diff("a\n\nb gone.\n\nc\n", "a\n\nc\n").html)
    assert html == "<p>a</p>\n<p><del>b gone.</del></p>\n<p>c</p>"
    html = str(marked_diff("1. a\n2. b\n3. c\n", "1. a\n2. c\n").html)
    assert html == (
        '<ol><li value="1">a</li><li value="2"><del>b</del></li><li value="2">c</li></ol>'
    )


def test_numbered_items_show_the_number_each_side_gives_them() -> None:
    """The removed item keeps its old number; the others show the new text's numbers
    (not the removed item's place in the new list, which renumbered them)."""
    old = "Intro\n\n1. A one\n2. B two\n3. C three\n4. D four\n"
    new = "Intro\n\n1. A one\n2. X new\n3. B two\n4. D four\n"
    html = str(marked_diff(old, new).html)
    numbers = re.findall(r'<li value="(\d+)">(?:<(ins|del)>)?([A-Z])', html)
    assert numbers == [
        ("1", "", "A"),
        ("2", "ins", "X"),
        ("3", "", "B"),
        ("3", "del", "C"),  # "3. C three" in the old text
        ("4", "", "D"),
    ]
    # a list that starts elsewhere, with a nested bullet list (no numbers there)
    old = "3. A one\n4. B two\n   - sub\n5. C three\n"
    html = str(marked_diff(old, "3. A one\n4. C three\n").html)
    assert '<li value="4"><del>B two</del><ul><li><del>sub</del></li></ul></li>' in html
    assert '<li value="4">C' in html
    assert "value" not in str(marked_diff("- a\n- b\n", "- a\n- c\n").html)


def test_script_in_the_text_stays_escaped_and_marks_survive_sanitising() -> None:
    old = "Hello <script>alert(1)</script> world\n"
    new = "Hello <script>alert(2)</script> world <img src=x onerror=alert(3)>\n"
    html = str(marked_diff(old, new).html)
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;alert(<del>1</del><ins>2</ins>)&lt;/script&gt;" in html
    assert "<ins>&lt;img src=x onerror=alert(3)&gt;</ins>" in html
    linked = marked_diff("a\n", "a [x](javascript:alert(1)) [y](https://ok.example)\n").html
    assert 'href="javascript' not in linked
    assert '<ins>[x](javascript:alert(1)) <a href="https://ok.example"' in linked


def test_changed_only_leaves_out_unchanged_blocks() -> None:
    old = "# Title\n\nSame one.\n\nChanged here.\n\nSame two.\n\nSame three.\n"
    new = "# Title\n\nSame one.\n\nChanged there.\n\nSame two.\n\nSame three.\n"
    html = str(marked_diff(old, new, changed_only=True).html)
    assert html == "<p>[…]</p>\n<p>Changed <del>here</del><ins>there</ins>.</p>\n<p>[…]</p>"
    assert str(marked_diff(old, old, changed_only=True).html) == ""


def test_stats_count_words_as_read() -> None:
    stats = marked_diff("We **urge** you.\n", "We _strongly_ urge all of you.\n").stats
    assert (stats.words_added, stats.words_removed) == (3, 0)


def test_a_pair_of_revisions_is_diffed_once_per_process() -> None:
    class Stored:
        def __init__(self, markdown: str) -> None:
            self.body_html = render_markdown(markdown)

    old, new = Stored("We urge the Court.\n"), Stored("We urge the **whole** Court.\n")
    first = marked_revisions(old, new)
    assert "<ins><strong>whole</strong></ins>" in first.html
    assert marked_revisions(Stored("We urge the Court.\n"), new) is first  # same texts: kept
    assert marked_revisions(old, new, changed_only=True) is not first
    assert marked_revisions(new, old) is not first
    for n in range(KEPT_DIFFS):  # the least recently used are dropped
        marked_revisions(old, Stored(f"Version {n}.\n"))
    again = marked_revisions(old, new)
    assert again is not first and again.html == first.html


def test_a_table_keeps_its_rows_and_cells() -> None:
    """A cell whose words all changed is marked in its own cell, and an added row does
    not pull the changed cell out of its row (blocks are tied by their words only)."""
    old = "| a | b |\n|---|---|\n| 1 | 2 |\n"
    new = "| a | b |\n|---|---|\n| 1 | 3 |\n| 4 | 5 |\n"
    html = str(marked_diff(old, new).html)
    assert html == (
        "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>"
        "<tr><td>1</td><td><del>2</del><ins>3</ins></td></tr>"
        "<tr><td><ins>4</ins></td><td><ins>5</ins></td></tr></tbody></table>"
    )
