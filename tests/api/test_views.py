"""The read-only API through the test client: payloads, order, pagination, access, errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from signon.accounts.models import User
from signon.api.models import ApiToken
from signon.api.tokens import find_live_token, revoke_api_token
from signon.core import transaction
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter
from signon.signatures.approvals import operations
from signon.signatures.invitations.links import assign_new_link
from signon.signatures.listing import Arrangement, set_list_arrangement, set_list_order
from signon.signatures.models import (
    Invitation,
    LetterCounts,
    Moderation,
    OrderMode,
    SignatoryKind,
)
from tests.api.factories import classify, sign, token_for
from tests.conftest import login
from tests.factories import add_revision, make_letter, make_user
from tests.querycount import count_queries

pytestmark = pytest.mark.usefixtures("app_context")


@dataclass
class World:
    coordinator: User
    public: Letter
    private: Letter
    token: str
    other_token: str


def build_world() -> World:
    """A public letter with signatories in every state, and a private one."""
    coordinator = make_user()
    letter = make_letter(coordinator, title="Open letter", slug="open-letter", is_public=True)
    first = letter.head()
    second = add_revision(letter, coordinator, "Changed substance.\n")
    classify(second, ChangeKind.SUBSTANTIVE)
    third = add_revision(letter, coordinator, "Changed substance, typo fixed.\n")
    classify(third, ChangeKind.EDITORIAL)
    sign(letter, "Zeta Network", revision=first, kind=SignatoryKind.NETWORK)
    sign(letter, "the Moroccan Coalition for the ICC", revision=second, country="Morocco")
    sign(letter, "Amnesty International", revision=third, country="United Kingdom")
    sign(letter, "Pending NGO", moderation=Moderation.PENDING)
    sign(letter, "Rejected NGO", moderation=Moderation.REJECTED)
    sign(letter, "Accepted NGO", moderation=Moderation.ACCEPTED)
    withdrawn = sign(letter, "Withdrawn NGO")
    operations.withdraw(withdrawn, reason="Changed our mind", email=None)
    invitation = Invitation(
        letter_id=letter.id,
        organisation_name="Declining NGO",
        email="no@example.org",
        expires_at=utcnow() + timedelta(days=3),
    )
    assign_new_link(invitation)
    operations.decline(letter, invitation, reason="No", email="no@example.org")

    private = make_letter(coordinator, title="Private letter", slug="private-letter")
    sign(private, "Secret Ally")
    _, raw = token_for(private, coordinator)
    _, other = token_for(letter, coordinator, "Public letter's token")
    transaction.commit()
    return World(coordinator, letter, private, raw, other)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_letter_payload(client: FlaskClient) -> None:
    world = build_world()
    response = client.get("/api/v1/letters/open-letter")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    data = response.get_json()
    head = world.public.head()
    assert data == {
        "slug": "open-letter",
        "title": "Open letter",
        "addressee": "",
        "language": "en",
        "status": "drafting",
        "deadline": None,
        "public": True,
        "current_revision": {
            "number": 3,
            "sha256": head.content_sha256,
            "saved_at": head.created_at.isoformat().replace("+00:00", "Z"),
        },
        # Zeta approved revision 1, before a substantive change: awaiting re-confirmation,
        # counted but not listed. Pending, rejected, withdrawn and declined ones are neither
        # shown nor counted.
        "counts": {
            "published_signatories": 3,
            "approved_current": 3,
            "awaiting_reconfirmation": 1,
        },
        "links": {
            "self": "/api/v1/letters/open-letter",
            "signatories": "/api/v1/letters/open-letter/signatories",
        },
    }
    assert data["current_revision"]["saved_at"].endswith("Z")
    assert response.headers["Cache-Control"] == "public, max-age=5"
    etag = response.headers["ETag"]
    again = client.get("/api/v1/letters/open-letter", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert (
        client.get("/api/v1/letters/open-letter", headers={"If-None-Match": '"x"'}).status_code
        == 200
    )


def test_deadline_is_iso_utc(client: FlaskClient) -> None:
    world = build_world()
    world.public.deadline = datetime(2030, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    transaction.commit()
    data = client.get("/api/v1/letters/open-letter").get_json()
    assert data["deadline"] == "2030-01-02T03:04:05Z"


def test_signatories_payload_order_and_states(client: FlaskClient) -> None:
    world = build_world()
    response = client.get("/api/v1/letters/open-letter/signatories")
    assert response.status_code == 200
    data = response.get_json()
    names = [item["name"] for item in data["items"]]
    # Alphabetical, a leading "the" ignored; only those listed under the current text
    # (Zeta approved revision 1, before a substantive change: it is not listed).
    assert names == [
        "Accepted NGO",
        "Amnesty International",
        "the Moroccan Coalition for the ICC",
    ]
    by_name = {item["name"]: item for item in data["items"]}
    head = world.public.head()
    assert by_name["Amnesty International"] == {
        "name": "Amnesty International",
        "sort_name": None,
        "country": "United Kingdom",
        "type": "ngo",
        "approved_revision": {"number": 3, "sha256": head.content_sha256},
        "approved_at": by_name["Amnesty International"]["approved_at"],
        "state": "approved_current",
        "group": None,
        "title": None,  # an organisation's representative is not published
        "affiliation": None,
    }
    assert by_name["Amnesty International"]["approved_at"].endswith("Z")
    assert by_name["the Moroccan Coalition for the ICC"]["state"] == "approved_current"
    assert by_name["the Moroccan Coalition for the ICC"]["approved_revision"]["number"] == 2
    assert {item["state"] for item in data["items"]} == {"approved_current"}
    assert data["total"] == 3 and data["page"] == 1 and data["per_page"] == 50
    assert data["pages"] == 1
    assert data["links"]["next"] is None and data["links"]["prev"] is None


def test_an_unclassified_revision_leaves_approvals_awaiting(client: FlaskClient) -> None:
    world = build_world()
    add_revision(world.public, world.coordinator, "Yet another text.\n")
    transaction.commit()
    data = client.get("/api/v1/letters/open-letter").get_json()
    assert data["counts"] == {
        "published_signatories": 0,
        "approved_current": 0,
        "awaiting_reconfirmation": 4,
    }
    items = client.get("/api/v1/letters/open-letter/signatories").get_json()["items"]
    assert items == []


def _page(client: FlaskClient, query: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/letters/open-letter/signatories?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    data: dict[str, Any] = response.get_json()
    return data


def test_pagination_edges(client: FlaskClient) -> None:
    build_world()
    base = "/api/v1/letters/open-letter/signatories"
    first = _page(client, "per_page=2")
    assert [i["name"] for i in first["items"]] == ["Accepted NGO", "Amnesty International"]
    assert (first["total"], first["pages"], first["page"]) == (3, 2, 1)
    assert first["links"] == {
        "self": f"{base}?page=1&per_page=2",
        "first": f"{base}?page=1&per_page=2",
        "last": f"{base}?page=2&per_page=2",
        "next": f"{base}?page=2&per_page=2",
        "prev": None,
    }
    second = _page(client, "page=2&per_page=2")
    assert [i["name"] for i in second["items"]] == ["the Moroccan Coalition for the ICC"]
    assert second["links"]["next"] is None
    assert second["links"]["prev"] == f"{base}?page=1&per_page=2"
    # Following the links walks every signatory exactly once.
    seen, url = [], first["links"]["first"]
    while url:
        page = client.get(url).get_json()
        seen += [i["name"] for i in page["items"]]
        url = page["links"]["next"]
    assert seen == [i["name"] for i in _page(client, "per_page=200")["items"]]
    # Past the last page: empty, and "prev" leads back to the last real page.
    beyond = _page(client, "page=9&per_page=2")
    assert beyond["items"] == [] and beyond["total"] == 3
    assert beyond["links"]["prev"] == f"{base}?page=2&per_page=2"
    assert beyond["links"]["next"] is None
    one = _page(client, "per_page=1&page=3")
    assert [i["name"] for i in one["items"]] == ["the Moroccan Coalition for the ICC"]


def test_an_empty_list(client: FlaskClient) -> None:
    world = build_world()
    empty = make_letter(world.coordinator, slug="empty-letter", is_public=True)
    transaction.commit()
    data = client.get(f"/api/v1/letters/{empty.slug}/signatories").get_json()
    assert (data["items"], data["total"], data["pages"]) == ([], 0, 0)
    assert data["links"]["last"].endswith("page=1&per_page=50")
    counts = client.get(f"/api/v1/letters/{empty.slug}").get_json()["counts"]
    assert counts == {
        "published_signatories": 0,
        "approved_current": 0,
        "awaiting_reconfirmation": 0,
    }


ODD_QUERIES = [
    "page=-1",
    "page=0",
    "page=abc",
    "per_page=abc",
    "per_page=0",
    "per_page=201",
    "per_page=-5",
    "page=99999999999999999999999999",
    "per_page=99999999999999999999999999",
    "page=1000001",
    "page=1e3",
    "page=1.5",
    "page=%00",
    "page=%EF%BC%91",  # a full-width digit one
    "page=%D9%A1",  # an Arabic-Indic digit one
    "page=+1",
    "page=%201",
    "page=0x10",
    "per_page=%F0%9F%98%80",
    "page=%FF%FE",
]


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_odd_query_strings_answer_400_in_json(client: FlaskClient, query: str) -> None:
    build_world()
    response = client.get(f"/api/v1/letters/open-letter/signatories?{query}")
    assert response.status_code == 400, query
    data = response.get_json()
    # a NUL is refused before any view (signon/core/input_guard.py), still as JSON
    assert data["status"] == 400 and ("page" in data["error"] or "NUL" in data["error"])


@pytest.mark.parametrize(
    ("query", "page", "per_page"),
    [
        ("", 1, 50),
        ("page=&per_page=", 1, 50),
        ("page=2&page=-1", 2, 50),  # the first value counts
        ("page=1000000&per_page=200", 1000000, 200),
        ("unknown=1&page=1", 1, 50),
        ("page=007", 7, 50),
    ],
)
def test_acceptable_query_strings(
    client: FlaskClient, query: str, page: int, per_page: int
) -> None:
    build_world()
    data = _page(client, query)
    assert (data["page"], data["per_page"]) == (page, per_page)


def test_private_letter_needs_its_own_token(client: FlaskClient) -> None:
    world = build_world()
    for path in ("/api/v1/letters/private-letter", "/api/v1/letters/private-letter/signatories"):
        anonymous = client.get(path)
        assert anonymous.status_code == 404
        assert anonymous.get_json() == {
            "error": "No such letter, or it is private and needs an API token for it.",
            "status": 404,
        }
        assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="Signon API"'
        assert anonymous.headers["Cache-Control"] == "no-store"
        # Exactly the answer for a letter that does not exist: existence does not leak.
        missing = client.get(path.replace("private-letter", "no-such-letter"))
        assert missing.status_code == 404
        assert missing.get_json() == anonymous.get_json()
        assert missing.headers["WWW-Authenticate"] == anonymous.headers["WWW-Authenticate"]

        allowed = client.get(path, headers=bearer(world.token))
        assert allowed.status_code == 200
        assert allowed.headers["Cache-Control"] == "no-store"
        assert "Authorization" in allowed.headers["Vary"]

        # A live token of another letter: as if the letter did not exist.
        other = client.get(path, headers=bearer(world.other_token))
        assert other.status_code == 404 and "WWW-Authenticate" not in other.headers
    data = client.get("/api/v1/letters/private-letter", headers=bearer(world.token)).get_json()
    assert data["public"] is False and data["counts"]["published_signatories"] == 1
    items = client.get(
        "/api/v1/letters/private-letter/signatories", headers=bearer(world.token)
    ).get_json()["items"]
    assert [i["name"] for i in items] == ["Secret Ally"]


@pytest.mark.parametrize(
    "slug", ["%00", "a%00b", "x" * 121, "x" * 5000, "%FF%FE", "%F0%9F%98%80", "..", "%2e%2e"]
)
@pytest.mark.parametrize("suffix", ["", "/signatories"])
def test_odd_slugs_are_404_in_json(client: FlaskClient, slug: str, suffix: str) -> None:
    world = build_world()
    for headers in ({}, bearer(world.token)):
        response = client.get(f"/api/v1/letters/{slug}{suffix}", headers=headers)
        assert response.status_code == 404, slug
        assert response.get_json()["status"] == 404


def test_a_token_for_a_letter_that_does_not_exist_is_404(client: FlaskClient) -> None:
    world = build_world()
    response = client.get("/api/v1/letters/no-such-letter", headers=bearer(world.token))
    assert response.status_code == 404


BAD_AUTHORIZATIONS = [
    "Bearer sgn_this-token-was-never-issued",
    "Bearer not-even-our-format",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "Token sgn_x",
    "Bearer " + "sgn_" + "x" * 500,
    "sgn_just-the-token",
]


@pytest.mark.parametrize("header", BAD_AUTHORIZATIONS)
@pytest.mark.parametrize("slug", ["private-letter", "open-letter", "no-such-letter"])
def test_a_bad_token_is_401_whatever_the_letter(
    client: FlaskClient, header: str, slug: str
) -> None:
    build_world()
    response = client.get(f"/api/v1/letters/{slug}", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["status"] == 401
    assert (
        response.headers["WWW-Authenticate"] == 'Bearer realm="Signon API", error="invalid_token"'
    )
    assert response.headers["Cache-Control"] == "no-store"


def test_a_revoked_token_stops_working(client: FlaskClient) -> None:
    world = build_world()
    token = find_live_token(world.token)
    assert (
        client.get("/api/v1/letters/private-letter", headers=bearer(world.token)).status_code == 200
    )
    revoke_api_token(token, revoked_by=world.coordinator)
    transaction.commit()
    response = client.get("/api/v1/letters/private-letter", headers=bearer(world.token))
    assert response.status_code == 401
    # It is refused on the public letter too (an Authorization header is checked when sent).
    assert client.get("/api/v1/letters/open-letter", headers=bearer(world.token)).status_code == 401


def test_the_scheme_is_case_insensitive(client: FlaskClient) -> None:
    world = build_world()
    response = client.get(
        "/api/v1/letters/private-letter", headers={"Authorization": f"bearer {world.token}"}
    )
    assert response.status_code == 200


#: What a read may write: the maintained counts (a cache of derived numbers, refreshed by
#: the reader that finds them stale: ``signatures.counts``), nothing anyone could see change.
DERIVED_TABLES = ("letter_counts", "letter_approval_slots")


def test_reading_changes_nothing(client: FlaskClient) -> None:
    """No write on GET: not even the token's last use."""
    world = build_world()
    with count_queries() as counter:
        client.get("/api/v1/letters/private-letter", headers=bearer(world.token))
        client.get("/api/v1/letters/private-letter/signatories", headers=bearer(world.token))
    writes = [
        s
        for s in counter.statements
        if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes and all(any(t in s for t in DERIVED_TABLES) for s in writes), writes
    assert not any(
        s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        for s in _after_refresh(client, world.token)
    )
    assert db.session.scalars(select(ApiToken.last_used_at)).all() == [None, None]


def test_query_count_does_not_grow_with_the_signatories(client: FlaskClient) -> None:
    world = build_world()

    def queries() -> tuple[int, int]:
        """Statements of a read that refreshes the kept counts, then of one that reads them."""
        db.session.execute(delete(LetterCounts))
        transaction.commit()
        found = []
        for _ in range(2):
            with count_queries() as counter:
                response = client.get("/api/v1/letters/open-letter/signatories?per_page=200")
                assert response.status_code == 200
            found.append(counter.count)
        return found[0], found[1]

    before = queries()
    for n in range(30):
        sign(world.public, f"Extra organisation {n:02d}")
    transaction.commit()
    assert queries() == before
    assert before[1] < before[0]


def test_unknown_api_addresses_answer_json(client: FlaskClient) -> None:
    for path in ("/api/v1/", "/api/v1/nothing", "/api/v1/letters", "/api/v1/letters/x/y/z"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["status"] == 404


def test_session_cookies_grant_nothing(client: FlaskClient) -> None:
    """A coordinator logged in on the site is anonymous to the API (tokens only)."""
    world = build_world()
    login(client, world.coordinator)
    assert client.get("/api/v1/letters/private-letter").status_code == 404
    assert client.get("/api/v1/letters/open-letter").status_code == 200


def test_post_is_not_allowed(client: FlaskClient) -> None:
    build_world()
    assert client.post("/api/v1/letters/open-letter").status_code == 405


def test_the_order_follows_the_printed_lists_settings(client: FlaskClient) -> None:
    """A coordinator who prints the list by country gets the API in that order too."""
    world = build_world()
    set_list_order(world.public, world.coordinator, mode=OrderMode.COUNTRY)
    transaction.commit()
    names = [i["name"] for i in _page(client, "")["items"]]
    # Morocco, United Kingdom, then those without a country (alphabetically)
    assert names == [
        "the Moroccan Coalition for the ICC",
        "Amnesty International",
        "Accepted NGO",
    ]


def test_individuals_are_listed_in_their_own_last_group_as_documented(
    client: FlaskClient,
) -> None:
    """What the OpenAPI document says of ``group``: organisations ungrouped (``null``),
    individuals one by one in the last group, by family name."""
    world = build_world()
    sign(
        world.public,
        "Zoe Adams",
        kind=SignatoryKind.INDIVIDUAL,
        representative_title="Professor of Law",
        affiliation="University of Nairobi",
    )
    sign(world.public, "Aaron Zimmer", kind=SignatoryKind.INDIVIDUAL)
    transaction.commit()
    page = _page(client, "")["items"]
    items = [(i["group"], i["name"], i["sort_name"]) for i in page]
    assert items[-2:] == [
        ("Individual signatories", "Zoe Adams", "Adams"),
        ("Individual signatories", "Aaron Zimmer", "Zimmer"),
    ]
    assert {group for group, _, _ in items[:-2]} == {None}
    # what the public page prints after an individual's name
    details = [(i["title"], i["affiliation"]) for i in page]
    assert details[-2:] == [("Professor of Law", "University of Nairobi"), (None, None)]
    described = client.get("/api/v1/openapi.json").get_json()
    properties = described["components"]["schemas"]["Signatory"]["properties"]
    assert "Individual signatories" in properties["group"]["description"]
    assert "for identification only" in properties["affiliation"]["description"]


def test_the_groups_follow_the_lists_groups(client: FlaskClient) -> None:
    """Grouped by country: the API gives the items group after group, each with its heading."""
    world = build_world()
    set_list_arrangement(
        world.public, world.coordinator, Arrangement(OrderMode.ALPHABETICAL, grouping="country")
    )
    transaction.commit()
    items = [(i["group"], i["name"]) for i in _page(client, "")["items"]]
    assert items == [
        ("Morocco", "the Moroccan Coalition for the ICC"),
        ("United Kingdom", "Amnesty International"),
        ("No country given", "Accepted NGO"),
    ]


def _after_refresh(client: FlaskClient, token: str) -> list[str]:
    """The statements of the same reads once the counts are kept: no write at all."""
    with count_queries() as counter:
        client.get("/api/v1/letters/private-letter", headers=bearer(token))
        client.get("/api/v1/letters/private-letter/signatories", headers=bearer(token))
    return counter.statements
