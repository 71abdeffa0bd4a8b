"""Suggestions (tracked changes) in a real browser (issue 13, item 2): a drafter suggests
from the editor with "Suggest instead", a viewer from the Suggestions page; the coordinator
sees them marked in the text, accepts one (a revision by its author: "who wrote what"
names them) and rejects another. At 1280 and 390 px, with axe-core finding nothing. A new
title is suggested too, and accepted as its suggester's revision.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import ViewportSize, expect

from signon.core import transaction
from signon.core.permissions import TeamRole
from tests.e2e.conftest import LiveServer, NewPage
from tests.e2e.helpers import (
    TestUser,
    axe_violations,
    create_user,
    editor_set_text,
    editor_text,
    login_directly,
)
from tests.factories import add_team_member, make_letter

pytestmark = pytest.mark.real_commits

SIZES: dict[str, ViewportSize] = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}
BASE = "We call on the council to act now.\n\nThe river is dying.\n"


def _letter(app: Flask, coordinator: TestUser, drafter: TestUser, viewer: TestUser) -> str:
    with app.app_context():
        from signon.accounts.models import User
        from signon.extensions import db

        letter = make_letter(db.session.get(User, coordinator.id), body=BASE, title="River")
        add_team_member(letter, role=TeamRole.DRAFTER, user=db.session.get(User, drafter.id))
        add_team_member(letter, role=TeamRole.VIEWER, user=db.session.get(User, viewer.id))
        slug = letter.slug
        transaction.commit()
    return slug


def _team(app: Flask) -> tuple[TestUser, TestUser, TestUser, str]:
    """A coordinator, a drafter and a viewer, and their letter's slug."""
    coordinator = create_user(app, name="Cora Coordinator")
    drafter = create_user(app, name="Dario Drafter")
    viewer = create_user(app, name="Vik Viewer")
    return coordinator, drafter, viewer, _letter(app, coordinator, drafter, viewer)


@pytest.mark.parametrize("size", list(SIZES))
def test_suggest_then_accept_one_and_reject_another(
    app: Flask, live_server: LiveServer, new_page: NewPage, size: str
) -> None:
    coordinator, drafter, viewer, slug = _team(app)
    violations: list[str] = []

    # The drafter edits, then keeps the edit as a suggestion instead of saving it.
    page = new_page(viewport=SIZES[size])
    login_directly(page, drafter, f"/letters/{slug}/edit?live=off")
    editor_set_text(page, BASE.replace("The river", "Our river"))
    violations += [f"edit: {v}" for v in axe_violations(page)]
    page.get_by_role("button", name="Suggest instead").click()
    expect(page).to_have_url(re.compile(rf"/letters/{slug}/suggestions$"))
    expect(page.get_by_role("status").first).to_contain_text("1 suggestion made.")

    # The viewer, who may not edit, suggests on the Suggestions page.
    page = new_page(viewport=SIZES[size])
    login_directly(page, viewer, f"/letters/{slug}/")
    nav = page.get_by_role("navigation", name="Letter")
    nav.get_by_role("link", name="Suggestions", exact=True).click()
    expect(page.get_by_role("heading", name="Suggest changes")).to_be_visible()
    assert editor_text(page) == BASE
    editor_set_text(page, BASE.replace("act now", "act this week"))
    page.get_by_role("button", name="Suggest", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("1 suggestion made.")
    expect(page.get_by_role("button", name="Accept")).to_have_count(0)

    # The coordinator sees both marked in the text and decides.
    page = new_page(viewport=SIZES[size])
    login_directly(page, coordinator, f"/letters/{slug}/suggestions")
    marked = page.locator(".diff-rendered")
    expect(marked.locator("ins")).to_have_text(["this week", "Our"])
    expect(marked.locator("del")).to_have_text(["now", "The"])
    violations += [f"suggestions: {v}" for v in axe_violations(page)]
    by_viewer = page.get_by_role("article").filter(has_text="by Vik Viewer")
    by_drafter = page.get_by_role("article").filter(has_text="by Dario Drafter")
    by_viewer.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Accepted as revision 2, by Vik Viewer."
    )
    by_drafter.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status").first).to_contain_text("Suggestion rejected.")
    expect(page.get_by_text("No suggestion is waiting.")).to_be_visible()
    decided = page.get_by_role("table")
    expect(decided).to_contain_text("Accepted")
    expect(decided).to_contain_text("Rejected")
    violations += [f"decided: {v}" for v in axe_violations(page)]

    # The text is the viewer's revision; who wrote what names them.
    page.goto(f"/letters/{slug}/")
    expect(page.get_by_role("article", name="Text of the letter")).to_contain_text("act this week")
    expect(page.get_by_role("article", name="Text of the letter")).to_contain_text(
        "The river is dying."
    )
    page.goto(f"/letters/{slug}/authorship")
    expect(page.locator("main")).to_contain_text("Vik Viewer")
    assert violations == []


