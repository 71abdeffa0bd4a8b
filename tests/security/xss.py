"""A corpus of known XSS payloads, and a checker for HTML that would execute script.

``find_live_xss(html)`` parses a page with the standard library's HTML parser and
reports everything that would run script or load active content: script
elements other than ``<script src="/static/...">``, event-handler attributes,
``javascript:``/``vbscript:``/``data:`` URLs, frames, objects, ``<base>``,
``<meta http-equiv=refresh>``, ``<svg>``/``<math>``, and scripted CSS. Escaped
text such as ``&lt;script&gt;`` is text, not a finding.

It errs on the side of reporting: a page of this application has no reason to
contain any of these, so a finding is either an XSS or a design change to review.
It cannot see everything a browser would do (html.parser is not the HTML5
tree builder, so some mutation-XSS tricks parse differently); it is a net, not
a proof.

Template injection cannot be detected in the output generically (``{{7*7}}``
rendered as ``49`` is just a number). Instead, put :data:`TEMPLATE_PROBE` in the
input and check that the literal text ``{{7*7}}`` is on the page where it was
rendered, and that ``49`` is not.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

PAYLOADS_FILE = Path(__file__).with_name("xss_payloads.txt")

#: Put this in user input; it must come back as this literal text, never as "49".
TEMPLATE_PROBE = "{{7*7}}"

#: Attributes whose value is a URL (or, for srcdoc, a document) that may run script.
URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "action",
        "formaction",
        "xlink:href",
        "data",
        "srcdoc",
        # Legacy or less common ones, from the OWASP filter evasion cheat sheet:
        "background",
        "dynsrc",
        "lowsrc",
        "poster",
        "codebase",
        "code",
        "archive",
        "classid",
        "to",
        "values",
        "from",
        "by",
    }
)
#: Elements whose content a browser reads as text up to the matching end tag (raw
#: text and RCDATA). html.parser knows only script and style; parsing the others'
#: content as markup would miss breakouts like
#: <noscript><p title="</noscript><img src=x onerror=...>">.
RAW_TEXT_ELEMENTS = frozenset(
    {"script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title"}
)
#: Elements that run or embed active content whatever their attributes.
ACTIVE_ELEMENTS = frozenset(
    {
        "iframe",
        "object",
        "embed",
        "base",
        "frame",
        "frameset",
        "applet",
        "svg",
        "math",
        "portal",
    }
)
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:", "livescript:", "mocha:")
SAFE_IMAGE_DATA = ("data:image/png;base64,", "data:image/jpeg;base64,")
DANGEROUS_CSS = ("expression(", "javascript:", "vbscript:", "behavior:", "-moz-binding")

# Browsers ignore C0 controls and spaces around a URL and tabs/newlines inside it;
# removing every control character and space anywhere is stricter.
_URL_NOISE = re.compile(r"[\x00-\x20\x7f-\x9f]+")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_HEX_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?")


def load_payloads() -> list[str]:
    """The payloads of xss_payloads.txt: one per line, ``#`` lines are comments."""
    lines = PAYLOADS_FILE.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def find_live_xss(html: str) -> list[str]:
    """Human-readable findings of anything in ``html`` that would execute; [] if none."""
    checker = _Checker()
    checker.feed(html)
    checker.close()
    return checker.findings


def _normalise_url(value: str) -> str:
    # html.parser has already decoded character references in attribute values,
    # once, as a browser does. Old IE took a backtick for a quote.
    return _URL_NOISE.sub("", value).lstrip("`").lower()


def _normalise_css(css: str) -> str:
    """CSS as a browser would read it: comments gone, escapes decoded, no spaces."""
    css = _CSS_COMMENT.sub("", css)
    css = _CSS_HEX_ESCAPE.sub(lambda m: _code_point(m.group(1)), css)
    css = re.sub(r"\\(.)", r"\1", css, flags=re.DOTALL)
    return re.sub(r"\s+", "", css).lower()


def _code_point(hex_digits: str) -> str:
    value = int(hex_digits, 16)
    return chr(value) if 0 < value <= 0x10FFFF else "\ufffd"


