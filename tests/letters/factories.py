"""Letters factories: letters, revisions and team members, built directly (add and flush,
never commit)."""

from __future__ import annotations

from typing import Any

from signon.accounts.models import Organisation, User
from signon.core.permissions import TeamRole
from signon.db import utcnow
from signon.extensions import db
from signon.letters.audit_records import REVISION_CREATED, REVISION_SAVED, record_revision
from signon.letters.models import Letter, Revision, TeamMember
from tests.accounts.factories import _counter


def add_team_member(
    letter: Letter,
    *,
    role: TeamRole,
    user: User | None = None,
    organisation: Organisation | None = None,
    drafting: bool = False,
) -> TeamMember:
    member = TeamMember(
        letter=letter,
        user=user,
        organisation=organisation,
        role=role,
        is_drafting_organisation=drafting,
    )
    db.session.add(member)
    db.session.flush()
    return member


def add_revision(
    letter: Letter,
    author: User | None,
    body: str,
    *,
    title: str | None = None,
    note: str = "",
) -> Revision:
    head = letter.head()
    title = title if title is not None else (head.title if head else letter.title)
    revision = Revision(
        letter=letter,
        number=(head.number + 1) if head else 1,
        parent_id=head.id if head else None,
        base_id=head.id if head else None,
        author=author,
        title=title,
        body_markdown=body,
        content_sha256=Revision.hash_content(title, body),
        change_note=note,
    )
    db.session.add(revision)
    letter.title = title
    letter.last_activity_at = utcnow()
    db.session.flush()
    # As every revision the app creates: its hash is vouched for in the audit chain.
    record_revision(revision, REVISION_SAVED if head else REVISION_CREATED, actor=author)
    return revision


def make_letter(
    coordinator: User | None = None,
    *,
    title: str | None = None,
    body: str = "First paragraph.\n\nSecond paragraph.\n",
    slug: str | None = None,
    **fields: Any,
) -> Letter:
    n = next(_counter)
    title = title or f"Letter {n}"
    letter = Letter(slug=slug or f"letter-{n}", title=title, created_by=coordinator, **fields)
    db.session.add(letter)
    db.session.flush()
    if coordinator is not None:
        add_team_member(letter, role=TeamRole.COORDINATOR, user=coordinator)
    add_revision(letter, coordinator, body, title=title, note="First draft")
    return letter
