"""Which package of ``signon`` may import which: the map of docs/architecture.md, enforced.

Every ``import`` of every module of ``signon/`` is read from its syntax tree (module level
and inside functions alike: an import put in a function to dodge a cycle is still a
dependency). Imports under ``if TYPE_CHECKING:`` are left out: they name a type for the
checker and load nothing, so they make no cycle and no load order.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

#: The ground floor: plain modules every package may import.
BASE = frozenset({"db", "extensions", "config"})

#: Package -> the packages it may import (besides itself and ``BASE``), bottom up.
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),
    # the audit writer and verifier: features call it, it calls none of them
    "audit": frozenset({"core"}),
    "accounts": frozenset({"core", "audit"}),
    "letters": frozenset({"core", "audit", "accounts"}),
    "signatures": frozenset({"core", "audit", "accounts", "letters"}),
    # comments, suggestions and live co-editing on top of the revision chain
    "drafting": frozenset({"core", "audit", "accounts", "letters", "signatures"}),
    "exports": frozenset({"core", "audit", "accounts", "letters", "signatures", "drafting"}),
    "api": frozenset({"core", "audit", "accounts", "letters", "signatures", "drafting", "exports"}),
    # the demo letter and the app's wiring (signon/__init__, cli, models) sit on top
    "demo": frozenset(
        {"core", "audit", "accounts", "letters", "signatures", "drafting", "exports", "api"}
    ),
}

#: Imports against the map that are known and have to go: (importer module, imported package).
KNOWN_EXCEPTIONS: frozenset[tuple[str, str]] = frozenset()


ROOT = Path(__file__).resolve().parent.parent / "signon"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def _imported_modules(tree: ast.AST) -> Iterator[str]:
    """The absolute module names ``tree`` imports, outside ``if TYPE_CHECKING:`` blocks."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if _is_type_checking_block(node):
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "signon imports absolutely"
            module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)
        pending.extend(ast.iter_child_nodes(node))


def _package(module: str) -> str | None:
    """``signon.letters.views`` -> ``letters``; None for what is not part of signon."""
    parts = module.split(".")
    return parts[1] if parts[0] == "signon" and len(parts) > 1 else None


def import_map() -> dict[str, set[str]]:
    """Module -> the signon packages (or base modules) it imports, other than its own."""
    found: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        own = _package(module)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = {_package(name) for name in _imported_modules(tree)}
        found[module] = {t for t in targets if t is not None and t != own}
    return found


def violations(found: dict[str, set[str]]) -> set[tuple[str, str]]:
    bad = set()
    for module, targets in found.items():
        package = _package(module)
        if package in BASE or package not in ALLOWED:
            continue  # the ground floor and the app's wiring at the top
        for target in targets - BASE - ALLOWED[package]:
            bad.add((module, target))
    return bad


def test_packages_import_only_what_the_map_allows() -> None:
    assert violations(import_map()) - KNOWN_EXCEPTIONS == set()


def test_known_exceptions_still_exist() -> None:
    """A fixed exception is dropped from the list, so it cannot come back unnoticed."""
    assert KNOWN_EXCEPTIONS - violations(import_map()) == set()


def test_every_package_is_on_the_map() -> None:
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(ALLOWED)


def test_the_ground_floor_imports_no_package() -> None:
    found = import_map()
    for name in BASE:
        assert found[f"signon.{name}"] <= BASE, name


def test_the_map_catches_an_upward_import() -> None:
    """The checker itself: core importing letters is a violation, a type-only import is not."""
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from signon.signatures.models import Signature\n"
        "def f():\n    from signon.letters.models import Letter\n"
    )
    targets = {_package(name) for name in _imported_modules(tree)} - {None}
    assert violations({"signon.core.example": targets}) == {("signon.core.example", "letters")}
