"""Real-browser tests: the app on a live server thread, driven by headless Chromium.

* ``live_server`` (session): the app, with CSRF protection on as in production, served by
  werkzeug on 127.0.0.1 and a free port, on the test database (``database_url``) and
  the in-process SMTP server (``mail_catcher``). It carries the test-only pages of
  :mod:`tests.e2e.testapp`. The server thread commits for real, so every test using it
  must be marked ``@pytest.mark.real_commits`` (tables are emptied instead of rolled back).
* ``browser`` (session): Debian's Chromium, launched once by Playwright (never downloaded).
* ``new_page`` / ``page`` (per test): a fresh browser context (no cookies) whose base URL
  is the live server. Console errors, uncaught exceptions, CSP violations and failed
  requests on any page fail the test at teardown, and so does an exception in the server.
  ``browser_problems.allow(pattern)`` accepts an expected one. In tests marked
  ``axe_every_page`` (the role journeys), axe-core runs on every document the pages show
  (``axe``, :class:`tests.e2e.helpers.AxeOnEveryPage`): any violation of any impact fails
  the test at teardown, naming the rule, the element and the page's URL.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, got_request_exception
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    ViewportSize,
    expect,
    sync_playwright,
)
from werkzeug.serving import BaseWSGIServer, make_server

from signon import create_app
from signon.extensions import db
from tests.conftest import make_settings
from tests.e2e import testapp
from tests.e2e.helpers import AxeOnEveryPage
from tests.smtp import MailCatcher

#: Where to find Chromium: $SIGNON_CHROMIUM, Debian's package, or the PATH.
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
#: A common phone (390 x 844 CSS pixels, as an iPhone 12 to 15).
PHONE: ViewportSize = {"width": 390, "height": 844}
#: Playwright's waits (clicks, fills, expect) give up after this many milliseconds.
TIMEOUT_MS = 10_000
# The browser contexts' default timeout covers actions only; ``expect`` has its own (5 s
# unless set), which a request doing real work (a sign-on's mail, a classification) can
# exceed on a loaded machine: the assertions wait as long as the actions.
expect.set_options(timeout=TIMEOUT_MS)

#: Reports Content-Security-Policy violations to the test (Chromium also logs them).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__signonReportCsp(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline code"}` +
    ` in ${event.sourceFile || event.documentURI}:${event.lineNumber}`
  );
});
"""


