"""Word diff, three-way merge and blame of letter texts (pure functions, no app)."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator

import pytest

from signon.letters.text import (
    BlameLine,
    Conflict,
    DiffSegment,
    DiffStats,
    MergeResult,
    blame,
    diff_stats,
    three_way_merge,
    word_diff,
)


@pytest.fixture(autouse=True)
def _database() -> Iterator[None]:
    """These functions touch no database: override the conftest's per-test transaction."""
    yield


def eq(text: str) -> DiffSegment:
    return DiffSegment("equal", text)


def ins(text: str) -> DiffSegment:
    return DiffSegment("insert", text)


def dele(text: str) -> DiffSegment:
    return DiffSegment("delete", text)


def old_side(segments: list[DiffSegment]) -> str:
    return "".join(s.text for s in segments if s.kind != "insert")


def new_side(segments: list[DiffSegment]) -> str:
    return "".join(s.text for s in segments if s.kind != "delete")


# ------------------------------------------------------------------ random inputs

PIECES = [
    "the", "The", "cat", "sat", "minister", "urge", "we", "organisation", "don't",
    " ", "  ", "\n", "\n\n", "\r\n", "\t", ".", ",", "!", "?", "-", "*", "#", "[", "](", ")",
    "café", "e\u0301te\u0301", "حقوق", "مُحَمَّد", "می\u200cخواهم", "हिन्दी", "人权", "東京",
    "の", "。", "Привет", "Ελλάδα", "😀", "\u200b", "\x00", "_", "1.5", "’",
]  # fmt: skip


def random_text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(size))


def mutate(rng: random.Random, text: str, edits: int) -> str:
    chars = list(text)
    for _ in range(edits):
        op = rng.random()
        position = rng.randint(0, len(chars))
        piece = list(random_text(rng, rng.randint(1, 4)))
        if op < 0.4 or not chars:
            chars[position:position] = piece
        elif op < 0.7:
            del chars[position : position + rng.randint(1, 8)]
        else:
            chars[position : position + rng.randint(1, 5)] = piece
    return "".join(chars)


def random_pairs(seed: int, count: int) -> Iterator[tuple[str, str]]:
    rng = random.Random(seed)
    for index in range(count):
        old = random_text(rng, rng.randint(0, 60))
        if index % 4 == 0:
            yield old, random_text(rng, rng.randint(0, 60))  # unrelated texts
        else:
            yield old, mutate(rng, old, rng.randint(0, 6))


HAND_MADE = [
    ("", ""),
    ("", "new text"),
    ("old text", ""),
    ("same", "same"),
    (" ", "  "),
    ("\n\n", "\n"),
    ("a b c", "c b a"),
    ("Line one\r\nLine two\r\n", "Line one\nLine two\n"),
    ("trailing space ", "trailing space"),
    ("The cat sat.", "The cat sat. The dog too."),
    ("人权很重要。", "人权非常重要。"),
    ("حقوق الإنسان", "حقوق المرأة"),
    ("x" * 1000, "x" * 999 + "y"),
]


# ---------------------------------------------------------------------- word_diff


@pytest.mark.parametrize(("old", "new"), [*HAND_MADE, *random_pairs(seed=7, count=600)])
def test_word_diff_reconstructs_both_texts_exactly(old: str, new: str) -> None:
    segments = word_diff(old, new)
    assert old_side(segments) == old
    assert new_side(segments) == new
    assert all(segment.text for segment in segments)
    for left, right in itertools.pairwise(segments):
        assert left.kind != right.kind, "adjacent segments of one kind must be coalesced"
        assert (left.kind, right.kind) != ("insert", "delete"), "a delete comes first"


def test_identical_and_empty_texts() -> None:
    assert word_diff("", "") == []
    assert word_diff("Same text.\n", "Same text.\n") == [eq("Same text.\n")]
    assert word_diff("", "Hello") == [ins("Hello")]
    assert word_diff("Hello", "") == [dele("Hello")]


def test_replaced_words_read_as_one_change_not_confetti() -> None:
    assert word_diff("the cat sat", "a dog sat") == [dele("the cat"), ins("a dog"), eq(" sat")]


