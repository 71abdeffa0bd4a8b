"""Every distribution the running app imports is a runtime requirement (issue 9, item 13).

``pypdf`` was imported by ``signon/exports/pdf/fonts.py`` but listed only in
requirements-dev.txt, so a production install (``pip install -r requirements.txt``)
failed at ``flask --app signon db upgrade``. This test reads every ``import`` of
``signon/`` and ``migrations/`` and checks that the distribution providing it is pinned
in requirements.txt itself (not only pulled in by another package, which may drop it).
``.ci/runtime_smoke.sh`` checks the same thing for real, in a fresh virtualenv.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
#: The code a production install runs (the migrations run at ``db upgrade``).
RUNTIME_CODE = ("signon", "migrations")


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them (``Flask_Login`` == ``flask-login``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules(folder: Path) -> dict[str, Path]:
    """Top-level modules imported anywhere under ``folder`` (absolute imports), and one
    file that imports each, for the failure message."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path)
    return found


def third_party_imports() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for folder in RUNTIME_CODE:
        modules.update(imported_modules(ROOT / folder))
    own = {"signon", "migrations"}
    return {m: p for m, p in modules.items() if m not in sys.stdlib_module_names | own}


def pinned(requirements: Path) -> dict[str, str]:
    """``canonical name -> version`` of each ``name==version`` line (extras dropped)."""
    result: dict[str, str] = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", line)
        if match:
            result[canonical(match.group(1))] = match.group(3)
    return result


def test_the_scan_finds_the_imports_that_matter() -> None:
    modules = third_party_imports()
    assert {"flask", "sqlalchemy", "weasyprint", "pypdf", "fontTools", "alembic"} <= set(modules)
    assert "os" not in modules and "signon" not in modules


def test_every_imported_distribution_is_pinned_in_requirements_txt() -> None:
    runtime = pinned(ROOT / "requirements.txt")
    providers = packages_distributions()
    missing = []
    for module, path in sorted(third_party_imports().items()):
        distributions = providers.get(module)
        assert distributions, f"{module} (imported in {path.relative_to(ROOT)}) is not installed"
        if not any(canonical(d) in runtime for d in distributions):
            missing.append(f"{module} ({', '.join(distributions)}), imported in {path}")
    assert not missing, "not pinned in requirements.txt:\n" + "\n".join(missing)


def test_no_runtime_requirement_is_pinned_twice() -> None:
    runtime = pinned(ROOT / "requirements.txt")
    development = pinned(ROOT / "requirements-dev.txt")
    assert not set(runtime) & set(development), "listed in both requirement files"
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()


def make_dry_run(target: str) -> str:
    """The commands ``make <target>`` would run from scratch (``-n -B``: nothing is run)."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", target],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_make_run_installs_the_runtime_requirements_only() -> None:
    commands = make_dry_run("run")
    assert "pip install --quiet -r requirements.txt" in commands
    assert "requirements-dev" not in commands
    assert "apt-get" not in commands and "chromium" not in commands
    assert "flask --app signon run" in commands


def test_make_test_still_installs_everything_and_the_browser() -> None:
    commands = make_dry_run("test")
    assert "-r requirements-dev.txt" in commands and "apt-get" in commands


def test_ci_runs_the_smoke_test_between_the_audit_and_the_suite() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    steps = [line.strip() for line in script.splitlines() if line.startswith("make ")]
    assert steps[:3] == ["make lint", "make audit", "make smoke"], steps
    # then both suites, side by side: the PostgreSQL run on its own Redis server
    after_smoke = script.split("make smoke", 1)[1]
    assert re.search(r"^make test\b(?!-)", after_smoke, re.MULTILINE), after_smoke
    postgres = re.search(r"^SIGNON_TEST_REDIS_URL=\S+ make test-postgres\b", after_smoke, re.M)
    assert postgres, after_smoke
    assert "wait" in after_smoke and 'exit "$status"' in after_smoke
    assert ".ci/runtime_smoke.sh" in make_dry_run("smoke")
