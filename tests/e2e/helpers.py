"""Helpers for the browser journeys: users, logging in, driving the Markdown editor.

Pages are Playwright ``Page`` objects whose base URL is the live server (see conftest),
so paths such as ``page.goto("/letters/")`` work; ``base_url`` arguments accept the
``live_server.url`` for callers that prefer absolute URLs.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

from flask import Flask
from playwright.sync_api import BrowserContext, Frame, Locator, Page, expect
from playwright.sync_api import Error as PlaywrightError

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


def mail_from_signon(mail_catcher: MailCatcher, address: str, subject_start: str) -> EmailMessage:
    """The latest mail to ``address`` whose subject starts with ``subject_start`` (waits
    for it as :func:`mailed_link` does: the mail leaves after the request's commit)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages: list[EmailMessage] = mail_catcher.to(address)
        for message in reversed(messages):
            if " ".join(str(message["Subject"]).split()).startswith(subject_start):
                return cast(EmailMessage, message)
        time.sleep(0.1)
    subjects = [m["Subject"] for m in mail_catcher.to(address)]
    raise AssertionError(f"no mail to {address} starting {subject_start!r}; got {subjects}")


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


def assert_fits_the_width(page: Page, width: int) -> None:
    """Nothing on the page is wider than ``width`` (no sideways scrolling on a phone); the
    message names the elements that stick out."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width <= width:
        return
    wide = page.evaluate(
        """width => [...document.querySelectorAll("body *")]
            .filter(e => e.getBoundingClientRect().right > width)
            .slice(0, 8)
            .map(e => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}` +
                      `${e.className && typeof e.className === "string" ?
                         "." + e.className.trim().split(/\\s+/).join(".") : ""}` +
                      ` (right edge at ${Math.round(e.getBoundingClientRect().right)}px)`)""",
        width,
    )
    raise AssertionError(
        f"{page.url} is {scroll_width}px wide at {width}px; sticking out: {', '.join(wide)}"
    )


PASTE_FIXTURES = Path(__file__).parent / "paste"


def paste_fixture(name: str) -> tuple[str, str]:
    """The clipboard HTML kept in ``tests/e2e/paste/<name>.html`` (what Word, Google Docs
    or LibreOffice put on the clipboard) and the Markdown the editor must make of it."""
    html = (PASTE_FIXTURES / f"{name}.html").read_text(encoding="utf-8")
    markdown = (PASTE_FIXTURES / f"{name}.md").read_text(encoding="utf-8").rstrip("\n")
    return html, markdown


def preview(page: Page) -> Locator:
    """The live preview region ("Preview")."""
    return page.get_by_role("region", name="Preview")


AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
#: Runs axe-core's default rules on the document (loading axe first if needed): a list of
#: {id, impact, help, targets}.
AXE_RUN = """async ([context, options]) => (await axe.run(context, options)).violations
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(" "))}))"""


def axe_violations(
    page: Page | Frame, context: str = "html", rules: list[str] | None = None
) -> list[str]:
    """axe-core's violations on ``context`` (a selector) of the page or frame: "rule: node"
    lines.

    ``rules`` runs only those; otherwise every rule of axe's default set (in axe-core
    4.14 that includes label-content-name-mismatch, the rule the editor's "1. List"
    button failed; left out are the rules axe tags "experimental" or disables itself).
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated, not a <script>: CSP stays
    options = {"runOnly": {"type": "rule", "values": rules}} if rules else {}
    found = page.evaluate(AXE_RUN, [context, options])
    return [f"{v['id']}: {target}" for v in found for target in v["targets"]]


class AxeOnEveryPage:
    """Runs axe-core on every document a test's pages show, and collects the violations.

    An init script gives each of the live server's top-level HTML documents an id, reports
    it as shown (:attr:`shown`) and marks ``<html>`` with ``data-axe-pending`` as soon as
    the parser creates it. A Playwright locator handler on that mark runs before the next
    action or auto-waiting assertion the test makes on the page, so a test cannot act on a
    document, nor leave it by a click, before it is checked: the check waits until the
    document is parsed and its scripts have run (DOMContentLoaded), runs axe (the whole
    page, default rules, every impact) and removes the mark. ``goto``, ``reload``,
    ``go_back``, ``go_forward`` and ``close`` check a pending document before leaving it,
    and so does the teardown for pages still open (:meth:`check_open_pages`).

    A document that was shown but left unchecked all the same (left by a keystroke or by
    the page's own script, say) fails the test too (:meth:`report`): "every page" is
    proved, not assumed.
    """

    MARK = "data-axe-pending"
    #: The binding through which each document reports itself as shown.
    SHOWN = "__signonAxeShown"
    #: Where a document keeps its id.
    DOCUMENT_ID = "__signonAxeDocument"
    LEAVING = ("goto", "reload", "go_back", "go_forward", "close")

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        #: "URL: rule (impact) on target: help" lines, one per element in violation.
        self.violations: list[str] = []
        #: The URLs of the documents checked, in order (a test can see the mechanism ran).
        self.checked: list[str] = []
        #: Every document shown, by id: its URL when it was created.
        self.shown: dict[str, str] = {}
        self._checked_ids: set[str] = set()
        self._pages: list[Page] = []

    def watch(self, context: BrowserContext) -> None:
        context.expose_binding(self.SHOWN, lambda _source, id_, url: self._shown(id_, url))
        context.add_init_script(
            f"""if (window.top === window && location.origin === {json.dumps(self.base_url)}
                    && document.contentType === "text/html") {{
                // only HTML documents: not an image or PDF the browser shows by itself
                const id = `${{performance.timeOrigin}}-${{Math.random()}}`;
                Object.defineProperty(window, "{self.DOCUMENT_ID}", {{value: id}});
                const mark = () => {{
                    if (!document.documentElement) {{ return false; }}
                    document.documentElement.setAttribute("{self.MARK}", "");
                    return true;
                }};
                if (!mark()) {{
                    new MutationObserver((_, observer) => {{
                        if (mark()) {{ observer.disconnect(); }}
                    }}).observe(document, {{childList: true}});
                }}
                window.{self.SHOWN}(id, location.href);
            }}"""
        )
        context.on("page", self.watch_page)

    def _shown(self, document_id: str, url: str) -> None:
        self.shown[document_id] = url

    def watch_page(self, page: Page) -> None:
        if any(watched is page for watched in self._pages):
            return
        self._pages.append(page)
        page.add_locator_handler(
            page.locator(f"html[{self.MARK}]"), lambda _: self.check(page), no_wait_after=True
        )
        for name in self.LEAVING:
            setattr(page, name, self._checking_first(page, getattr(page, name)))

    def _checking_first(self, page: Page, leave: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(leave)
        def checked_then_leave(*args: Any, **kwargs: Any) -> Any:
            self.check(page)
            return leave(*args, **kwargs)

        return checked_then_leave

    def check(self, page: Page) -> None:
        """Check the page's current document, if it is marked as not checked yet."""
        if page.is_closed():
            return
        url = page.url
        try:
            state = page.evaluate(
                f"""async () => {{
                    const html = document.documentElement;
                    if (!html || !html.hasAttribute("{self.MARK}")) {{ return null; }}
                    html.removeAttribute("{self.MARK}");
                    if (document.readyState === "loading") {{
                        await new Promise(parsed => document.addEventListener(
                            "DOMContentLoaded", parsed, {{once: true}}));
                    }}
                    return {{id: window.{self.DOCUMENT_ID},
                             loaded: typeof window.axe === "object"}};
                }}"""
            )
            if state is None:
                return
            if not state["loaded"]:
                page.evaluate(AXE.read_text(encoding="utf-8"))  # not a <script>: CSP stays
            found = page.evaluate(AXE_RUN, ["html", {}])
        except PlaywrightError as error:  # the page went away meanwhile (closed, navigated)
            self.violations.append(f"{url}: axe-core could not finish: {error.message}")
            return
        self.checked.append(url)
        self._checked_ids.add(state["id"])
        for violation in found:
            for target in violation["targets"]:
                self.violations.append(
                    f"{url}: {violation['id']} ({violation['impact']}) on {target}: "
                    f"{violation['help']}"
                )

    def check_open_pages(self) -> None:
        for page in self._pages:
            self.check(page)

    def unchecked(self) -> list[str]:
        """The URLs of the documents shown but never checked."""
        return [url for id_, url in self.shown.items() if id_ not in self._checked_ids]

    def report(self) -> str | None:
        """A readable failure message, or None when every document shown was checked and
        passed."""
        problems = list(dict.fromkeys(self.violations))
        problems += [f"{url}: shown but never checked by axe-core" for url in self.unchecked()]
        if not problems:
            return None
        return (
            f"axe-core found {len(problems)} problem(s) on the pages this test visited:\n  "
            + "\n  ".join(problems)
        )