def find_chromium() -> str | None:
    configured = os.environ.get("SIGNON_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for candidate in CHROMIUM_CANDIDATES:
        path = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if path and os.access(path, os.X_OK):
            return path
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: a real-browser test (tests/e2e), set automatically")
    config.addinivalue_line(
        "markers",
        "axe_every_page: run axe-core on every page the test's browser shows (the role "
        "journeys); any violation fails the test",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here + os.sep):
            item.add_marker(pytest.mark.e2e)


@dataclass
class LiveServer:
    """The app served over HTTP in a background thread."""

    app: Flask
    url: str
    #: Exceptions raised while handling a request (they fail the test that caused them).
    errors: list[BaseException] = field(default_factory=list)

    def __call__(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on the live server."""
        return self.url + path


@pytest.fixture(scope="session")
def live_server(app: Flask, database_url: str, mail_catcher: MailCatcher) -> Iterator[LiveServer]:
    # ``app`` (tests/conftest.py) has built the schema; this second app shares the database
    # but has CSRF protection on, as in production, and the test-only pages.
    # The port is known once the socket is bound; the app (whose mailed links must lead
    # back to this server: SIGNON_BASE_URL) is built for it and then put in place.
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    live_app = create_app(
        make_settings(database_url, mail_catcher, wtf_csrf_enabled=True, base_url=url)
    )
    live_app.register_blueprint(testapp.bp)
    server.app = live_app
    live = LiveServer(app=live_app, url=url)

    def record(sender: Flask, exception: BaseException, **extra: Any) -> None:
        live.errors.append(exception)

    got_request_exception.connect(record, live_app, weak=False)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        got_request_exception.disconnect(record, live_app)
        with live_app.app_context():
            db.engine.dispose()


@pytest.fixture(autouse=True)
def _e2e_rules(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests on the live server commit for real, and fail on any server-side exception."""
    if "live_server" not in request.fixturenames:
        yield
        return
    if request.node.get_closest_marker("real_commits") is None:
        pytest.fail(
            "tests that use the live server must be marked @pytest.mark.real_commits "
            "(e.g. `pytestmark = pytest.mark.real_commits` in the module): the server "
            "thread commits for real, so the tables are emptied instead of rolled back",
            pytrace=False,
        )
    live: LiveServer = request.getfixturevalue("live_server")
    live.errors.clear()
    yield
    if live.errors:
        details = "; ".join(f"{type(e).__name__}: {e}" for e in live.errors)
        live.errors.clear()
        pytest.fail(f"the live server raised while handling a request: {details}", pytrace=False)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        pytest.fail(
            "Chromium was not found ($SIGNON_CHROMIUM, /usr/bin/chromium or chromium on "
            "the PATH): run `make test`, which installs chromium with apt",
            pytrace=False,
        )
    browser = playwright.chromium.launch(
        executable_path=executable, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


class BrowserProblems:
    """Collects what must not happen on any page: console errors, uncaught exceptions,
    CSP violations, failed requests."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._allowed: list[re.Pattern[str]] = []
        self._lock = threading.Lock()
        self._pages: list[Page] = []

    def allow(self, pattern: str) -> None:
        """Accept problems matching the regular expression ``pattern`` (an expected 404...)."""
        self._allowed.append(re.compile(pattern))

    def add(self, problem: str) -> None:
        if any(p.search(problem) for p in self._allowed):
            return
        with self._lock:
            self.problems.append(problem)

    def take(self) -> list[str]:
        """The problems so far, forgetting them (for tests that provoke one on purpose)."""
        with self._lock:
            problems, self.problems = self.problems, []
        return problems

    def watch(self, context: BrowserContext) -> None:
        context.expose_function("__signonReportCsp", lambda text: self.add(f"CSP: {text}"))
        context.add_init_script(CSP_LISTENER)
        context.on("page", self.watch_page)

    def watch_page(self, page: Page) -> None:
        if any(watched is page for watched in self._pages):
            return
        self._pages.append(page)
        page.on("console", lambda message: self._on_console(page, message))
        page.on("pageerror", lambda error: self.add(f"uncaught exception on {page.url}: {error}"))
        page.on("requestfailed", self._on_request_failed)

    def _on_console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url") or page.url
            if where.endswith("/favicon.ico"):  # asked for by the browser, not by our pages
                return
            self.add(f"console error on {where}: {message.text}")

    def _on_request_failed(self, request: Request) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" in failure:  # navigations and superseded previews cancel requests
            return
        self.add(f"request failed: {request.method} {request.url}: {failure}")


@pytest.fixture
def browser_problems() -> Iterator[BrowserProblems]:
    problems = BrowserProblems()
    yield problems
    if problems.problems:
        pytest.fail("problems in the browser:\n  " + "\n  ".join(problems.problems), pytrace=False)


NewPage = Callable[..., Page]


@pytest.fixture
def axe(live_server: LiveServer, request: pytest.FixtureRequest) -> AxeOnEveryPage | None:
    """For tests marked ``axe_every_page``: axe-core on every page of the test's browser
    contexts (see :class:`AxeOnEveryPage`); any violation, of any impact, fails the test at
    teardown. ``None`` for the others (which call ``axe_violations`` where they check)."""
    if request.node.get_closest_marker("axe_every_page") is None:
        return None
    return AxeOnEveryPage(live_server.url)


@pytest.fixture
def new_page(
    browser: Browser,
    live_server: LiveServer,
    browser_problems: BrowserProblems,
    axe: AxeOnEveryPage | None,
) -> Iterator[NewPage]:
    """``new_page(viewport=PHONE, **context_options)``: a page in a fresh browser context.

    In tests marked ``axe_every_page``, every document shown in it is checked with
    axe-core (``axe``)."""
    contexts: list[BrowserContext] = []

    def make(viewport: ViewportSize = DESKTOP, **options: Any) -> Page:
        options.setdefault("locale", "en-GB")
        options.setdefault("timezone_id", "Europe/Brussels")
        context = browser.new_context(base_url=live_server.url, viewport=viewport, **options)
        context.set_default_timeout(TIMEOUT_MS)
        browser_problems.watch(context)
        if axe is not None:
            axe.watch(context)
        contexts.append(context)
        page = context.new_page()
        browser_problems.watch_page(page)  # popups are watched through the context
        if axe is not None:
            axe.watch_page(page)
        return page

    yield make
    try:
        if axe is not None:
            axe.check_open_pages()
    finally:
        for context in contexts:
            context.close()
    failure = axe.report() if axe is not None else None
    if failure:
        pytest.fail(failure, pytrace=False)


@pytest.fixture
def page(new_page: NewPage) -> Page:
    """A desktop-sized page on the live server (``page.goto("/")``)."""
    return new_page()
