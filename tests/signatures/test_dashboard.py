"""The coordinators' dashboard: rows, states, counts, filters, search, sorting, pages, CSV."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient

from signon.core.spreadsheet import neutralise_cell
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.dashboard import queries
from signon.signatures.dashboard.queries import Verification
from signon.signatures.dashboard.views import CSV_HEADER, csv_filename
from signon.signatures.models import Invitation
from signon.signatures.state import SignatoryState
from tests.conftest import login
from tests.factories import make_letter, make_user
from tests.signatures.dashboard_data import (
    BULK_STATES,
    EVERY_STATE,
    EveryState,
    bulk_signatories,
    every_state,
    three_revision_letter,
)

pytestmark = pytest.mark.usefixtures("app_context")


class _TableRows(HTMLParser):
    """The signatories table's body rows, each as a list of its cells' text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        #: The first piece of text of each row: the organisation's name.
        self.names: list[str] = []
        self.times: list[str] = []
        self._cell: list[str] | None = None
        self._in_row = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "tr" and (attributes.get("id") or "").startswith("row-"):
            self._in_row = True
            self.rows.append([])
        elif self._in_row and tag in ("td", "th"):
            self._cell = []
        elif self._in_row and tag == "time":
            self.times.append(attributes["datetime"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            if not self.rows[-1]:
                self.names.append(next(c.strip() for c in self._cell if c.strip()))
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._in_row = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table(html: str) -> _TableRows:
    parser = _TableRows()
    parser.feed(html)
    return parser


def names(html: str) -> list[str]:
    return table(html).names


def shown_counts(html: str) -> dict[str, int]:
    """The counts at the top of the page: state label → number."""
    pairs = re.findall(
        r'<span class="state-count">(\d+)</span>\s*<span class="badge[^"]*">([^<]+)</span>', html
    )
    return {label: int(count) for count, label in pairs}


def page_of(client: FlaskClient, letter: Letter, query: str = "") -> str:
    response = client.get(f"/letters/{letter.slug}/signatories{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def world(client: FlaskClient) -> EveryState:
    coordinator = make_user()
    built = every_state(coordinator)
    login(client, coordinator)
    return built


def _by_name(letter: Letter) -> dict[str, queries.SignatoryRow]:
    rows = queries.signatory_rows(letter).rows
    by_name = {row.name: row for row in rows}
    assert len(by_name) == len(rows)
    return by_name


# --- Rows and states ----------------------------------------------------------------------


def test_one_row_per_organisation_in_its_state(world: EveryState) -> None:
    rows = _by_name(world.letter)
    # a signature that came through an invitation is one row, not two
    assert len(rows) == len(EVERY_STATE)
    for key, (name, state) in EVERY_STATE.items():
        assert rows[name].state == state, key


def test_row_details(world: EveryState) -> None:
    rows = _by_name(world.letter)
    n = world.names
    head = world.letter.head()
    carried, earlier = rows[n["carried"]], rows[n["earlier"]]
    assert carried.approved_number == 2
    assert carried.note == "Approved rev 2 (later changes editorial)"
    assert earlier.approved_number == 1
    assert earlier.note == ("Approved rev 1; the current text (rev 3) awaits their re-confirmation")
    assert rows[n["current"]].note == ""
    assert rows[n["current"]].approved_sha256 == head.content_sha256
    assert rows[n["current"]].short_sha == head.content_sha256[:8]
    assert [name for name, row in rows.items() if row.hash_mismatch] == [n["tampered"]]
    # verification: the domain of the confirming address against the website
    assert rows[n["current"]].verification == Verification.VERIFIED  # www. ignored
    assert rows[n["carried"]].verification == Verification.VERIFIED
    assert rows[n["unverified"]].verification == Verification.CHECK
    assert rows[n["imported"]].verification == Verification.NONE  # no address at all
    assert rows[n["invited"]].verification == Verification.NONE
    assert rows[n["withdrawn"]].verification == Verification.NONE
    # the confirming address when there is one, else the invitation's
    assert rows[n["unverified"]].email == "someone@gmail.example"
    assert rows[n["invited"]].email == "invited@invited.example.org"
    assert rows[n["imported"]].email is None
    # what the organisation gave when signing; nothing for a bare decline
    assert rows[n["current"]].country == "United Kingdom"
    assert rows[n["current"]].kind is not None
    assert rows[n["declined"]].kind is None
    assert rows[n["imported"]].sort_name == "Moroccan Coalition for the ICC, the"


def test_unclassified_revision_is_explained(client: FlaskClient, world: EveryState) -> None:
    from tests.factories import add_revision

    add_revision(world.letter, None, "One, substantively changed.\n\nTwo, again.\n")
    rows = _by_name(world.letter)
    # revision 4 is not classified: nobody's approval covers it yet
    current = rows[world.names["current"]]
    assert current.state == SignatoryState.APPROVED_EARLIER
    assert current.note == ("Approved rev 3; rev 4 not yet classified as editorial or substantive")
    # revision 2 was substantive: that one must re-confirm whatever revision 4 turns out to be
    assert rows[world.names["earlier"]].note == (
        "Approved rev 1; the current text (rev 4) awaits their re-confirmation"
    )
    html = " ".join(page_of(client, world.letter).split())
    assert "Revision 4 is not classified yet as editorial or substantive" in html


def test_last_activity_is_the_latest_of_signature_and_invitation(world: EveryState) -> None:
    later = utcnow() + timedelta(hours=5)
    signature = world.signatures["current"]
    invitation = db.session.get(Invitation, signature.invitation_id)
    invitation.last_activity_at = later
    db.session.flush()
    assert _by_name(world.letter)[world.names["current"]].last_activity_at == later


def test_page_shows_every_row_state_and_column(client: FlaskClient, world: EveryState) -> None:
    html = page_of(client, world.letter)
    parsed = table(html)
    rows = dict(zip(parsed.names, parsed.rows, strict=True))
    assert len(rows) == len(EVERY_STATE)
    for name, state in EVERY_STATE.values():
        assert rows[name][1].startswith(state.label), name
    n = world.names
    head = world.letter.head()
    assert rows[n["carried"]][1].endswith("Approved rev 2 (later changes editorial)")
    assert "awaits their re-confirmation" in rows[n["earlier"]][1]
    assert rows[n["current"]][2] == f"rev 3 {head.content_sha256[:8]}"
    assert "hash mismatch" in rows[n["tampered"]][2]
    assert "hash mismatch" not in rows[n["current"]][2]
    assert rows[n["current"]][3] == "Domain verified"
    assert rows[n["unverified"]][3] == "Check this"
    assert rows[n["invited"]][3] == "— not applicable"
    assert rows[n["current"]][4] == "United Kingdom"
    assert rows[n["current"]][5] == "Network or coalition"
    assert rows[n["invited"]][6] == "invited@invited.example.org"
    assert rows[n["imported"]][0].startswith("the Moroccan Coalition for the ICC sorted as")
    assert "imported" in rows[n["imported"]][0]
    assert "public sign-on" in rows[n["pending"]][0]
    assert len(table(html).times) == len(EVERY_STATE)  # last activity, as <time>
    assert "not classified yet" not in html  # every revision is classified


def test_counts_per_state(client: FlaskClient, world: EveryState) -> None:
    html = page_of(client, world.letter)
    expected = Counter(state for _, state in EVERY_STATE.values())
    counts = shown_counts(html)
    assert counts == {state.label: expected.get(state, 0) for state in queries.STATE_ORDER}
    assert counts["Approved the current text"] == 5
    # counts stay those of every row whatever the filters
    assert shown_counts(page_of(client, world.letter, "?state=declined&q=zzz")) == counts


def test_empty_letter(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    login(client, coordinator)
    html = page_of(client, letter)
    assert "No organisation has been invited or has signed yet" in html
    assert "No approvals yet" in html
    assert set(shown_counts(html).values()) == {0}
    assert table(html).rows == []


# --- Filters, search, sorting -------------------------------------------------------------


def test_filter_by_one_state(client: FlaskClient, world: EveryState) -> None:
    html = page_of(client, world.letter, "?state=approved_current")
    expected = {name for name, state in EVERY_STATE.values() if state.value == "approved_current"}
    assert set(names(html)) == expected
    checkbox = 'checked id="state-0" name="state" type="checkbox" value="approved_current"'
    assert checkbox in html
    assert html.count(" checked ") == 1


def test_filter_by_several_states(client: FlaskClient, world: EveryState) -> None:
    html = page_of(client, world.letter, "?state=declined&state=withdrawn&state=no_response")
    assert sorted(names(html)) == sorted(
        [world.names["declined"], world.names["withdrawn"], world.names["no_response"]]
    )
    assert "of 3 (of 15 in all)" in " ".join(html.split())


def test_unknown_state_is_ignored(client: FlaskClient, world: EveryState) -> None:
    html = page_of(client, world.letter, "?state=nonsense")
    assert len(names(html)) == len(EVERY_STATE)
    assert "Some filters in the address were not understood" in html
    assert "not understood" not in page_of(client, world.letter, "?state=revoked")
    assert names(page_of(client, world.letter, "?state=nonsense&state=revoked")) == [
        world.names["revoked"]
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "justice",
            [
                "International Justice Project",
                "Kenyans for Peace with Truth and Justice",
                "No Peace Without Justice",
            ],
        ),
        (
            "JUSTICE",
            [
                "International Justice Project",
                "Kenyans for Peace with Truth and Justice",
                "No Peace Without Justice",
            ],
        ),
        ("gmail", ["Human Rights Watch"]),  # the confirming e-mail address
        ("earlier@earlier", ["REDRESS"]),  # the invitation's address
        ("united kingdom", ["Amnesty International", "REDRESS"]),  # country
        ("ÖFFENTLICHE", ["Öffentliche Initiative"]),  # case-insensitive beyond ASCII
        ("  moroccan   coalition ", ["the Moroccan Coalition for the ICC"]),  # spaces folded
        ("no such organisation", []),
    ],
)
def test_search(client: FlaskClient, world: EveryState, query: str, expected: list[str]) -> None:
    html = page_of(client, world.letter, f"?q={query}")
    assert sorted(names(html)) == sorted(expected)
    if not expected:
        assert "No organisation matches these filters" in html


def test_search_and_state_together(client: FlaskClient, world: EveryState) -> None:
    html = page_of(client, world.letter, "?q=united&state=approved_earlier")
    assert names(html) == ["REDRESS"]


def test_sort_by_name_uses_sort_names_and_collation(client: FlaskClient, world: EveryState) -> None:
    order = names(page_of(client, world.letter))
    # "the Moroccan Coalition" sorts under M (its sort name), "Öffentliche" with the Os
    assert (
        order.index("Kenyans for Peace with Truth and Justice")
        < order.index("the Moroccan Coalition for the ICC")
        < order.index("No Peace Without Justice")
    )
    assert order.index("No Peace Without Justice") < order.index("Öffentliche Initiative")
    assert order.index("Öffentliche Initiative") < order.index("REDRESS")
    assert order[0] == "Al-Haq"
    # no sort name: a leading article is skipped, as on the public list (stored name_order)
    assert (
        order.index("the Moroccan Coalition for the ICC")
        < order.index("the Nigerian Coalition for the ICC")
        < order.index("No Peace Without Justice")
    )


def test_sort_by_state(client: FlaskClient, world: EveryState) -> None:
    rows = table(page_of(client, world.letter, "?sort=state")).rows
    ranks = [
        queries.STATE_ORDER.index(
            next(s for s in queries.STATE_ORDER if row[1].startswith(s.label))
        )
        for row in rows
    ]
    assert ranks == sorted(ranks)
    assert rows[0][1].startswith("Approved the current text")
    assert rows[-1][1].startswith("Rejected")


def test_sort_by_last_activity_newest_first(client: FlaskClient, world: EveryState) -> None:
    signature = world.signatures["earlier"]
    signature.last_activity_at = utcnow() + timedelta(days=1)
    invitation = db.session.get(Invitation, world.signatures["declined"].invitation_id)
    invitation.last_activity_at = utcnow() - timedelta(days=400)
    world.signatures["declined"].last_activity_at = utcnow() - timedelta(days=400)
    db.session.flush()
    html = page_of(client, world.letter, "?sort=activity")
    times = [datetime.fromisoformat(t) for t in table(html).times]
    assert times == sorted(times, reverse=True)
    assert names(html)[0].startswith("REDRESS")
    assert names(html)[-1] == "No Peace Without Justice"


def test_unknown_sort_falls_back_on_name(client: FlaskClient, world: EveryState) -> None:
    assert names(page_of(client, world.letter, "?sort=drop+table")) == names(
        page_of(client, world.letter)
    )


# --- Pages --------------------------------------------------------------------------------


@pytest.fixture
def big(client: FlaskClient) -> tuple[Letter, dict[str, int]]:
    coordinator = make_user()
    letter = three_revision_letter(coordinator)
    tally = bulk_signatories(letter, 250, seed=7)
    login(client, coordinator)
    return letter, tally


def test_pages_of_100(client: FlaskClient, big: tuple[Letter, dict[str, int]]) -> None:
    letter, _ = big
    first, second, third = (names(page_of(client, letter, f"?page={n}")) for n in (1, 2, 3))
    assert (len(first), len(second), len(third)) == (100, 100, 50)
    everything = first + second + third
    assert len(set(everything)) == 250
    every_row = queries.apply_filters(queries.signatory_rows(letter).rows, queries.Filters())
    assert everything == [row.name for row in every_row]
    html = page_of(client, letter, "?page=2")
    assert "Showing 101–200 of 250" in " ".join(html.split())
    assert f'href="/letters/{letter.slug}/signatories?page=3" rel="next"' in html
    assert f'href="/letters/{letter.slug}/signatories?page=1" rel="prev"' in html


def test_page_links_keep_the_filters(
    client: FlaskClient, big: tuple[Letter, dict[str, int]]
) -> None:
    letter, tally = big
    html = page_of(
        client, letter, "?state=approved_current&state=invited&sort=state&q=organisation"
    )
    expected = tally["approved_current"] + tally["approved_carried"] + tally["imported"]
    expected += tally["invited"]
    assert f"of {expected} (of 250 in all)" in " ".join(html.split())
    assert (
        f"/letters/{letter.slug}/signatories?page=2&amp;state=approved_current&amp;state=invited"
        "&amp;q=organisation&amp;sort=state"
    ) in html
    csv_link = (
        f"/letters/{letter.slug}/signatories.csv?state=approved_current&amp;state=invited"
        "&amp;q=organisation&amp;sort=state"
    )
    assert csv_link in html


def test_counts_cover_every_page(client: FlaskClient, big: tuple[Letter, dict[str, int]]) -> None:
    letter, tally = big
    expected: Counter[str] = Counter()
    for kind, number in tally.items():
        expected[BULK_STATES[kind].label] += number
    for query in ("?page=1", "?page=3", "?state=invited&page=1"):
        counts = shown_counts(page_of(client, letter, query))
        assert sum(counts.values()) == 250
        assert {k: v for k, v in counts.items() if v} == dict(expected)


@pytest.mark.parametrize("query", ["?page=99", "?page=3"])
def test_page_past_the_end_shows_the_last(
    client: FlaskClient, big: tuple[Letter, dict[str, int]], query: str
) -> None:
    letter, _ = big
    assert len(names(page_of(client, letter, query))) == 50


@pytest.mark.parametrize("query", ["?page=0", "?page=-3", "?page=abc", "?page="])
def test_bad_page_number_shows_the_first(
    client: FlaskClient, big: tuple[Letter, dict[str, int]], query: str
) -> None:
    letter, _ = big
    assert names(page_of(client, letter, query)) == names(page_of(client, letter))


def test_page_window() -> None:
    page = queries.Page(items=[], number=10, pages=50, total=5000, per_page=100)
    assert page.window() == [1, None, 8, 9, 10, 11, 12, None, 50]
    assert queries.Page(items=[], number=1, pages=3, total=300, per_page=100).window() == [1, 2, 3]
    assert queries.Page(items=[], number=1, pages=1, total=0, per_page=100).window() == [1]


# --- CSV -----------------------------------------------------------------------------------


def read_csv(client: FlaskClient, letter: Letter, query: str = "") -> tuple[list[list[str]], bytes]:
    response = client.get(f"/letters/{letter.slug}/signatories.csv{query}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")))), response.data


