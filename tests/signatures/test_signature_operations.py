"""The signature state machine: approve, decline, withdraw
(signon.signatures.approvals.operations).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from signon.audit.models import AuditEvent
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus
from signon.signatures.approvals import operations
from signon.signatures.approvals.operations import (
    SignatoryDetails,
    SignatureError,
    StaleRevisionError,
    decline,
    domain_matches,
    withdraw,
)
from signon.signatures.listing import is_listed
from signon.signatures.models import (
    InvitationStatus,
    Moderation,
    Signature,
    SignatureEvent,
    SignatureSource,
    SignatureStatus,
)
from tests.factories import add_revision, make_letter, make_user
from tests.signatures.factories import approve_through, make_invitation

pytestmark = pytest.mark.usefixtures("app_context")


def _letter(**fields: Any) -> Letter:
    return make_letter(make_user(), body="We call on the States.\n", **fields)


def _events(signature: Signature) -> list[str]:
    return list(
        db.session.scalars(
            select(SignatureEvent.action)
            .where(SignatureEvent.signature_id == signature.id)
            .order_by(SignatureEvent.id)
        )
    )


def _audit(letter, action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.letter_id == letter.id, AuditEvent.action == action)
        )
    )


# --- approve -------------------------------------------------------------------------------


def test_approve_records_the_exact_revision_and_who_confirmed() -> None:
    letter = _letter()
    invitation = make_invitation(letter, organisation_name="Amnesty International")
    head = letter.head()
    signature = approve_through(invitation, website="https://www.amnesty.example.org")
    assert signature.status == SignatureStatus.APPROVED
    assert signature.revision_id == head.id
    assert signature.approved_sha256 == head.content_sha256
    assert signature.approved_at is not None
    assert signature.email == invitation.email
    assert signature.name_key == "amnesty international"
    assert signature.source == SignatureSource.INVITATION
    assert signature.moderation == Moderation.NOT_NEEDED and is_listed(signature)
    assert invitation.status == InvitationStatus.APPROVED
    assert invitation.last_seen_revision_id == head.id
    assert _events(signature) == ["approved"]
    (event,) = _audit(letter, "signature.approved")
    assert event.details["revision"] == 1 and event.details["sha256"] == head.content_sha256


def test_approving_twice_is_idempotent() -> None:
    letter = _letter()
    invitation = make_invitation(letter)
    first = approve_through(invitation)
    second = approve_through(invitation)
    assert second.id == first.id
    assert _events(first) == ["approved"], "a double submission writes no second event"
    assert len(_audit(letter, "signature.approved")) == 1
    count = db.session.scalar(
        select(db.func.count()).select_from(Signature).where(Signature.letter_id == letter.id)
    )
    assert count == 1


def test_approving_again_after_a_new_revision_moves_the_approval() -> None:
    letter = _letter()
    invitation = make_invitation(letter)
    signature = approve_through(invitation)
    r2 = add_revision(letter, None, "We call upon the States.\n")
    again = approve_through(invitation)
    assert again.id == signature.id
    assert again.revision_id == r2.id and again.approved_sha256 == r2.content_sha256
    assert _events(signature) == ["approved", "approved"]


def test_a_stale_revision_is_refused() -> None:
    letter = _letter()
    invitation = make_invitation(letter)
    first = letter.head()
    add_revision(letter, None, "We call upon the States.\n")
    with pytest.raises(StaleRevisionError):
        operations.approve(
            letter,
            first,
            SignatoryDetails(name="Late NGO"),
            email=invitation.email,
            invitation=invitation,
        )
    assert invitation.signature is None
    assert invitation.status == InvitationStatus.SENT


@pytest.mark.parametrize(
    "fields",
    [
        {"status": LetterStatus.CLOSED},
        {"status": LetterStatus.PUBLISHED},
        {"deadline": utcnow() - timedelta(minutes=1)},
    ],
    ids=["closed", "published", "past the deadline"],
)
def test_signing_a_closed_letter_is_refused(fields) -> None:
    letter = _letter(**fields)
    invitation = make_invitation(letter, expires_at=utcnow() + timedelta(days=1))
    with pytest.raises(SignatureError, match="closed"):
        approve_through(invitation)
    with pytest.raises(SignatureError, match="closed"):
        decline(letter, invitation, reason=None, email=invitation.email)
    assert invitation.signature is None


def test_imports_may_sign_a_closed_letter_and_an_older_revision() -> None:
    letter = _letter(status=LetterStatus.CLOSED)
    first = letter.head()
    add_revision(letter, None, "We call upon the States.\n")
    signature = operations.approve(
        letter,
        first,
        SignatoryDetails(name="Imported NGO"),
        email=None,
        source=SignatureSource.IMPORT,
        require_current=False,
    )
    assert signature.revision_id == first.id and signature.email is None


def test_open_letters_accept_signatures() -> None:
    letter = _letter(status=LetterStatus.OPEN, deadline=utcnow() + timedelta(days=1))
    assert approve_through(make_invitation(letter)).status == SignatureStatus.APPROVED


def test_a_name_is_required() -> None:
    letter = _letter()
    invitation = make_invitation(letter)
    with pytest.raises(SignatureError, match="name"):
        approve_through(invitation, name="   ")


def test_the_same_name_through_another_invitation_is_a_second_signature() -> None:
    letter = _letter()
    first = make_invitation(letter)
    second = make_invitation(letter)
    original = approve_through(first, name="Amnesty International")
    other = approve_through(second, name="  amnesty   INTERNATIONAL ")
    assert other.id != original.id and other.invitation_id == second.id
    assert other.name == "amnesty INTERNATIONAL" and other.name_key == original.name_key
    db.session.refresh(original)
    assert original.email == first.email and original.invitation_id == first.id
    assert original.name == "Amnesty International"


@pytest.mark.parametrize("source", [SignatureSource.PUBLIC, SignatureSource.IMPORT])
def test_an_approval_without_invitation_never_adopts_a_signature_by_its_name(
    source: SignatureSource,
) -> None:
    letter = _letter()
    invitation = make_invitation(letter)
    original = approve_through(invitation, name="Amnesty International")
    newcomer = operations.approve(
        letter,
        letter.head(),
        SignatoryDetails(name="Amnesty International", representative_name="Someone else"),
        email="attacker@elsewhere.example.com",
        source=source,
        moderation=Moderation.PENDING,
    )
    assert newcomer.id != original.id and newcomer.invitation_id is None
    db.session.refresh(original)
    assert original.email == invitation.email and original.representative_name is None
    assert original.source == SignatureSource.INVITATION


# --- decline ---------------------------------------------------------------------------------


def test_decline_keeps_a_row_with_the_reason() -> None:
    letter = _letter()
    invitation = make_invitation(letter, organisation_name="Careful NGO")
    signature = decline(letter, invitation, reason="Outside our mandate", email=invitation.email)
    assert signature.status == SignatureStatus.DECLINED
    assert signature.decline_reason == "Outside our mandate"
    assert signature.name == "Careful NGO" and not is_listed(signature)
    assert invitation.status == InvitationStatus.DECLINED
    assert _events(signature) == ["declined"]
    assert len(_audit(letter, "signature.declined")) == 1


def test_declining_twice_is_idempotent() -> None:
    letter = _letter()
    invitation = make_invitation(letter)
    first = decline(letter, invitation, reason=None, email=invitation.email)
    second = decline(letter, invitation, reason="again", email=invitation.email)
    assert second.id == first.id
    assert _events(first) == ["declined"]
    assert first.decline_reason is None


def test_a_declined_organisation_may_still_approve() -> None:
    letter = _letter()
    invitation = make_invitation(letter)
    declined = decline(letter, invitation, reason=None, email=invitation.email)
    approved = approve_through(invitation, name="Changed Mind NGO")
    assert approved.id == declined.id
    assert approved.status == SignatureStatus.APPROVED
    assert approved.name_key == "changed mind ngo"
    assert _events(approved) == ["declined", "approved"]


def test_declines_of_two_invitations_with_the_same_name_do_not_collide() -> None:
    letter = _letter()
    one = make_invitation(letter, organisation_name="Same Name")
    two = make_invitation(letter, organisation_name="Same Name")
    first = decline(letter, one, reason=None, email=one.email)
    second = decline(letter, two, reason=None, email=two.email)
    assert first.id != second.id


# --- withdraw --------------------------------------------------------------------------------


def test_withdraw_keeps_the_history() -> None:
    letter = _letter()
    invitation = make_invitation(letter)
    signature = approve_through(invitation)
    approved_revision = signature.revision_id
    withdraw(signature, reason="Board decision", email=invitation.email)
    assert signature.status == SignatureStatus.WITHDRAWN
    assert signature.withdrawn_at is not None and signature.withdraw_reason == "Board decision"
    assert signature.revision_id == approved_revision, "what they had approved stays on record"
    assert not is_listed(signature)
    assert invitation.status == InvitationStatus.WITHDRAWN
    assert _events(signature) == ["approved", "withdrawn"]
    (event,) = _audit(letter, "signature.withdrawn")
    assert event.details["reason"] == "Board decision"


def test_withdrawing_is_possible_after_signing_closed() -> None:
    letter = _letter()
    invitation = make_invitation(letter)
    signature = approve_through(invitation)
    letter.status = LetterStatus.CLOSED
    db.session.flush()
    withdraw(signature, reason=None, email=invitation.email)
    assert signature.status == SignatureStatus.WITHDRAWN


def test_only_an_approval_can_be_withdrawn() -> None:
    letter = _letter()
    invitation = make_invitation(letter)
    signature = approve_through(invitation)
    withdraw(signature, reason=None, email=invitation.email)
    with pytest.raises(SignatureError):
        withdraw(signature, reason=None, email=invitation.email)
    declined = decline(letter, make_invitation(letter), reason=None, email="x@example.org")
    with pytest.raises(SignatureError):
        withdraw(declined, reason=None, email="x@example.org")
    assert _events(signature) == ["approved", "withdrawn"]


def test_approving_again_after_withdrawing() -> None:
    letter = _letter()
    invitation = make_invitation(letter)
    signature = approve_through(invitation)
    withdraw(signature, reason=None, email=invitation.email)
    again = approve_through(invitation)
    assert again.id == signature.id
    assert again.status == SignatureStatus.APPROVED and again.withdrawn_at is None
    assert _events(signature) == ["approved", "withdrawn", "approved"]
    assert invitation.status == InvitationStatus.APPROVED


# --- domain verification ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "website", "expected"),
    [
        ("jo@amnesty.org", "https://amnesty.org", True),
        ("jo@amnesty.org", "https://www.amnesty.org/en/", True),
        ("jo@amnesty.org", "www.amnesty.org", True),
        ("jo@amnesty.org", "amnesty.org", True),
        ("Jo@AMNESTY.ORG", "HTTPS://Amnesty.Org", True),
        ("jo@uk.amnesty.org", "https://amnesty.org", True),  # the mail of a section
        ("jo@amnesty.org", "https://uk.amnesty.org", True),  # a section's website
        ("jo@amnesty.org.", "https://amnesty.org", True),
        ("jo@notamnesty.org", "https://amnesty.org", False),
        ("jo@amnesty.org.evil.example", "https://amnesty.org", False),
        ("jo@gmail.com", "https://amnesty.org", False),
        ("jo@amnesty.org", None, False),
        ("jo@amnesty.org", "", False),
        ("jo@amnesty.org", "https://", False),
        (None, "https://amnesty.org", False),
        ("not-an-email", "https://amnesty.org", False),
    ],
)
def test_domain_matches(email: str | None, website: str | None, expected: bool) -> None:
    assert domain_matches(email, website) is expected


def test_approval_marks_the_domain_verified_or_not() -> None:
    letter = _letter()
    verified = approve_through(
        make_invitation(letter, email="jo@justice.example.org"),
        website="https://www.justice.example.org",
    )
    unverified = approve_through(
        make_invitation(letter, email="jo@gmail.example.com"), website="https://justice2.org"
    )
    no_site = approve_through(make_invitation(letter, email="jo@justice3.example.org"))
    assert verified.domain_verified
    assert not unverified.domain_verified
    assert not no_site.domain_verified