def test_a_changed_word_is_replaced_whole_not_letter_by_letter() -> None:
    assert word_diff("The organisation agrees.", "The organization agrees.") == [
        eq("The "),
        dele("organisation"),
        ins("organization"),
        eq(" agrees."),
    ]


def test_inserted_words_and_punctuation() -> None:
    assert word_diff("Hello world.", "Hello, brave new world.") == [
        eq("Hello"),
        ins(", brave new"),
        eq(" world."),
    ]
    assert word_diff("We urge action", "We urge action now.") == [
        eq("We urge action"),
        ins(" now."),
    ]


def test_changes_in_two_paragraphs_are_not_folded_across_the_paragraph_break() -> None:
    assert word_diff("One.\n\nTwo.", "Uno.\n\nDos.") == [
        dele("One"),
        ins("Uno"),
        eq(".\n\n"),
        dele("Two"),
        ins("Dos"),
        eq("."),
    ]


def test_a_space_between_a_deletion_and_an_unrelated_word_stays_equal() -> None:
    # Only deletions around the space: folding would not make it more readable.
    assert word_diff("a very big cat", "a cat") == [eq("a "), dele("very big "), eq("cat")]


def test_paragraph_inserted_between_paragraphs() -> None:
    old = "First paragraph.\n\nLast paragraph.\n"
    new = "First paragraph.\n\nA new paragraph.\n\nLast paragraph.\n"
    segments = word_diff(old, new)
    assert [s for s in segments if s.kind != "equal"] == [ins("A new paragraph.\n\n")]


def test_cjk_characters_are_separate_tokens() -> None:
    assert word_diff("我们支持人权", "我们反对人权") == [
        eq("我们"),
        dele("支持"),
        ins("反对"),
        eq("人权"),
    ]


def test_arabic_and_combining_marks_stay_whole_words() -> None:
    assert word_diff("حقوق الإنسان", "حقوق المرأة") == [
        eq("حقوق "),
        dele("الإنسان"),
        ins("المرأة"),
    ]
    # Devanagari vowel signs are combining marks; the word must not be split at them.
    assert word_diff("हिन्दी भाषा", "हिन्दी बोली") == [eq("हिन्दी "), dele("भाषा"), ins("बोली")]
    # A decomposed accent (e + U+0301) belongs to its word.
    assert word_diff("e\u0301te\u0301 chaud", "hiver chaud") == [
        dele("e\u0301te\u0301"),
        ins("hiver"),
        eq(" chaud"),
    ]


def test_word_diff_of_a_long_text_is_fast() -> None:
    rng = random.Random(3)
    words = ["".join(rng.choices("abcdefghij", k=rng.randint(1, 8))) for _ in range(2000)]
    paragraphs = [" ".join(rng.choices(words, k=rng.randint(20, 90))) + "." for _ in range(700)]
    old = "\n\n".join(paragraphs)
    assert len(old) > 200_000
    new = old[:1000] + " inserted words " + old[1000:100_000] + old[100_100:]
    start = time.perf_counter()
    segments = word_diff(old, new)
    elapsed = time.perf_counter() - start
    assert old_side(segments) == old and new_side(segments) == new
    assert len([s for s in segments if s.kind != "equal"]) <= 4
    assert elapsed < 2.0, f"word_diff took {elapsed:.2f}s on {len(old)} characters"


# ---------------------------------------------------------------------- diff_stats


def test_diff_stats_counts_words_only() -> None:
    stats = diff_stats(word_diff("the cat sat.", "a big dog sat!"))
    assert stats == DiffStats(words_added=3, words_removed=2)
    assert not stats.unchanged


def test_diff_stats_ignores_whitespace_and_punctuation_changes() -> None:
    stats = diff_stats(word_diff("Hello world", "Hello,  world!\n"))
    assert stats == DiffStats(words_added=0, words_removed=0)
    assert stats.unchanged