def test_csv_has_the_dashboard_rows_and_columns(client: FlaskClient, world: EveryState) -> None:
    rows, raw = read_csv(client, world.letter)
    assert not raw.startswith("\ufeff".encode())
    assert rows[0] == list(CSV_HEADER)
    body = {row[0]: dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]}
    assert len(body) == len(EVERY_STATE)
    assert [row[0] for row in rows[1:]] == names_in_order(world.letter)
    for name, state in EVERY_STATE.values():
        assert body[name]["State"] == state.label
    n = world.names
    head = world.letter.head()
    carried = body[n["carried"]]
    assert carried["Note"] == "Approved rev 2 (later changes editorial)"
    assert carried["Revision approved"] == "2"
    current = body[n["current"]]
    assert current["Approved SHA-256"] == head.content_sha256
    assert current["Hash check"] == "ok"
    assert current["Verification"] == "Domain verified"
    assert current["Country"] == "United Kingdom"
    assert current["Type"] == "Network or coalition"
    assert current["E-mail"] == "current@current.example.org"
    assert datetime.fromisoformat(current["Last activity"]).tzinfo is not None
    assert body[n["tampered"]]["Hash check"] == "hash mismatch"
    assert body[n["unverified"]]["Verification"] == "Check this"
    assert body[n["invited"]]["Revision approved"] == ""
    assert body[n["imported"]]["Sort name"] == "Moroccan Coalition for the ICC, the"


