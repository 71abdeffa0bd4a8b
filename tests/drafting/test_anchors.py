"""Anchors: finding a selected passage in a body and carrying it to later bodies (no app)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from signon.drafting.anchors import (
    Passage,
    carry,
    carry_all,
    locate,
    occurrences_before,
    shown_passage,
    shown_words,
    touched,
)


@pytest.fixture(autouse=True)
def _database() -> Iterator[None]:
    """These functions touch no database: override the conftest's per-test transaction."""
    yield


BODY = (
    "# Open letter\n\n"
    "We call on the ministry to protect the river basin.\n\n"
    "The river basin feeds three cities and their farms.\n\n"
    "We ask for a public hearing before the end of the year.\n"
)


def anchored(body: str, quote: str, prefix: str = "", suffix: str = "") -> Passage:
    passage = locate(body, quote, prefix, suffix)
    assert passage is not None
    assert body[passage.start : passage.end] == passage.quote
    return passage


def test_locate_finds_a_single_occurrence() -> None:
    passage = anchored(BODY, "public hearing")
    assert passage.start == BODY.index("public hearing")
    assert passage.quote == "public hearing"


def test_locate_returns_none_for_absent_or_blank_quotes() -> None:
    assert locate(BODY, "a tax on water") is None
    assert locate(BODY, "   ") is None


def test_locate_chooses_the_occurrence_its_context_names() -> None:
    first = BODY.index("river basin")
    second = BODY.index("river basin", first + 1)
    assert anchored(BODY, "river basin").start == first  # no context: the first one
    chosen = anchored(BODY, "river basin", prefix="hearing.\n\nThe ", suffix=" feeds three")
    assert chosen.start == second
    chosen = anchored(BODY, "river basin", prefix="to protect the ", suffix=".")
    assert chosen.start == first


def test_shown_words_are_the_words_a_reader_sees() -> None:
    quote = "urge** the [ministry](https://gov.example/ministry) to act _now"
    assert shown_words(quote) == ["urge", "the", "ministry", "to", "act", "now"]
    assert shown_words("the river's **basin**") == ["the", "river's", "basin"]
    assert shown_words("** --") == []


def test_occurrences_before_count_the_words_across_markup_as_the_page_does() -> None:
    body = (
        "The **river** basin, a [river basin](https://example.org/river-basin).\n\n"
        "Protect the river basin.\n"
    )
    last = anchored(body, "river basin", prefix="Protect the ")
    assert last.start == body.rindex("river basin")
    # Two before it on the page: one across bold, one as a link's text; the link's target
    # (river-basin) is not on the page and is not counted.
    assert occurrences_before(body, last) == 2
    # Selected on the page across the bold word: the context chooses it over the plain
    # words of the link (which win without context).
    assert anchored(body, "river basin").quote == "river basin"
    across = anchored(body, "river basin", prefix="The ", suffix=", a river basin.")
    assert across.quote == "river** basin" and occurrences_before(body, across) == 0
    assert occurrences_before(body, Passage(0, 0, "")) == 0


def test_shown_passage_is_the_passage_in_the_rendered_text() -> None:
    body = "The **river** basin, a [river basin](https://example.org/river-basin).\n"
    page_text = "The river basin, a river basin.\n"  # core.markdown.plain_text of it
    across = anchored(body, "river basin", prefix="The ", suffix=", a")
    assert across.quote == "river** basin"
    assert shown_passage(page_text, across.quote, occurrences_before(body, across)) == (
        "river basin"
    )
    into_link = anchored(body, "basin, a river", prefix="The river ")
    assert into_link.quote == "basin, a [river"
    assert shown_passage(page_text, into_link.quote, 0) == "basin, a river"
    # Across two paragraphs: one space where the page breaks the line.
    assert shown_passage("here.\n\nSecond point", "here.\n\nSecond", 0) == "here. Second"
    assert shown_passage(page_text, "river basin", 2) is None
    assert shown_passage(page_text, "**", 0) is None


def test_locate_reads_through_markdown_markup() -> None:
    body = "We **urge** the [ministry](https://gov.example/ministry) to act _now_.\n"
    # What the rendered page gives as the selection: no asterisks, no link target.
    passage = anchored(body, "urge the ministry to act now")
    assert passage.quote == "urge** the [ministry](https://gov.example/ministry) to act _now"
    # A selection across two paragraphs (the browser joins them with one line break).
    two = "First *point* here.\n\nSecond point there.\n"
    assert anchored(two, "here.\nSecond point").quote == "here.\n\nSecond point"


def test_locate_uses_context_through_markup_too() -> None:
    body = "A **free** press. A free *press* again.\n"
    passage = anchored(body, "free press", prefix="A ", suffix=" again.")
    assert passage.start == body.index("free *press*")


def test_carry_across_an_insertion_before_the_passage() -> None:
    passage = anchored(BODY, "public hearing")
    new = BODY.replace("# Open letter\n\n", "# Open letter\n\nA new opening paragraph.\n\n")
    carried = carry(passage, BODY, new)
    assert carried is not None
    assert carried.quote == "public hearing"
    assert carried.start == new.index("public hearing")