def test_a_suggestion_is_rebased_over_an_edit_elsewhere_and_flagged_after_an_overlapping_one(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    coordinator, drafter, viewer, slug = _team(app)

    # The viewer suggests two changes, one in each paragraph.
    page = new_page()
    login_directly(page, viewer, f"/letters/{slug}/suggestions")
    editor_set_text(page, BASE.replace("act now", "act this week").replace("dying", "dead"))
    page.get_by_role("button", name="Suggest", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("2 suggestions made.")

    # Meanwhile the drafter rewrites the words of the second one in the editor, and
    # adds a word elsewhere in the first paragraph.
    editing = new_page()
    login_directly(editing, drafter, f"/letters/{slug}/edit?live=off")  # the classic save
    editor_set_text(
        editing, BASE.replace("the council", "the city council").replace("dying", "sick")
    )
    editing.get_by_role("button", name="Save revision").click()
    expect(editing.get_by_role("status").first).to_contain_text("Saved as revision 2.")

    # The coordinator: the first is applied over the drafter's edit, the second is
    # flagged and can only be rejected.
    page = new_page()
    login_directly(page, coordinator, f"/letters/{slug}/suggestions")
    first = page.get_by_role("article").filter(has_text="this week")
    second = page.get_by_role("article").filter(has_text="dead")
    expect(second).to_contain_text("Outdated")
    expect(second).to_contain_text("after revision 1")
    expect(second.get_by_role("button", name="Accept")).to_have_count(0)
    first.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Accepted as revision 3, by Vik Viewer."
    )
    page.get_by_role("article").filter(has_text="dead").get_by_role("button", name="Reject").click()
    expect(page.get_by_text("No suggestion is waiting.")).to_be_visible()
    page.goto(f"/letters/{slug}/")
    text = page.get_by_role("article", name="Text of the letter")
    expect(text).to_contain_text("We call on the city council to act this week.")
    expect(text).to_contain_text("The river is sick.")


def test_a_new_title_is_suggested_and_accepted_as_the_suggesters_revision(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    coordinator, _drafter, viewer, slug = _team(app)

    # The viewer proposes a title and a word on the Suggestions page.
    page = new_page()
    login_directly(page, viewer, f"/letters/{slug}/suggestions")
    title = page.get_by_label("Your title")
    expect(title).to_have_value("River")
    title.fill("Save the river")
    editor_set_text(page, BASE.replace("act now", "act today"))
    page.get_by_role("button", name="Suggest", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("2 suggestions made.")

    # The coordinator sees it as a suggestion of its own and accepts it.
    page = new_page()
    login_directly(page, coordinator, f"/letters/{slug}/suggestions")
    retitle = page.get_by_role("article", name=re.compile(r"by Vik Viewer: the title$"))
    expect(retitle.locator("del")).to_have_text("River")
    expect(retitle.locator("ins")).to_have_text("Save the river")
    expect(page.locator(".diff-rendered ins")).to_have_text(["today"])  # the text's only
    assert axe_violations(page) == []
    retitle.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Accepted as revision 2, by Vik Viewer."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Save the river")
    page.goto(f"/letters/{slug}/revisions")
    expect(page.locator("main")).to_contain_text("Suggestion by Vik Viewer")
