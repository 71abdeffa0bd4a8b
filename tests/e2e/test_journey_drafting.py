"""Journey 1, in a real browser: a drafter logs in, edits the demo letter, sees the diff.

And two people editing at once: both edits survive (merged), or the second
person's text is kept on a conflict page.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from signon.core import transaction
from signon.demo import COORDINATOR_EMAIL, DEMO_PASSWORD, DEMO_SLUG, DRAFTER_EMAIL, seed_demo
from tests.e2e.conftest import PHONE, LiveServer, NewPage
from tests.e2e.helpers import editor, editor_set_text, editor_text, login_via_form

pytestmark = pytest.mark.real_commits

OLD = "We welcome the focus on asset recovery."
NEW = "We warmly welcome the renewed focus on asset recovery."


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


def test_drafter_edits_the_demo_letter_and_sees_the_diff(
    app: Flask, live_server: LiveServer, page: Page
) -> None:
    _load_demo(app)
    login_via_form(page, live_server.url, DRAFTER_EMAIL, DEMO_PASSWORD)
    page.goto("/letters/")
    page.get_by_role("link", name="Joint NGO statement on cooperation").click()
    expect(page).to_have_url(re.compile(rf"/letters/{DEMO_SLUG}/$"))
    _open_editor(page)

    text = editor_text(page)
    assert OLD in text
    editor_set_text(page, text.replace(OLD, NEW.replace("renewed", "**renewed**")))
    expect(page.get_by_label("Preview")).to_contain_text("warmly welcome the renewed focus")
    page.get_by_label(re.compile("^Change note")).fill("Stronger opening on asset recovery")
    page.get_by_role("button", name="Save revision").click()

    expect(page.get_by_text("Saved as revision 4.")).to_be_visible()
    expect(page.locator("article.letter-text")).to_contain_text(NEW)

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


def test_two_people_editing_at_once_never_lose_each_others_work(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    _load_demo(app)
    coordinator, drafter = new_page(), new_page(viewport=PHONE)
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
    drafter.get_by_text("Or edit your whole text yourself").click()
    assert editor_text(drafter).strip() == mine.strip()

    # The drafter combines both and saves: the conflict is resolved, nothing was lost.
    editor_set_text(
        drafter, text.replace(NEW, "We applaud and strongly support work on asset recovery.")
    )
    drafter.get_by_role("button", name="Save revision").click()
    expect(drafter.get_by_text("Saved as revision 7.")).to_be_visible()
    expect(drafter.get_by_text("unsaved draft")).to_have_count(0)
