"""Journey 1, in a real browser, at 1280 and at 390 px: a drafter starts a letter with the
editor (pasting from Word), edits the demo letter, and reads Compare, History and Who
wrote what rendered (formatted text, changes marked inside it).

And two people editing at once: the editor warns that someone else saved; both edits
survive (merged); overlapping edits go to the conflict page, resolved passage by passage.
Every page is checked with axe-core (tests/e2e/conftest.py).
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, ViewportSize, expect

from signon.core import transaction
from signon.demo import COORDINATOR_EMAIL, DEMO_PASSWORD, DEMO_SLUG, DRAFTER_EMAIL, seed_demo
from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, NewPage
from tests.e2e.helpers import (
    assert_fits_the_width,
    editor,
    editor_paste,
    editor_set_text,
    editor_text,
    login_via_form,
    paste_fixture,
    preview,
)

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]

OLD = "We welcome the focus on asset recovery."
NEW = "We warmly welcome the renewed focus on asset recovery."
VIEWPORTS = [pytest.param(DESKTOP, id="1280px"), pytest.param(PHONE, id="390px")]


def _load_demo(app: Flask) -> None:
    with app.app_context():
        seed_demo()
        transaction.commit()


def _open_editor(page: Page) -> None:
    """The editor, on one's own: the classic save with a change note, merge and conflict
    page (editing together live is tests/e2e/test_live_editing.py)."""
    page.get_by_role("link", name="Edit text").click()
    expect(page.get_by_role("heading", name="Edit the text")).to_be_visible()
    page.get_by_role("link", name="edit on your own").click()
    expect(page).to_have_url(re.compile(r"/edit\?live=off$"))
    expect(editor(page)).to_be_visible()


def _fits(page: Page, viewport: ViewportSize) -> None:
    assert_fits_the_width(page, viewport["width"])


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_drafter_starts_a_letter_edits_the_demo_letter_and_reads_the_changes(
    app: Flask, live_server: LiveServer, new_page: NewPage, viewport: ViewportSize
) -> None:
    _load_demo(app)
    page = new_page(viewport)
    login_via_form(page, live_server.url, DRAFTER_EMAIL, DEMO_PASSWORD)

    # A new letter, with the same editor as the edit page: Word's formatting survives a paste.
    page.goto("/letters/")
    page.get_by_role("link", name="New letter").first.click()
    html, markdown = paste_fixture("word")
    assert editor_paste(page, html, "plain text", selector="#body")
    expect(preview(page).locator("h3")).to_have_text("Our demands")
    assert editor_text(page, "#body").rstrip("\n") == markdown
    page.get_by_label(re.compile(r"^\s*Title")).fill("Civic space now")
    page.get_by_role("button", name="Create the letter").click()
    expect(page.get_by_text("“Civic space now” is created.")).to_be_visible()
    article = page.locator("article.letter-text")
    expect(article.locator("h3")).to_have_text("Our demands")
    expect(article).not_to_contain_text("·")
    nav = page.get_by_role("navigation", name="Letter")
    expect(nav.locator("li.nav-group > a")).to_have_text(
        ["Text", "Signatures", "Publish", "Settings"]
    )
    _fits(page, viewport)

    # One more demand: Compare shows the headings as headings and the lists as lists,
    # with the change marked inside them (not Markdown source).
    page.goto(page.url + "edit?live=off")
    added = "- Repeal restrictive **NGO laws**\n- Free the detained defenders"
    editor_set_text(page, editor_text(page).replace("- Repeal restrictive **NGO laws**", added))
    page.get_by_role("button", name="Save revision").click()
    expect(page.get_by_text("Saved as revision 2.")).to_be_visible()
    page.get_by_role("link", name="Compare").click()
    diff = page.locator(".diff")
    expect(diff.locator("h2")).to_have_text("Joint statement on civic space")
    expect(diff.locator("h3")).to_have_text("Our demands")
    expect(
        diff.locator("ul li", has_text="Free the detained defenders").locator("ins")
    ).to_have_text("Free the detained defenders")
    expect(diff.locator("ol > li").first).to_contain_text("Adopt the resolution")
    expect(diff).not_to_contain_text("##")
    _fits(page, viewport)

    page.goto("/letters/")
    page.get_by_role("link", name="Joint NGO statement on cooperation").click()
    expect(page).to_have_url(re.compile(rf"/letters/{DEMO_SLUG}/$"))
    # A drafter there: only the groups their role can use (no Publish: no export).
    nav = page.get_by_role("navigation", name="Letter")
    expect(nav.locator("li.nav-group > a")).to_have_text(["Text", "Signatures", "Settings"])
    _open_editor(page)

    text = editor_text(page)
    assert OLD in text
    editor_set_text(page, text.replace(OLD, NEW.replace("renewed", "**renewed**")))
    expect(page.get_by_label("Preview")).to_contain_text("warmly welcome the renewed focus")
    page.get_by_label(re.compile("^Change note")).fill("Stronger opening on asset recovery")
    page.get_by_role("button", name="Save revision").click()

    expect(page.get_by_text("Saved as revision 4.")).to_be_visible()
    expect(page.locator("article.letter-text")).to_contain_text(NEW)
    _fits(page, viewport)

    page.get_by_role("link", name="Compare").click()
    expect(
        page.get_by_role("heading", name="Changes from revision 3 to revision 4")
    ).to_be_visible()
    inserted = page.locator(".diff ins").all_inner_texts()
    assert any("warmly" in s for s in inserted), inserted
    assert any("renewed" in s for s in inserted), inserted
    # the formatted text, the change marked inside it: bold as bold, no Markdown source
    expect(page.locator(".diff ins strong", has_text="renewed")).to_be_visible()
    expect(page.locator(".diff")).not_to_contain_text("**")
    expect(page.get_by_text("Stronger opening on asset recovery")).to_be_visible()

    page.get_by_role("link", name="History").first.click()
    expect(page.get_by_role("cell", name="Demo Drafter").first).to_be_visible()
    page.get_by_role("link", name="Who wrote what").click()
    row = page.locator("tr", has_text="warmly welcome")
    expect(row).to_contain_text("Revision 4")
    expect(row.locator("strong", has_text="renewed")).to_be_visible()
    expect(row).to_contain_text("Demo Drafter")
    _fits(page, viewport)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_two_people_editing_at_once_never_lose_each_others_work(
    app: Flask, live_server: LiveServer, new_page: NewPage, viewport: ViewportSize
) -> None:
    _load_demo(app)
    coordinator, drafter = new_page(), new_page(viewport=viewport)
    login_via_form(coordinator, live_server.url, COORDINATOR_EMAIL, DEMO_PASSWORD)
    login_via_form(drafter, live_server.url, DRAFTER_EMAIL, DEMO_PASSWORD)
    for person in (coordinator, drafter):
        person.goto(f"/letters/{DEMO_SLUG}/")
        _open_editor(person)

    # Both edit revision 3 at the same time, in different paragraphs: both changes survive.
    text = editor_text(coordinator)
    editor_set_text(coordinator, text.replace("Outside of this Assembly", "Outside this Assembly"))
    editor_set_text(drafter, text.replace(OLD, NEW))
    coordinator.get_by_role("button", name="Save revision").click()
    expect(coordinator.get_by_text("Saved as revision 4.")).to_be_visible()
    # while the drafter edits, the editor says someone else saved (checked on focus)
    drafter.evaluate("window.dispatchEvent(new Event('focus'))")
    expect(drafter.get_by_role("status").filter(has_text="saved a newer version")).to_contain_text(
        "Demo Coordinator saved a newer version (revision 4) while you were editing revision 3."
    )
    drafter.get_by_role("button", name="Save revision").click()
    expect(
        drafter.get_by_text(re.compile("Meanwhile Demo Coordinator saved changes too"))
    ).to_be_visible()
    article = drafter.locator("article.letter-text")
    expect(article).to_contain_text("Outside this Assembly")
    expect(article).to_contain_text(NEW)

    # Now both rewrite the same sentence: the second one's text is kept on a conflict page.
    for person in (coordinator, drafter):
        person.goto(f"/letters/{DEMO_SLUG}/edit?live=off")  # each on their own
    text = editor_text(coordinator)
    editor_set_text(coordinator, text.replace(NEW, "We applaud the focus on asset recovery."))
    mine = text.replace(NEW, "We strongly support work on asset recovery.")
    editor_set_text(drafter, mine)
    coordinator.get_by_role("button", name="Save revision").click()
    expect(coordinator.get_by_text("Saved as revision 6.")).to_be_visible()
    drafter.get_by_role("button", name="Save revision").click()
    expect(
        drafter.get_by_role("heading", name="Your changes overlap with someone else's")
    ).to_be_visible()
    # The conflict within its paragraph, both versions shown; the drafter writes it anew.
    passage = drafter.get_by_role("group", name="Passage 1 of 1")
    ours = passage.locator(".conflict-option-ours .conflict-version")
    expect(ours.locator("ins")).to_contain_text("strongly support work")
    expect(ours.locator("del")).to_contain_text("warmly welcome the renewed focus")
    theirs = passage.locator(".conflict-option-theirs .conflict-version")
    expect(theirs.locator("ins")).to_contain_text("applaud")
    _fits(drafter, viewport)
    passage.get_by_label("Your wording of this passage").fill("applaud and strongly support work")
    drafter.get_by_role("button", name="Save the combined text").click()
    expect(drafter.get_by_text("Saved as revision 7.")).to_be_visible()
    expect(drafter.locator("article.letter-text")).to_contain_text(
        "We applaud and strongly support work on asset recovery."
    )
    expect(drafter.get_by_text("unsaved draft")).to_have_count(0)