def test_diff_stats_of_identical_and_cjk_texts() -> None:
    assert diff_stats(word_diff("same", "same")).unchanged
    assert diff_stats([]) == DiffStats(0, 0)
    assert diff_stats(word_diff("我们支持人权", "我们反对人权")) == DiffStats(2, 2)
    assert diff_stats(word_diff("don't stop", "do stop")) == DiffStats(1, 1)


# ------------------------------------------------------------------ three_way_merge

BASE = (
    "We, the undersigned organisations, write to you.\n"
    "\n"
    "The river is polluted. Fish are dying. Families cannot drink the water.\n"
    "\n"
    "We ask you to act now.\n"
)


def test_edits_in_different_paragraphs_merge() -> None:
    ours = BASE.replace("write to you", "write to you urgently")
    theirs = BASE.replace("act now", "act before the summer")
    result = three_way_merge(BASE, ours, theirs)
    assert result == MergeResult(
        BASE.replace("write to you", "write to you urgently").replace(
            "act now", "act before the summer"
        ),
        (),
    )
    assert result.clean


def test_edits_to_different_sentences_of_one_paragraph_merge() -> None:
    ours = BASE.replace("The river is polluted.", "The river is badly polluted.")
    theirs = BASE.replace("Families cannot drink", "Thousands of families cannot drink")
    result = three_way_merge(BASE, ours, theirs)
    assert result.clean
    assert "The river is badly polluted. Fish are dying. Thousands of families cannot drink" in (
        result.text
    )


def test_edits_to_different_words_of_one_sentence_merge() -> None:
    result = three_way_merge(
        "We urge the minister to act now.",
        "We urge the Minister to act now.",
        "We urge the minister to act immediately.",
    )
    assert result == MergeResult("We urge the Minister to act immediately.", ())


def test_the_same_word_changed_differently_conflicts_and_keeps_ours() -> None:
    ours = BASE.replace("Fish are dying", "Fish are disappearing")
    theirs = BASE.replace("Fish are dying", "Fish are perishing")
    result = three_way_merge(BASE, ours, theirs)
    assert not result.clean
    assert result.text == ours
    assert result.conflicts == (Conflict(base="dying", ours="disappearing", theirs="perishing"),)


def test_adjacent_words_changed_by_each_side_conflict() -> None:
    # Only a space between the two edits: combined they could read wrongly.
    result = three_way_merge("the cat sat", "the dog sat", "the cat stood")
    assert result.conflicts == (Conflict("cat sat", "dog sat", "cat stood"),)
    assert result.text == "the dog sat"


def test_changes_on_adjacent_lines_merge() -> None:
    result = three_way_merge("- one\n- two\n", "- uno\n- two\n", "- one\n- dos\n")
    assert result == MergeResult("- uno\n- dos\n", ())


def test_deleting_a_sentence_the_other_side_edited_conflicts() -> None:
    ours = BASE.replace(" Fish are dying.", "")
    theirs = BASE.replace("Fish are dying", "Fish are perishing")
    result = three_way_merge(BASE, ours, theirs)
    assert not result.clean and result.text == ours
    (conflict,) = result.conflicts
    assert "dying" in conflict.base and "perishing" in conflict.theirs
    assert "dying" not in conflict.ours


def test_identical_change_on_both_sides_is_clean() -> None:
    ours = BASE.replace("act now", "act today")
    assert three_way_merge(BASE, ours, ours) == MergeResult(ours, ())
    # The same change among other, different, changes.
    theirs = ours.replace("We, the undersigned", "We, the signatory")
    assert three_way_merge(BASE, ours, theirs) == MergeResult(theirs, ())
    both = BASE.replace("act now", "act today").replace("Fish", "Many fish")
    ours2 = both.replace("write to you", "write to you again")
    result = three_way_merge(BASE, ours2, both)
    assert result == MergeResult(ours2, ())


def test_one_side_unchanged_gives_the_other_side_exactly() -> None:
    changed = "Something completely different.\n"
    assert three_way_merge(BASE, BASE, changed) == MergeResult(changed, ())
    assert three_way_merge(BASE, changed, BASE) == MergeResult(changed, ())
    assert three_way_merge(BASE, BASE, BASE) == MergeResult(BASE, ())


