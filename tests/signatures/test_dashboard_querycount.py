"""The dashboard and its CSV send a fixed, small number of queries, however many organisations."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from signon.signatures.dashboard.views import CSV_BATCH
from tests.conftest import login
from tests.factories import make_user
from tests.querycount import count_queries
from tests.signatures.dashboard_data import bulk_signatories, every_state, three_revision_letter

pytestmark = pytest.mark.usefixtures("app_context")

PAGES = [
    "signatories",
    "signatories?sort=state&page=2",
    "signatories?state=approved_current&state=invited&q=organisation",
    "signatories.csv",
    "signatories.csv?bom=1&sort=activity",
]
#: The user (login), the letter, the role check, the revisions, the counts per state
#: (signatures and invitations without one, in one statement), the listed count (its
#: revisions, its stored arrangement, the kept COUNT), the page's keys (with the filtered
#: total, when filtered), its signatures, its invitations, the chart's events and the
#: withdrawals that need the coordinators' action.
MOST = 13


def _counts(client: FlaskClient, organisations: int) -> dict[str, int]:
    coordinator = make_user()
    letter = three_revision_letter(coordinator)
    bulk_signatories(letter, organisations, seed=organisations)
    login(client, coordinator)
    slug = letter.slug
    # a first request commits, which expires what the test holds: from then on, every
    # request loads its user as in production
    assert client.get(f"/letters/{slug}/signatories").status_code == 200
    counts = {}
    for page in PAGES:
        with count_queries() as counter:
            response = client.get(f"/letters/{slug}/{page}")
            assert response.status_code == 200, page
            response.get_data()
        counts[page] = counter.count
    return counts


def test_same_queries_for_5_and_200_organisations(client: FlaskClient) -> None:
    small = _counts(client, 5)
    large = _counts(client, 200)
    assert small == large
    # a filter's total comes with the page's keys (without one it is the sum of the counts)
    assert (
        large["signatories"]
        == large["signatories?state=approved_current&state=invited&q=organisation"]
    )
    assert large["signatories"] == MOST, large
    # no chart, no late withdrawals, no total, no page of keys: the rows in one query
    assert large["signatories.csv"] == MOST - 4, large
    assert max(large.values()) <= MOST, large


def test_same_queries_at_50_and_20000_organisations(client: FlaskClient) -> None:
    """Issue 11 item 5, at the size it names: the CSV streams 20 of its batches and
    still reads them in one query (it read three per batch: 70 statements, 13 at 50)."""
    assert 10 * CSV_BATCH < 20_000
    small = _counts(client, 50)
    large = _counts(client, 20_000)
    assert small == large


def test_every_kind_of_row_loads_nothing_lazily(client: FlaskClient) -> None:
    coordinator = make_user()
    world = every_state(coordinator)
    login(client, coordinator)
    path = f"/letters/{world.letter.slug}/signatories"
    assert client.get(path).status_code == 200
    with count_queries() as counter:
        assert client.get(path).status_code == 200
    assert counter.count <= MOST, counter.statements
