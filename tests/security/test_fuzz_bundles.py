"""Property-based fuzzing of the bundle importer (signon/exports/bundles/operations.py).

Whatever JSON-like value it is given, ``import_letter`` either imports a letter or
raises :class:`BundleError` (its documented refusal, listing the problems); any
other exception is a bug. When it refuses, nothing is left behind: the row counts
of every table it writes are what they were before.

Two generators: arbitrary JSON-like structures (mostly refused at the top), and
the demo bundle (a valid, rich letter) with random parts replaced, deleted or
added, which reaches the deeper checks and the import itself. Each example runs
in a SAVEPOINT that is rolled back, so examples are independent.

Reproducible: ``derandomize=True`` (examples derived from the test's source, the
same on every run and in CI); bounded ``max_examples`` keeps the file well under
60 seconds.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from signon.accounts.models import User
from signon.audit.models import AuditEvent
from signon.exports.bundles.operations import BundleError, import_letter
from signon.extensions import db
from signon.letters.models import Letter, Revision, TeamMember
from signon.signatures.models import Signature, SignatureEvent
from tests.factories import make_user

DEMO = Path(__file__).resolve().parents[2] / "signon" / "demo" / "icc-cooperation-statement.json"
TABLES = (Letter, Revision, TeamMember, Signature, SignatureEvent, AuditEvent)

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=50)
    | st.sampled_from(["", "1", "approved", "declined", "2024-01-01T00:00:00Z", "x" * 5000])
)
json_like = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)


def _counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in TABLES
    }


def _try_import(data: Any, owner: User) -> str:
    nested = db.session.begin_nested()
    try:
        before = _counts()
        try:
            result = import_letter(data, owner)
        except BundleError as error:
            assert error.problems, "a refusal must say why"
            assert all(isinstance(p, str) and p for p in error.problems)
            assert _counts() == before, "a refused bundle left rows behind"
            return "refused"
        assert result.letter.id is not None
        assert _counts()["Letter"] == before["Letter"] + 1
        return "imported"
    finally:
        nested.rollback()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside ``value`` (dict keys and list indexes), depth first."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value[:3]):  # enough of each list
            found.extend(_paths(child, (*prefix, index)))
    return found


BASE: dict[str, Any] = json.loads(DEMO.read_text(encoding="utf-8"))
PATHS = [p for p in _paths(BASE) if p]

mutation = st.tuples(
    st.sampled_from(PATHS), st.sampled_from(["replace", "delete", "add"]), json_like
)


def _mutate(bundle: dict[str, Any], path: tuple[Any, ...], how: str, value: Any) -> None:
    parent: Any = bundle
    for step in path[:-1]:
        try:
            parent = parent[step]
        except (KeyError, IndexError, TypeError):
            return  # an earlier mutation removed this place
    last = path[-1]
    if not isinstance(parent, (dict, list)):
        return
    if isinstance(parent, list) and not (isinstance(last, int) and last < len(parent)):
        return
    if isinstance(parent, dict) and last not in parent:
        return
    if how == "replace":
        parent[last] = value
    elif how == "delete":
        del parent[last]
    elif isinstance(parent, list):
        parent.insert(last, value)
    else:
        parent[f"{last}_extra"] = value


def test_the_base_bundle_imports(app: Flask) -> None:
    with app.test_request_context():
        assert _try_import(copy.deepcopy(BASE), make_user()) == "imported"


def test_arbitrary_json_is_imported_or_refused_cleanly(app: Flask) -> None:
    with app.test_request_context():
        owner = make_user()

        @FUZZ
        @given(data=json_like)
        def run(data: Any) -> None:
            _try_import(data, owner)

        run()


def test_a_damaged_valid_bundle_is_imported_or_refused_cleanly(app: Flask) -> None:
    with app.test_request_context():
        owner = make_user()
        outcomes: list[str] = []

        @FUZZ
        @given(mutations=st.lists(mutation, min_size=1, max_size=4))
        def run(mutations: list[tuple[tuple[Any, ...], str, Any]]) -> None:
            bundle = copy.deepcopy(BASE)
            for path, how, value in mutations:
                _mutate(bundle, path, how, value)
            outcomes.append(_try_import(bundle, owner))

        run()
        # the generator reaches both the refusals and the import itself
        assert "imported" in outcomes and "refused" in outcomes, set(outcomes)


@pytest.mark.parametrize("website", ["https://[oops", "[click](javascript:alert(1))"])
def test_an_unparsable_signatory_website_is_refused_cleanly(app: Flask, website: str) -> None:
    with app.test_request_context():
        bundle = copy.deepcopy(BASE)
        bundle["signatories"][0]["website"] = website
        bundle["signatories"][0]["email"] = "someone@al-haq.example.org"
        assert _try_import(bundle, make_user()) in ("imported", "refused")
