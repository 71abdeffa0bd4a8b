"""The signatory list as CSV and JSON, and its page: eligibility, order, escaping, BOM."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.accounts.models import User
from signon.core.spreadsheet import neutralise_cell
from signon.core.transaction import commit
from signon.exports.lists import formats as lists
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, Revision
from signon.signatures.collation import join_names
from signon.signatures.listing import (
    Arrangement,
    set_list_arrangement,
    set_list_order,
    signatory_list,
)
from signon.signatures.models import Moderation, OrderMode, SignatoryKind, Signature
from tests.conftest import login
from tests.factories import make_letter, make_user
from tests.querycount import count_queries
from tests.signatures.test_listing import revise, sign

pytestmark = pytest.mark.usefixtures("app_context")

APPROVED_AT = datetime(2017, 12, 5, 9, 30, 15, tzinfo=UTC)


def build_letter(*, slug: str = "icc-statement") -> tuple[Letter, User]:
    """Revision 1 approved by three, then a substantive revision 2 approved by three more."""
    coordinator = make_user()
    letter = make_letter(coordinator, body="One.\n", slug=slug)
    first = letter.head()
    sign(letter, first, "the Moroccan Coalition for the ICC")
    sign(
        letter,
        first,
        '=HYPERLINK("http://evil.example")',
        country="@Somewhere",
        representative_name="-1+1",
        representative_title="\tTabbed",
    )
    sign(letter, first, "Zeta Only Revision One")
    second = revise(letter, ChangeKind.SUBSTANTIVE, "Two.\n")
    sign(
        letter,
        second,
        "Amnesty International",
        kind=SignatoryKind.NETWORK,
        country="United Kingdom",
        representative_name="Agnès Callamard",
        representative_title="Secretary General",
        website="https://www.amnesty.org",
        sort_name="Amnesty",
    )
    sign(letter, second, "Мемориал", country="Россия")
    sign(letter, second, "الحق", country="فلسطين")
    sign(letter, second, "Pending Org", moderation=Moderation.PENDING)
    for signature in letter_signatures(letter):
        signature.approved_at = APPROVED_AT
    db.session.flush()
    return letter, coordinator


def letter_signatures(letter: Letter) -> list[Signature]:
    return list(db.session.scalars(select(Signature).where(Signature.letter_id == letter.id)))


def parse_csv(body: bytes) -> list[dict[str, str]]:
    text = body.decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


# --- Building the rows --------------------------------------------------------------------


def test_rows_follow_the_printed_list() -> None:
    letter, _ = build_letter()
    listing = signatory_list(letter, letter.head())
    rows = lists.list_rows(listing)
    assert [r.name for r in rows] == ["Amnesty International", "Мемориал", "الحق"]
    assert [r.position for r in rows] == [1, 2, 3]
    amnesty = rows[0]
    assert amnesty.sort_name == "Amnesty"
    assert amnesty.type == "network"
    assert amnesty.representative == "Agnès Callamard"
    assert amnesty.title == "Secretary General"
    assert amnesty.website == "https://www.amnesty.org"
    assert amnesty.approved_revision == 2
    assert amnesty.approved_sha256 == letter.head().content_sha256
    assert amnesty.approved_at == "2017-12-05T09:30:15Z"


def test_csv_has_the_columns_in_order_and_neutralises_formulas() -> None:
    letter, _ = build_letter()
    first = db.session.scalar(
        select(Revision).where(Revision.letter_id == letter.id, Revision.number == 1)
    )
    listing = signatory_list(letter, first)
    body = lists.rows_csv(lists.list_rows(listing))
    assert not body.startswith(b"\xef\xbb\xbf")
    header = body.split(b"\r\n", 1)[0].decode()
    assert header == (
        "position,group,name,sort_name,country,type,representative,title,affiliation,"
        "website,approved_revision,approved_sha256,approved_at"
    )
    rows = parse_csv(body)
    assert [r["name"] for r in rows] == [
        '\'=HYPERLINK("http://evil.example")',
        "the Moroccan Coalition for the ICC",
        "Zeta Only Revision One",
    ]
    evil = rows[0]
    assert evil["country"] == "'@Somewhere"
    assert evil["representative"] == "'-1+1"
    assert evil["title"] == "'\tTabbed"
    assert evil["position"] == "1" and evil["approved_revision"] == "1"
    assert rows[1]["sort_name"] == ""
    assert {r["group"] for r in rows} == {""}  # not grouped


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+44 20", "'+44 20"),
        ("-minus", "'-minus"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Amnesty = good", "Amnesty = good"),
        (None, ""),
        (3, "3"),
        ("Мемориал", "Мемориал"),
    ],
)
def test_neutralise(value: object, cell: str) -> None:
    assert neutralise_cell(value) == cell


def test_csv_with_a_bom_for_excel() -> None:
    letter, _ = build_letter()
    body = lists.rows_csv(lists.list_rows(signatory_list(letter, letter.head())), bom=True)
    assert body.startswith(b"\xef\xbb\xbfposition,group,name,")
    assert "Мемориал".encode() in body and "الحق".encode() in body


def test_json_document() -> None:
    letter, _ = build_letter()
    listing = signatory_list(letter, letter.head())
    document = json.loads(lists.rows_json(letter, listing, lists.list_rows(listing)))
    assert document["letter"] == {"slug": "icc-statement", "title": letter.title, "language": "en"}
    assert document["revision"] == {"number": 2, "sha256": letter.head().content_sha256}
    assert document["order"] == "alphabetical"
    assert document["count"] == 3
    assert list(document["signatories"][0]) == list(lists.COLUMNS)
    assert [s["name"] for s in document["signatories"]] == [
        "Amnesty International",
        "Мемориал",
        "الحق",
    ]
    # JSON keeps the text as typed: no formula escaping there
    assert "'" not in json.dumps(document["signatories"])


def test_download_name_is_safe() -> None:
    assert lists.download_name("icc-statement", "csv", 3) == "icc-statement-signatories-r3.csv"
    assert lists.download_name('../../etc/pass"wd', "json") == "etc-pass-wd-signatories.json"
    assert lists.download_name("...", "csv") == "letter-signatories.csv"


# --- Through HTTP -------------------------------------------------------------------------


def test_csv_download(client: FlaskClient) -> None:
    letter, coordinator = build_letter()
    login(client, coordinator)
    response = client.get(f"/letters/{letter.slug}/export/signatories.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=icc-statement-signatories-r2.csv"
    )
    assert response.headers["Cache-Control"] == "private, no-store"
    assert not response.data.startswith(b"\xef\xbb\xbf")
    assert [r["name"] for r in parse_csv(response.data)] == [
        "Amnesty International",
        "Мемориал",
        "الحق",
    ]


def test_csv_download_with_bom_order_and_revision(client: FlaskClient) -> None:
    letter, coordinator = build_letter()
    login(client, coordinator)
    response = client.get(
        f"/letters/{letter.slug}/export/signatories.csv?bom=1&order=country&revision=2"
    )
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf")
    # countries collated for English: United Kingdom, then Россия, then فلسطين (Latin first)
    assert [r["country"] for r in parse_csv(response.data[3:])] == [
        "United Kingdom",
        "Россия",
        "فلسطين",
    ]
    older = client.get(f"/letters/{letter.slug}/export/signatories.csv?revision=1&bom=0")
    assert not older.data.startswith(b"\xef\xbb\xbf")
    assert "r1.csv" in older.headers["Content-Disposition"]
    assert len(parse_csv(older.data)) == 3


def test_the_list_follows_the_chosen_order_unless_asked_otherwise(client: FlaskClient) -> None:
    letter, coordinator = build_letter()
    set_list_order(letter, coordinator, mode=OrderMode.KIND)
    login(client, coordinator)
    by_kind = client.get(f"/letters/{letter.slug}/export/signatories.json").get_json()
    assert by_kind["order"] == "kind"
    assert [s["name"] for s in by_kind["signatories"]] == [
        "Мемориал",
        "الحق",
        "Amnesty International",
    ]
    alphabetical = client.get(
        f"/letters/{letter.slug}/export/signatories.json?order=alphabetical"
    ).get_json()
    assert alphabetical["signatories"][0]["name"] == "Amnesty International"


def test_the_lists_carry_the_groups_in_the_groups_order(client: FlaskClient) -> None:
    letter, coordinator = build_letter()
    set_list_arrangement(letter, coordinator, Arrangement(OrderMode.ALPHABETICAL, grouping="kind"))
    login(client, coordinator)
    document = client.get(f"/letters/{letter.slug}/export/signatories.json").get_json()
    grouped = [(s["group"], s["name"]) for s in document["signatories"]]
    assert grouped == [(e.group, e.name) for e in signatory_list(letter).entries]
    # each group is one run, in the order of the types of signatory
    runs = [g for i, (g, _) in enumerate(grouped) if i == 0 or grouped[i - 1][0] != g]
    labels = [kind.label for kind in SignatoryKind]
    assert runs == sorted(set(runs), key=labels.index) and len(runs) > 1
    assert None not in {g for g, _ in grouped}
    rows = parse_csv(client.get(f"/letters/{letter.slug}/export/signatories.csv").data)
    assert [(r["group"], r["name"]) for r in rows] == grouped


def test_json_download(client: FlaskClient) -> None:
    letter, coordinator = build_letter()
    login(client, coordinator)
    response = client.get(f"/letters/{letter.slug}/export/signatories.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=icc-statement-signatories-r2.json"
    )
    assert "Мемориал".encode() in response.data  # UTF-8, not \u escapes
    document = response.get_json()
    assert document["count"] == 3
    assert document["signatories"][1]["approved_at"] == "2017-12-05T09:30:15Z"


def test_the_downloads_give_an_individuals_title_and_affiliation(client: FlaskClient) -> None:
    letter, coordinator = build_letter()
    sign(
        letter,
        letter.head(),
        "Amina Mohammed",
        kind=SignatoryKind.INDIVIDUAL,
        representative_title="Professor of Law",
        affiliation="University of Nairobi",
    )
    commit()
    login(client, coordinator)
    document = client.get(f"/letters/{letter.slug}/export/signatories.json").get_json()
    person = document["signatories"][-1]
    assert (person["group"], person["name"], person["sort_name"]) == (
        "Individual signatories",
        "Amina Mohammed",
        "Mohammed",
    )
    assert (person["title"], person["affiliation"]) == ("Professor of Law", "University of Nairobi")
    assert {s["affiliation"] for s in document["signatories"][:-1]} == {None}
    rows = parse_csv(client.get(f"/letters/{letter.slug}/export/signatories.csv").data)
    assert (rows[-1]["title"], rows[-1]["affiliation"]) == (
        "Professor of Law",
        "University of Nairobi",
    )


@pytest.mark.parametrize(
    ("query", "status"),
    [("order=sideways", 400), ("revision=abc", 400), ("revision=0", 400), ("revision=9", 404)],
)
def test_bad_parameters(client: FlaskClient, query: str, status: int) -> None:
    letter, coordinator = build_letter()
    commit()
    login(client, coordinator)
    for extension in ("csv", "json"):
        response = client.get(f"/letters/{letter.slug}/export/signatories.{extension}?{query}")
        assert response.status_code == status, (extension, query)


def test_the_page_shows_the_list_and_who_is_left_out(client: FlaskClient) -> None:
    letter, coordinator = build_letter()
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/export/signatories").get_data(as_text=True)
    assert "Listed (3)" in page and "Left out (4)" in page
    assert page.index("Amnesty International") < page.index("Мемориал") < page.index("الحق")
    assert "Approved revision 1; revision 2 changed the text substantively" in page
    assert "Awaiting moderation" in page
    assert "Amnesty International; Мемориал; and الحق" in page
    assert f"/letters/{letter.slug}/export/signatories.csv?bom=1" in page


def test_the_page_for_an_older_revision_and_another_order(client: FlaskClient) -> None:
    letter, coordinator = build_letter()
    login(client, coordinator)
    page = client.get(
        f"/letters/{letter.slug}/export/signatories?revision=1&order=drafters_first"
    ).get_data(as_text=True)
    assert "Listed (3)" in page
    assert "approved revision 2, a later text than revision 1".capitalize() in page
    assert "signatories.csv?order=drafters_first&amp;revision=1" in page


def test_the_page_explains_a_bad_revision_and_shows_the_current_one(client: FlaskClient) -> None:
    letter, coordinator = build_letter()
    login(client, coordinator)
    response = client.get(f"/letters/{letter.slug}/export/signatories?revision=42")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "There is no revision 42; showing the current text." in page
    assert "Listed (3)" in page


def test_the_page_with_nobody_to_list(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/export/signatories").get_data(as_text=True)
    assert "Nobody is listed under revision 1 yet" in page
    assert "No approval is left out" in page
    empty = client.get(f"/letters/{letter.slug}/export/signatories.csv")
    assert empty.status_code == 200 and len(parse_csv(empty.data)) == 0


def test_downloads_take_the_same_number_of_queries_for_3_or_60_signatories(
    client: FlaskClient,
) -> None:
    counts = []
    for size in (3, 60):
        coordinator = make_user()
        letter = make_letter(coordinator, body="One.\n")
        head = letter.head()
        for i in range(size):
            sign(letter, head, f"Organisation {i}", country=f"Country {i % 7}")
        db.session.expire_all()
        login(client, coordinator)
        with count_queries() as counter:  # the downloads stream: read them inside
            csv_data = client.get(f"/letters/{letter.slug}/export/signatories.csv").data
            json_data = client.get(
                f"/letters/{letter.slug}/export/signatories.json?order=drafters_first"
            ).data
            page = client.get(f"/letters/{letter.slug}/export/signatories?order=country")
        assert len(parse_csv(csv_data)) == size
        assert json.loads(json_data)["count"] == size
        assert page.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


def test_the_seeded_demo_lists_the_original_eleven_in_the_original_order(
    client: FlaskClient,
) -> None:
    from signon.demo import COORDINATOR_EMAIL, RECONFIRMING, seed_demo
    from tests.signatures.test_collation import DEMO_PRINTED

    letter = seed_demo().letter
    listing = signatory_list(letter, letter.head())
    assert join_names(listing.names, letter.language) == DEMO_PRINTED
    assert [(i.signature.name, i.reason) for i in listing.left_out] == [
        (RECONFIRMING.name, "approved revision 2; revision 3 changed the text substantively")
    ]
    login(client, User.find_by_email(COORDINATOR_EMAIL))
    rows = parse_csv(client.get(f"/letters/{letter.slug}/export/signatories.csv").data)
    assert join_names([r["name"] for r in rows], "en") == DEMO_PRINTED
    assert {r["approved_revision"] for r in rows} == {"3"}
