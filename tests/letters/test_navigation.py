"""A letter's navigation, walked as each role: it links every page of the letter that role
can open (a GET of a ``/letters/<slug>/...`` route, answered 200 with the letter's
header) and no other; at most six groups, at most six pages in each.

The walk starts on the letter's page and follows every link of the navigation (a group's
link shows that group's pages), so a page that exists but is reachable from no menu fails
here, as does a link to a page the role is refused (403/404).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient

from signon.core.permissions import TeamRole
from signon.letters.guard import guard_of
from signon.letters.models import Letter
from signon.letters.navigation import GROUPS, MAX_GROUPS, MAX_PAGES
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")

NAV = re.compile(r'<nav aria-label="Letter"[^>]*>(.*?)</nav>', re.S)
HREF = re.compile(r'href="([^"]+)"')
GROUP = re.compile(r'<li class="nav-group[^"]*">\s*<a [^>]*>([^<]+)</a>')


def _nav_links(html: str) -> set[str]:
    found = NAV.search(html)
    return {urlsplit(href).path for href in HREF.findall(found.group(1))} if found else set()


def _letter_pages(app: Flask, letter: Letter) -> list[str]:
    """Every GET route of the letter that needs nothing but its slug."""
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.arguments != {"slug"} or "GET" not in (rule.methods or ()):
            continue
        if rule.websocket:
            continue  # the live-editing socket: opened by the editor's script, not a page
        if guard_of(app.view_functions[rule.endpoint]) is None:
            continue  # the public pages and the API: not the team's navigation
        paths.append(rule.build({"slug": letter.slug})[1])  # type: ignore[index]
    return sorted(paths)


def _walk(client: FlaskClient, letter: Letter) -> set[str]:
    """Every page the navigation links, group after group, from the letter's page."""
    start = f"/letters/{letter.slug}/"
    seen, queue, linked = {start}, [start], set()
    while queue:
        html = client.get(queue.pop()).get_data(as_text=True)
        for path in _nav_links(html):
            linked.add(path)
            if path not in seen:
                seen.add(path)
                queue.append(path)
    return linked


def _public_letter_seen_as(client: FlaskClient, role: TeamRole) -> Letter:
    """A public letter, with ``client`` logged in as a member of its team in ``role``."""
    coordinator = make_user()
    letter = make_letter(coordinator, is_public=True)
    member = coordinator
    if role != TeamRole.COORDINATOR:
        member = make_user()
        add_team_member(letter, role=role, user=member)
    login(client, member)
    return letter


@pytest.mark.parametrize("role", list(TeamRole))
def test_the_navigation_links_exactly_the_pages_the_role_can_open(
    app: Flask, client: FlaskClient, role: TeamRole
) -> None:
    letter = _public_letter_seen_as(client, role)
    can_open = set()
    for path in _letter_pages(app, letter):
        response = client.get(path)
        body = response.get_data()
        response.close()  # a streamed download keeps its request until closed
        html = body.decode() if response.mimetype == "text/html" else ""
        if response.status_code == 200 and NAV.search(html):
            can_open.add(path)
        else:  # refused, or not a page of the letter (a download, a fragment, a redirect)
            assert response.status_code in (200, 302, 403, 404), (path, response.status_code)
    linked = _walk(client, letter)
    assert linked == can_open, {"not linked": can_open - linked, "refused": linked - can_open}
    # a refused page is not offered: nothing linked answers anything but the page
    html = client.get(f"/letters/{letter.slug}/").get_data(as_text=True)
    groups = GROUP.findall(NAV.search(html).group(1))  # type: ignore[union-attr]
    assert 1 <= len(groups) <= MAX_GROUPS, groups


def test_the_groups_are_what_a_person_does_and_short() -> None:
    assert [group.label for group in GROUPS] == ["Text", "Signatures", "Publish", "Settings"]
    assert len(GROUPS) <= MAX_GROUPS
    assert all(1 <= len(group.pages) <= MAX_PAGES for group in GROUPS)
    labels = [page.label for group in GROUPS for page in group.pages]
    assert len(labels) == len(set(labels))  # no two pages share a name
    keys = [page.key for group in GROUPS for page in group.pages]
    assert len(keys) == len(set(keys))


def test_a_viewer_sees_no_coordination_group(client: FlaskClient) -> None:
    letter = make_letter(make_user())
    viewer = make_user()
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    login(client, viewer)
    html = client.get(f"/letters/{letter.slug}/").get_data(as_text=True)
    nav = NAV.search(html)
    assert nav is not None
    assert "Invitations" not in nav.group(1) and "Audit log" not in nav.group(1)
    assert f"/letters/{letter.slug}/edit" not in nav.group(1)


TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def _labels_by_path(app: Flask, letter: Letter) -> dict[str, str]:
    with app.test_request_context():
        return {
            url_for(shown.endpoint, slug=letter.slug): shown.label
            for group in GROUPS
            for page in group.pages
            for shown in (page, page.otherwise)
            if shown is not None
        }


@pytest.mark.parametrize("role", [TeamRole.COORDINATOR, TeamRole.VIEWER])
def test_each_page_is_called_what_its_link_says(
    app: Flask, client: FlaskClient, role: TeamRole
) -> None:
    """The words a reader clicks are the page's title (the browser tab, the first thing a
    screen reader says): no "Who has signed" opening "Signatories" next to a "Signatory
    list" elsewhere, the confusable pair of issue 12."""
    letter = _public_letter_seen_as(client, role)
    labels = _labels_by_path(app, letter)
    titled = {}
    for path in sorted(_walk(client, letter)):
        html = client.get(path).get_data(as_text=True)
        titled[labels[path]] = TITLE.search(html).group(1)  # type: ignore[union-attr]
    for label, title in titled.items():
        expected = letter.title if label == "Letter" else f"{label} · {letter.title}"
        assert title == f"{expected} · Signon", (label, title)
    if role == TeamRole.VIEWER:
        assert {"Live text", "Team"} <= set(titled)
    else:
        assert {"Who has signed", "Downloads (CSV, JSON)", "Status and deadline"} <= set(titled)


def test_the_main_navigation_marks_the_account_page(client: FlaskClient) -> None:
    user = make_user()
    login(client, user)
    html = client.get("/account").get_data(as_text=True)
    assert re.search(r'<a href="/account" aria-current="page">', html), html[:2000]
    assert (
        'aria-current="page"'
        not in client.get("/letters/").get_data(as_text=True).split('href="/account"')[1][:40]
    )
