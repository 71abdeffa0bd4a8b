"""The Markdown editor (templates/_macros/editor.html + static/js/editor.js) in Chromium,
on a test-only page (tests/e2e/testapp.py) that puts it in an ordinary POST form."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Dialog, Page, expect

from tests.e2e.conftest import PHONE, BrowserProblems, LiveServer, NewPage
from tests.e2e.helpers import (
    axe_violations,
    create_user,
    editor,
    editor_button,
    editor_paste,
    editor_select,
    editor_select_text,
    editor_selection,
    editor_set_text,
    editor_text,
    login_directly,
    preview,
)
from tests.e2e.testapp import EDITOR_URL

pytestmark = pytest.mark.real_commits

MOD = "Control"  # Chromium on Linux; the editor uses Cmd on a Mac

GOOGLE_DOCS_HTML = (
    '<meta charset="utf-8"><b style="font-weight:normal;" '
    'id="docs-internal-guid-4f1c2a3b-7fff-9a8b-1c2d-3e4f5a6b7c8d">'
    '<h1 dir="ltr" style="line-height:1.38;margin-top:20pt;margin-bottom:6pt;">'
    '<span style="font-size:20pt;font-family:Arial,sans-serif;color:#000000;'
    "background-color:transparent;font-weight:400;font-style:normal;font-variant:normal;"
    'text-decoration:none;vertical-align:baseline;white-space:pre;white-space:pre-wrap;">'
    "Our demands</span></h1>"
    '<p dir="ltr" style="line-height:1.38;margin-top:0pt;margin-bottom:0pt;">'
    '<span style="font-size:11pt;font-family:Arial,sans-serif;color:#000000;'
    'font-weight:400;font-style:normal;white-space:pre-wrap;">We, the undersigned, call for '
    '</span><span style="font-size:11pt;font-family:Arial,sans-serif;color:#000000;'
    'font-weight:700;font-style:normal;white-space:pre-wrap;">immediate action</span>'
    '<span style="font-size:11pt;font-weight:400;font-style:normal;">, </span>'
    '<span style="font-size:11pt;font-weight:400;font-style:italic;">without delay</span>'
    '<span style="font-size:11pt;font-weight:400;">. Read </span>'
    '<a href="https://www.google.com/url?q=https://example.org/report&amp;sa=D&amp;ust=1" '
    'style="text-decoration:none;"><span style="font-size:11pt;color:#1155cc;'
    'font-weight:400;text-decoration:underline;">our report</span></a>'
    '<span style="font-size:11pt;font-weight:400;">.</span></p><br>'
    '<ul style="margin-top:0;margin-bottom:0;padding-inline-start:48px;">'
    '<li dir="ltr" style="list-style-type:disc;font-size:11pt;" aria-level="1">'
    '<p dir="ltr" style="line-height:1.38;margin-top:0pt;margin-bottom:0pt;" '
    'role="presentation"><span style="font-size:11pt;font-weight:400;">First point</span>'
    "</p></li>"
    '<li dir="ltr" style="list-style-type:disc;" aria-level="1"><p dir="ltr" '
    'role="presentation"><span style="font-weight:400;">Second point</span></p></li>'
    '<ul><li dir="ltr" style="list-style-type:circle;" aria-level="2"><p dir="ltr" '
    'role="presentation"><span style="font-weight:400;">A detail</span></p></li></ul>'
    "</ul><br>"
    '<ol style="margin-top:0;margin-bottom:0;"><li dir="ltr" '
    'style="list-style-type:decimal;" aria-level="1"><p dir="ltr" role="presentation">'
    '<span style="font-weight:400;">Step one</span></p></li>'
    '<li dir="ltr" style="list-style-type:decimal;" aria-level="1"><p dir="ltr" '
    'role="presentation"><span style="font-weight:400;">Step two</span></p></li></ol>'
    '</b><br class="Apple-interchange-newline">'
)
GOOGLE_DOCS_MARKDOWN = """## Our demands