def names_in_order(letter: Letter) -> list[str]:
    rows = queries.apply_filters(queries.signatory_rows(letter).rows, queries.Filters())
    return [row.name for row in rows]


def test_csv_neutralises_formulas(client: FlaskClient, world: EveryState) -> None:
    rows, _ = read_csv(client, world.letter, "?state=rejected")
    assert len(rows) == 2
    spam = dict(zip(CSV_HEADER, rows[1], strict=True))
    assert spam["E-mail"] == "'=cmd|'/c calc'!A1@spam.example"
    assert spam["Country"] == "'+Nowhere"


def test_csv_takes_the_filters_and_all_pages(
    client: FlaskClient, big: tuple[Letter, dict[str, int]]
) -> None:
    letter, tally = big
    rows, _ = read_csv(client, letter)
    assert len(rows) == 251  # every row, not one page
    rows, _ = read_csv(client, letter, "?state=declined&state=withdrawn&sort=state&page=2")
    assert len(rows) == 1 + tally["declined"] + tally["withdrawn"]
    states = [row[2] for row in rows[1:]]
    assert states == sorted(states, key=["Declined", "Withdrawn"].index)


def test_csv_bom_for_excel(client: FlaskClient, world: EveryState) -> None:
    rows, raw = read_csv(client, world.letter, "?bom=1")
    assert raw.startswith("\ufeff".encode())
    assert raw.count("\ufeff".encode()) == 1
    assert rows[0] == list(CSV_HEADER)
    _, raw = read_csv(client, world.letter, "?bom=0")
    assert not raw.startswith("\ufeff".encode())