def test_both_appending_different_paragraphs_at_the_end_conflicts() -> None:
    # Which paragraph comes first is a decision for a person.
    ours = BASE + "\nOurs.\n"
    theirs = BASE + "\nTheirs.\n"
    result = three_way_merge(BASE, ours, theirs)
    assert result.text == ours
    assert result.conflicts == (Conflict(base="", ours="\nOurs.\n", theirs="\nTheirs.\n"),)


def test_crlf_and_lf_are_the_same_text() -> None:
    ours_crlf = BASE.replace("act now", "act today").replace("\n", "\r\n")
    theirs = BASE.replace("write to you", "write to you urgently")
    result = three_way_merge(BASE.replace("\n", "\r\n"), ours_crlf, theirs)
    assert result == MergeResult(
        BASE.replace("act now", "act today").replace("write to you", "write to you urgently"), ()
    )
    # A CRLF-only difference is no change at all.
    assert three_way_merge(BASE, BASE.replace("\n", "\r\n"), theirs) == MergeResult(theirs, ())


def test_empty_base() -> None:
    assert three_way_merge("", "", "") == MergeResult("", ())
    assert three_way_merge("", "Ours.", "") == MergeResult("Ours.", ())
    assert three_way_merge("", "Same.", "Same.") == MergeResult("Same.", ())
    result = three_way_merge("", "Ours.", "Theirs.")
    assert result == MergeResult("Ours.", (Conflict("", "Ours.", "Theirs."),))


def test_unicode_merge() -> None:
    base = "人权很重要。环境也很重要。\n\nحقوق الإنسان مهمة. البيئة مهمة.\n"
    ours = base.replace("人权", "人民的权利")
    theirs = base.replace("البيئة", "المياه")
    assert three_way_merge(base, ours, theirs) == MergeResult(
        base.replace("人权", "人民的权利").replace("البيئة", "المياه"), ()
    )


@pytest.mark.parametrize("seed", range(40))
def test_disjoint_paragraph_edits_always_merge_to_both_edits(seed: int) -> None:
    rng = random.Random(seed)
    paragraphs = [random_text(rng, rng.randint(5, 30)).replace("\n", " ") for _ in range(12)]
    paragraphs = [p.replace("\r", " ") + f" P{i}." for i, p in enumerate(paragraphs)]
    indexes = list(range(len(paragraphs)))
    rng.shuffle(indexes)
    ours_edits, theirs_edits = set(indexes[:3]), set(indexes[3:6])

    def edited(which: set[int], tag: str) -> list[str]:
        return [f"{tag} {p} {tag}" if i in which else p for i, p in enumerate(paragraphs)]

    base = "\n\n".join(paragraphs)
    ours = "\n\n".join(edited(ours_edits, "Ours"))
    theirs = "\n\n".join(edited(theirs_edits, "Theirs"))
    expected = "\n\n".join(
        edited(ours_edits, "Ours")[i] if i in ours_edits else edited(theirs_edits, "Theirs")[i]
        for i in range(len(paragraphs))
    )
    assert three_way_merge(base, ours, theirs) == MergeResult(expected, ())


@pytest.mark.parametrize("seed", range(60))
def test_random_merges_never_lose_ours_and_are_symmetric_in_cleanliness(seed: int) -> None:
    rng = random.Random(1000 + seed)
    base = random_text(rng, rng.randint(0, 50)).replace("\r", "")
    ours = mutate(rng, base, rng.randint(0, 4)).replace("\r", "")
    theirs = mutate(rng, base, rng.randint(0, 4)).replace("\r", "")
    result = three_way_merge(base, ours, theirs)
    mirrored = three_way_merge(base, theirs, ours)
    assert result.clean == mirrored.clean
    if result.clean:
        assert result.text == mirrored.text
        assert three_way_merge(ours, ours, result.text).text == result.text
    else:
        assert result.text == ours
        for conflict in result.conflicts:
            assert conflict.ours != conflict.theirs
            assert conflict.base in base and conflict.ours in ours and conflict.theirs in theirs


