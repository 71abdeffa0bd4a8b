"""The journeys' axe-core check (:class:`tests.e2e.helpers.AxeOnEveryPage`) is real for every
way a journey reaches a page: a redirect, a form post answered by a redirect, a mailed
link (``goto``), a new tab (acted on, left alone, or closed), and a page left before it
has loaded. A document that is shown and left unchecked all the same fails the test.

Each test leads to the test-only page with an unlabelled field (tests/e2e/testapp.py) and
takes axe's report of it (clearing it, so that the teardown does not fail the test).
"""

from __future__ import annotations

import hashlib
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.helpers import AXE, AxeOnEveryPage
from tests.e2e.testapp import AXE_ROUTES_URL, AXE_VIOLATION_URL, SLOW_AXE_VIOLATION_URL

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]


def _take_the_violation(axe: AxeOnEveryPage, url: str) -> None:
    """axe reported the unlabelled field of ``url``; forget it (the test provoked it)."""
    assert any(v.startswith(f"{url}: label (critical) on input") for v in axe.violations), (
        axe.violations
    )
    axe.violations.clear()


def test_a_page_reached_by_a_redirect(
    page: Page, live_server: LiveServer, axe: AxeOnEveryPage
) -> None:
    page.goto(AXE_ROUTES_URL)
    page.get_by_role("link", name="Follow a redirect").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("without a label")
    # checked before the assertion looked at it
    assert axe.checked == [live_server(AXE_ROUTES_URL), live_server(AXE_VIOLATION_URL)]
    _take_the_violation(axe, live_server(AXE_VIOLATION_URL))


def test_a_page_reached_by_a_form_post(
    page: Page, live_server: LiveServer, axe: AxeOnEveryPage
) -> None:
    page.goto(AXE_ROUTES_URL)
    page.get_by_role("button", name="Post and be redirected").click()
    expect(page).to_have_url(live_server(AXE_VIOLATION_URL))
    page.goto(AXE_ROUTES_URL)  # left without any action on it: checked by ``goto``
    assert axe.checked == [live_server(AXE_ROUTES_URL), live_server(AXE_VIOLATION_URL)]
    _take_the_violation(axe, live_server(AXE_VIOLATION_URL))


def test_a_page_opened_in_a_new_tab(
    page: Page, live_server: LiveServer, axe: AxeOnEveryPage
) -> None:
    page.goto(AXE_ROUTES_URL)
    with page.expect_popup() as opened:
        page.get_by_role("link", name="Open in a new tab").click()
    expect(opened.value.get_by_role("heading", level=1)).to_contain_text("without a label")
    assert axe.checked[-1] == live_server(AXE_VIOLATION_URL)
    _take_the_violation(axe, live_server(AXE_VIOLATION_URL))


def test_a_new_tab_closed_without_a_look(
    page: Page, live_server: LiveServer, axe: AxeOnEveryPage
) -> None:
    page.goto(AXE_ROUTES_URL)
    with page.expect_popup() as opened:
        page.get_by_role("link", name="Open in a new tab").click()
    popup = opened.value
    popup.wait_for_load_state()
    popup.close()  # checked first
    assert axe.checked[-1] == live_server(AXE_VIOLATION_URL)
    _take_the_violation(axe, live_server(AXE_VIOLATION_URL))


def test_a_page_left_before_it_has_loaded(
    page: Page, live_server: LiveServer, axe: AxeOnEveryPage
) -> None:
    """Its load event waits 3 s for an image; the link is clicked at once. The check runs
    before the click all the same (the mark is set when <html> is parsed, not on load)."""
    page.goto(SLOW_AXE_VIOLATION_URL, wait_until="commit")
    page.get_by_role("link", name="Leave at once").click()
    expect(page).to_have_url(live_server(AXE_ROUTES_URL))
    assert page.evaluate("document.readyState") != "loading"
    assert live_server(SLOW_AXE_VIOLATION_URL) in axe.checked
    _take_the_violation(axe, live_server(SLOW_AXE_VIOLATION_URL))


def test_a_page_left_unchecked_is_reported(
    page: Page, live_server: LiveServer, axe: AxeOnEveryPage
) -> None:
    """A page that leaves by its own script before the test acts on it cannot be checked;
    the report says so rather than passing as if it had been."""
    page.goto(AXE_ROUTES_URL)
    page.evaluate(f"location.assign({AXE_VIOLATION_URL!r})")  # no action on the page first
    page.wait_for_url(live_server(AXE_VIOLATION_URL))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert axe.unchecked() == [live_server(AXE_ROUTES_URL)]
    report = axe.report()
    assert report is not None and f"{live_server(AXE_ROUTES_URL)}: shown but never" in report
    axe.shown.clear()
    _take_the_violation(axe, live_server(AXE_VIOLATION_URL))


def test_the_vendored_axe_core_is_the_one_its_readme_names() -> None:
    """The files are those whose checksums tests/e2e/vendor/README.md lists (npm's
    axe-core tarball), and the script says the version the table says."""
    readme = (AXE.parent.parent / "README.md").read_text(encoding="utf-8")
    for file in (AXE, AXE.parent / "LICENSE"):
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        assert f"{digest}  axe-core/{file.name}" in readme, file
    found = re.search(r"\| `axe-core/` \| .+? \| (\d+\.\d+\.\d+) \|", readme)
    assert found is not None
    assert AXE.read_text(encoding="utf-8").startswith(f"/*! axe v{found.group(1)}\n")
