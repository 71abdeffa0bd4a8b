"""Comments in Chromium at 1280 and 390 px: a drafter selects words of the letter, comments
on them, replies and resolves the thread; the passage is marked in the text and linked to
its thread; nothing overflows the phone's width; axe-core finds nothing."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from signon.core import transaction
from signon.core.permissions import TeamRole
from tests.e2e.conftest import LiveServer, NewPage
from tests.e2e.helpers import (
    TestUser,
    axe_violations,
    create_user,
    editor_select,
    editor_selection,
    editor_set_text,
    editor_text,
    login_directly,
)
from tests.factories import add_team_member, make_letter

pytestmark = pytest.mark.real_commits

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
BODY = (
    "We call on the ministry to protect the river basin.\n\n"
    "The river basin feeds three cities and their **farms**.\n\n"
    "We ask for a public hearing before the end of the year.\n"
)


def _letter(app: Flask, body: str = BODY) -> tuple[str, TestUser]:
    coordinator = create_user(app, name="Cora Coordinator")
    drafter = create_user(app, name="Dan Drafter")
    with app.app_context():
        from signon.accounts.models import User
        from signon.extensions import db

        letter = make_letter(db.session.get(User, coordinator.id), body=body)
        add_team_member(letter, role=TeamRole.DRAFTER, user=db.session.get(User, drafter.id))
        slug = letter.slug
        transaction.commit()
    return slug, drafter


def _select(page: Page, words: str, occurrence: int = 0) -> None:
    """Select ``words`` in the letter's text as a reader would, by dragging."""
    _drag(page, _box(page, words, occurrence), _box(page, words, occurrence))
    assert page.evaluate("() => window.getSelection().toString()") == words


def _drag(page: Page, start: list[float], end: list[float]) -> None:
    """Drag the mouse from the start of ``start``'s words to the end of ``end``'s."""
    page.mouse.move(start[0], start[1])
    page.mouse.down()
    page.mouse.move(end[2], end[3], steps=5)
    page.mouse.up()


def _box(page: Page, words: str, occurrence: int = 0) -> list[float]:
    """Where the words are on the screen: the middle of the left edge of their first
    character and of the right edge of their last, in one text node of the letter."""
    box = page.evaluate(
        """([words, occurrence]) => {
          const text = document.querySelector('[data-comment-source]');
          const walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
          let node, seen = 0;
          while ((node = walker.nextNode())) {
            let at = node.data.indexOf(words);
            while (at >= 0) {
              if (seen++ === occurrence) {
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + words.length);
                range.startContainer.parentElement.scrollIntoView({block: 'center'});
                const rects = range.getClientRects();
                const first = rects[0], last = rects[rects.length - 1];
                return [first.left + 1, first.top + first.height / 2,
                        last.right - 1, last.top + last.height / 2];
              }
              at = node.data.indexOf(words, at + 1);
            }
          }
          return null;
        }""",
        [words, occurrence],
    )
    assert box is not None, words
    return list(box)


@pytest.mark.parametrize("size", list(SIZES))
def test_select_words_comment_reply_resolve(
    app: Flask, live_server: LiveServer, new_page: NewPage, size: str
) -> None:
    slug, drafter = _letter(app)
    viewport = SIZES[size]
    page = new_page(viewport=viewport)
    login_directly(page, drafter, f"/letters/{slug}/")
    expect(page.get_by_role("heading", name=re.compile("^Comments"))).to_be_visible()

    # The second "river basin": the context tells it from the first.
    _select(page, "river basin", occurrence=1)
    button = page.get_by_role("button", name="Comment on the selection")
    expect(button).to_be_visible()
    button.click()
    expect(page.get_by_label("Passage")).to_have_value("river basin")
    comment = page.get_by_label("Comment", exact=True)
    expect(comment).to_be_focused()
    comment.fill("Which basin? @cora should confirm.")
    page.get_by_role("button", name="Comment", exact=True).click()

    thread = page.locator("li.comment-thread")
    expect(thread).to_have_count(1)
    expect(thread.locator(".comment-quote")).to_have_text("river basin")
    expect(thread).to_contain_text("Which basin? @cora should confirm.")
    expect(page.locator(".flash")).to_contain_text("Your comment is added")
    # The passage is marked in the text, the second occurrence, and links to its thread.
    mark = page.locator("[data-comment-source] a.comment-mark")
    expect(mark).to_have_text("river basin")
    expect(mark).to_have_attribute("href", re.compile(r"#thread-\d+$"))
    assert mark.evaluate("m => m.parentElement.textContent.startsWith('The river basin')")

    thread.get_by_label("Reply").fill("The Danube basin.")
    thread.get_by_role("button", name="Reply").click()
    thread = page.locator("li.comment-thread")
    expect(thread.locator(".comment-body")).to_have_text(
        ["Which basin? @cora should confirm.", "The Danube basin."]
    )
    thread.get_by_role("button", name="Resolve").click()
    thread = page.locator("li.comment-thread")
    expect(thread).to_contain_text("Resolved by Dan Drafter")
    expect(thread.get_by_role("button", name="Reopen")).to_be_visible()

    if size == "phone":
        assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
    assert axe_violations(page) == []
    assert live_server.errors == []