def test_merge_of_a_long_text_is_fast() -> None:
    rng = random.Random(5)
    words = ["".join(rng.choices("abcdefghij", k=rng.randint(1, 8))) for _ in range(2000)]
    paragraphs = [" ".join(rng.choices(words, k=rng.randint(20, 90))) + "." for _ in range(700)]
    ours_p = list(paragraphs)
    theirs_p = list(paragraphs)
    for i in range(0, 690, 30):
        ours_p[i] = "Ours " + ours_p[i]
        theirs_p[i + 15] = theirs_p[i + 15] + " Theirs."
    base, ours, theirs = ("\n\n".join(p) for p in (paragraphs, ours_p, theirs_p))
    assert len(base) > 200_000
    start = time.perf_counter()
    result = three_way_merge(base, ours, theirs)
    elapsed = time.perf_counter() - start
    assert result.clean and result.text.count("Ours ") == 23 and result.text.count("Theirs.") == 23
    assert elapsed < 2.0, f"three_way_merge took {elapsed:.2f}s on {len(base)} characters"


# -------------------------------------------------------------------------- blame


def origins(lines: list[BlameLine]) -> list[tuple[str, int]]:
    return [(line.text, line.origin) for line in lines]


def test_blame_of_nothing_and_of_one_version() -> None:
    assert blame([]) == []
    assert blame([""]) == []
    assert origins(blame(["a\n\nb\n"])) == [("a", 0), ("", 0), ("b", 0)]


def test_blame_attributes_an_edited_paragraph_to_its_revision() -> None:
    v0 = "Intro.\n\nMiddle.\n\nEnd.\n"
    v1 = "Intro.\n\nMiddle, edited.\n\nEnd.\n"
    v2 = "Intro.\n\nMiddle, edited.\n\nEnd.\n"  # saved without change
    v3 = "Intro.\n\nMiddle, edited.\n\nThe end.\n"
    assert origins(blame([v0, v1, v2, v3])) == [
        ("Intro.", 0),
        ("", 0),
        ("Middle, edited.", 1),
        ("", 0),
        ("The end.", 3),
    ]


def test_blame_moved_deleted_and_restored_lines() -> None:
    v0 = "A\n\nB\n\nC\n"
    v1 = "C\n\nA\n\nB\n"  # C moved to the top: a move is a delete and an insert
    v2 = "C\n\nA\n"  # B deleted
    v3 = "C\n\nA\n\nB\n"  # B restored: it is new again
    assert origins(blame([v0, v1, v2])) == [("C", 1), ("", 1), ("A", 0)]
    assert origins(blame([v0, v1, v2, v3])) == [("C", 1), ("", 1), ("A", 0), ("", 3), ("B", 3)]


def test_blame_line_endings_and_trailing_newline() -> None:
    assert origins(blame(["a\r\nb", "a\nb\n", "a\nc"])) == [("a", 0), ("c", 2)]


def test_blame_unicode() -> None:
    assert origins(blame(["人权\n\nحقوق", "人权\n\nحقوق الإنسان"])) == [
        ("人权", 0),
        ("", 0),
        ("حقوق الإنسان", 1),
    ]


def test_blame_of_300_revisions_of_about_5000_lines() -> None:
    rng = random.Random(11)
    lines = [f"Paragraph {i} {rng.random()}" if i % 2 == 0 else "" for i in range(4999)]
    versions = ["\n".join(lines)]
    expected = [0] * len(lines)
    for revision in range(1, 300):
        for _ in range(rng.randint(1, 5)):
            i = rng.randrange(len(lines))
            if lines[i]:
                lines[i] = f"Revised in {revision} {rng.random()}"
                expected[i] = revision
        versions.append("\n".join(lines))
    start = time.perf_counter()
    result = blame(versions)
    elapsed = time.perf_counter() - start
    assert [line.text for line in result] == lines
    assert [line.origin for line in result] == expected
    assert elapsed < 10.0, f"blame took {elapsed:.2f}s"
