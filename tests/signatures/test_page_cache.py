"""The public page and its embed are rendered once and shared by anonymous visitors
(``core/page_cache.py``), in this process or in Redis; each visitor gets their own CSRF
token in the shared copy, and the sign-on POST still checks it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from signon import create_app
from signon.core import page_cache, transaction
from signon.core.http_cache import PUBLIC_MAX_AGE
from signon.db import utcnow
from signon.letters.models import Letter, LetterStatus
from tests.api.factories import token_for
from tests.conftest import RequestIsolatingClient, login, make_settings
from tests.factories import make_user
from tests.querycount import QueryCounter, count_queries
from tests.redis_urls import redis_db
from tests.signatures.factories import make_public_letter, make_signature
from tests.smtp import MailCatcher

pytestmark = pytest.mark.real_commits

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
#: A database of the tests' Redis server no other test uses (emptied after each test here).
REDIS = redis_db(7)
#: A port nothing listens on: Redis "unreachable".
CLOSED_REDIS = "redis://127.0.0.1:1/0"


def _app(database_url: str, mail_catcher: MailCatcher, redis_url: str) -> Flask:
    """Production's settings for this: CSRF checked, shared copies (in Redis or here),
    and a secret of its own (the copies' namespace)."""
    settings = make_settings(
        database_url,
        mail_catcher,
        wtf_csrf_enabled=True,
        shared_page_cache=True,
        redis_url=redis_url,
        secret_key=uuid.uuid4().hex,
    )
    app = create_app(settings)
    app.test_client_class = RequestIsolatingClient  # g per request, as in production
    return app


@pytest.fixture(params=["process", "redis"])
def cached_app(
    request: pytest.FixtureRequest, database_url: str, mail_catcher: MailCatcher, app: Flask
) -> Iterator[Flask]:
    # ``app`` built the schema; this one shares the database.
    cached = _app(database_url, mail_catcher, REDIS if request.param == "redis" else "")
    with cached.app_context():
        yield cached
        transaction.rollback()
    redis.Redis.from_url(REDIS).flushdb()


def _letter(signatories: int = 3) -> Letter:
    letter = make_public_letter(make_user())
    for i in range(signatories):
        make_signature(letter, f"Organisation {i}")
    transaction.commit()
    return letter


def _selects(counter: QueryCounter) -> int:
    """SELECTs only (SQLite also counts its BEGIN IMMEDIATE, PostgreSQL its COMMIT)."""
    return sum(1 for s in counter.statements if s.lstrip().upper().startswith("SELECT"))


def _token(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "no CSRF token in the form"
    return found.group(1)


def _sign(client: FlaskClient, letter: Letter, token: str, email: str) -> int:
    data = {
        "csrf_token": token,
        "name": f"Signer {email}",
        "country": "Kenya",
        "kind": "ngo",
        "representative_name": "Amina Otieno",
        "email": email,
        "authority": "y",
        "revision_id": str(letter.head().id),  # type: ignore[union-attr]
    }
    return client.post(f"/p/{letter.slug}/sign", data=data).status_code


def test_visitors_share_one_rendering_each_with_their_own_csrf_token(cached_app: Flask) -> None:
    letter = _letter()
    first, second = cached_app.test_client(), cached_app.test_client()
    path = f"/p/{letter.slug}"
    with count_queries() as rendering:
        one = first.get(path).get_data(as_text=True)
    with count_queries() as shared:
        two = second.get(path).get_data(as_text=True)
    # The letter only: not its text, its list nor its count.
    assert _selects(shared) == 1 < _selects(rendering), "\n".join(shared.statements)
    token_one, token_two = _token(one), _token(two)
    assert token_one != token_two
    assert one.replace(token_one, "T") == two.replace(token_two, "T")
    assert page_cache.TOKEN_PLACEHOLDER not in two
    assert two.count(token_two) == 2  # the form and the page's <meta name="csrf-token">
    # Flask-WTF checks each visitor's POST against their own session, as before.
    assert _sign(second, letter, token_one, "stolen@example.org") == 400
    assert _sign(second, letter, token_two, "amina@example.org") == 302
    assert _sign(first, letter, token_one, "omar@example.org") == 302


def test_the_shared_copy_holds_no_visitors_zone_and_marks_its_times_for_the_browser(
    cached_app: Flask,
) -> None:
    """The first visitor (in Tokyo) renders the copy everyone gets: its times are UTC,
    marked for static/js/signon.js to rewrite in each browser's zone."""
    letter = make_public_letter(make_user(), deadline=datetime(2030, 1, 31, 18, 0, tzinfo=UTC))
    transaction.commit()
    pages = []
    for zone in ("Asia/Tokyo", "America/New_York"):
        client = cached_app.test_client()
        client.set_cookie("signon_tz", zone)
        pages.append(client.get(f"/p/{letter.slug}").get_data(as_text=True))
    for page in pages:
        assert (
            '<time datetime="2030-01-31T18:00:00+00:00" data-localise="datetime">'
            "31 January 2030, 18:00 UTC</time>"
        ) in page
        # as words: a random CSRF token may hold the letters (a flaky failure once)
        assert not re.search(r"\b(JST|EST)\b", page)


def test_a_logged_in_visitor_gets_a_page_of_their_own(cached_app: Flask) -> None:
    letter = _letter()
    user = make_user()
    transaction.commit()
    anonymous = cached_app.test_client().get(f"/p/{letter.slug}").get_data(as_text=True)
    client = login(cached_app.test_client(), user)
    own = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert "Log out" in own and "Log out" not in anonymous
    again = cached_app.test_client().get(f"/p/{letter.slug}").get_data(as_text=True)
    assert "Log out" not in again


def test_a_change_to_the_letter_is_shown_at_once_and_the_list_within_seconds(
    cached_app: Flask,
) -> None:
    letter = _letter()
    client = cached_app.test_client()
    before = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert 'id="sign-heading">Sign this letter' in before
    make_signature(letter, "Newcomer Coalition")
    transaction.commit()
    # The copy is at most PUBLIC_MAX_AGE seconds old: the newcomer shows after that.
    assert "Newcomer Coalition" not in client.get(f"/p/{letter.slug}").get_data(as_text=True)
    letter.status = LetterStatus.CLOSED  # the letter's row changes: a new copy at once
    letter.updated_at = utcnow()
    transaction.commit()
    after = cached_app.test_client().get(f"/p/{letter.slug}")  # no CSRF token in its session
    html = after.get_data(as_text=True)
    assert "Signing is closed" in html and "Newcomer Coalition" in html
    assert after.headers["Cache-Control"] == f"public, max-age={PUBLIC_MAX_AGE}"
    assert 'name="csrf_token"' not in html and "csrf-token" not in html


def test_the_embed_is_shared_and_stays_publicly_cacheable(cached_app: Flask) -> None:
    path = f"/p/{_letter().slug}/embed"
    first = cached_app.test_client().get(path)
    with count_queries() as shared:
        second = cached_app.test_client().get(path)
    assert _selects(shared) == 1, shared.statements
    assert first.get_data() == second.get_data()
    assert second.headers["Cache-Control"] == f"public, max-age={PUBLIC_MAX_AGE}"
    assert second.headers["ETag"] == first.headers["ETag"]
    unchanged = cached_app.test_client().get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""


@pytest.mark.parametrize("tail", ["", "/signatories", "/signatories?page=1&per_page=2"])
def test_the_api_of_a_public_letter_is_shared(cached_app: Flask, tail: str) -> None:
    letter = _letter()
    path = f"/api/v1/letters/{letter.slug}{tail}"
    first = cached_app.test_client().get(path)
    with count_queries() as shared:
        second = cached_app.test_client().get(path)
    assert _selects(shared) == 1, shared.statements  # the letter, to check it is public
    assert first.status_code == second.status_code == 200
    assert first.get_data() == second.get_data() and second.json == first.json
    assert second.headers["Cache-Control"] == f"public, max-age={PUBLIC_MAX_AGE}"
    assert second.mimetype == "application/json"
    etag = second.headers["ETag"]
    unchanged = cached_app.test_client().get(path, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""


def test_the_api_of_a_private_letter_is_never_shared(cached_app: Flask) -> None:
    coordinator = make_user()
    private = make_public_letter(coordinator, is_public=False)
    make_signature(private, "Secret Ally")
    _, raw = token_for(private, coordinator)
    transaction.commit()
    path = f"/api/v1/letters/{private.slug}/signatories"
    headers = {"Authorization": f"Bearer {raw}"}
    first = cached_app.test_client().get(path, headers=headers)
    with count_queries() as again:
        second = cached_app.test_client().get(path, headers=headers)
    assert first.status_code == second.status_code == 200
    assert _selects(again) > 2  # the token, the letter, then its list: rendered again
    assert second.headers["Cache-Control"] == "no-store"
    assert cached_app.test_client().get(path).status_code == 404  # nothing leaks


def test_copies_in_redis_expire_with_the_public_max_age(
    database_url: str, mail_catcher: MailCatcher, app: Flask
) -> None:
    cached = _app(database_url, mail_catcher, REDIS)
    with cached.app_context():
        letter = _letter()
        cached.test_client().get(f"/p/{letter.slug}")
        connection = redis.Redis.from_url(REDIS)
        keys = [
            key
            for key in connection.scan_iter("signon:page:*")
            if key.endswith(b":public:1") and f":{letter.id}:".encode() in key
        ]
        assert keys and all(0 < connection.ttl(key) <= PUBLIC_MAX_AGE for key in keys)
        transaction.rollback()
    connection.flushdb()


def test_without_redis_the_page_is_rendered_and_signing_works(
    database_url: str, mail_catcher: MailCatcher, app: Flask
) -> None:
    cached = _app(database_url, mail_catcher, CLOSED_REDIS)
    with cached.app_context():
        letter = _letter()
        client = cached.test_client()
        page = client.get(f"/p/{letter.slug}")
        assert page.status_code == 200
        assert _sign(client, letter, _token(page.get_data(as_text=True)), "a@example.org") == 302
        transaction.rollback()
