"""Helpers for the browser journeys: users, logging in, driving the Markdown editor.

Pages are Playwright ``Page`` objects whose base URL is the live server (see conftest),
so paths such as ``page.goto("/letters/")`` work; ``base_url`` arguments accept the
``live_server.url`` for callers that prefer absolute URLs.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import Locator, Page, expect

from signon.core import transaction
from tests.e2e import testapp
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.smtp import MailCatcher

EDITOR = "textarea[data-editor]"
#: Labels start with the field's name; a required field's label ends with "*".
EMAIL_LABEL = re.compile(r"^\s*Email\b")
PASSWORD_LABEL = re.compile(r"^\s*Password\b")


@dataclass(frozen=True)
class TestUser:
    """A committed user, as plain values (no ORM object outlives its session)."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    id: int
    email: str
    password: str
    display_name: str


def create_user(app: Flask, *, password: str = DEFAULT_PASSWORD, **fields: Any) -> TestUser:
    """Create and commit a user that the live server can see (``tests.factories.make_user``)."""
    with app.app_context():
        user = make_user(password=password, **fields)
        created = TestUser(user.id, user.email, password, user.display_name)
        transaction.commit()
    return created


def login_via_form(page: Page, base_url: str, email: str, password: str) -> None:
    """Log in through the login page, as a person would, and wait until it lets us in."""
    page.goto(f"{base_url}/login")
    page.get_by_label(EMAIL_LABEL).fill(email)
    page.get_by_label(PASSWORD_LABEL).fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/login(?:[?#]|$)"))


def login_directly(page: Page, user: TestUser, next_url: str = "/") -> None:
    """Log in without the form (through a test-only page): for tests about other things."""
    page.goto(testapp.login_url(user.id, next_url))


def mailed_link(mail_catcher: MailCatcher, address: str, fragment: str) -> str:
    """The link containing ``fragment`` in the latest mail to ``address`` (waits a little)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for message in reversed(mail_catcher.to(address)):
            found = re.search(
                r"https?://\S*" + re.escape(fragment) + r"\S*", MailCatcher.text_of(message)
            )
            if found:
                return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no mail to {address} with a link containing {fragment!r}")


# --- The Markdown editor (templates/_macros/editor.html, static/js/editor.js) -------------


def editor(page: Page, selector: str = EDITOR) -> Locator:
    """The editor's textarea, once static/js/editor.js has enhanced it."""
    textarea = page.locator(selector)
    expect(textarea).to_have_attribute("data-editor-ready", "")
    return textarea


def editor_set_text(page: Page, text: str, selector: str = EDITOR) -> None:
    """Replace the whole text (an ``input`` event follows, as when typing)."""
    editor(page, selector).fill(text)


def editor_text(page: Page, selector: str = EDITOR) -> str:
    return editor(page, selector).input_value()


def editor_select(page: Page, start: int, end: int, selector: str = EDITOR) -> None:
    """Select characters ``start`` to ``end`` of the text (and focus the editor)."""
    editor(page, selector).evaluate(
        "(ta, [start, end]) => { ta.focus(); ta.setSelectionRange(start, end); }", [start, end]
    )


def editor_select_text(page: Page, fragment: str, selector: str = EDITOR) -> None:
    """Select the first occurrence of ``fragment`` in the text."""
    text = editor_text(page, selector)
    start = text.index(fragment)
    editor_select(page, start, start + len(fragment), selector)


def editor_selection(page: Page, selector: str = EDITOR) -> tuple[int, int]:
    start, end = editor(page, selector).evaluate("ta => [ta.selectionStart, ta.selectionEnd]")
    return int(start), int(end)


def editor_button(page: Page, name: str) -> Locator:
    """A toolbar button by its accessible name: Heading, Bold, Italic, Bulleted list,
    Numbered list, Link, Quote."""
    return page.get_by_role("toolbar", name="Formatting").get_by_role(
        "button", name=name, exact=True
    )


def editor_paste(page: Page, html: str, text: str = "", selector: str = EDITOR) -> bool:
    """Paste a clipboard carrying ``text/html`` (and ``text/plain``) at the selection.

    Returns whether the editor took the paste over (it cancels the browser's own paste).
    A synthetic paste inserts nothing by itself, so with plain text nothing changes.
    """
    return bool(
        editor(page, selector).evaluate(
            """(ta, [html, text]) => {
                ta.focus();
                const data = new DataTransfer();
                if (html) { data.setData("text/html", html); }
                if (text) { data.setData("text/plain", text); }
                const event = new ClipboardEvent("paste", {
                    clipboardData: data, bubbles: true, cancelable: true,
                });
                return !ta.dispatchEvent(event);
            }""",
            [html, text],
        )
    )


def preview(page: Page) -> Locator:
    """The live preview region ("Preview")."""
    return page.get_by_role("region", name="Preview")


AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def axe_violations(page: Page, context: str = "html", rules: list[str] | None = None) -> list[str]:
    """axe-core's violations on ``context`` (a selector) of the page: "rule: node" lines.

    ``rules`` runs only those (some, like label-content-name-mismatch, are run only
    when asked for by name); otherwise every rule of axe's default set.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated, not a <script>: CSP stays
    options = {"runOnly": {"type": "rule", "values": rules}} if rules else {}
    found = page.evaluate(
        """async ([context, options]) => (await axe.run(context, options)).violations
            .flatMap(v => v.nodes.map(n => v.id + ": " + n.target.join(" ")))""",
        [context, options],
    )
    return [str(line) for line in found]
