"""The OpenAPI 3.1 description of the read-only API, as data (served at /api/v1/openapi.json).

Schemas use JSON Schema 2020-12 (OpenAPI 3.1's dialect). Keep them in step with
:mod:`signon.api.serializers`: the tests validate real responses against them.
"""

from __future__ import annotations

import copy
from typing import Any

from signon.signatures.models import SignatoryKind
from signon.signatures.state import SignatoryState

API_VERSION = "1.0.0"
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50
#: Pages beyond this are refused (400): nobody has that many signatories.
MAX_PAGE = 1_000_000

LETTER_STATUSES = ["drafting", "open", "closed", "published"]
#: The API lists only approvals that cover the current text.
PUBLISHED_STATES = [SignatoryState.APPROVED_CURRENT.value]

_SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256, hex."}
_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC (`Z`)."}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "404": {"$ref": "#/components/responses/NotFound"},
}

SCHEMAS: dict[str, Any] = {
    "Letter": {
        "type": "object",
        "description": "A letter, its current text's number and hash, and derived counts.",
        "required": [
            "slug",
            "title",
            "addressee",
            "language",
            "status",
            "deadline",
            "public",
            "current_revision",
            "counts",
            "links",
        ],
        "additionalProperties": False,
        "properties": {
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "addressee": {"type": "string"},
            "language": {"type": "string", "description": "ISO 639-1 code, e.g. `en`."},
            "status": {"type": "string", "enum": LETTER_STATUSES},
            "deadline": {**_NULLABLE_TIME, "description": "ISO 8601, UTC; null: no deadline."},
            "public": {"type": "boolean", "description": "Readable without a token."},
            "current_revision": _ref("RevisionRef"),
            "counts": {
                "type": "object",
                "required": [
                    "published_signatories",
                    "approved_current",
                    "awaiting_reconfirmation",
                ],
                "additionalProperties": False,
                "properties": {
                    "published_signatories": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "Signatories listed under the current text (the same "
                        "list as the public page and the exports).",
                    },
                    "approved_current": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "Listed signatories whose approval covers the current "
                        "text: all of them (kept for compatibility).",
                    },
                    "awaiting_reconfirmation": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "Accepted signatories who approved an earlier text and "
                        "have not re-confirmed since a substantive or unclassified change: "
                        "counted here, not listed.",
                    },
                },
            },
            "links": {
                "type": "object",
                "required": ["self", "signatories"],
                "additionalProperties": False,
                "properties": {
                    "self": {"type": "string"},
                    "signatories": {"type": "string"},
                },
            },
        },
    },
    "RevisionRef": {
        "type": "object",
        "required": ["number", "sha256", "saved_at"],
        "additionalProperties": False,
        "properties": {
            "number": {"type": "integer", "minimum": 1},
            "sha256": _SHA256,
            "saved_at": _TIME,
        },
    },
    "Signatory": {
        "type": "object",
        "description": "A listed signatory: its approval covers the current text, and it was "
        "accepted if it needed moderation.",
        "required": [
            "name",
            "sort_name",
            "country",
            "type",
            "approved_revision",
            "approved_at",
            "state",
            "group",
            "title",
            "affiliation",
        ],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "description": "Exactly as it is printed."},
            "sort_name": {
                "type": ["string", "null"],
                "description": "What the name is sorted under; for an individual, their "
                "family name (the one they gave, else the last word of their name).",
            },
            "country": {"type": ["string", "null"]},
            "type": {"type": "string", "enum": [kind.value for kind in SignatoryKind]},
            "approved_revision": {
                "type": "object",
                "required": ["number", "sha256"],
                "additionalProperties": False,
                "properties": {
                    "number": {"type": "integer", "minimum": 1},
                    "sha256": {
                        **_SHA256,
                        "description": "The hash of the text approved, recorded at approval.",
                    },
                },
            },
            "approved_at": _TIME,
            "state": {
                "type": "string",
                "enum": PUBLISHED_STATES,
                "description": "`approved_current`: the approval covers the current text "
                "(only editorial changes since). Approvals of an earlier text are not listed.",
            },
            "group": {
                "type": ["string", "null"],
                "description": "The heading of the signatory's group: organisations are "
                "in groups when the coordinators grouped the list (by country, type of "
                "signatory, first tier, new signatories since a date), else `null`; "
                "individuals (`type` `individual`) are always listed, one by one, in the "
                "last group, `Individual signatories`, sorted by family name, whatever the "
                "grouping and order. Items come in the list's order, group after group.",
            },
            "title": {
                "type": ["string", "null"],
                "description": "An individual's title or role, as the public page prints "
                "it; `null` for organisations.",
            },
            "affiliation": {
                "type": ["string", "null"],
                "description": "An individual's affiliation, printed “for identification "
                "only” (the institution does not sign); `null` for organisations.",
            },
        },
    },
    "SignatoryPage": {
        "type": "object",
        "required": ["letter", "items", "page", "per_page", "total", "pages", "links"],
        "additionalProperties": False,
        "properties": {
            "letter": {"type": "string", "description": "The letter's slug."},
            "items": {"type": "array", "items": _ref("Signatory")},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total": {"type": "integer", "minimum": 0},
            "pages": {"type": "integer", "minimum": 0},
            "links": {
                "type": "object",
                "required": ["self", "first", "last", "next", "prev"],
                "additionalProperties": False,
                "properties": {
                    "self": {"type": "string"},
                    "first": {"type": "string"},
                    "last": {"type": "string"},
                    "next": {"type": ["string", "null"]},
                    "prev": {"type": ["string", "null"]},
                },
            },
        },
    },
    "Error": {
        "type": "object",
        "required": ["error", "status"],
        "additionalProperties": False,
        "properties": {
            "error": {"type": "string", "description": "What went wrong, for people."},
            "status": {"type": "integer", "description": "The HTTP status code."},
        },
    },
}

_SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "description": "The letter's slug, as in its address on Signon.",
    "schema": {"type": "string"},
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document (a fresh dict each time: callers may not share it)."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Signon API",
            "version": API_VERSION,
            "summary": "Read-only access to sign-on letters and their published signatories.",
            "description": (
                "Public letters are readable without a token. Private letters need a "
                "token that one of the letter's coordinators creates (Letter → API "
                "tokens) and sends as `Authorization: Bearer <token>`; a token reads "
                "one letter only. A letter that does not exist and a private letter "
                "without a valid token for it both answer 404, so that private letters "
                "do not reveal that they exist. An Authorization header with an unknown "
                "or revoked token answers 401."
            ),
        },
        "servers": [{"url": "/api/v1", "description": "This Signon instance."}],
        "security": [{}, {"bearerToken": []}],
        "tags": [{"name": "letters"}],
        "paths": {
            "/letters/{slug}": {
                "get": {
                    "operationId": "getLetter",
                    "tags": ["letters"],
                    "summary": "A letter: status, deadline, current revision and counts.",
                    "parameters": [_SLUG],
                    "responses": {
                        "200": _json(_ref("Letter"), "The letter."),
                        **_ERRORS,
                    },
                }
            },
            "/letters/{slug}/signatories": {
                "get": {
                    "operationId": "listSignatories",
                    "tags": ["letters"],
                    "summary": "Published signatories, in the letter's printed order, by page.",
                    "parameters": [
                        _SLUG,
                        {
                            "name": "page",
                            "in": "query",
                            "required": False,
                            "description": "Page number, from 1. A page past the last is empty.",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_PAGE,
                                "default": 1,
                            },
                        },
                        {
                            "name": "per_page",
                            "in": "query",
                            "required": False,
                            "description": f"Signatories per page, at most {MAX_PER_PAGE}.",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": MAX_PER_PAGE,
                                "default": DEFAULT_PER_PAGE,
                            },
                        },
                    ],
                    "responses": {
                        "200": _json(_ref("SignatoryPage"), "One page of signatories."),
                        "400": {"$ref": "#/components/responses/BadRequest"},
                        **_ERRORS,
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document.",
                    "security": [{}],
                    "responses": {
                        "200": _json({"type": "object"}, "The OpenAPI 3.1 document."),
                    },
                }
            },
        },
        "components": {
            "schemas": copy.deepcopy(SCHEMAS),
            "responses": {
                "BadRequest": _json(_ref("Error"), "A query parameter is not valid."),
                "Unauthorized": {
                    **_json(_ref("Error"), "The bearer token is unknown or revoked."),
                    "headers": {
                        "WWW-Authenticate": {
                            "description": 'Bearer realm="Signon API", error="invalid_token"',
                            "schema": {"type": "string"},
                        }
                    },
                },
                "NotFound": _json(
                    _ref("Error"),
                    "No such letter, or a private letter without a valid token for it.",
                ),
            },
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A letter's API token (`sgn_...`), created by a coordinator.",
                }
            },
        },
    }
