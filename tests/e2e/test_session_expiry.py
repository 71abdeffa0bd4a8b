"""Issue 9, item 10, in Chromium: a session that ends while someone edits loses nothing.

Type in the letter's editor, let the session expire (a test-only page moves its times
back 13 hours), try to save or reload: the login page says why; log in again and the
editor offers the unsaved text back; restore it and the save works (and the browser's
copy is cleared), or discard it. On one's own (``?live=off``): editing together live,
the text is kept by the server as it is typed (tests/e2e/test_live_editing.py).
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Dialog, Page, expect

from signon.core import transaction
from tests.e2e.conftest import LiveServer
from tests.e2e.helpers import (
    EMAIL_LABEL,
    PASSWORD_LABEL,
    TestUser,
    create_user,
    editor,
    editor_set_text,
    editor_text,
    login_directly,
    preview,
)
from tests.factories import add_revision, add_team_member, make_letter, make_user

pytestmark = pytest.mark.real_commits

FIRST = "We call for action.\n"
TYPED = "We call for immediate action, typed just before lunch."
ENDED = "Your session ended after 12 hours without activity; log in again."


def _letter_of(app: Flask, user: TestUser, body: str = FIRST) -> str:
    """A letter with ``user`` as coordinator; its slug."""
    with app.app_context():
        from signon.accounts.models import User
        from signon.extensions import db

        coordinator = db.session.get(User, user.id)
        letter = make_letter(coordinator, body=body)
        slug = letter.slug
        transaction.commit()
    return slug


def _stored_drafts(page: Page) -> list[str]:
    keys: list[str] = page.evaluate(
        "() => Object.keys(localStorage).filter(k => k.startsWith('signon-draft:'))"
    )
    return keys


def _expect_drafts_cleared(page: Page) -> None:
    """The page after a save clears the browser's copy from its script: wait for it to run.

    Fails (Playwright's timeout) if the copy is never cleared.
    """
    page.wait_for_function(
        "() => !Object.keys(localStorage).some(k => k.startsWith('signon-draft:'))",
        timeout=10_000,
    )
    assert _stored_drafts(page) == []


def _type_then_expire(
    page: Page, user: TestUser, slug: str, typed: str = TYPED, shown: str = "before lunch"
) -> None:
    login_directly(page, user, f"/letters/{slug}/edit?live=off")
    expect(page.get_by_role("heading", name="Edit the text")).to_be_visible()
    editor_set_text(page, typed)
    expect(preview(page)).to_contain_text(shown)  # no preview request left pending
    page.wait_for_function(
        "() => Object.keys(localStorage).some(k => k.startsWith('signon-draft:'))"
    )
    aged = page.request.get("/__test__/age-session?hours=13")
    assert aged.ok


def _log_in_again(page: Page, user: TestUser) -> None:
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_text(ENDED)).to_be_visible()
    page.get_by_label(EMAIL_LABEL).fill(user.email)
    page.get_by_label(PASSWORD_LABEL).fill(user.password)
    page.get_by_role("button", name="Log in", exact=True).click()


def test_a_save_after_the_session_ended_is_restored_after_logging_in(
    app: Flask, live_server: LiveServer, page: Page
) -> None:
    user = create_user(app)
    slug = _letter_of(app, user)
    _type_then_expire(page, user, slug)

    page.get_by_role("button", name="Save revision").click()  # refused: the session ended
    _log_in_again(page, user)

    expect(page).to_have_url(re.compile(rf"/letters/{slug}/edit\?live=off$"))
    banner = page.get_by_role("alert").filter(has_text="You have unsaved text from")
    expect(banner).to_be_visible()
    assert editor_text(page) == FIRST  # the saved text, until the person chooses
    banner.get_by_role("button", name="Restore").click()
    expect(banner).to_be_hidden()
    assert editor_text(page) == TYPED
    expect(page.get_by_label("Preview")).to_contain_text("immediate action")

    page.get_by_role("button", name="Save revision").click()
    expect(page.get_by_text("Saved as revision 2.")).to_be_visible()
    expect(page.locator("article.letter-text")).to_contain_text("typed just before lunch")
    _expect_drafts_cleared(page)  # the browser's copy is cleared after the save
    page.goto(f"/letters/{slug}/edit?live=off")
    expect(editor(page)).to_have_value(TYPED + "\n")
    expect(page.get_by_text("You have unsaved text from")).to_have_count(0)


def test_a_reload_after_the_session_ended_keeps_the_text_until_discarded(
    app: Flask, live_server: LiveServer, page: Page
) -> None:
    user = create_user(app)
    slug = _letter_of(app, user)
    _type_then_expire(page, user, slug)

    page.reload()
    _log_in_again(page, user)

    expect(page).to_have_url(re.compile(rf"/letters/{slug}/edit\?live=off$"))
    banner = page.get_by_role("alert").filter(has_text="You have unsaved text from")
    expect(banner).to_be_visible()
    banner.get_by_role("button", name="Discard").click()
    expect(banner).to_be_hidden()
    assert editor_text(page) == FIRST
    assert _stored_drafts(page) == []
    page.reload()
    expect(editor(page)).to_be_visible()
    expect(page.get_by_text("You have unsaved text from")).to_have_count(0)


def test_unsaved_text_survives_without_any_session_problem(
    app: Flask, live_server: LiveServer, page: Page
) -> None:
    """A closed tab or a crash: the next visit offers the text back too."""
    user = create_user(app)
    slug = _letter_of(app, user)
    login_directly(page, user, f"/letters/{slug}/edit?live=off")
    editor_set_text(page, TYPED)
    page.wait_for_function(
        "() => Object.keys(localStorage).some(k => k.startsWith('signon-draft:'))"
    )
    page.goto(f"/letters/{slug}/")
    page.goto(f"/letters/{slug}/edit?live=off")
    expect(page.get_by_text("You have unsaved text from")).to_be_visible()


def test_restored_text_merges_with_what_others_saved_meanwhile(
    app: Flask, live_server: LiveServer, page: Page
) -> None:
    """The browser copy remembers its base revision: saving it merges, nothing is lost."""
    user = create_user(app)
    slug = _letter_of(app, user, body="Opening words.\n\nClosing words.\n")
    typed = "Opening words, sharpened.\n\nClosing words."
    _type_then_expire(page, user, slug, typed=typed, shown="sharpened")
    with app.app_context():
        from signon.extensions import db
        from signon.letters.models import Letter

        letter = db.session.scalars(db.select(Letter).filter_by(slug=slug)).one()
        colleague = make_user(name="Cleo Colleague")
        add_revision(letter, colleague, "Opening words.\n\nClosing words, softened.\n")
        transaction.commit()

    page.reload()
    _log_in_again(page, user)
    banner = page.get_by_role("alert").filter(has_text="You have unsaved text from")
    banner.get_by_role("button", name="Restore").click()
    page.get_by_role("button", name="Save revision").click()

    expect(
        page.get_by_text(re.compile(r"Saved as revision 3\. Meanwhile Cleo Colleague"))
    ).to_be_visible()
    text = page.locator("article.letter-text")
    expect(text).to_contain_text("Opening words, sharpened.")
    expect(text).to_contain_text("Closing words, softened.")
    _expect_drafts_cleared(page)


COPIES = """() => Object.keys(localStorage)
  .filter(k => k.startsWith('signon-draft:') || k.startsWith('signon-live-unsent:')).sort()"""


def test_logging_out_deletes_the_persons_copies_of_unsaved_text_from_the_browser(
    app: Flask, live_server: LiveServer, page: Page
) -> None:
    """On a shared computer the next person must not read someone's unsaved text: the
    browser's copies (the editor's draft, the live editor's unconfirmed changes) are the
    person's, never offered to someone else, and logging out deletes them, after asking."""
    user = create_user(app)
    other = create_user(app, name="Olga Other")
    slug = _letter_of(app, user)
    with app.app_context():
        from signon.accounts.models import User
        from signon.core.permissions import TeamRole
        from signon.extensions import db
        from signon.letters.models import Letter

        letter = db.session.scalars(db.select(Letter).filter_by(slug=slug)).one()
        letter_id = letter.id
        add_team_member(letter, role=TeamRole.DRAFTER, user=db.session.get(User, other.id))
        transaction.commit()

    login_directly(page, user, f"/letters/{slug}/edit")  # live: where its copy would be kept
    live_store = page.locator("[data-live-for]").get_attribute("data-live-store")
    assert live_store == f"user-{user.id}:letter-{letter_id}"
    page.goto(f"/letters/{slug}/edit?live=off")
    editor_set_text(page, TYPED)  # typed on one's own, not saved
    page.wait_for_function(f"() => ({COPIES})().length === 1")
    page.goto("/letters/")
    # What the live editor keeps of changes typed offline in a tab since closed, and a
    # draft kept before copies were named per person.
    page.evaluate(
        """([live, unowned]) => {
          localStorage.setItem(live, JSON.stringify({update: "AAA=", at: Date.now()}));
          localStorage.setItem(unowned, JSON.stringify({body: "Unowned.", base: "", savedAt: ""}));
        }""",
        [f"signon-live-unsent:{live_store}", f"signon-draft:letter-{letter_id}"],
    )

    # Someone else on the same browser is not offered the text, and keeps their own.
    login_directly(page, other, f"/letters/{slug}/edit?live=off")
    expect(editor(page)).to_have_value(FIRST)
    expect(page.get_by_text("You have unsaved text from")).to_have_count(0)
    editor_set_text(page, "Olga's own words.")
    page.wait_for_function(f"() => ({COPIES})().length === 4")
    page.goto("/letters/")
    others = [k for k in page.evaluate(COPIES) if k.startswith(f"signon-draft:user-{other.id}:")]
    assert len(others) == 1

    # Back to the first person, who logs out: asked first, then the copies are deleted.
    login_directly(page, user, "/letters/")
    asked: list[str] = []
    answers = [False, True]  # cancel, then log out

    def on_dialog(dialog: Dialog) -> None:
        asked.append(dialog.message)
        if answers.pop(0):
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", on_dialog)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()  # still logged in
    assert asked == [
        "This browser keeps text you typed that is not saved yet. Logging out deletes it"
        " from this browser, so that nobody else using it can read it. Log out anyway?"
    ]
    assert len(page.evaluate(COPIES)) == 4
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have logged out")).to_be_visible()
    page.wait_for_function(f"() => ({COPIES})().length === 1")
    assert page.evaluate(COPIES) == others  # only the other person's own copy is left

    # Nothing left to lose: logging out asks nothing.
    login_directly(page, user, "/letters/")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have logged out")).to_be_visible()
    assert len(asked) == 2


def test_the_conflict_page_keeps_each_passage_s_choice_across_a_session_end(
    app: Flask, live_server: LiveServer, page: Page
) -> None:
    """Issue 12 item 4: what is chosen and typed per passage on the conflict page is kept
    in the browser; the save refused by an ended session loses none of it."""
    user = create_user(app)
    body = "We ask states to stop counting.\n\nWe ask the Council to act this year.\n"
    slug = _letter_of(app, user, body=body)
    with app.app_context():
        from signon.accounts.models import User
        from signon.extensions import db
        from signon.letters import operations
        from signon.letters.models import Letter

        letter = db.session.scalars(db.select(Letter).filter_by(slug=slug)).one()
        first = letter.head()
        assert first is not None
        add_revision(
            letter, make_user(), body.replace("stop counting", "count").replace("this", "next")
        )
        result = operations.save_revision(
            letter,
            db.session.get(User, user.id),
            base=first,
            title=first.title,
            body=body.replace("stop counting", "report").replace("this year", "now"),
            change_note="",
        )
        assert result.draft is not None
        conflict_page = f"/letters/{slug}/drafts/{result.draft.id}"
        transaction.commit()

    login_directly(page, user, conflict_page)
    first_passage = page.get_by_role("group", name="Passage 1 of 2")
    second_passage = page.get_by_role("group", name="Passage 2 of 2")
    first_passage.get_by_label("Your wording of this passage").fill("report at once")
    second_passage.get_by_label(re.compile(r"Keep .*'s \(revision 2\)")).check()
    page.wait_for_function("() => Object.keys(localStorage).some(k => k.includes(':conflicts-'))")
    assert page.request.get("/__test__/age-session?hours=13").ok

    page.get_by_role("button", name="Save the combined text").click()  # refused
    _log_in_again(page, user)

    expect(page).to_have_url(re.compile(rf"{re.escape(conflict_page)}$"))
    expect(page.get_by_role("status").filter(has_text="restored from this browser")).to_be_visible()
    expect(first_passage.get_by_label("Your wording of this passage")).to_have_value(
        "report at once"
    )
    expect(first_passage.get_by_label("Write it yourself")).to_be_checked()
    expect(second_passage.get_by_label(re.compile(r"Keep .*'s \(revision 2\)"))).to_be_checked()

    page.get_by_role("button", name="Save the combined text").click()
    expect(page.get_by_text("Saved as revision 3.")).to_be_visible()
    text = page.locator("article.letter-text")
    expect(text).to_contain_text("We ask states to report at once.")
    expect(text).to_contain_text("We ask the Council to act next year.")
    _expect_drafts_cleared(page)
