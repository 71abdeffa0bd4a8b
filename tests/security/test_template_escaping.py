"""Autoescaping is decided per template file by its name (Flask escapes ``.html``, not
``.txt``), so a ``.txt`` partial included from an HTML template would print user text raw
into the HTML. This once let an organisation name through into the invitation mail's HTML
part; no HTML template may include or import a template that is not autoescaped."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
_PULLED_IN = re.compile(r"""\{%-?\s*(?:include|import|from|extends)\s+["']([^"']+)["']""")
_ESCAPED_SUFFIXES = (".html", ".htm", ".xml", ".xhtml", ".svg")


def unescaped_pulls(source: str) -> list[str]:
    """The templates ``source`` pulls in that Flask would render without autoescaping."""
    return [name for name in _PULLED_IN.findall(source) if not name.endswith(_ESCAPED_SUFFIXES)]


def test_no_html_template_pulls_in_an_unescaped_one() -> None:
    offenders = {
        str(path.relative_to(TEMPLATES)): pulled
        for path in TEMPLATES.rglob("*.html")
        if (pulled := unescaped_pulls(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_check_sees_a_text_partial() -> None:
    source = '<p>{% with who=x %}{% include "emails/signatures/_note.txt" %}{% endwith %}</p>'
    assert unescaped_pulls(source) == ["emails/signatures/_note.txt"]
    assert unescaped_pulls('{% extends "base.html" %}{% import "macros.html" as m %}') == []
