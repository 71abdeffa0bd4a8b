"""Pasting from Word, Google Docs and LibreOffice into the editor, in Chromium.

The clipboard HTML each of them produces is kept under ``tests/e2e/paste/`` (``*.html``,
with the Markdown the editor must make of it in ``*.md``): Word's MsoListParagraph
paragraphs with mso-list styles, typed bullets and conditional comments; Google Docs'
``<b id="docs-internal-guid-…">`` wrapper with inline font-weight/font-style styles and
sub-lists as siblings; LibreOffice's ``<li><p>`` lists without end tags and ``<font>``.
Each is pasted on the page where a letter starts (/letters/new) and on its edit page:
one editor everywhere.
"""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, LiveServer, NewPage
from tests.e2e.helpers import (
    axe_violations,
    create_user,
    editor,
    editor_button,
    editor_paste,
    editor_select,
    editor_set_text,
    editor_text,
    login_directly,
    paste_fixture,
    preview,
)

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]

SOURCES = ("word", "google_docs", "libreoffice")
NEW_LETTER = "/letters/new"
BODY = "#body"


@pytest.fixture
def new_letter_page(page: Page, app: Flask) -> Page:
    login_directly(page, create_user(app), NEW_LETTER)
    editor(page, BODY)
    return page


@pytest.mark.parametrize("source", SOURCES)
def test_paste_keeps_the_formatting_and_drops_the_bullets(
    new_letter_page: Page, source: str
) -> None:
    page = new_letter_page
    html, expected = paste_fixture(source)
    assert editor_paste(page, html, "the plain text version", selector=BODY)
    assert editor_text(page, BODY) == expected
    for glyph in ("·", "•", "§", "\uf0b7", "\uf0a7"):
        assert glyph not in editor_text(page, BODY)
    region = preview(page)
    expect(region.locator("h2")).to_have_text("Joint statement on civic space")
    expect(region.locator("ul ul ul li")).to_have_text("online and offline")
    expect(region.locator("ol ol li")).to_have_text("by consensus")
    expect(region.locator("a")).to_have_attribute("href", "https://example.org/report-2026")


def test_a_paste_one_enter_after_a_paragraph_starts_its_own(new_letter_page: Page) -> None:
    page = new_letter_page
    editor_set_text(page, "We call on all states.\n", selector=BODY)
    editor_select(page, 23, 23, selector=BODY)
    assert editor_paste(page, "<p>They must <b>act now</b>.</p>", selector=BODY)
    assert editor_text(page, BODY) == "We call on all states.\n\nThey must **act now**."
    # A list after one Enter too, and a paragraph before the next one.
    editor_set_text(page, "Intro\n\nOutro", selector=BODY)
    editor_select(page, 5, 5, selector=BODY)
    page.keyboard.press("Enter")
    assert editor_paste(page, "<ul><li>one</li><li>two</li></ul>", selector=BODY)
    assert editor_text(page, BODY) == "Intro\n\n- one\n- two\n\nOutro"
    # Plain text too (the browser's own paste would glue it to the paragraph).
    editor_set_text(page, "We call on all states.\n", selector=BODY)
    editor_select(page, 23, 23, selector=BODY)
    assert editor_paste(page, "", "They must act now.", selector=BODY)
    assert editor_text(page, BODY) == "We call on all states.\n\nThey must act now."
    # Inside a list, a pasted item stays in it.
    editor_set_text(page, "- one\n", selector=BODY)
    editor_select(page, 6, 6, selector=BODY)
    assert editor_paste(page, "<ul><li>two</li></ul>", selector=BODY)
    assert editor_text(page, BODY) == "- one\n- two"


def test_new_letter_has_the_same_editor_as_the_edit_page(
    new_page: NewPage, app: Flask, live_server: LiveServer
) -> None:
    user = create_user(app)
    for viewport in (None, PHONE):
        page = new_page(viewport) if viewport else new_page()
        login_directly(page, user, NEW_LETTER)
        for name in ("Heading", "Bold", "Italic", "Bulleted list", "Numbered list", "Link"):
            expect(editor_button(page, name)).to_be_visible()
        assert axe_violations(page) == []
        html, expected = paste_fixture("word")
        assert editor_paste(page, html, selector=BODY)
        expect(preview(page).locator("h3")).to_have_text("Our demands")
        page.get_by_label("Title").fill("Civic space")
        page.get_by_role("button", name="Create the letter").click()
        expect(page.get_by_text("“Civic space” is created.")).to_be_visible()
        page.goto(page.url + "edit")  # the letter's page ends with a slash
        assert editor_text(page, BODY).rstrip("\n") == expected
        expect(page.get_by_role("toolbar", name="Formatting")).to_be_visible()
        expect(preview(page).locator("h3")).to_have_text("Our demands")
        assert axe_violations(page) == []
        if viewport:
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


#: Word list paragraphs whose bullet is not in an mso-list:Ignore span, and bullets typed
#: by hand: the bullet characters go, the items stay items.
TYPED_BULLETS_HTML = (
    "<p class=MsoNormal>Intro.<o:p></o:p></p>"
    "<p class=MsoListParagraphCxSpFirst style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'>"
    "<!--[if !supportLists]--><span style='font-family:Symbol'>\u00b7</span><span "
    "style='font:7.0pt \"Times New Roman\"'>&nbsp;&nbsp;&nbsp; </span><!--[endif]-->"
    "First bullet<o:p></o:p></p>"
    "<p class=MsoListParagraphCxSpLast style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'>"
    "<!--[if !supportLists]--><span style='font-family:Symbol'>\uf0b7</span>"
    "<span>&nbsp;&nbsp; </span><!--[endif]--><b>Second</b> bullet<o:p></o:p></p>"
    "<p class=MsoNormal>\u2022&nbsp;&nbsp;Third, typed</p>"
    "<p class=MsoNormal>\u2022 Fourth</p>"
    "<p class=MsoNormal>o is a letter here, and - a dash.</p>"
)


def test_typed_bullets_become_list_items(new_letter_page: Page) -> None:
    page = new_letter_page
    assert editor_paste(page, TYPED_BULLETS_HTML, selector=BODY)
    assert editor_text(page, BODY) == (
        "Intro.\n\n- First bullet\n- **Second** bullet\n- Third, typed\n- Fourth\n\n"
        "o is a letter here, and - a dash."
    )
