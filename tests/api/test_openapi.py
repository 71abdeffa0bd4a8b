"""The OpenAPI document: well-formed OpenAPI 3.1, and true to what the API answers.

``openapi-spec-validator`` and ``jsonschema`` are not in this project's
environment; the structural checks and the response checks below (with the
small checker in ``tests/api/schema.py``) run always. If those packages are
installed, the two tests at the end use them too.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.api.openapi import openapi_document
from signon.core import transaction
from signon.signatures.models import SignatoryKind
from tests.api.schema import SchemaMismatchError, check, resolve
from tests.api.test_views import bearer, build_world

pytestmark = pytest.mark.usefixtures("app_context")

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            found += _refs(value)
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def test_served_document_is_the_document(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert response.get_json() == openapi_document()


def test_document_is_well_formed_openapi_3_1() -> None:
    doc = openapi_document()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"] == [{"url": "/api/v1", "description": "This Signon instance."}]
    assert set(doc) <= {
        "openapi",
        "info",
        "jsonSchemaDialect",
        "servers",
        "paths",
        "webhooks",
        "components",
        "security",
        "tags",
        "externalDocs",
    }
    # every reference resolves
    for ref in _refs(doc):
        resolve(doc, ref)
    operation_ids = []
    schemes = doc["components"]["securitySchemes"]
    for requirement in doc["security"]:
        assert set(requirement) <= set(schemes)
    assert schemes["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerToken"]["description"],
    }
    for path, item in doc["paths"].items():
        assert path.startswith("/")
        templated = set(re.findall(r"{([^}]+)}", path))
        for method, operation in item.items():
            assert method in METHODS
            operation_ids.append(operation["operationId"])
            assert operation["responses"], f"{method} {path} has no responses"
            for code in operation["responses"]:
                assert re.fullmatch(r"[1-5][0-9][0-9]", code)
            parameters = operation.get("parameters", [])
            declared = {p["name"] for p in parameters if p["in"] == "path"}
            assert declared == templated, f"{path}: path parameters"
            for parameter in parameters:
                assert parameter["in"] in {"path", "query", "header", "cookie"}
                assert "schema" in parameter
                if parameter["in"] == "path":
                    assert parameter["required"] is True
            for requirement in operation.get("security", []):
                assert set(requirement) <= set(schemes)
    assert len(operation_ids) == len(set(operation_ids))
    assert set(doc["components"]["schemas"]) >= {"Letter", "Signatory", "SignatoryPage", "Error"}


def test_the_document_names_every_api_route(app: Flask) -> None:
    documented = {"/api/v1" + re.sub(r"{(\w+)}", r"<\1>", p) for p in openapi_document()["paths"]}
    routes = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.not_found"
    }
    assert routes == documented


def _schema(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _check(value: Any, name: str) -> None:
    check(value, _schema(name), openapi_document())


def test_real_responses_match_their_schemas(client: FlaskClient) -> None:
    world = build_world()
    _check(client.get("/api/v1/letters/open-letter").get_json(), "Letter")
    _check(
        client.get("/api/v1/letters/private-letter", headers=bearer(world.token)).get_json(),
        "Letter",
    )
    page = client.get("/api/v1/letters/open-letter/signatories?per_page=2&page=2").get_json()
    _check(page, "SignatoryPage")
    assert page["items"] and page["links"]["prev"]
    full = client.get("/api/v1/letters/open-letter/signatories").get_json()
    _check(full, "SignatoryPage")
    assert {item["state"] for item in full["items"]} == {"approved_current"}
    for response in (
        client.get("/api/v1/letters/no-such-letter"),
        client.get("/api/v1/letters/open-letter", headers=bearer("sgn_unknown")),
        client.get("/api/v1/letters/open-letter/signatories?page=0"),
        client.get("/api/v1/nothing"),
    ):
        _check(response.get_json(), "Error")


def test_the_schemas_can_fail(client: FlaskClient) -> None:
    """The checker catches a wrong payload (so that the test above means something)."""
    build_world()
    letter = client.get("/api/v1/letters/open-letter").get_json()
    for broken in (
        {**letter, "extra": 1},
        {k: v for k, v in letter.items() if k != "counts"},
        {**letter, "status": "lost"},
        {**letter, "deadline": "tomorrow"},
        {**letter, "current_revision": {**letter["current_revision"], "sha256": "XYZ"}},
        {**letter, "counts": {**letter["counts"], "approved_current": -1}},
    ):
        with pytest.raises(SchemaMismatchError):
            _check(broken, "Letter")


def test_schema_enums_follow_the_models() -> None:
    schemas = openapi_document()["components"]["schemas"]
    assert schemas["Signatory"]["properties"]["type"]["enum"] == [k.value for k in SignatoryKind]


def test_document_with_openapi_spec_validator() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(openapi_document())


def test_responses_with_jsonschema(client: FlaskClient) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    build_world()
    transaction.commit()
    doc = openapi_document()
    schema = {**_schema("SignatoryPage"), "components": doc["components"]}
    jsonschema.validate(
        client.get("/api/v1/letters/open-letter/signatories").get_json(),
        schema,
        cls=jsonschema.Draft202012Validator,
    )
