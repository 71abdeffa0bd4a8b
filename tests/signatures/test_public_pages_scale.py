"""The public page and embed show one page of the list and are cached when they may be."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

import signon.signatures.blueprint  # noqa: F401  (loads the views in their order)
from signon.core import transaction
from signon.letters.models import LetterStatus
from signon.signatures.listing import signatory_list
from signon.signatures.public_signon.views import PUBLIC_PAGE_SIZE
from tests.conftest import RequestIsolatingClient, login
from tests.factories import make_user
from tests.signatures.factories import make_public_letter, make_signature

pytestmark = pytest.mark.usefixtures("app_context")


def _client(app: Flask) -> FlaskClient:
    app.test_client_class = RequestIsolatingClient
    return app.test_client()


def test_the_public_page_shows_one_page_of_signatories_at_a_time(app: Flask) -> None:
    letter = make_public_letter(make_user())
    for i in range(PUBLIC_PAGE_SIZE + 3):
        make_signature(letter, f"Organisation {i:03d}")
    transaction.commit()
    names = signatory_list(letter).names
    client = _client(app)
    first = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert first.count('class="signatory-name"') == PUBLIC_PAGE_SIZE
    assert f"{names[PUBLIC_PAGE_SIZE - 1]}<" in first and f"{names[PUBLIC_PAGE_SIZE]}<" not in first
    assert f'href="/p/{letter.slug}?page=2#signatories"' in first
    second = client.get(f"/p/{letter.slug}?page=2").get_data(as_text=True)
    assert second.count('class="signatory-name"') == 3
    assert f'<ol class="signatory-list" start="{PUBLIC_PAGE_SIZE + 1}">' in second
    assert f"{names[-1]}<" in second and f"{names[0]}<" not in second
    assert f"{PUBLIC_PAGE_SIZE + 3}</span>" in second  # the count of all
    embed = client.get(f"/p/{letter.slug}/embed").get_data(as_text=True)
    assert embed.count('class="signatory-name"') == PUBLIC_PAGE_SIZE
    assert f"All {PUBLIC_PAGE_SIZE + 3} signatories" in embed


def test_the_page_with_the_form_is_never_cached(app: Flask) -> None:
    letter = make_public_letter(make_user())
    make_signature(letter, "Friends of the Court")
    transaction.commit()
    response = _client(app).get(f"/p/{letter.slug}")
    assert 'id="sign-heading"' in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in response.headers


@pytest.mark.parametrize("path", ["/p/{slug}", "/p/{slug}/embed"])
def test_public_pages_without_a_form_are_cached_and_answer_304(app: Flask, path: str) -> None:
    letter = make_public_letter(make_user())
    make_signature(letter, "Friends of the Court")
    letter.status = LetterStatus.CLOSED
    transaction.commit()
    client = _client(app)
    url = path.format(slug=letter.slug)
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=5"
    etag = response.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    make_signature(letter, "Another Friend")
    transaction.commit()
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_a_signed_in_reader_gets_a_private_page(app: Flask) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    letter.status = LetterStatus.CLOSED
    transaction.commit()
    client = login(_client(app), coordinator)
    response = client.get(f"/p/{letter.slug}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in response.headers
