"""The proposed classification of a change (signon/signatures/lifecycle/proposal.py): pure
functions.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from signon.letters.models import ChangeKind
from signon.signatures.lifecycle.proposal import edit_distance, is_misspelling_fix, propose, words


@pytest.fixture(autouse=True)
def _database() -> Iterator[None]:
    """These functions touch no database: override the conftest's per-test transaction."""
    yield


def _kind(old: str, new: str, *, old_title: str = "T", new_title: str = "T") -> ChangeKind:
    return propose(old_title, old, new_title, new).kind


EDITORIAL = ChangeKind.EDITORIAL
SUBSTANTIVE = ChangeKind.SUBSTANTIVE


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("We support the repeal.", "We support the repeal"),  # punctuation
        ("We support, the repeal.", "We support the repeal!"),
        ("We  support\nthe repeal.", "We support the repeal."),  # whitespace
        ("We support the repeal.", "We SUPPORT the Repeal."),  # casing
        ("We support the repeal.", "We **support** the _repeal_."),  # Markdown formatting
        ("We recieve the letter.", "We receive the letter."),  # transposition
        ("The goverment acts.", "The government acts."),  # one missing letter
        ("An enviromental policy.", "An environmental policy."),  # long word, one edit
        ("An envirnomental policy.", "An environmental policy."),  # long word, two edits
        ("same text", "same text"),
    ],
)
def test_editorial_proposals(old: str, new: str) -> None:
    assert _kind(old, new) == EDITORIAL


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("We SUPPORT the repeal.", "We OPPOSE the repeal."),  # the case
        ("Emissions at least triple by 2028.", "Emissions double by 2035."),  # the case
        ("Triple by 2028.", "Triple by 2035."),  # a number only
        ("Triple by 2028.", "Double by 2028."),  # a word only
        ("We support the repeal.", "We do not support the repeal."),  # negation added
        ("We do not support it.", "We do support it."),  # negation removed
        ("We can support it.", "We can't support it."),  # contracted negation
        ("We now support it.", "We not support it."),  # one letter, but a negation
        ("Costs 1.5 million.", "Costs 15 million."),  # decimal point moved
        ("Costs $5 million.", "Costs €5 million."),  # currency
        ("A 5% cut.", "A 5 cut."),  # percent
        ("A form of words.", "A from of words."),  # short words are not spelling fixes
        ("We support the repeal.", "We support the repeal. And more."),  # sentence added
        ("We support the repeal. And more.", "We support the repeal."),  # sentence removed
        ("The policy.", "The politics."),  # more than a spelling fix
    ],
)
def test_substantive_proposals(old: str, new: str) -> None:
    assert _kind(old, new) == SUBSTANTIVE


def test_title_changes_count() -> None:
    assert _kind("x", "x", old_title="We support", new_title="We oppose") == SUBSTANTIVE
    assert _kind("x", "x", old_title="We support", new_title="We support!") == EDITORIAL


def test_reasons_name_the_change() -> None:
    proposal = propose("T", "We SUPPORT the repeal.", "T", "We OPPOSE the repeal.")
    assert proposal.reasons == ("“support” became “oppose”",)
    assert not proposal.editorial
    added = propose("T", "We support it.", "T", "We do not support it.")
    assert added.reasons == ("added “do not”",)


def test_words_keep_meaningful_symbols_and_contractions() -> None:
    assert words("We can't pay $5 (5%)!") == ["we", "can't", "pay", "$", "5", "5", "%"]


def test_edit_distance() -> None:
    assert edit_distance("recieve", "receive") == 1
    assert edit_distance("support", "oppose") == 4
    assert edit_distance("", "abc") == 3
    assert edit_distance("abc", "abc") == 0


def test_misspelling_fix_rules() -> None:
    assert is_misspelling_fix("goverment", "government")
    assert not is_misspelling_fix("2028", "2029")
    assert not is_misspelling_fix("cat", "car")
    assert not is_misspelling_fix("never", "lever")


def test_lines_rewrapped_or_joined_compare_word_by_word() -> None:
    """The body is compared line by line first; a change of line breaks alone is still
    editorial, and a word changed in rewrapped lines is still found."""
    old = "Intro.\n\nWe urge the Court\nto act now.\n\nStates must cooperate.\n"
    assert _kind(old, old.replace("Court\nto", "Court to")) == EDITORIAL
    assert _kind(old, old.replace("Court\nto act", "Court to\nact")) == EDITORIAL
    assert _kind(old, old.replace("Court.\n\n", "Court ").replace("\n\nStates", " States")) == (
        EDITORIAL
    )
    proposal = propose("T", old, "T", old.replace("Court\nto act", "Court\nnot to act"))
    assert proposal.kind == SUBSTANTIVE and proposal.reasons == ("added “not”",)


def test_a_long_repetitive_letter_is_compared_word_by_word_only_where_lines_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Comparing every word with every equal word of a 50,000-character letter of
    repeated sections took up to a second per revision (the Changes page shows twenty):
    the words are now compared only within the lines that changed. Checked by what the
    word matcher is given, not by a time (benchmarks/rendered_diff.py --page measures)."""
    from signon.signatures.lifecycle import proposal

    compared: list[int] = []
    word_reasons = proposal._word_reasons

    def counting(old: list[str], new: list[str]) -> list[str]:
        compared.append(len(old) + len(new))
        return word_reasons(old, new)

    monkeypatch.setattr(proposal, "_word_reasons", counting)
    section = "## Section\n\nWe urge the Court to act without delay on the findings.\n\n- one\n\n"
    old = section * 700
    new = old.replace("without delay", "at once", 1)
    assert propose("T", old, "T", new).kind == SUBSTANTIVE
    # the title, then the one changed line (11 words before and after), never the letter
    assert compared == [2, 22]
