"""Markdown to safe HTML, once, for pages, previews and (later) the PDF.

markdown-it-py renders with raw HTML disabled; nh3 (the Ammonia sanitiser) then
keeps only an allow-list of tags, attributes and URL schemes. Anything else is
autoescaped by Jinja.
"""

from __future__ import annotations

import html as html_entities

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
    "strong", "em", "del", "s", "sup", "sub", "blockquote", "code", "pre",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_parser.enable(["table", "strikethrough"])


#: A diff of the rendered text adds its insertion marks (deletions are ``del`` already;
#: the text's own strikethrough renders as ``s``).
DIFF_TAGS = ALLOWED_TAGS | {"ins"}
#: ... and numbers each item of a numbered list as the side it comes from shows it.
DIFF_ATTRIBUTES = ALLOWED_ATTRIBUTES | {"li": {"value"}}


def sanitise_html(
    html: str,
    tags: set[str] = ALLOWED_TAGS,
    attributes: dict[str, set[str]] = ALLOWED_ATTRIBUTES,
) -> str:
    return nh3.clean(
        html,
        tags=tags,
        attributes=attributes,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_markdown(text: str) -> Markup:
    """Markdown source to sanitised HTML, safe to put on a page as it is."""
    return Markup(sanitise_html(_parser.render(text or "")))  # noqa: S704 - sanitised above


def plain_text(html: str) -> str:
    """Sanitised HTML (from :func:`render_markdown`) as the words a reader sees: every tag
    dropped, a link's address with it, entities decoded; blocks stay apart by line breaks."""
    return html_entities.unescape(nh3.clean(html, tags=set(), attributes={}))


#: Token types that open a list: its lines are read one by one (:func:`block_lines`).
_LISTS = frozenset({"bullet_list_open", "ordered_list_open"})


def block_lines(text: str) -> list[tuple[int, int]]:
    """The line ranges ``[start, end)`` of ``text``'s blocks as a reader sees them.

    A top-level paragraph (over several lines), heading, table, code block, quote or
    rule is one range; a list gives one range per line, so that each item (and each
    nested item) stands on its own. Blank lines between blocks are in no range.
    """
    ranges: list[tuple[int, int]] = []
    for token in _parser.parse(text or ""):
        if token.level != 0 or token.nesting == -1 or token.map is None:
            continue
        start, end = token.map
        if token.type in _LISTS:
            ranges.extend((line, line + 1) for line in range(start, end))
        else:
            ranges.append((start, end))
    return ranges