def _is_static_script(src: str) -> bool:
    """A same-origin path under /static/, without tricks."""
    return (
        src.startswith("/static/")
        and "\\" not in src
        and "/../" not in src
        and not src.endswith("/..")
        and _URL_NOISE.search(src) is None
    )


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.findings: list[str] = []
        self._raw_text_owner: str | None = None  # "script" or "style" while inside one
        self._raw_text: list[str] = []
        self._raw_text_where = ""
        self._script_flagged = False  # the open <script> was already reported

    def _report(self, message: str) -> None:
        line, column = self.getpos()
        tag_text = self.get_starttag_text() or ""
        snippet = tag_text if len(tag_text) <= 120 else tag_text[:117] + "..."
        self.findings.append(f"line {line}, column {column + 1}: {message}: {snippet}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in ACTIVE_ELEMENTS:
            self._report(f"<{tag}> element")
        if tag == "script":
            src = values.get("src")
            self._script_flagged = src is None or not _is_static_script(src.strip())
            if src is None:
                self._report("inline <script> element")
            elif not _is_static_script(src.strip()):
                self._report(f"<script> from {src!r}, not a path under /static/")
        if tag == "meta" and values.get("http-equiv", "").strip().lower() == "refresh":
            self._report("<meta http-equiv=refresh>")
        if tag == "link" and "import" in values.get("rel", "").lower().split():
            self._report("<link rel=import>")
        for name, value in attrs:
            self._check_attribute(tag, name, value or "")
        if tag in RAW_TEXT_ELEMENTS:
            self.set_cdata_mode(tag)
        if tag in ("script", "style"):
            self._raw_text_owner = tag
            self._raw_text = []
            line, column = self.getpos()
            self._raw_text_where = f"line {line}, column {column + 1}"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def _check_attribute(self, tag: str, name: str, value: str) -> None:
        if name.startswith("on"):
            self._report(f"event handler attribute {name}")
        if name in URL_ATTRIBUTES:
            url = _normalise_url(value)
            if url.startswith(DANGEROUS_SCHEMES) and not (
                tag == "img" and name == "src" and url.startswith(SAFE_IMAGE_DATA)
            ):
                self._report(f"{name} with a {url.split(':', 1)[0]}: URL")
            if name == "srcdoc":
                self.findings.extend(f"inside srcdoc: {f}" for f in find_live_xss(value))
        if name == "style":
            css = _normalise_css(value)
            for needle in DANGEROUS_CSS:
                if needle in css:
                    self._report(f"style attribute with {needle!r}")

    def handle_comment(self, data: str) -> None:
        """Find where a browser would end the comment; what follows is markup.

        html.parser ends a comment only at "-->", but browsers also end it at
        "<!-->", "<!--->" and "--!>": <!--><script>alert(1)</script>--> runs.
        """
        if data.startswith(">"):
            rest = data[1:]
        elif data.startswith("->"):
            rest = data[2:]
        elif "--!>" in data:
            rest = data.split("--!>", 1)[1]
        else:
            return
        line, column = self.getpos()
        where = f"line {line}, column {column + 1}"
        self.findings.extend(
            f"{where}, after a comment closed early: {f}" for f in find_live_xss(rest)
        )

    def handle_data(self, data: str) -> None:
        if self._raw_text_owner is not None:
            self._raw_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._raw_text_owner:
            self._close_raw_text()

    def close(self) -> None:
        super().close()
        if self._raw_text_owner is not None:  # unclosed <script> or <style>
            self._close_raw_text()

    def _close_raw_text(self) -> None:
        text = "".join(self._raw_text)
        if self._raw_text_owner == "script" and text.strip() and not self._script_flagged:
            self.findings.append(f"{self._raw_text_where}: inline script {text.strip()[:80]!r}")
        if self._raw_text_owner == "style":
            css = _normalise_css(text)
            for needle in (*DANGEROUS_CSS, "@import"):
                if needle in css:
                    self.findings.append(f"{self._raw_text_where}: <style> element with {needle!r}")
        self._raw_text_owner = None
        self._raw_text = []
