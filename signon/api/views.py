"""The API blueprint (``/api/v1``): read-only JSON for integrations.

Access: a public letter is readable by anyone. A private letter needs
``Authorization: Bearer <token>`` with a live token of *that* letter. Session
cookies are not looked at: the API is for programs, and a logged-in browser gets
exactly what an anonymous one gets.

- no Authorization header, unknown slug or private letter: 404 (the same answer,
  so that private letters do not reveal that they exist), with a
  ``WWW-Authenticate`` hint that credentials might change the answer;
- an Authorization header whose token is malformed, unknown or revoked: 401
  (whatever the slug: the answer depends on the token only, and reveals nothing
  about letters);
- a live token of letter A on letter B: 404, as if B did not exist.

Nothing here writes to the database (``ApiToken.last_used_at`` stays empty:
see :mod:`signon.api.tokens`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from signon.api import serializers
from signon.api.models import ApiToken
from signon.api.openapi import DEFAULT_PER_PAGE, MAX_PAGE, MAX_PER_PAGE, openapi_document
from signon.api.tokens import find_live_token
from signon.core import http_cache, page_cache
from signon.core.access import public
from signon.core.http_cache import cache_publicly
from signon.extensions import csrf, db, limiter
from signon.letters import queries
from signon.letters.models import Letter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
limiter.shared_limit("120 per minute;3000 per hour", scope="api")(bp)
csrf.exempt(bp)  # read-only: no view here changes state

REALM = 'Bearer realm="Signon API"'
PUBLIC_CACHE = http_cache.PUBLIC
PRIVATE_CACHE = "no-store"
_NUMBER = re.compile(r"[0-9]{1,9}")
SLUG_MAX = Letter.__table__.c.slug.type.length


def json_error(status: int, message: str, *, authenticate: str | None = None) -> Response:
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    response.headers["Cache-Control"] = PRIVATE_CACHE
    if authenticate:
        response.headers["WWW-Authenticate"] = authenticate
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    """Every error raised in this blueprint's views answers JSON."""
    if error.response is not None:
        return error.response  # type: ignore[return-value]
    code = error.code or 500
    return json_error(code, error.description or error.name)


def _presented_token() -> ApiToken | None:
    """The live token of the Authorization header; ``None`` without one; 401 if it is bad."""
    header = request.headers.get("Authorization", "").strip()
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    token = find_live_token(value.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        abort(
            json_error(
                401,
                "The API token is not valid: it is unknown, revoked, or not sent as "
                "'Authorization: Bearer <token>'.",
                authenticate=f'{REALM}, error="invalid_token"',
            )
        )
    return token


def _readable_letter(slug: str) -> tuple[Letter, bool]:
    """The letter and whether it is private; 404 if it may not be read (or does not exist)."""
    token = _presented_token()
    # A slug that cannot exist is not looked up (PostgreSQL refuses NUL characters).
    plausible = 0 < len(slug) <= SLUG_MAX and "\x00" not in slug
    letter = db.session.scalar(queries.by_slug(), {"slug": slug}) if plausible else None
    if letter is not None and letter.is_public:
        return letter, False
    if letter is not None and token is not None and token.letter_id == letter.id:
        return letter, True
    abort(
        json_error(
            404,
            "No such letter, or it is private and needs an API token for it.",
            authenticate=REALM if token is None else None,
        )
    )


def _cached(response: Response, private: bool) -> Response:
    """Private letters: never stored. Public ones: cached a few seconds, with an ETag."""
    response.headers["Vary"] = "Authorization"
    if private:
        response.headers["Cache-Control"] = PRIVATE_CACHE
        return response
    return cache_publicly(response)


def _number_arg(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    if not _NUMBER.fullmatch(raw) or not 1 <= int(raw) <= maximum:
        abort(json_error(400, f"'{name}' must be a whole number from 1 to {maximum}."))
    return int(raw)


def _answer(letter: Letter, private: bool, payload: Callable[[], Any], *key: object) -> Response:
    """The JSON of ``payload()``; for a public letter, one copy shared by every reader for
    a few seconds (``core.page_cache``: the same answer for everyone, no token involved)."""

    def render() -> str:
        body: str = jsonify(payload()).get_data(as_text=True)
        return body

    if private or not page_cache.enabled():
        body = render()
    else:
        body = page_cache.shared_page(
            page_cache.letter_key(letter, "api", *key), render, csrf=False
        )
    return _cached(current_app.response_class(body, mimetype="application/json"), private)


@bp.get("/letters/<slug>")
@public
def letter(slug: str) -> Response:
    found, private = _readable_letter(slug)

    def payload() -> dict[str, Any]:
        facts = serializers.letter_facts(found)
        links = {
            "self": url_for("api.letter", slug=found.slug),
            "signatories": url_for("api.signatories", slug=found.slug),
        }
        return serializers.letter_payload(facts, serializers.counts_of(facts), links)

    return _answer(found, private, payload, "letter")


@bp.get("/letters/<slug>/signatories")
@public
def signatories(slug: str) -> Response:
    found, private = _readable_letter(slug)
    page = _number_arg("page", 1, MAX_PAGE)
    per_page = _number_arg("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)

    def payload() -> dict[str, Any]:
        start = (page - 1) * per_page
        facts = serializers.letter_facts(found)
        listed = serializers.published_signatories(facts, start, per_page)
        total = listed.count
        pages = math.ceil(total / per_page)
        last = max(pages, 1)

        def link(number: int) -> str:
            return url_for("api.signatories", slug=found.slug, page=number, per_page=per_page)

        return {
            "letter": found.slug,
            "items": [serializers.signatory_payload(item) for item in listed.entries],
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": pages,
            "links": {
                "self": link(page),
                "first": link(1),
                "last": link(last),
                "next": link(page + 1) if page < pages else None,
                "prev": link(min(page - 1, last)) if page > 1 else None,
            },
        }

    return _answer(found, private, payload, "signatories", page, per_page)


@bp.get("/openapi.json")
@public
def openapi() -> Response:
    response = jsonify(openapi_document())
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return response


@bp.get("/", defaults={"path": ""})
@bp.get("/<path:path>")
@public
def not_found(path: str) -> Response:
    """Any other address under /api/v1 answers JSON too."""
    return json_error(404, "There is no such API address. See /api/v1/openapi.json.")
