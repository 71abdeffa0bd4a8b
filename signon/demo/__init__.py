"""The demo letter: a real joint NGO statement (ICC Assembly of States Parties, 2017).

``flask --app signon seed-demo`` loads it with a drafting organisation, two accounts
and a few revisions, so that the history, diff and who-wrote-what pages show
something real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import select

from signon.accounts.models import Membership, Organisation, User
from signon.core.passwords import hash_password
from signon.core.permissions import OrganisationRole
from signon.db import utcnow
from signon.extensions import db
from signon.letters import operations
from signon.letters.models import Letter

DEMO_SLUG = "icc-cooperation-statement"
DEMO_PASSWORD = "signon-demo-2026"
COORDINATOR_EMAIL = "coordinator@example.org"
DRAFTER_EMAIL = "drafter@example.org"
DRAFTING_ORGANISATION = "Justice Coalition Drafting Group (demo)"


@dataclass(frozen=True)
class DemoResult:
    letter: Letter
    created: bool


def load_bundle() -> dict[str, Any]:
    text = resources.files("signon.demo").joinpath("icc-cooperation-statement.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def _paragraphs(body: str) -> list[str]:
    return [p for p in body.strip().split("\n\n") if p.strip()]


def _early_drafts(body: str) -> list[tuple[str, str, str]]:
    """Earlier versions of the statement: (author e-mail, change note, text), oldest first.

    The last one is the statement exactly as delivered.
    """
    final = _paragraphs(body)
    first = final[:3]
    first[0] = first[0].replace(
        "We wish to express our appreciation to the Assembly, and, in particular, to the",
        "We thank the Assembly and the",
    )
    first[1] = first[1].replace("We welcome the focus on asset recovery. ", "")
    second = [*final[:3], final[3], final[4]]
    second[0] = first[0]
    return [
        (
            COORDINATOR_EMAIL,
            "First draft: appreciation, asset recovery, commitment",
            "\n\n".join(first),
        ),
        (DRAFTER_EMAIL, "Add the section on non-cooperation", "\n\n".join(second)),
        (COORDINATOR_EMAIL, "Wording of the opening; recommendations to states parties", body),
    ]


def _account(email: str, name: str) -> User:
    user = User.find_by_email(email)
    if user is None:
        user = User(
            email=email,
            display_name=name,
            password_hash=hash_password(DEMO_PASSWORD),
            email_confirmed_at=utcnow(),
        )
        db.session.add(user)
        db.session.flush()
    return user


def _organisation(name: str, admin: User, member: User) -> Organisation:
    organisation = db.session.scalar(
        select(Organisation).where(Organisation.name_key == Organisation.key_for(name))
    )
    if organisation is None:
        organisation = Organisation(
            name=name,
            name_key=Organisation.key_for(name),
            short_name="JCDG",
            country="Netherlands",
            website="https://example.org",
            created_by_id=admin.id,
        )
        db.session.add(organisation)
        db.session.add(
            Membership(user=admin, organisation=organisation, role=OrganisationRole.ADMIN)
        )
        db.session.add(
            Membership(user=member, organisation=organisation, role=OrganisationRole.MEMBER)
        )
        db.session.flush()
    return organisation


def seed_demo() -> DemoResult:
    """Load the demo letter unless it is there already. Adds and flushes; the caller commits."""
    existing = db.session.scalar(select(Letter).where(Letter.slug == DEMO_SLUG))
    if existing is not None:
        return DemoResult(existing, created=False)
    bundle = load_bundle()
    coordinator = _account(COORDINATOR_EMAIL, "Demo Coordinator")
    drafter = _account(DRAFTER_EMAIL, "Demo Drafter")
    organisation = _organisation(DRAFTING_ORGANISATION, coordinator, drafter)
    drafts = _early_drafts(bundle["body_markdown"])
    authors = {COORDINATOR_EMAIL: coordinator, DRAFTER_EMAIL: drafter}
    letter = operations.create_letter(
        coordinator,
        title=bundle["title"],
        addressee=bundle["addressee"],
        language=bundle["language"],
        body=drafts[0][2],
        drafting_organisation=organisation,
        slug=DEMO_SLUG,
    )
    for email, note, text in drafts[1:]:
        head = letter.head()
        assert head is not None
        operations.save_revision(
            letter, authors[email], base=head, title=bundle["title"], body=text, change_note=note
        )
    return DemoResult(letter, created=True)