def test_carry_across_an_edit_inside_the_passage() -> None:
    passage = anchored(BODY, "protect the river basin")
    new = BODY.replace("protect the river", "protect and restore the river")
    carried = carry(passage, BODY, new)
    assert carried is not None
    assert carried.quote == "protect and restore the river basin"
    # A word of it replaced by another: the passage holds the replacement.
    new = BODY.replace("protect the river basin", "protect the whole basin")
    carried = carry(passage, BODY, new)
    assert carried is not None
    assert carried.quote == "protect the whole basin"


def test_carry_keeps_the_rest_when_an_edge_word_is_deleted() -> None:
    passage = anchored(BODY, "protect the river basin")
    new = BODY.replace("to protect the river basin", "to the river basin")
    carried = carry(passage, BODY, new)
    assert carried is not None
    assert carried.quote == "the river basin"


def test_carry_does_not_take_in_words_added_at_the_edges() -> None:
    passage = anchored(BODY, "public hearing")
    new = BODY.replace("a public hearing before", "a prompt public hearing soon before")
    carried = carry(passage, BODY, new)
    assert carried is not None
    assert carried.quote == "public hearing"


def test_carry_returns_none_when_the_passage_is_deleted() -> None:
    passage = anchored(BODY, "feeds three cities")
    new = BODY.replace("The river basin feeds three cities and their farms.\n\n", "")
    assert carry(passage, BODY, new) is None
    # Deleted words but punctuation or spaces survive: still gone.
    new = BODY.replace("feeds three cities", "")
    assert carry(passage, BODY, new) is None


def test_carry_does_not_jump_to_an_identical_phrase_elsewhere() -> None:
    """The first "river basin" is deleted: the comment must not move onto the second."""
    passage = anchored(BODY, "river basin")
    assert passage.start == BODY.index("river basin")
    new = BODY.replace("to protect the river basin.", "to act.")
    assert new.count("river basin") == 1
    assert carry(passage, BODY, new) is None


def test_carry_follows_the_right_one_of_repeated_phrases() -> None:
    second_at = BODY.index("river basin", BODY.index("river basin") + 1)
    passage = anchored(BODY, "river basin", prefix="The ", suffix=" feeds")
    assert passage.start == second_at
    new = BODY.replace("We call on", "Today we call on")
    carried = carry(passage, BODY, new)
    assert carried is not None
    assert carried.start == new.index("river basin", new.index("river basin") + 1)


def test_carry_across_a_move_of_a_neighbouring_paragraph() -> None:
    paragraphs = [
        "We call on the ministry to protect the river basin.",
        "The river basin feeds three cities and their farms.",
        "We ask for a public hearing before the end of the year.",
    ]
    old = "\n\n".join(paragraphs) + "\n"
    new = "\n\n".join([paragraphs[2], paragraphs[0], paragraphs[1]]) + "\n"
    for quote, prefix in (("feeds three cities", "basin "), ("protect the river", "to ")):
        passage = anchored(old, quote, prefix=prefix)
        carried = carry(passage, old, new)
        assert carried is not None, quote
        assert carried.quote == quote
        assert carried.start == new.index(quote)


def test_carry_follows_its_own_paragraph_when_moved() -> None:
    old = "Alpha one two.\n\nBeta three four.\n\nGamma five six.\n"
    new = "Beta three four.\n\nGamma five six.\n\nAlpha one two.\n"
    passage = anchored(old, "one two")
    carried = carry(passage, old, new)
    assert carried is not None
    assert carried.start == new.index("one two")


def test_carry_with_markup_added_around_the_passage() -> None:
    passage = anchored(BODY, "public hearing")
    new = BODY.replace("a public hearing", "a **public hearing**")
    carried = carry(passage, BODY, new)
    assert carried is not None
    assert carried.quote == "public hearing"
    assert new[carried.start - 2 : carried.start] == "**"


def test_carry_through_two_revisions() -> None:
    passage = anchored(BODY, "public hearing")
    second = BODY.replace("We ask", "Above all, we ask")
    third = second.replace("public hearing", "public and open hearing")
    carried = carry(passage, BODY, second)
    assert carried is not None
    carried = carry(carried, second, third)
    assert carried is not None
    assert carried.quote == "public and open hearing"


def test_carry_of_an_unchanged_body_is_the_same_passage() -> None:
    passage = anchored(BODY, "public hearing")
    assert carry(passage, BODY, BODY) is passage


def test_touched() -> None:
    passage = anchored(BODY, "public hearing")
    assert not touched(passage, BODY, BODY)
    # Elsewhere in the text, or a word away: untouched.
    assert not touched(passage, BODY, BODY.replace("three cities", "four cities"))
    assert not touched(passage, BODY, BODY.replace("ask for a", "ask for the"))
    # Inside, or right at the edges.
    assert touched(passage, BODY, BODY.replace("public hearing", "public inquiry"))
    assert touched(passage, BODY, BODY.replace("public hearing", "publicly held hearing"))
    assert touched(passage, BODY, BODY.replace("public hearing", "public hearings"))
    assert touched(passage, BODY, BODY.replace("a public", "apublic"))


def test_carry_all_carries_each_passage_as_carry_does() -> None:
    passages = [anchored(BODY, "public hearing"), anchored(BODY, "feeds three cities")]
    new = BODY.replace("feeds three cities", "waters").replace("We ask", "Above all, we ask")
    assert carry_all(passages, BODY, new) == [carry(p, BODY, new) for p in passages]
    assert carry_all(passages, BODY, new)[1] is None
