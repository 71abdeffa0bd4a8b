"""Two people editing one letter at once, in Chromium: the editor warns that someone
else saved (and links to the Compare), and overlapping edits are resolved one conflict
at a time on the conflict page, without losing anyone's words."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from signon.core import transaction
from signon.core.permissions import TeamRole
from tests.e2e.conftest import PHONE, NewPage
from tests.e2e.helpers import (
    TestUser,
    axe_violations,
    editor,
    editor_set_text,
    editor_text,
    login_directly,
)
from tests.factories import add_team_member, make_letter, make_user

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]

TEXT = (
    "## Our call\n\n"
    "We call on all states to protect civic space. They must stop counting the costs.\n\n"
    "We ask the Council to act this year.\n"
)


@dataclass(frozen=True)
class Team:
    slug: str
    coordinator: TestUser
    drafter: TestUser


def _team(app: Flask) -> Team:
    """A letter with a coordinator and a drafter, committed for the live server."""
    with app.app_context():
        coordinator = make_user(name="Cora Coordinator")
        drafter = make_user(name="Dan Drafter")
        letter = make_letter(coordinator, body=TEXT)
        add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
        team = Team(
            letter.slug,
            *(TestUser(u.id, u.email, "", u.display_name) for u in (coordinator, drafter)),
        )
        transaction.commit()
    return team


def _edit(page: Page, team: Team, user: TestUser) -> None:
    # On their own (no live editing): the classic save, merge and conflict are tested here;
    # tests/e2e/test_live_editing.py edits together.
    login_directly(page, user, f"/letters/{team.slug}/edit?live=off")
    editor(page)


def _check_for_newer(page: Page) -> None:
    """What the editor does every 30 seconds and when the window gets the focus back."""
    page.evaluate("window.dispatchEvent(new Event('focus'))")


def test_the_editor_says_when_someone_else_saved(app: Flask, new_page: NewPage) -> None:
    team = _team(app)
    cora, dan = new_page(), new_page(viewport=PHONE)
    _edit(cora, team, team.coordinator)
    _edit(dan, team, team.drafter)

    _check_for_newer(dan)  # nothing newer yet: no notice
    expect(dan.get_by_role("status").filter(has_text="saved a newer version")).to_have_count(0)

    editor_set_text(cora, TEXT.replace("this year", "before June"))
    cora.get_by_role("button", name="Save revision").click()
    expect(cora.get_by_text("Saved as revision 2.")).to_be_visible()

    editor_set_text(dan, TEXT.replace("all states", "every state"))
    _check_for_newer(dan)
    notice = dan.get_by_role("status").filter(has_text="saved a newer version")
    expect(notice).to_contain_text(
        "Cora Coordinator saved a newer version (revision 2) while you were editing revision 1."
    )
    assert axe_violations(dan) == []
    link = notice.get_by_role("link", name="See what changed (new tab)")
    with dan.context.expect_page() as compare_info:
        link.click()
    compare = compare_info.value
    expect(compare).to_have_url(re.compile(rf"/letters/{team.slug}/diff\?from=1&to=2$"))
    expect(compare.locator(".diff ins").first).to_contain_text("June")
    compare.close()

    # The text being edited is untouched; saving merges both changes.
    assert "every state" in editor_text(dan)
    dan.get_by_role("button", name="Save revision").click()
    expect(
        dan.get_by_text(re.compile("Meanwhile Cora Coordinator saved changes too"))
    ).to_be_visible()


def test_two_people_rewrite_the_same_sentences_and_resolve_each_conflict(
    app: Flask, new_page: NewPage
) -> None:
    team = _team(app)
    cora, dan = new_page(), new_page(viewport=PHONE)
    _edit(cora, team, team.coordinator)
    _edit(dan, team, team.drafter)

    editor_set_text(cora, TEXT.replace("stop counting", "count").replace("this year", "soon"))
    typed = (
        TEXT.replace("stop counting", "report")
        .replace("this year", "now")
        .replace("all states", "every state")
    )
    editor_set_text(dan, typed)
    cora.get_by_role("button", name="Save revision").click()
    expect(cora.get_by_text("Saved as revision 2.")).to_be_visible()
    dan.get_by_role("button", name="Save revision").click()
    expect(
        dan.get_by_role("heading", name="Your changes overlap with someone else's")
    ).to_be_visible()

    # Each conflict within its paragraph, both versions marked against the original.
    first = dan.get_by_role("group", name="Passage 1 of 2")
    second = dan.get_by_role("group", name="Passage 2 of 2")
    yours = first.locator(".conflict-option-ours .conflict-version")
    expect(yours).to_have_text(
        "We call on every state to protect civic space. They must stop countingreport the costs."
    )
    expect(yours.locator("ins")).to_have_text("report")
    expect(yours.locator("del")).to_have_text("stop counting")
    theirs = second.locator(".conflict-option-theirs .conflict-version")
    expect(theirs).to_contain_text("We ask the Council to act")
    expect(theirs.locator("ins")).to_have_text("soon")
    expect(first.get_by_label("Keep yours")).to_be_checked()
    assert axe_violations(dan) == []
    assert dan.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Passage 1 in the drafter's own words (typing chooses that), passage 2 as Cora wrote it.
    wording = first.get_by_label("Your wording of this passage")
    expect(wording).to_have_value("report")
    wording.fill("report on")
    expect(first.get_by_label("Write it yourself")).to_be_checked()
    second.get_by_label("Keep Cora Coordinator's (revision 2)").check()
    dan.get_by_label("Change note (optional)").first.fill("Both versions combined")
    dan.get_by_role("button", name="Save the combined text").click()

    expect(dan.get_by_text("Saved as revision 3.")).to_be_visible()
    article = dan.locator("article.letter-text")
    expect(article).to_contain_text(
        "We call on every state to protect civic space. They must report on the costs."
    )
    expect(article).to_contain_text("We ask the Council to act soon.")
    expect(dan.get_by_text("unsaved draft")).to_have_count(0)
