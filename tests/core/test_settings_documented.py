"""Every ``SIGNON_*`` variable the code reads has a row in docs/deploy.md's one table.

Read from the source, not from a list kept by hand: ``signon/config.py`` (through its
``_env*`` helpers or ``os.environ``), ``gunicorn.conf.py`` and ``deploy/run_prod.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

from signon.config import PROJECT_ROOT

SOURCES = ("signon/config.py", "gunicorn.conf.py", "deploy/run_prod.py")
#: ``_env("SECRET_KEY")``, ``_env_int("MAIL_PORT", 25)``, ``_env_bool(...)``, ``_env_list(...)``
HELPER_READ = re.compile(r"""\b_env(?:_int|_bool|_list)?\(\s*["']([A-Z0-9_]+)["']""")
#: ``os.environ.get("SIGNON_X")``, ``os.environ["SIGNON_X"]``, ``env.setdefault("SIGNON_X", ...)``
DIRECT_READ = re.compile(r"""["'](SIGNON_[A-Z0-9_]+)["']""")


def variables_read(source: str, text: str) -> set[str]:
    found = (
        {f"SIGNON_{name}" for name in HELPER_READ.findall(text)}
        if source.endswith("config.py")
        else set()
    )
    return found | set(DIRECT_READ.findall(text))


def documented_variables(deploy_md: str) -> set[str]:
    """Variables named in the first cell of a row of the configuration table."""
    section = deploy_md.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`(SIGNON_[A-Z0-9_]+)`", first_cell))
    return names


def test_the_scanner_sees_every_way_of_reading() -> None:
    text = (
        '_env("SECRET_KEY")\n_env_int("MAIL_PORT", 25)\n_env_bool(\n    "HTTPS", False)\n'
        '_env_list("ALLOWED_HOSTS")\nos.environ.get("SIGNON_BIND", "x")\n'
    )
    assert variables_read("signon/config.py", text) == {
        "SIGNON_SECRET_KEY",
        "SIGNON_MAIL_PORT",
        "SIGNON_HTTPS",
        "SIGNON_ALLOWED_HOSTS",
        "SIGNON_BIND",
    }
    table = "## Configuration\n| `SIGNON_A`, `SIGNON_B` | `x` | mentions `SIGNON_C` |\n## Next\n"
    assert documented_variables(table) == {"SIGNON_A", "SIGNON_B"}


def test_every_setting_has_a_row_in_docs_deploy() -> None:
    read: set[str] = set()
    for source in SOURCES:
        read |= variables_read(source, (PROJECT_ROOT / source).read_text(encoding="utf-8"))
    assert len(read) > 30  # the scanner found the settings at all
    documented = documented_variables(
        Path(PROJECT_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    )
    assert read - documented == set(), "add a row to the table in docs/deploy.md"
