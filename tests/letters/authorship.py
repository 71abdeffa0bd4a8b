"""Reading the who-wrote-what page (templates/letters/authorship.html) in tests."""

from __future__ import annotations

import html
import re

_ROW = re.compile(r'<td class="who">(.*?)</td>\s*<td class="letter-text"[^>]*>(.*?)</td>', re.S)


def who_wrote_what(page: str) -> dict[str, tuple[int, str]]:
    """Each paragraph's rendered HTML -> (revision number, author's name) as the page shows."""
    rows = {}
    for who, text in _ROW.findall(page):
        revision, name = who.split("<br>")[:2]
        number = int(re.sub(r"<[^>]+>|\D", "", revision))
        rows[text.strip()] = (number, html.unescape(name.strip()))
    return rows
