"""CSV cells a spreadsheet will not run: the one neutralising rule for every CSV we write."""

from __future__ import annotations

import unicodedata

#: What makes Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _looks_like_formula(text: str) -> bool:
    """After NFKC (fullwidth ``＝＋－＠`` and the small ``﹦﹢﹣﹫`` become ``=+-@``) and
    without what a spreadsheet may skip before it (spaces of any kind, control and
    invisible format characters such as U+200B or the BOM), does the text start like a
    formula?"""
    first = text[:1]
    if not first or (first.isascii() and first.isalnum()):
        # NFKC leaves an ASCII letter or digit first (a mark after it composes into a
        # letter): the common case, decided without normalising the whole text
        return False
    if text.startswith(FORMULA_START):
        return True
    normal = unicodedata.normalize("NFKC", text)
    start = 0
    while start < len(normal) and (
        normal[start].isspace() or unicodedata.category(normal[start]) in ("Cc", "Cf")
    ):
        start += 1
    return normal[start:].startswith(FORMULA_START)


def neutralise_cell(value: object) -> str:
    """A cell as text, with an apostrophe before anything a spreadsheet would run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if _looks_like_formula(text) else text
