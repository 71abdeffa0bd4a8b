"""A small JSON Schema checker for the subset our OpenAPI document uses.

Neither ``jsonschema`` nor ``openapi-spec-validator`` is installed in this
project's environment; when they are, ``test_openapi.py`` uses them as well.
This checker knows: ``$ref`` (local), ``type`` (one or a list), ``properties``,
``required``, ``additionalProperties: false``, ``items``, ``enum``, ``minimum``,
``maximum``, ``pattern`` and ``format: date-time``. Any other keyword makes it
fail loudly, so that a schema never silently goes unchecked.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

KNOWN = {
    "$ref",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "minimum",
    "maximum",
    "pattern",
    "format",
    "description",
    "default",
}
TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


class SchemaMismatchError(AssertionError):
    pass


def resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/"), f"only local references: {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        if part not in node:
            raise SchemaMismatchError(f"unresolvable reference {ref}")
        node = node[part]
    assert isinstance(node, dict)
    return node


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, TYPES[name])


def check(value: Any, schema: dict[str, Any], document: dict[str, Any], path: str = "$") -> None:
    """Raise :class:`SchemaMismatchError` at the first place where ``value`` breaks ``schema``."""
    unknown = set(schema) - KNOWN
    if unknown:
        raise SchemaMismatchError(f"{path}: the checker does not know {sorted(unknown)}")
    if "$ref" in schema:
        check(value, resolve(document, schema["$ref"]), document, path)
        return
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, name) for name in names):
            raise SchemaMismatchError(f"{path}: {value!r} is not of type {names}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaMismatchError(f"{path}: {value!r} not in {schema['enum']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaMismatchError(f"{path}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaMismatchError(f"{path}: {value} > {schema['maximum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise SchemaMismatchError(f"{path}: {value!r} does not match {schema['pattern']}")
        if schema.get("format") == "date-time":
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError as exc:
                raise SchemaMismatchError(f"{path}: {value!r} is not a date-time") from exc
            if parsed.tzinfo is None:
                raise SchemaMismatchError(f"{path}: {value!r} has no time zone")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise SchemaMismatchError(f"{path}: missing required {name!r}")
        if schema.get("additionalProperties") is False:
            extra = set(value) - set(properties)
            if extra:
                raise SchemaMismatchError(f"{path}: unexpected {sorted(extra)}")
        for name, sub in properties.items():
            if name in value:
                check(value[name], sub, document, f"{path}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            check(item, schema["items"], document, f"{path}[{index}]")
