"""The moderation page reads one page of the queue: the same statements however many
signatures the letter has or await moderation; merge targets are the possible duplicates
of the pending ones on the page plus a search by the start of a name."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.models import Moderation, Signature, SignatureSource
from signon.signatures.public_signon import operations as ops
from tests.conftest import login
from tests.factories import make_user
from tests.querycount import count_queries
from tests.signatures.factories import commit, make_public_letter, make_signature

pytestmark = pytest.mark.usefixtures("app_context")


def _pending(letter: Letter, number: int) -> Signature:
    return make_signature(
        letter,
        f"Pending Organisation {number:03d}",
        source=SignatureSource.PUBLIC,
        moderation=Moderation.PENDING,
        email=f"someone@pending{number}.example.org",
        website=f"https://pending{number}.example.org",
    )


def _letter(client: FlaskClient, signatures: int, pending: int) -> tuple[Letter, list[Signature]]:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    for number in range(signatures):
        make_signature(letter, f"Listed Organisation {number:03d}", email=f"x@listed{number}.org")
    # each pending one has a possible duplicate listed already (same website)
    waiting = [_pending(letter, number) for number in range(pending)]
    for number in range(pending):
        make_signature(letter, f"Another {number}", website=f"pending{number}.example.org")
    make_signature(letter, "Decided", source=SignatureSource.PUBLIC, moderation=Moderation.ACCEPTED)
    commit()
    login(client, coordinator)
    return letter, waiting


def _statements(client: FlaskClient, letter: Letter, query: str = "") -> int:
    path = f"/letters/{letter.slug}/moderation{query}"
    assert client.get(path).status_code == 200  # the first request loads what later ones cache
    with count_queries() as counter:
        response = client.get(path)
        assert response.status_code == 200
        response.get_data()
    return counter.count


@pytest.mark.parametrize("query", ["", "?signature=1&find=listed"])
def test_same_statements_at_5_and_60_signatures_and_2_and_30_pending(
    client: FlaskClient, query: str
) -> None:
    counts = {}
    for signatures, pending in ((5, 2), (60, 2), (5, 30), (60, 30)):
        letter, waiting = _letter(client, signatures, pending)
        q = query.replace("signature=1", f"signature={waiting[0].id}")
        counts[(signatures, pending)] = _statements(client, letter, q)
    assert len(set(counts.values())) == 1, counts


def test_the_queue_is_paged_oldest_first(client: FlaskClient) -> None:
    letter, waiting = _letter(client, 3, 30)
    first = client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    second = client.get(f"/letters/{letter.slug}/moderation?page=2").get_data(as_text=True)
    shown_first = re.findall(r"<h3 id=\"sig-(\d+)-name\"", first)
    shown_second = re.findall(r"<h3 id=\"sig-(\d+)-name\"", second)
    expected = [str(s.id) for s in waiting]
    assert shown_first == expected[: ops.QUEUE_PAGE_SIZE]
    assert shown_second == expected[ops.QUEUE_PAGE_SIZE :]
    assert "Page 1 of 2" in first and "Next page" in first
    assert "Page 2 of 2" in second and "Previous page" in second


def _options(html: str, signature: Signature) -> list[str]:
    """The merge targets offered for ``signature`` (the values of its select)."""
    select = re.search(rf'<select id="merge-{signature.id}-target".*?</select>', html, re.S)
    return re.findall(r'value="(\d+)"', select.group(0)) if select else []


def test_merge_targets_are_the_duplicates_then_a_search(client: FlaskClient) -> None:
    letter, (waiting,) = _letter(client, 30, 1)
    duplicate = letter_signature(letter, "Another 0")
    target = letter_signature(letter, "Listed Organisation 017")
    page = client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    assert _options(page, waiting) == [str(duplicate.id)]  # not every signatory
    found = client.get(
        f"/letters/{letter.slug}/moderation?signature={waiting.id}&find=listed+ORGANISATION+01"
    ).get_data(as_text=True)
    offered = _options(found, waiting)
    assert offered[0] == str(duplicate.id)
    assert len(offered) == 1 + 10 and str(target.id) in offered  # 010-019
    many = client.get(
        f"/letters/{letter.slug}/moderation?signature={waiting.id}&find=listed"
    ).get_data(as_text=True)
    assert len(_options(many, waiting)) == 1 + ops.MERGE_SEARCH_LIMIT
    nothing = client.get(
        f"/letters/{letter.slug}/moderation?signature={waiting.id}&find=zzz"
    ).get_data(as_text=True)
    assert "No other signatory's name starts with “zzz”" in nothing
    # a target found by the search is merged into as before
    prefix = f"merge-{waiting.id}-"
    response = client.post(
        f"/letters/{letter.slug}/moderation/{waiting.id}/merge",
        data={prefix + "target": str(target.id)},
    )
    assert response.status_code == 302
    assert waiting.moderation == Moderation.REJECTED


def letter_signature(letter: Letter, name: str) -> Signature:
    return db.session.scalars(
        select(Signature).where(Signature.letter_id == letter.id, Signature.name == name)
    ).one()


def test_possible_duplicates_and_accepted_public_ones_are_paged(client: FlaskClient) -> None:
    letter, _ = _letter(client, 3, 0)
    for number in range(30):
        make_signature(letter, f"Twin {number:02d}")
        make_signature(letter, f"TWIN  {number:02d}")
        make_signature(
            letter,
            f"Accepted {number:02d}",
            source=SignatureSource.PUBLIC,
            moderation=Moderation.ACCEPTED,
        )
    commit()
    path = f"/letters/{letter.slug}/moderation"
    first = client.get(path).get_data(as_text=True)
    assert first.count("The same name") == 25 and "Twin 24" in first and "Twin 25" not in first
    assert "Remove “Accepted 24”" in first and "Remove “Accepted 25”" not in first
    assert first.count('rel="next"') == 2
    second = client.get(f"{path}?duplicates_page=2&listed_page=2").get_data(as_text=True)
    assert second.count("The same name") == 5 and "Twin 25" in second and "Twin 24" not in second
    # 30 accepted here plus "Decided": the second page holds the last six by name
    assert "Remove “Accepted 25”" in second and "Remove “Decided”" in second
    assert "Remove “Accepted 24”" not in second
