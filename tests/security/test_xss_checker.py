"""The XSS checker finds live script, ignores escaped text, and render_markdown passes it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from markupsafe import escape

from signon.core.markdown import render_markdown
from tests.security.xss import TEMPLATE_PROBE, find_live_xss, load_payloads


@pytest.fixture(autouse=True)
def _database() -> Iterator[None]:
    """Pure string checks: override the conftest's per-test database transaction."""
    yield


PAYLOADS = load_payloads()

LIVE_SNIPPETS = [
    "<script>alert(1)</script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "<script src=https://evil.example/x.js></script>",
    "<script src=//evil.example/x.js></script>",
    "<script src=/static/../uploads/x.js></script>",
    '<script src="/static/js/signon.js">alert(1)</script>',
    "<script>alert(1)",  # never closed
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "<body onload=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<div onmouseover='alert(1)'>x</div>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="jav\tascript:alert(1)">x</a>',
    '<a href="\x01javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:alert(1)">x</a>',
    '<a href="javascript&colon;alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<form action="javascript:alert(1)"></form>',
    "<button formaction=javascript:alert(1)>x</button>",
    '<svg><a xlink:href="javascript:alert(1)">x</a></svg>',
    "<math><mtext>x</mtext></math>",
    '<iframe src="https://example.org"></iframe>',
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    '<object data="https://evil.example/x.swf"></object>',
    '<embed src="https://evil.example/x.swf">',
    '<base href="https://evil.example/">',
    "<frameset><frame src=x></frameset>",
    '<applet code="X.class"></applet>',
    '<meta http-equiv="Refresh" content="0;url=https://evil.example">',
    '<link rel="import" href="https://evil.example/x.html">',
    "<div style=\"width: expression(alert('XSS'));\">",
    "<div style=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
    '<div style="background:url(javascript:alert(1))">',
    '<div style="behavior: url(x.htc)">',
    '<div style="width:\\0065\\0078\\0070\\0072\\0065\\0073\\0073\\0069\\006f\\006e(alert(1))">',
    "<style>body{background:url('javascript:alert(1)')}</style>",
    "<style>@im\\port'\\ja\\vasc\\ript:alert(1)';</style>",
    "<!--><script>alert(1)</script>-->",
    "<!-- --!><script>alert(1)</script>-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<xmp><p title="</xmp><img src=x onerror=alert(1)>">',
    "</textarea><script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "'><img src=x onerror=alert(1)>",
]

NOT_LIVE_SNIPPETS = [
    "",
    "Plain text that mentions javascript:alert(1) and onload=alert(1).",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<p>&lt;img src=x onerror=alert(1)&gt;</p>",
    "<code>&lt;svg onload=alert(1)&gt;</code>",
    '<a href="https://example.org/?q=javascript:alert(1)">ok</a>',
    '<a href="/letters/42#section" title="javascript: not a URL here">ok</a>',
    '<a href="mailto:someone@example.org">mail</a>',
    '<img src="/static/img/logo.png" alt="logo">',
    '<img src="data:image/png;base64,iVBORw0KGgo=" alt="">',
    '<img src="data:image/jpeg;base64,/9j/4AAQ" alt="">',
    '<script src="/static/js/signon.js" defer></script>',
    '<div style="color: red; margin: 0 auto">styled</div>',
    "<style>body { font-family: serif; }</style>",
    "<!-- a comment with <script>alert(1)</script> inside -->",
    "<textarea name=body>&lt;script&gt;alert(1)&lt;/script&gt;</textarea>",
    "<textarea name=body><script>alert(1)</script></textarea>",  # RCDATA: text
    '<a href="&amp;#106;avascript:alert(1)">double-encoded is a relative URL</a>',
]

NORMAL_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Clean water now &ndash; Signon</title>
  <link rel="stylesheet" href="/static/css/signon.css">
  <link rel="icon" href="/static/img/favicon.png">
  <script src="/static/js/signon.js" defer></script>
</head>
<body>
  <nav><a href="/">Home</a> <a href="/letters/">Letters</a>
    <a href="https://example.org/about" rel="noopener">About</a></nav>
  <main>
    <h1>Clean water now</h1>
    <p>We write about &lt;script&gt; tags, {{7*7}} and &quot;quotes&quot; &amp; more.</p>
    <form method="post" action="/letters/clean-water/edit">
      <input type="hidden" name="csrf_token" value="abc">
      <label for="body">Text</label>
      <textarea id="body" name="body">**Bold** &lt;img src=x onerror=alert(1)&gt;</textarea>
      <button type="submit" formaction="/letters/clean-water/preview">Preview</button>
      <button type="submit">Save</button>
    </form>
    <table><thead><tr><th align="left">Organisation</th></tr></thead>
      <tbody><tr><td>Friends of the River</td></tr></tbody></table>
  </main>
</body>
</html>
"""

# Markdown contexts a payload may land in: a paragraph, a heading, a list, a quote,
# a table cell, emphasis, code, link text, a link URL, a link title, an image.
MARKDOWN_CONTEXTS = [
    "{}",
    "# {}",
    "- {}",
    "> {}",
    "| a |\n|---|\n| {} |",
    "**{}**",
    "`{}`",
    "    {}",
    "[{}](https://example.org)",
    "[x]({})",
    "[x](<{}>)",
    '[x](https://example.org "{}")',
    "![{}](https://example.org/x.png)",
    "![x]({})",
    "[x][r]\n\n[r]: {}",
    "Text {} text\n\nmore",
]


@pytest.mark.parametrize("snippet", LIVE_SNIPPETS)
def test_flags_live_markup(snippet: str) -> None:
    assert find_live_xss(snippet), f"not flagged: {snippet!r}"


@pytest.mark.parametrize("snippet", NOT_LIVE_SNIPPETS)
def test_does_not_flag_inert_markup(snippet: str) -> None:
    assert find_live_xss(snippet) == []


def test_does_not_flag_a_normal_page() -> None:
    assert find_live_xss(NORMAL_PAGE) == []


def test_a_live_snippet_in_a_normal_page_is_flagged_with_its_position() -> None:
    page = NORMAL_PAGE.replace("<h1>", '<h1><img src=x onerror="alert(1)">')
    (finding,) = find_live_xss(page)
    assert "onerror" in finding and "line 15" in finding


def test_the_corpus() -> None:
    assert len(PAYLOADS) >= 120
    assert len(set(PAYLOADS)) == len(PAYLOADS), "payloads are distinct"
    assert all(p.strip() and not p.startswith("#") for p in PAYLOADS)
    assert TEMPLATE_PROBE in PAYLOADS
    # Most of the corpus is raw HTML that must be caught as it is; the rest is
    # Markdown, encodings, template syntax and attribute breakers meant for other contexts.
    live = [p for p in PAYLOADS if find_live_xss(p)]
    assert len(live) >= 130


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escaped_payloads_are_not_flagged(payload: str) -> None:
    assert find_live_xss(str(escape(payload))) == []
    assert find_live_xss(f'<p title="{escape(payload)}">{escape(payload)}</p>') == []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_render_markdown_never_produces_live_script(payload: str) -> None:
    for context in MARKDOWN_CONTEXTS:
        html = str(render_markdown(context.format(payload)))
        assert find_live_xss(html) == [], f"{context.format(payload)!r} rendered as {html!r}"


def test_render_markdown_leaves_the_template_probe_as_text() -> None:
    html = str(render_markdown(f"Probe: {TEMPLATE_PROBE}"))
    assert TEMPLATE_PROBE in html and "49" not in html
