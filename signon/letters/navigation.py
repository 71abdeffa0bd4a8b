"""A letter's navigation: four groups by what the person is doing, each page shown only to
the roles that can open it.

The groups (Text, Signatures, Publish, Settings) are the top row, at most
:data:`MAX_GROUPS`; the pages of the group the reader is in are the row below it, at
most :data:`MAX_PAGES` each. Who sees a page is not decided here: each page names its
route's endpoint, and the action that route's ``@letter_route`` checks
(:func:`signon.letters.guard.guard_of`) is asked of the reader's role through
:func:`signon.core.permissions.letter_role_allows`, the one table of who may do what. A
group with no page for the reader is not shown; a group's own link opens its first page
the reader may open.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for

from signon.core.permissions import Action, TeamRole, letter_role_allows
from signon.letters.guard import guard_of
from signon.letters.models import Letter

MAX_GROUPS = 6
MAX_PAGES = 6


@dataclass(frozen=True)
class Page:
    """A page of the letter: the ``tab`` its template sets, its label and its route."""

    key: str
    label: str
    endpoint: str
    #: shown in this page's place to a reader who may not open it but may open this one
    #: (a viewer, who may not edit, follows the live text read only)
    otherwise: Page | None = None


@dataclass(frozen=True)
class Group:
    label: str
    pages: tuple[Page, ...]


GROUPS: tuple[Group, ...] = (
    Group(
        "Text",
        (
            Page("show", "Letter", "letters.show"),
            Page("edit", "Edit", "letters.edit", Page("live", "Live text", "drafting.live_follow")),
            Page("suggestions", "Suggestions", "drafting.suggestions"),
            Page("history", "History", "letters.history"),
            Page("diff", "Compare versions", "letters.diff"),
            Page("authorship", "Who wrote what", "letters.authorship"),
        ),
    ),
    Group(
        "Signatures",
        (
            Page("signatories", "Who has signed", "signatures.dashboard"),
            Page("invitations", "Invitations", "signatures.invitations"),
            Page("moderation", "Public sign-on", "signatures.moderation"),
            Page("status", "Status and deadline", "signatures.lifecycle"),
            # editorial or substantive: whether approvals carry forward
            Page("changes", "Changes to classify", "signatures.lifecycle_changes"),
        ),
    ),
    Group(
        "Publish",
        (
            Page("export", "PDF and Word", "exports.pdf_settings"),
            Page("signatory_list", "Downloads (CSV, JSON)", "exports.signatory_list_page"),
        ),
    ),
    Group(
        "Settings",
        (
            Page("settings", "Letter settings", "letters.settings"),
            Page("team", "Team", "letters.team"),
            Page("api-tokens", "API access", "api_admin.token_list"),
            Page("audit", "Audit log", "audit.letter_log"),
            Page("mail", "Mail problems", "mail.problems"),
        ),
    ),
)


def _labels() -> dict[str, str]:
    labels = {}
    for group in GROUPS:
        for page in group.pages:
            labels[page.key] = page.label
            if page.otherwise is not None:
                labels[page.otherwise.key] = page.otherwise.label
    return labels


#: Each page's name, by its ``tab``: the link's words are the page's title, so that the
#: name a reader clicks is the name of the page they land on (browser tab, screen reader).
PAGE_LABELS = _labels()


def page_label(tab: str) -> str:
    """The name of the letter's page ``tab`` (a template's ``{% block title %}``)."""
    return PAGE_LABELS[tab]


@dataclass(frozen=True)
class Link:
    label: str
    href: str
    current: bool


@dataclass(frozen=True)
class Section:
    """A group as one reader sees it: its link, and its pages when the reader is in it."""

    label: str
    href: str
    current: bool
    links: tuple[Link, ...]


def page_action(endpoint: str) -> Action:
    """The action the page's route checks (every page of the navigation is guarded)."""
    action = guard_of(current_app.view_functions[endpoint])
    if action is None:
        raise LookupError(f"{endpoint} is not a @letter_route: the navigation cannot show it")
    return action


def _page_for(role: TeamRole | None, page: Page) -> Page | None:
    """``page``, or what the reader gets in its place, or None."""
    if letter_role_allows(role, page_action(page.endpoint)):
        return page
    return _page_for(role, page.otherwise) if page.otherwise is not None else None


def letter_navigation(letter: Letter, role: TeamRole | None, tab: str | None) -> list[Section]:
    """The sections ``role`` may use on ``letter``; ``tab`` is the page being shown."""
    sections = []
    for group in GROUPS:
        pages = [shown for page in group.pages if (shown := _page_for(role, page)) is not None]
        if not pages:
            continue
        current = any(page.key == tab for page in pages)
        links = tuple(
            Link(page.label, url_for(page.endpoint, slug=letter.slug), page.key == tab)
            for page in pages
        )
        sections.append(Section(group.label, links[0].href, current, links))
    return sections