We, the undersigned, call for **immediate action**, *without delay*. Read [our report](https://example.org/report).

- First point
- Second point
  - A detail

1. Step one
2. Step two"""

WORD_HTML = """<html xmlns:o="urn:schemas-microsoft-com:office:office"
xmlns:w="urn:schemas-microsoft-com:office:word" xmlns="http://www.w3.org/TR/REC-html40">
<head><meta http-equiv=Content-Type content="text/html; charset=utf-8">
<meta name=ProgId content=Word.Document><meta name=Generator content="Microsoft Word 15">
<style><!-- p.MsoNormal {margin:0cm; font-size:11.0pt;}
p.MsoListParagraph {margin-left:36.0pt;} --></style></head>
<body lang=EN-GB style='tab-interval:36.0pt;word-wrap:break-word'>
<!--StartFragment-->
<h2>Background<o:p></o:p></h2>
<p class=MsoNormal>The coalition <b>strongly</b> urges <i>all</i>
states to act.<o:p></o:p></p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoListParagraphCxSpFirst style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'><![if !supportLists]><span
style='font-family:Symbol;mso-fareast-font-family:Symbol;mso-bidi-font-family:Symbol'><span
style='mso-list:Ignore'>\u00b7<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;
</span></span></span><![endif]>Protect civilians<o:p></o:p></p>
<p class=MsoListParagraphCxSpMiddle style='margin-left:72.0pt;mso-add-space:auto;
text-indent:-18.0pt;mso-list:l0 level2 lfo1'><![if !supportLists]><span
style='font-family:"Courier New";mso-fareast-font-family:"Courier New"'><span
style='mso-list:Ignore'>o<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;
</span></span></span><![endif]>including <i>aid workers</i><o:p></o:p></p>
<p class=MsoListParagraphCxSpLast style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'><![if !supportLists]><span
style='font-family:Symbol'><span style='mso-list:Ignore'>\u00b7<span
style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;
</span></span></span><![endif]>Respect the law<o:p></o:p></p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoListParagraphCxSpFirst style='text-indent:-18.0pt;mso-list:l1 level1 lfo2'><![if !supportLists]><span
style='mso-list:Ignore'>1.<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;
</span></span><![endif]>Ratify the treaty<o:p></o:p></p>
<p class=MsoListParagraphCxSpLast style='text-indent:-18.0pt;mso-list:l1 level1 lfo2'><![if !supportLists]><span
style='mso-list:Ignore'>2.<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;
</span></span><![endif]>Report <b style='mso-bidi-font-weight:normal'>every year</b><o:p></o:p></p>
<p class=MsoNormal>See <a href="https://example.org/treaty">the treaty text</a>
and<span style='mso-spacerun:yes'>&nbsp; </span>its annex.<o:p></o:p></p>
<!--EndFragment-->
</body></html>"""  # noqa: E501
WORD_MARKDOWN = """## Background

The coalition **strongly** urges *all* states to act.

- Protect civilians
  - including *aid workers*
- Respect the law

1. Ratify the treaty
2. Report **every year**

See [the treaty text](https://example.org/treaty) and its annex."""

WEB_PAGE_HTML = (
    '<meta charset="utf-8"><h3>News</h3><p>Read <a href="/relative">this</a> and '
    '<a href="https://example.net/x">that</a>, then see 1 <em>snake_case</em> fact.'
    '</p><img src="https://example.net/a.png" alt="chart"><script>alert(1)</script>'
    "<table><tr><td>Country</td><td>Signed</td></tr><tr><td>A | B</td><td>yes</td></tr>"
    "</table>"
)
WEB_PAGE_MARKDOWN = """## News

Read this and [that](https://example.net/x), then see 1 *snake_case* fact.

| Country | Signed |
| --- | --- |
| A \\| B | yes |"""


@pytest.fixture
def editor_page(page: Page, app: Flask) -> Page:
    """The test page with the editor, for a logged-in user (the preview needs a login)."""
    user = create_user(app)
    login_directly(page, user, EDITOR_URL)
    editor(page)
    return page


def test_without_javascript_it_is_a_plain_form(new_page: NewPage) -> None:
    page = new_page(java_script_enabled=False)
    page.goto(EDITOR_URL)
    textarea = page.get_by_label("Text of the letter")
    expect(textarea).to_be_visible()
    expect(textarea).to_have_attribute("name", "body")
    expect(textarea).to_have_attribute("id", "body")
    expect(page.get_by_role("toolbar")).to_be_hidden()
    expect(page.get_by_text("The preview appears here as you type.")).to_be_hidden()
    textarea.fill("Plain **text**, sent as it is.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#saved-text")).to_have_text("Plain **text**, sent as it is.")


def test_errors_are_shown_and_described(editor_page: Page) -> None:
    page = editor_page
    page.get_by_role("button", name="Save").click()
    textarea = editor(page)
    expect(page.locator("#body-error")).to_have_text("Write something first.")
    expect(page.locator("#body-error")).to_have_class("errors")
    expect(textarea).to_have_attribute("aria-invalid", "true")
    expect(textarea).to_have_attribute("aria-describedby", "body-hint body-error")
    expect(textarea).to_have_accessible_description(re.compile("Write something first"))
    # The text came back unsaved: leaving asks even before anything is typed.
    expect(textarea).to_have_attribute("data-editor-unsaved", "")


def test_toolbar_buttons_are_labelled_and_keyboard_friendly(editor_page: Page) -> None:
    page = editor_page
    toolbar = page.get_by_role("toolbar", name="Formatting")
    expect(toolbar).to_be_visible()
    names = ["Heading", "Bold", "Italic", "Bulleted list", "Numbered list", "Link", "Quote"]
    for name in names:
        button = editor_button(page, name)
        expect(button).to_have_attribute("type", "button")
        expect(button).to_have_attribute("title", re.compile(name.split()[0], re.I))
    expect(editor_button(page, "Bold")).to_have_attribute("title", "Bold (Ctrl+B)")
    expect(editor_button(page, "Italic")).to_have_attribute("title", "Italic (Ctrl+I)")
    expect(editor_button(page, "Link")).to_have_attribute("title", "Link (Ctrl+K)")
    expect(editor_button(page, "Bold")).to_have_attribute("aria-keyshortcuts", "Control+B")
    # One tab stop for the whole toolbar; arrow keys move along it.
    editor_button(page, "Heading").focus()
    page.keyboard.press("ArrowRight")
    expect(editor_button(page, "Bold")).to_be_focused()
    page.keyboard.press("End")
    expect(editor_button(page, "Quote")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(editor_button(page, "Heading")).to_be_focused()
    page.keyboard.press("Tab")
    expect(editor(page)).to_be_focused()


def test_toolbar_buttons_say_what_they_show(editor_page: Page) -> None:
    """axe-core: each button's name contains its visible text (WCAG 2.5.3, "1. List")."""
    toolbar = '[role="toolbar"]'
    assert axe_violations(editor_page, toolbar, ["label-content-name-mismatch"]) == []
    assert axe_violations(editor_page, toolbar) == []
    numbers = editor_button(editor_page, "Numbered list")
    expect(numbers).to_have_text("List")
    icon = numbers.evaluate("b => getComputedStyle(b, '::before').content")
    assert icon.startswith('"1. "'), icon  # still drawn, for sighted readers


def test_bold_and_italic_toggle_on_the_selection(editor_page: Page) -> None:
    page = editor_page
    editor_set_text(page, "We call on all states.")
    editor_select_text(page, "all states")
    editor_button(page, "Bold").click()
    assert editor_text(page) == "We call on **all states**."
    assert editor_selection(page) == (13, 23)  # still "all states"
    editor_button(page, "Italic").click()
    assert editor_text(page) == "We call on ***all states***."
    editor_button(page, "Bold").click()
    assert editor_text(page) == "We call on *all states*."
    editor_button(page, "Italic").click()
    assert editor_text(page) == "We call on all states."
    # With no selection, the word under the caret.
    editor_select(page, 4, 4)
    editor_button(page, "Bold").click()
    assert editor_text(page) == "We **call** on all states."


def test_keyboard_shortcuts_and_undo(editor_page: Page) -> None:
    page = editor_page
    editor_set_text(page, "Act now")
    editor_select_text(page, "now")
    page.keyboard.press(f"{MOD}+b")
    assert editor_text(page) == "Act **now**"
    page.keyboard.press(f"{MOD}+i")
    assert editor_text(page) == "Act ***now***"
    # The edits are in the browser's own undo history.
    page.keyboard.press(f"{MOD}+z")
    assert editor_text(page) == "Act **now**"
    page.keyboard.press(f"{MOD}+z")
    assert editor_text(page) == "Act now"
    page.keyboard.press(f"{MOD}+Shift+z")
    assert editor_text(page) == "Act **now**"


def test_lists_and_quotes_apply_to_each_selected_line(editor_page: Page) -> None:
    page = editor_page
    editor_set_text(page, "Intro\nfirst\nsecond\n\nthird\nOutro")
    editor_select_text(page, "first\nsecond\n\nthird")
    editor_button(page, "Bulleted list").click()
    assert editor_text(page) == "Intro\n- first\n- second\n\n- third\nOutro"
    editor_button(page, "Numbered list").click()
    assert editor_text(page) == "Intro\n1. first\n2. second\n\n3. third\nOutro"
    editor_button(page, "Numbered list").click()
    assert editor_text(page) == "Intro\nfirst\nsecond\n\nthird\nOutro"
    editor_button(page, "Quote").click()
    assert editor_text(page) == "Intro\n> first\n> second\n>\n> third\nOutro"
    editor_button(page, "Quote").click()
    assert editor_text(page) == "Intro\nfirst\nsecond\n\nthird\nOutro"
    # Bold over several lines: each line on its own, after the list marker.
    editor_set_text(page, "- one\n- two")
    editor_select(page, 0, len("- one\n- two"))
    editor_button(page, "Bold").click()
    assert editor_text(page) == "- **one**\n- **two**"


def test_enter_continues_a_list_and_ends_it_on_an_empty_item(editor_page: Page) -> None:
    page = editor_page
    textarea = editor(page)
    textarea.click()
    page.keyboard.press(f"{MOD}+Shift+8")  # bulleted list, as in Google Docs
    page.keyboard.type("apples")
    page.keyboard.press("Enter")
    page.keyboard.type("pears")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.type("Done.")
    assert editor_text(page) == "- apples\n- pears\nDone."
    editor_set_text(page, "1. one")
    editor_select(page, 6, 6)
    page.keyboard.press("Enter")
    page.keyboard.type("two")
    assert editor_text(page) == "1. one\n2. two"


def test_heading_cycles_between_two_levels_and_text(editor_page: Page) -> None:
    page = editor_page
    editor_set_text(page, "Our demands\nText")
    editor_select(page, 3, 3)
    heading = editor_button(page, "Heading")
    heading.click()
    assert editor_text(page) == "## Our demands\nText"
    assert editor_selection(page) == (6, 6)  # the caret stays on the same letter
    heading.click()
    assert editor_text(page) == "### Our demands\nText"
    heading.click()
    assert editor_text(page) == "Our demands\nText"


def test_link_asks_for_the_address_and_wraps_the_selection(editor_page: Page) -> None:
    page = editor_page
    answers = ["example.org/report", "campaigns@example.org", ""]
    prompts: list[str] = []

    def answer(dialog: Dialog) -> None:
        prompts.append(dialog.message)
        reply = answers.pop(0)
        if reply:
            dialog.accept(reply)
        else:
            dialog.dismiss()

    page.on("dialog", answer)
    editor_set_text(page, "Read our report today.")
    editor_select_text(page, "our report")
    editor_button(page, "Link").click()
    assert editor_text(page) == "Read [our report](https://example.org/report) today."
    assert prompts and "Link address" in prompts[0]
    editor_set_text(page, "Write to us")
    editor_select_text(page, "us")
    page.keyboard.press(f"{MOD}+k")
    assert editor_text(page) == "Write to [us](mailto:campaigns@example.org)"
    editor_select_text(page, "Write")
    page.keyboard.press(f"{MOD}+k")  # cancelled: nothing changes
    assert editor_text(page) == "Write to [us](mailto:campaigns@example.org)"


def test_live_preview_shows_the_server_rendering(editor_page: Page) -> None:
    page = editor_page
    region = preview(page)
    expect(region).to_be_visible()
    expect(region).to_have_attribute("aria-live", "polite")
    expect(region).to_contain_text("The preview appears here as you type.")
    with page.expect_response("**/preview") as response_info:
        editor_set_text(page, "Hello **world** <script>x</script>")
    response = response_info.value
    assert response.ok  # the CSRF token went along: the live server checks it
    assert response.request.header_value("x-csrftoken")
    expect(region.locator("strong")).to_have_text("world")
    expect(region.locator("script")).to_have_count(0)
    expect(region).to_contain_text("<script>x</script>")  # shown as text, not run
    # A burst of typing (11 keys) makes one request after a pause (two on a stalling machine).
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.url.endswith("/preview") else None)
    editor(page).press_sequentially(" and *more*", delay=20)
    expect(region.locator("em")).to_have_text("more")
    assert 1 <= len(requests) <= 2, requests


def test_preview_problems_are_quiet_and_keep_the_text(
    editor_page: Page, browser_problems: BrowserProblems
) -> None:
    page = editor_page
    browser_problems.allow(r"/preview.*status of 500")
    page.route("**/preview", lambda route: route.fulfill(status=500, body="oops"))
    editor_set_text(page, "Some *text*")
    expect(page.get_by_role("status").filter(has_text="Preview unavailable")).to_be_visible()
    assert editor_text(page) == "Some *text*"
    page.unroute("**/preview")
    editor(page).press_sequentially(" again")
    expect(preview(page).locator("em")).to_have_text("text")
    expect(page.get_by_text("Preview unavailable")).to_be_hidden()


def test_counter_counts_words_and_characters(editor_page: Page) -> None:
    page = editor_page
    counter = page.locator("#body-count")
    expect(counter).to_have_text("0 words · 0 characters")
    editor_set_text(page, "- Read [our report](https://example.org/r), **now**.")
    expect(counter).to_have_text("4 words · 52 characters")


def test_paste_from_google_docs(editor_page: Page) -> None:
    page = editor_page
    assert editor_paste(page, GOOGLE_DOCS_HTML, "plain text version")
    assert editor_text(page) == GOOGLE_DOCS_MARKDOWN
    expect(preview(page).locator("h2")).to_have_text("Our demands")
    expect(preview(page).locator("ul ul li")).to_have_text("A detail")


def test_paste_from_word(editor_page: Page) -> None:
    page = editor_page
    assert editor_paste(page, WORD_HTML, "plain text version")
    assert editor_text(page) == WORD_MARKDOWN
    expect(preview(page).locator("ol li").last).to_have_text("Report every year")


def test_paste_from_a_web_page_and_into_a_line(editor_page: Page) -> None:
    page = editor_page
    assert editor_paste(page, WEB_PAGE_HTML)
    assert editor_text(page) == WEB_PAGE_MARKDOWN
    # Blocks pasted into the middle of a line get lines of their own; inline text does not.
    editor_set_text(page, "Before after")
    editor_select(page, 7, 7)
    assert editor_paste(page, "<ul><li>one</li><li>two</li></ul>")
    assert editor_text(page) == "Before\n\n- one\n- two\n\nafter"
    editor_set_text(page, "A  word")
    editor_select(page, 2, 2)
    assert editor_paste(page, "<b>bold</b>")
    assert editor_text(page) == "A **bold** word"


def test_plain_text_paste_is_left_to_the_browser(editor_page: Page) -> None:
    page = editor_page
    assert not editor_paste(page, "", "just text")
    # HTML without any formatting (a code editor, a terminal) is plain text too.
    assert not editor_paste(page, "<div><span style='color:red'>x = 1</span></div>", "x = 1")


def test_leaving_with_unsaved_changes_asks_first(
    editor_page: Page, live_server: LiveServer
) -> None:
    page = editor_page
    dialogs: list[str] = []

    def stay_or_go(dialog: Dialog) -> None:
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", stay_or_go)
    editor(page).press_sequentially("Unsaved words")
    page.goto(live_server("/"))
    assert dialogs == ["beforeunload"]


def test_saving_does_not_ask(editor_page: Page) -> None:
    page = editor_page
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", record)
    editor(page).press_sequentially("Words to **keep**")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#saved-text")).to_have_text("Words to **keep**")
    assert dialogs == []
    # The saved text is the page's text now: leaving does not ask either.
    page.goto("/")
    assert dialogs == []


def test_layout_desktop_side_by_side_phone_below(new_page: NewPage, app: Flask) -> None:
    user = create_user(app)
    for viewport, side_by_side in ((None, True), (PHONE, False)):
        page = new_page(viewport) if viewport else new_page()
        login_directly(page, user, EDITOR_URL)
        textarea_box = editor(page).bounding_box()
        preview_box = preview(page).bounding_box()
        assert textarea_box and preview_box
        if side_by_side:
            assert preview_box["x"] >= textarea_box["x"] + textarea_box["width"]
        else:
            assert preview_box["y"] >= textarea_box["y"] + textarea_box["height"]
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"]
