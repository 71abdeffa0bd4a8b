"""The signed letter as an editable Word file (.docx, python-docx), for coalitions that
must deliver Word: the same content as the PDF (:class:`render.PdfContent`, built by
``operations.build_content``), so the same text, order, groups, numbers and options;
set in Word's own styles so that it can be restyled. No audit page: the hashes are in
the PDF export's record.

The letter's text arrives as the sanitised HTML of its page (``body_html``: paragraphs,
headings, lists, emphasis, strikethrough, links, quotes, code, tables); :class:`_BodyWriter`
turns it into Word paragraphs and runs (links keep their text, followed by the address).

Every string goes into the file through :func:`_text`: XML has no place for most control
characters, which the text's editor keeps as typed and python-docx refuses (raising).
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from typing import Any

from signon.exports.pdf.render import Group, PdfContent

#: The file's media type.
MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

#: What XML 1.0 cannot hold, and the other control characters (shown as nothing on the
#: page): tab, line feed and carriage return stay.
_NOT_IN_WORD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    """``value`` as the file can hold it: without the characters of ``_NOT_IN_WORD``."""
    return _NOT_IN_WORD.sub("", value)


_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 4, "h6": 4}
_BLOCKS = {"p", "li", "blockquote", "pre", "td", "th", *_HEADINGS}


class _BodyWriter(HTMLParser):
    """Sanitised HTML (signon.core.markdown) as paragraphs of ``document``."""

    def __init__(self, document: Any) -> None:
        super().__init__(convert_charrefs=True)
        self.document = document
        self.paragraph: Any = None
        self.lists: list[str] = []  # "ul" or "ol", innermost last
        self.bold = self.italic = self.code = self.struck = 0
        self.quote = 0
        self.link: str | None = None

    def _start_paragraph(self, tag: str) -> None:
        if tag in _HEADINGS:
            self.paragraph = self.document.add_heading(level=_HEADINGS[tag] + 1)
        elif tag == "li" and self.lists:
            style = "List Number" if self.lists[-1] == "ol" else "List Bullet"
            depth = min(len(self.lists), 3)
            self.paragraph = self.document.add_paragraph(
                style=style if depth == 1 else f"{style} {depth}"
            )
        elif self.quote:
            self.paragraph = self.document.add_paragraph(style="Quote")
        else:
            self.paragraph = self.document.add_paragraph()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("ul", "ol"):
            self.lists.append(tag)
            self.paragraph = None
        elif tag == "blockquote":
            self.quote += 1
        elif tag in _BLOCKS:
            self._start_paragraph(tag)
        elif tag in ("strong", "b"):
            self.bold += 1
        elif tag in ("em", "i"):
            self.italic += 1
        elif tag in ("s", "del"):
            self.struck += 1
        elif tag == "code":
            self.code += 1
        elif tag == "a":
            self.link = dict(attrs).get("href")
        elif tag == "br" and self.paragraph is not None:
            self.paragraph.add_run().add_break()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self.paragraph = None
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        elif tag in _BLOCKS:
            self.paragraph = None
        elif tag in ("strong", "b"):
            self.bold = max(0, self.bold - 1)
        elif tag in ("em", "i"):
            self.italic = max(0, self.italic - 1)
        elif tag in ("s", "del"):
            self.struck = max(0, self.struck - 1)
        elif tag == "code":
            self.code = max(0, self.code - 1)
        elif tag == "a":
            if self.link and self.paragraph is not None:
                self.paragraph.add_run(_text(f" ({self.link})"))
            self.link = None

    def handle_data(self, data: str) -> None:
        if self.paragraph is None:
            if not data.strip():
                return
            self._start_paragraph("p")
        text = _text(data if self.code else re.sub(r"\s+", " ", data))
        run = self.paragraph.add_run(text)
        run.bold = bool(self.bold) or None
        run.italic = bool(self.italic) or None
        run.font.strike = bool(self.struck) or None
        if self.code:
            run.font.name = "Courier New"


def _add_groups(document: Any, groups: tuple[Group, ...]) -> None:
    for group in groups:
        if group.heading:
            document.add_heading(_text(group.heading), level=3)
        for entry in group.entries:
            paragraph = document.add_paragraph()
            if entry.number is not None:
                paragraph.add_run(f"{entry.number}.\u2002")
            paragraph.add_run(_text(entry.name))
            if entry.details:
                paragraph.add_run(_text(f", {entry.details}"))
            if entry.description:
                paragraph.add_run().add_break()
                paragraph.add_run(_text(entry.description)).italic = True
        if group.summary:
            document.add_paragraph().add_run(_text(group.summary)).italic = True


def _add_heading(document: Any, doc: PdfContent) -> None:
    document.add_heading(_text(doc.title), level=1)
    if doc.addressees:
        document.add_paragraph().add_run(_text("; ".join(doc.addressees))).italic = True


def word_document(doc: PdfContent, *, letterhead_logo: bytes | None = None) -> bytes:
    """``doc`` as a .docx file (``letterhead_logo``: the PNG of ``doc.letterhead_logo``)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm

    document = Document()
    properties = document.core_properties
    properties.title = _text(doc.title)
    properties.author = _text(", ".join(doc.authors))
    properties.subject = _text(doc.subject)
    properties.keywords = _text(doc.keywords)
    properties.language = _text(doc.language)
    if doc.layout == "statement":
        if doc.title_first:
            _add_heading(document, doc)
        document.add_paragraph().add_run(_text(doc.labels["on_behalf"])).bold = True
        for item in doc.statement_items:
            document.add_paragraph(_text(item), style="List Bullet")
        _add_groups(document, doc.statement_individuals)
        if not doc.statement_items and not doc.statement_individuals:
            document.add_paragraph(_text(doc.labels["none_yet"]))
        if not doc.title_first:
            _add_heading(document, doc)
        _BodyWriter(document).feed(doc.body_html)
    else:
        if letterhead_logo is not None:
            document.add_picture(io.BytesIO(letterhead_logo), height=Mm(18))
        if doc.letterhead:
            names = _text("   ".join(org.name for org in doc.letterhead))
            document.add_paragraph().add_run(names).bold = True
        if doc.date_text:
            document.add_paragraph(_text(doc.date_text)).alignment = WD_ALIGN_PARAGRAPH.RIGHT
        for line in doc.addressees:
            document.add_paragraph(_text(line))
        if doc.cc:
            document.add_paragraph(_text(f"{doc.labels['cc']} {'; '.join(doc.cc)}"))
        document.add_heading(_text(doc.title), level=1)
        _BodyWriter(document).feed(doc.body_html)
        document.add_heading(_text(doc.labels["signatories"]), level=2)
        _add_groups(document, doc.groups)
        if not doc.groups:
            document.add_paragraph(_text(doc.labels["none_yet"]))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
