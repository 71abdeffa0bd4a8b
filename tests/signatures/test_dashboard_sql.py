"""The dashboard's counts, filters, order and pages in SQL give what the whole-letter
reading in Python gives (``queries.signatory_rows`` + ``apply_filters``: the reference)."""

from __future__ import annotations

import itertools

import pytest

from signon.signatures.dashboard import queries
from signon.signatures.dashboard.queries import Filters, SortOrder
from signon.signatures.state import SignatoryState
from tests.factories import make_user
from tests.signatures.dashboard_data import bulk_signatories, every_state, three_revision_letter

pytestmark = pytest.mark.usefixtures("app_context")


def test_counts_and_listed_match_the_rows_in_every_state() -> None:
    world = every_state(make_user())
    reference = queries.signatory_rows(world.letter)
    view = queries.overview(world.letter, now=None)
    assert view.counts == reference.counts
    assert all(view.counts[state] for state in SignatoryState), view.counts  # none is empty
    assert view.listed == reference.listed
    assert view.total == len(reference.rows)


@pytest.mark.parametrize("seed", [3, 11])
def test_every_filter_and_order_reads_the_same_rows(seed: int) -> None:
    letter = three_revision_letter(make_user())
    bulk_signatories(letter, 120, seed=seed)
    reference = queries.signatory_rows(letter)
    view = queries.overview(letter)
    assert view.counts == reference.counts and view.listed == reference.listed
    state_sets = [
        frozenset(),
        frozenset({SignatoryState.APPROVED_CURRENT}),
        frozenset({SignatoryState.INVITED, SignatoryState.APPROVED_EARLIER}),
        frozenset({SignatoryState.NO_RESPONSE, SignatoryState.DECLINED}),
    ]
    for states, search, sort in itertools.product(state_sets, ["", "org", "ZZZ"], SortOrder):
        filters = Filters(states=states, search=search, sort=sort)
        expected = [row.key for row in queries.apply_filters(reference.rows, filters)]
        first = queries.page_of_rows(view, filters, per_page=25)
        assert first.total == len(expected)
        read = [row.key for row in first.items]
        for number in range(2, first.pages + 1):
            page = queries.page_of_rows(view, Filters(states, search, sort, page=number), 25)
            assert page.number == number
            read += [row.key for row in page.items]
        assert read == expected, (states, search, sort)
        # a page number past the end shows the last page, with the same total
        past = queries.page_of_rows(view, Filters(states, search, sort, page=first.pages + 3), 25)
        assert (past.number, past.pages, past.total) == (first.pages, first.pages, len(expected))
        assert [row.key for row in past.items] == expected[(first.pages - 1) * 25 :]
        streamed = [row.key for batch in queries.row_batches(view, filters, 40) for row in batch]
        assert streamed == expected, (states, search, sort)


def test_search_folds_case_beyond_ascii() -> None:
    world = every_state(make_user())
    view = queries.overview(world.letter)
    found = queries.page_of_rows(view, Filters(search="ÖFFENTLICHE"))
    assert [row.name for row in found.items] == ["Öffentliche Initiative"]