def test_comment_on_words_selected_in_the_editor_without_leaving_it(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    slug, drafter = _letter(app)
    page = new_page()
    login_directly(page, drafter, f"/letters/{slug}/edit")
    editor_set_text(page, BODY + "\nMy unsaved paragraph.\n")
    text = editor_text(page)
    start = text.index("public hearing")
    # Select with the keyboard, as a person would finish a selection.
    editor_select(page, start, start + len("public hearing") - 1)
    page.keyboard.press("Shift+ArrowRight")
    assert editor_selection(page) == (start, start + len("public hearing"))
    page.get_by_role("button", name="Comment on the selection").click()
    expect(page.get_by_label("Passage")).to_have_value("public hearing")
    page.get_by_label("Comment", exact=True).fill("Which date?")
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(page.locator("[data-comment-status]")).to_have_text("Your comment is added.")
    # Still in the editor, with the unsaved text.
    assert page.url.endswith(f"/letters/{slug}/edit")
    assert "My unsaved paragraph." in editor_text(page)
    assert axe_violations(page) == []
    page.goto(f"/letters/{slug}/")
    thread = page.locator("li.comment-thread")
    expect(thread.locator(".comment-quote")).to_have_text("public hearing")
    expect(thread).to_contain_text("Which date?")
    assert live_server.errors == []


def _save(app: Flask, slug: str, user: TestUser, body: str) -> None:
    """Another revision of the letter, saved as the editor saves it."""
    with app.app_context():
        from signon.accounts.models import User
        from signon.extensions import db
        from signon.letters import operations as letters
        from signon.letters import queries

        letter = queries.letter_by_slug(slug)
        head = letter.head()
        assert head is not None
        author = db.session.get(User, user.id)
        assert author is not None
        letters.save_revision(letter, author, base=head, title=letter.title, body=body)
        transaction.commit()


def test_a_comment_stays_on_its_words_across_two_revisions_then_is_kept_when_they_go(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    slug, drafter = _letter(app)
    page = new_page()
    login_directly(page, drafter, f"/letters/{slug}/")
    _select(page, "river basin", occurrence=1)
    page.get_by_role("button", name="Comment on the selection").click()
    page.get_by_label("Comment", exact=True).fill("Name the basin.")
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(page.locator("li.comment-thread")).to_have_count(1)

    # Revision 2 puts a paragraph before it (with the same words), revision 3 edits its
    # sentence around it: the comment follows its own words, not the new paragraph's.
    _save(app, slug, drafter, "A new opening on the river basin.\n\n" + BODY)
    _save(
        app,
        slug,
        drafter,
        "A new opening on the river basin.\n\n"
        + BODY.replace("feeds three cities", "feeds four cities"),
    )
    page.goto(f"/letters/{slug}/")
    expect(page.locator("[data-comment-source]")).to_contain_text("feeds four cities")
    mark = page.locator("[data-comment-source] a.comment-mark")
    expect(mark).to_have_text("river basin")
    assert mark.evaluate("m => m.parentElement.textContent.startsWith('The river basin')")
    thread = page.locator("li.comment-thread")
    expect(thread).to_contain_text("Name the basin.")
    expect(thread).not_to_contain_text("Passage removed")

    # Revision 4 deletes the sentence: the thread is kept, marked, with the old words.
    _save(
        app,
        slug,
        drafter,
        "A new opening on the river basin.\n\n"
        "We call on the ministry to protect the river basin.\n\n"
        "We ask for a public hearing before the end of the year.\n",
    )
    page.goto(f"/letters/{slug}/")
    thread = page.locator("li.comment-thread")
    expect(thread).to_contain_text("Passage removed in revision 4")
    expect(thread.locator(".comment-quote")).to_have_text("river basin")
    expect(thread).to_contain_text("Name the basin.")
    expect(page.locator("[data-comment-source] a.comment-mark")).to_have_count(0)
    assert axe_violations(page) == []
    assert live_server.errors == []


MARKUP_BODY = (
    "We call on the ministry to protect the river basin.\n\n"
    "The **river** basin feeds [three cities](https://example.org/cities) and their farms.\n"
)


def test_a_passage_across_bold_and_a_link_is_marked_piece_by_piece(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    """Issue 13: a passage that spans markup (part bold, into a link) is marked on the
    letter's page, each piece in its element, and the second "river basin" is the one;
    its thread quotes it as the page shows it."""
    slug, drafter = _letter(app, MARKUP_BODY)
    page = new_page()
    login_directly(page, drafter, f"/letters/{slug}/")
    _drag(page, _box(page, "river", occurrence=1), _box(page, "three cities"))
    words = "river basin feeds three cities"
    assert page.evaluate("() => window.getSelection().toString()") == words
    page.get_by_role("button", name="Comment on the selection").click()
    page.get_by_label("Comment", exact=True).fill("Which cities?")
    page.get_by_role("button", name="Comment", exact=True).click()
    thread = page.locator("li.comment-thread")
    expect(thread).to_contain_text("Which cities?")
    # The thread's passage as the page shows it: no asterisks, no link address.
    expect(thread.locator(".comment-quote")).to_have_text(words)
    thread_id = thread.get_attribute("id")
    assert thread_id is not None

    marks = page.locator("[data-comment-source] .comment-mark")
    expect(marks).to_have_text(["river", " basin feeds ", "three cities"])
    pieces = marks.evaluate_all(
        """marks => marks.map(m => [m.tagName, m.parentElement.tagName,
                                    m.closest('p').textContent.slice(0, 15),
                                    m.getAttribute('href')])"""
    )
    assert pieces == [
        # the first piece is the link to the thread, inside the bold word
        ["A", "STRONG", "The river basin", f"#{thread_id}"],
        ["SPAN", "P", "The river basin", None],
        # inside the letter's own link a link cannot go: a span, the link kept
        ["SPAN", "A", "The river basin", None],
    ]
    expect(page.locator("[data-comment-source] a[href='https://example.org/cities']")).to_have_text(
        "three cities"
    )
    # The first "river basin" is not marked; a piece that is a span leads to the thread.
    expect(page.locator("[data-comment-source] p").first.locator(".comment-mark")).to_have_count(0)
    marks.nth(1).click()
    expect(page).to_have_url(re.compile(f"#{thread_id}$"))
    assert axe_violations(page) == []
    assert live_server.errors == []


def test_mention_autocomplete_lists_the_team_and_is_used_with_the_keyboard(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    """Issue 13: typing @ in a comment lists the letter's team (a combobox list popup:
    the field says which option is active); Down, Enter and Tab write a handle, Escape
    closes the list and keeps the text; the comment then names them."""
    slug, drafter = _letter(app)
    cecile = create_user(app, name="Cecile Carter")
    create_user(app, name="Carl Outsider")  # on no team: never listed
    with app.app_context():
        from signon.accounts.models import User
        from signon.extensions import db
        from signon.letters import queries

        letter = queries.letter_by_slug(slug)
        add_team_member(letter, role=TeamRole.VIEWER, user=db.session.get(User, cecile.id))
        transaction.commit()
    page = new_page()
    login_directly(page, drafter, f"/letters/{slug}/")
    field = page.get_by_label("Comment", exact=True)
    listbox = page.get_by_role("listbox", name="People on the team")
    expect(field).to_have_attribute("aria-autocomplete", "list")
    expect(listbox).to_be_hidden()

    field.click()
    field.press_sequentially("Hello @c")
    expect(listbox).to_be_visible()
    options = listbox.get_by_role("option")
    expect(options).to_have_text(
        ["Cecile Carter @CecileCarter", "Cora Coordinator @CoraCoordinator"]
    )
    first, second = options.nth(0), options.nth(1)
    expect(first).to_have_attribute("aria-selected", "true")
    expect(field).to_have_attribute("aria-activedescendant", first.get_attribute("id") or "")
    expect(field).to_be_focused()
    assert axe_violations(page) == []
    page.keyboard.press("ArrowDown")
    expect(second).to_have_attribute("aria-selected", "true")
    expect(field).to_have_attribute("aria-activedescendant", second.get_attribute("id") or "")
    page.keyboard.press("Enter")
    expect(field).to_have_value("Hello @CoraCoordinator ")
    expect(listbox).to_be_hidden()
    expect(field).not_to_have_attribute("aria-activedescendant", re.compile(".*"))

    # Escape closes the list and leaves what was typed; typing on opens it again.
    field.press_sequentially("and @ce")
    expect(options).to_have_text(["Cecile Carter @CecileCarter"])
    page.keyboard.press("Escape")
    expect(listbox).to_be_hidden()
    expect(field).to_have_value("Hello @CoraCoordinator and @ce")
    field.press_sequentially("c")
    expect(options).to_have_text(["Cecile Carter @CecileCarter"])
    page.keyboard.press("Tab")
    expect(field).to_have_value("Hello @CoraCoordinator and @CecileCarter ")
    expect(field).to_be_focused()
    # Nobody by that name: no list, and the status says so.
    field.press_sequentially("@carl")
    expect(page.locator("p.visually-hidden[role=status]")).to_have_text(
        "Nobody on the team by that name."
    )
    expect(listbox).to_be_hidden()
    field.press_sequentially(" look")

    page.get_by_label("Passage").fill("public hearing")
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(page.locator("li.comment-thread")).to_contain_text(
        "Hello @CoraCoordinator and @CecileCarter @carl look"
    )
    with app.app_context():
        from sqlalchemy import select

        from signon.extensions import db
        from signon.letters.models import Notice

        told = db.session.scalars(
            select(Notice.for_user_id).where(Notice.for_user_id.is_not(None))
        ).all()
    assert set(told) >= {cecile.id}
    assert live_server.errors == []