def test_csv_is_an_attachment_with_a_safe_name(client: FlaskClient, world: EveryState) -> None:
    response = client.get(f"/letters/{world.letter.slug}/signatories.csv")
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(
        rf"attachment; filename=signatories-{world.letter.slug}-\d{{4}}-\d\d-\d\d\.csv",
        disposition,
    )
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    ("slug", "expected"),
    [
        ("plain-slug", "signatories-plain-slug-"),
        ('we"ird/../é slug\r\n', "signatories-we-ird-slug-"),
        ("...", "signatories-letter-"),
    ],
)
def test_csv_filename_is_safe(slug: str, expected: str) -> None:
    name = csv_filename(Letter(slug=slug, title="x"))
    assert name.startswith(expected)
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.csv", name)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+33 1 23", "'+33 1 23"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rReturn", "'\rReturn"),
        ("Amnesty International", "Amnesty International"),
        ("a=b", "a=b"),
        (3, "3"),
        (None, ""),
    ],
)
def test_neutralise(value: object, expected: str) -> None:
    assert neutralise_cell(value) == expected


def test_csv_round_trips_awkward_names(client: FlaskClient, world: EveryState) -> None:
    signature = world.signatures["current"]
    signature.name = 'Ligue des droits, "libertés" et\nعدالة'
    db.session.flush()
    rows, _ = read_csv(client, world.letter, "?q=ligue")
    assert rows[1][0] == 'Ligue des droits, "libertés" et\nعدالة'
