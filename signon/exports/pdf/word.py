"""The signed letter as an editable Word file (.docx, python-docx), for coalitions that
must deliver Word: the same content as the PDF (:class:`render.PdfContent`, built by
``operations.build_content``), so the same text, order, groups, numbers and options;
set in Word's own styles so that it can be restyled. No audit page: the hashes are in
the PDF export's record.

The letter's text arrives as the sanitised HTML of its page (``body_html``: paragraphs,
headings, lists, emphasis, strikethrough, links, quotes, code, tables); :class:`_BodyWriter`
turns it into Word paragraphs and runs. A link to a web or mail address is a Word
hyperlink on its text (in the style "Hyperlink"), as it is a link in the PDF; any other
keeps its text, followed by the address. Each numbered list counts from its own start
(Word's list styles share one counter: without a restart the second list would go on
from the first).

Every string goes into the file through :func:`_text`: XML has no place for most control
characters, which the text's editor keeps as typed and python-docx refuses (raising).
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from typing import Any

from signon.exports.pdf.render import ISOLATE, POP_ISOLATE, Group, PdfContent

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
#: Addresses made Word hyperlinks (what the sanitiser lets through, bar relative ones).
_LINKED = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)


def _hyperlink_style(document: Any) -> Any:
    """The character style "Hyperlink" (python-docx's template has none): blue, underlined."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import RGBColor

    styles = document.styles
    if "Hyperlink" in [style.name for style in styles]:
        return styles["Hyperlink"]
    style = styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
    style.font.color.rgb = RGBColor(0x05, 0x63, 0xC1)
    style.font.underline = True
    return style


def _restarted_numbering(document: Any, style_name: str, start: int) -> int:
    """A new Word numbering instance for the list style ``style_name`` counting from
    ``start``; its id goes on each item of one list."""
    numbering = document.part.numbering_part.element
    style_num = document.styles[style_name].element.pPr.numPr.numId.val
    abstract = numbering.num_having_numId(style_num).abstractNumId.val
    num = numbering.add_num(abstract)
    num.add_lvlOverride(ilvl=0).add_startOverride(start)
    return int(num.numId)


class _BodyWriter(HTMLParser):
    """Sanitised HTML (signon.core.markdown) as paragraphs of ``document``."""

    def __init__(self, document: Any) -> None:
        super().__init__(convert_charrefs=True)
        self.document = document
        self.paragraph: Any = None
        self.lists: list[str] = []  # "ul" or "ol", innermost last
        #: per open list, its own numbering id (numbered lists; made at its first item)
        self.numbering: list[int | None] = []
        self.starts: list[int] = []
        self.bold = self.italic = self.code = self.struck = 0
        self.quote = 0
        self.link: str | None = None
        self.hyperlink: Any = None  # the w:hyperlink element the link's runs go in
        #: the open list items' paragraphs, innermost last
        self.items: list[Any] = []

    def _start_paragraph(self, tag: str) -> None:
        if tag in _HEADINGS:
            self.paragraph = self.document.add_heading(level=_HEADINGS[tag] + 1)
        elif tag == "p" and self.items and self.paragraph is self.items[-1]:
            # a "loose" list (items apart): <li><p>…</p></li>, the text goes in the item
            if self.paragraph.text:  # a second paragraph of the item: under it, no number
                self.paragraph = self._continued()
        elif tag == "p" and self.items:
            self.paragraph = self._continued()
        elif tag == "li" and self.lists:
            style = "List Number" if self.lists[-1] == "ol" else "List Bullet"
            depth = min(len(self.lists), 3)
            style = style if depth == 1 else f"{style} {depth}"
            self.paragraph = self.document.add_paragraph(style=style)
            if self.lists[-1] == "ol":
                if self.numbering[-1] is None:
                    self.numbering[-1] = _restarted_numbering(self.document, style, self.starts[-1])
                num_pr = self.paragraph._p.get_or_add_pPr().get_or_add_numPr()
                num_pr.get_or_add_ilvl().val = 0
                num_pr.get_or_add_numId().val = self.numbering[-1]
        elif self.quote:
            self.paragraph = self.document.add_paragraph(style="Quote")
        else:
            self.paragraph = self.document.add_paragraph()

    def _continued(self) -> Any:
        depth = min(len(self.lists), 3)
        return self.document.add_paragraph(
            style="List Continue" if depth <= 1 else f"List Continue {depth}"
        )

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("ul", "ol"):
            self.lists.append(tag)
            self.numbering.append(None)
            start = dict(attrs).get("start") or "1"
            self.starts.append(int(start) if start.isdigit() else 1)
            self.paragraph = None
        elif tag == "blockquote":
            self.quote += 1
        elif tag in _BLOCKS:
            self._start_paragraph(tag)
            if tag == "li" and self.lists:
                self.items.append(self.paragraph)
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
            self.hyperlink = None
        elif tag == "br" and self.paragraph is not None:
            self.paragraph.add_run().add_break()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self.numbering.pop()
            self.starts.pop()
            self.paragraph = None
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        elif tag == "li" and self.items:
            self.items.pop()
            self.paragraph = None
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
            linked = self.link and _LINKED.match(self.link)
            if self.link and not linked and self.paragraph is not None:
                self.paragraph.add_run(_text(f" ({self.link})"))
            self.link = None
            self.hyperlink = None

    def handle_data(self, data: str) -> None:
        if not data.strip() and (self.paragraph is None or not self.paragraph.text):
            return  # the line breaks between tags, before any text
        if self.paragraph is None:
            self._start_paragraph("p")
        text = _text(data if self.code else re.sub(r"\s+", " ", data))
        run = self.paragraph.add_run(text)
        run.bold = bool(self.bold) or None
        run.italic = bool(self.italic) or None
        run.font.strike = bool(self.struck) or None
        if self.code:
            run.font.name = "Courier New"
        if self.link and _LINKED.match(self.link):
            self._into_hyperlink(run)

    def _into_hyperlink(self, run: Any) -> None:
        """Move ``run`` into the current link's w:hyperlink (made at its first run)."""
        from docx.opc.constants import RELATIONSHIP_TYPE
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        run.style = _hyperlink_style(self.document)
        if self.hyperlink is None or self.hyperlink.getparent() is not self.paragraph._p:
            assert self.link is not None
            part = self.paragraph.part
            r_id = part.relate_to(_text(self.link), RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
            self.hyperlink = OxmlElement("w:hyperlink")
            self.hyperlink.set(qn("r:id"), r_id)
            self.paragraph._p.append(self.hyperlink)
        self.hyperlink.append(run._r)


def _add_groups(document: Any, groups: tuple[Group, ...]) -> None:
    for group in groups:
        if group.heading:
            document.add_heading(_text(group.heading), level=3)
        for entry in group.entries:
            paragraph = document.add_paragraph()
            if entry.number is not None:
                paragraph.add_run(f"{entry.number}.\u2002")
            paragraph.add_run(_text(entry.name))
            if entry.details:  # without the PDF's isolates (render.isolated_if_rtl)
                details = entry.details.replace(ISOLATE, "").replace(POP_ISOLATE, "")
                paragraph.add_run(_text(f", {details}"))
            if entry.description:
                paragraph.add_run().add_break()
                paragraph.add_run(_text(entry.description)).italic = True
        if group.summary:
            document.add_paragraph().add_run(_text(group.summary)).italic = True


def _add_heading(document: Any, doc: PdfContent) -> None:
    document.add_heading(_text(doc.title), level=1)
    if doc.addressees:
        document.add_paragraph().add_run(_text("; ".join(doc.addressees))).italic = True


#: The letterhead logo's box, as in the PDF (static/css/pdf/letter.css, img.letterhead-logo).
LOGO_MAX_MM = (80.0, 22.0)


def _add_letterhead_logo(document: Any, png: bytes) -> None:
    """The logo scaled to fit :data:`LOGO_MAX_MM` (a wide logo at a fixed height ran off
    the page), keeping its proportions."""
    from docx.shared import Mm
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    max_width, max_height = LOGO_MAX_MM
    if width * max_height >= height * max_width:  # wider than the box: its width decides
        document.add_picture(io.BytesIO(png), width=Mm(max_width))
    else:
        document.add_picture(io.BytesIO(png), height=Mm(max_height))


def word_document(doc: PdfContent, *, letterhead_logo: bytes | None = None) -> bytes:
    """``doc`` as a .docx file (``letterhead_logo``: the PNG of ``doc.letterhead_logo``)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

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
            _add_letterhead_logo(document, letterhead_logo)
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
