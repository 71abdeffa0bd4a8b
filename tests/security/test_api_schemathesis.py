"""schemathesis against the public API's own description, /api/v1/openapi.json.

The schema is loaded from the Flask app itself (WSGI, no server):
``schemathesis.openapi.from_wsgi``. For every operation, Hypothesis-generated
requests (path, query parameters, headers) go through the app, for a public
letter without a token and for a private letter with a valid bearer token (plus
whatever slugs and tokens schemathesis makes up). Checks: no 5xx, the status code
is one the schema documents, the body and content type match the schema.

Bounded (``max_examples``) and reproducible (``derandomize=True``).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from signon.core.transaction import commit
from signon.letters.models import Letter
from tests.api.factories import sign, token_for
from tests.factories import make_letter, make_user

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
OPERATIONS = [("/letters/{slug}", "GET"), ("/letters/{slug}/signatories", "GET")]


def _letter(*, public: bool) -> Letter:
    letter = make_letter(make_user(), title=f"API {'public' if public else 'private'} letter")
    letter.is_public = public
    for name in ("Amnesty <b>International</b>", "=cmd|' /C calc'!A0", "Ünïcödé 中文 NGO"):
        sign(letter, name)
    return letter


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
@pytest.mark.parametrize("visibility", ["public", "private"])
def test_api_matches_its_schema_and_never_fails(
    app: Flask, path: str, method: str, visibility: str
) -> None:
    with app.test_request_context():
        public = visibility == "public"
        letter = _letter(public=public)
        owner = letter.created_by
        assert owner is not None
        _, raw_token = token_for(letter, owner)
        commit()
        slug = letter.slug

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]
    statuses: list[int] = []

    @FUZZ
    @given(case=operation.as_strategy(), ours=st.booleans(), with_token=st.booleans())
    def run(case: Any, ours: bool, with_token: bool) -> None:
        headers: dict[str, str] = {}
        if ours:
            case.path_parameters = {**(case.path_parameters or {}), "slug": slug}
        if with_token or (ours and not public):
            headers["Authorization"] = f"Bearer {raw_token}"
        response = case.call_and_validate(headers=headers or None, checks=CHECKS)
        statuses.append(response.status_code)

    with app.test_request_context():
        run()
    # the fuzzing reached the letter itself, not only 404s for made-up slugs
    assert 200 in statuses, sorted(set(statuses))
    assert all(status < 500 for status in statuses)


def test_a_private_letter_without_a_token_is_not_served(app: Flask) -> None:
    with app.test_request_context():
        letter = _letter(public=False)
        commit()
        slug = letter.slug
    response = app.test_client().get(f"/api/v1/letters/{slug}")
    assert response.status_code in (401, 404)
