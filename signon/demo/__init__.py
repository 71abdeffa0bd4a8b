"""The demo letter: a real joint NGO statement (ICC Assembly of States Parties, 2017).

``flask --app signon seed-demo`` loads it with a drafting organisation, two accounts
and a few revisions, so that the history, diff and who-wrote-what pages show
something real; its eleven signatories approving the current text; and four
invitations to fictional organisations in the other states (awaiting
re-confirmation, declined, opened, just sent), so that the signatories'
dashboard shows them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

from flask import current_app
from sqlalchemy import select

from signon.accounts.models import Membership, Organisation, User
from signon.audit.operations import record_event
from signon.core.passwords import hash_password
from signon.core.permissions import OrganisationRole
from signon.db import utcnow
from signon.exports.bundles.operations import import_signatories
from signon.extensions import db
from signon.letters import notices, operations
from signon.letters.models import ChangeKind, Letter, Revision
from signon.signatures.approvals import operations as signature_operations
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations.links import assign_new_link
from signon.signatures.models import Invitation, InvitationStatus, SignatoryKind

DEMO_SLUG = "icc-cooperation-statement"
DEMO_PASSWORD = "signon-demo-2026"
COORDINATOR_EMAIL = "coordinator@example.org"
DRAFTER_EMAIL = "drafter@example.org"
DRAFTING_ORGANISATION = "Justice Coalition Drafting Group (demo)"

#: Fictional organisations invited to the demo letter, one per remaining state.
RECONFIRMING = SignatoryDetails(
    name="Centre for Victims' Rights (demo)",
    kind=SignatoryKind.NGO,
    country="Kenya",
    representative_name="Amani Otieno",
    representative_title="Executive Director",
    website="https://example.org/victims-rights-centre",
    authority_confirmed=True,
)
RECONFIRMING_EMAIL = "victims-rights@example.org"
DECLINING_NAME = "Legal Aid Foundation (demo)"
DECLINE_REASON = (
    "Our board cannot meet before the Assembly; we support the statement's aims "
    "but cannot sign without its approval."
)
OPENING_NAME = "Example Rights Network (demo)"
SENT_NAME = "Transitional Justice Institute (demo)"
EXTRA_INVITATIONS = (
    (RECONFIRMING.name, RECONFIRMING_EMAIL),
    (DECLINING_NAME, "legal-aid@example.org"),
    (OPENING_NAME, "rights-network@example.org"),
    (SENT_NAME, "tj-institute@example.org"),
)


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


def _classify(revision: Revision, kind: ChangeKind, coordinator: User) -> None:
    revision.change_kind = kind
    revision.classified_by_id = coordinator.id
    revision.classified_at = utcnow()
    record_event(
        "revision.classified",
        letter_id=revision.letter_id,
        actor=coordinator,
        revision=revision.number,
        change_kind=kind.value,
    )


def _invite(letter: Letter, organisation_name: str, email: str, coordinator: User) -> Invitation:
    """An invitation as if it had been sent just now (no mail goes out from the demo)."""
    days = current_app.config["SIGNON"].invitation_days
    invitation = Invitation(
        letter_id=letter.id,
        organisation_name=organisation_name,
        email=email,
        status=InvitationStatus.SENT,
        created_by_id=coordinator.id,
        expires_at=letter.deadline or utcnow() + timedelta(days=days),
        sent_at=utcnow(),
        send_attempts=1,
    )
    assign_new_link(invitation)
    record_event(
        "invitation.created",
        letter_id=letter.id,
        actor=coordinator,
        organisation=organisation_name,
        email=email,
    )
    return invitation


def seed_demo() -> DemoResult:
    """Load the demo letter unless it is there already. Adds and flushes; the caller commits.

    The statement is saved in three revisions (both later ones classified
    substantive). The eleven organisations of the original statement approve the
    current text (revision 3), recorded as imported, through the bundle import's
    code path. Four invitations show the other states: one organisation approved
    revision 2 and awaits re-confirmation, one declined with a reason, one opened
    the link, one was just sent.
    """
    existing = db.session.scalar(select(Letter).where(Letter.slug == DEMO_SLUG))
    if existing is not None:
        return DemoResult(existing, created=False)
    with notices.mail_muted():  # its notices are history: in the feed, not in anyone's mail
        return DemoResult(_load_demo_letter(), created=True)


def _load_demo_letter() -> Letter:
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
    invitations = {
        name: _invite(letter, name, email, coordinator) for name, email in EXTRA_INVITATIONS
    }
    for number, (email, note, text) in enumerate(drafts[1:], start=2):
        head = letter.head()
        assert head is not None
        saved = operations.save_revision(
            letter, authors[email], base=head, title=bundle["title"], body=text, change_note=note
        )
        assert saved.revision is not None and saved.revision.number == number
        _classify(saved.revision, ChangeKind.SUBSTANTIVE, coordinator)
        if number == 2:
            # This one approved revision 2; revision 3 changed the substance after it.
            signature_operations.approve(
                letter,
                saved.revision,
                RECONFIRMING,
                email=RECONFIRMING_EMAIL,
                invitation=invitations[RECONFIRMING.name],
            )
    head = letter.head()
    assert head is not None
    import_signatories(letter, bundle["signatories"])
    declining = invitations[DECLINING_NAME]
    signature_operations.decline(letter, declining, reason=DECLINE_REASON, email=declining.email)
    opened = invitations[OPENING_NAME]
    opened.status = InvitationStatus.OPENED
    opened.opened_at = opened.last_activity_at = utcnow()
    opened.last_seen_revision_id = head.id
    db.session.flush()
    return letter
