"""Public sign-on without HTTP: request, confirm, moderate; what the public list may show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from signon.audit.models import AuditEvent
from signon.audit.operations import record_events
from signon.core.names import skeleton
from signon.core.tokens import hash_token
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import LetterStatus
from signon.signatures.approvals.operations import SignatureError, StaleRevisionError
from signon.signatures.listing import is_listed, listed_signature, signatory_list
from signon.signatures.models import (
    Invitation,
    InvitationStatus,
    Moderation,
    PublicSignRequest,
    Signature,
    SignatureEvent,
    SignatureSource,
    SignatureStatus,
)
from signon.signatures.public_signon import operations as ops
from tests.factories import add_revision, make_user
from tests.signatures.factories import (
    ask,
    ask_and_confirm,
    commit,
    make_public_letter,
    make_signature,
    sign_data,
)
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")


def _audit_actions(letter_id: int) -> list[str]:
    """The letter's chain, once the sign-ons' pending events are sealed into it (as the
    next event of the chain seals them: without a commit)."""
    record_events([], letter_id=letter_id)
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.letter_id == letter_id)
            .order_by(AuditEvent.seq)
        )
    )


def _events(signature: Signature) -> list[str]:
    return [
        e.action
        for e in db.session.scalars(
            select(SignatureEvent)
            .where(SignatureEvent.signature_id == signature.id)
            .order_by(SignatureEvent.id)
        )
    ]


# --- Asking to sign ----------------------------------------------------------------------------


def test_a_request_stores_the_form_hashed_token_shown_revision_and_mails_a_link(
    outbox: MailCatcher,
) -> None:
    letter = make_public_letter()
    head = letter.head()
    result = ask(letter, email="Amina@Friends.example.org ")
    assert result.outcome is ops.RequestOutcome.CREATED
    request = result.request
    assert request is not None and result.token
    assert request.email == "amina@friends.example.org"
    assert request.token_hash == hash_token(result.token) != result.token
    assert len(result.token) >= 40  # 256 bits, URL-safe
    assert request.revision_id == head.id
    assert request.client_ip == "192.0.2.7"
    assert request.data["name"] == "Friends of the Court"
    assert request.data["authority_confirmed"] is True
    assert request.confirmed_at is None and request.signature_id is None
    hours = (request.expires_at - request.created_at).total_seconds() / 3600
    assert hours == pytest.approx(ops.PUBLIC_REQUEST_HOURS, abs=0.01)
    # nothing is signed yet
    assert db.session.scalar(select(Signature).where(Signature.letter_id == letter.id)) is None
    assert "public_signature.requested" in _audit_actions(letter.id)

    assert len(outbox) == 0  # mail goes only after the commit
    commit()
    [message] = outbox.to("amina@friends.example.org")
    text = MailCatcher.text_of(message)
    assert f"/p/{letter.slug}/confirm/{result.token}" in text
    assert f"/p/{letter.slug}/confirm/{result.token}" in MailCatcher.html_of(message)
    assert "Friends of the Court" in text and "48 hours" in text
    assert letter.title in message["Subject"]


def test_the_same_address_and_organisation_again_resends_instead_of_duplicating(
    outbox: MailCatcher,
) -> None:
    letter = make_public_letter()
    first = ask(letter)
    again = ops.request_public_signature(
        letter,
        letter.head(),
        sign_data("  friends   of the COURT ", country="Uganda"),
        email="AMINA@friends.example.org",
    )
    assert again.outcome is ops.RequestOutcome.RESENT
    assert again.request is first.request
    assert again.token != first.token
    requests = db.session.scalars(
        select(PublicSignRequest).where(PublicSignRequest.letter_id == letter.id)
    ).all()
    assert len(requests) == 1
    assert requests[0].data["country"] == "Uganda"  # the newest details are kept
    # the first link no longer works; the new one does
    assert ops.find_request(letter, first.token) is None
    assert ops.find_request(letter, again.token) is requests[0]
    commit()
    assert len(outbox.to("amina@friends.example.org")) == 2
    assert "no longer works" in MailCatcher.text_of(outbox.to("amina@friends.example.org")[-1])


def test_another_organisation_from_the_same_address_is_another_request() -> None:
    letter = make_public_letter()
    ask(letter, "Friends of the Court")
    other = ask(letter, "Network of Friends")
    assert other.outcome is ops.RequestOutcome.CREATED
    count = len(
        db.session.scalars(
            select(PublicSignRequest).where(PublicSignRequest.letter_id == letter.id)
        ).all()
    )
    assert count == 2


def test_an_expired_request_is_not_resent_but_replaced() -> None:
    letter = make_public_letter()
    first = ask(letter)
    first.request.expires_at = utcnow() - timedelta(minutes=1)
    db.session.flush()
    second = ask(letter)
    assert second.outcome is ops.RequestOutcome.CREATED
    assert second.request is not first.request


def test_a_name_already_published_is_refused_with_a_clear_message(outbox: MailCatcher) -> None:
    letter = make_public_letter()
    make_signature(letter, "Friends of the Court")
    with pytest.raises(ops.AlreadyListedError, match="already listed"):
        ask(letter, "FRIENDS of the court")
    commit()
    assert len(outbox) == 0


@pytest.mark.parametrize(
    ("status", "moderation"),
    [
        (SignatureStatus.APPROVED, Moderation.PENDING),
        (SignatureStatus.WITHDRAWN, Moderation.NOT_NEEDED),
    ],
)
def test_a_name_taken_by_an_unpublished_signature_is_explained_by_mail_only(
    outbox: MailCatcher, status: SignatureStatus, moderation: Moderation
) -> None:
    letter = make_public_letter()
    existing = make_signature(letter, "Friends of the Court", status=status, moderation=moderation)
    result = ask(letter, "Friends of the Court", email="someone@else.example.net")
    assert result.outcome is ops.RequestOutcome.NOTIFIED
    assert result.request is None and result.token is None
    # nothing was created, and the existing signature is untouched
    assert db.session.scalar(select(PublicSignRequest)) is None
    db.session.refresh(existing)
    assert (existing.status, existing.moderation) == (status, moderation)
    commit()
    [message] = outbox.to("someone@else.example.net")
    assert "already recorded" in MailCatcher.text_of(message)
    assert existing.email not in MailCatcher.text_of(message)


def test_asking_again_after_confirming_says_it_is_under_review(outbox: MailCatcher) -> None:
    letter = make_public_letter()
    ask_and_confirm(letter)
    commit()
    outbox.clear()
    result = ask(letter)
    assert result.outcome is ops.RequestOutcome.NOTIFIED
    commit()
    assert "reviewing it" in MailCatcher.text_of(outbox.to("amina@friends.example.org")[-1])


def test_no_request_when_the_letter_is_not_public_or_closed() -> None:
    letter = make_public_letter(is_public=False)
    with pytest.raises(SignatureError, match="no public page"):
        ask(letter)
    letter.is_public = True
    letter.status = LetterStatus.CLOSED
    with pytest.raises(SignatureError, match="closed"):
        ask(letter)
    letter.status = LetterStatus.OPEN
    letter.deadline = utcnow() - timedelta(hours=1)
    with pytest.raises(SignatureError, match="closed"):
        ask(letter)
    assert db.session.scalar(select(PublicSignRequest)) is None


# --- Confirming ----------------------------------------------------------------------------------


def test_confirming_creates_a_pending_public_signature_and_a_private_link(
    outbox: MailCatcher,
) -> None:
    letter = make_public_letter()
    head = letter.head()
    result = ask(letter)
    signature = ops.confirm_public_request(result.request, head)

    assert signature.source == SignatureSource.PUBLIC
    assert signature.status == SignatureStatus.APPROVED
    assert signature.moderation == Moderation.PENDING
    assert not is_listed(signature)
    assert signature.revision_id == head.id
    assert signature.approved_sha256 == head.content_sha256
    assert signature.email == "amina@friends.example.org"
    assert signature.domain_verified  # friends.example.org matches the website
    assert signature.authority_confirmed
    assert (signature.name, signature.country, signature.representative_title) == (
        "Friends of the Court",
        "Kenya",
        "Director",
    )
    assert result.request.confirmed_at is not None
    assert result.request.signature_id == signature.id
    assert _events(signature) == ["approved", "public_request_confirmed"]

    invitation = signature.invitation
    assert invitation is not None
    assert invitation.email == "amina@friends.example.org"
    assert invitation.organisation_name == "Friends of the Court"
    assert invitation.status == InvitationStatus.APPROVED
    assert invitation.is_usable
    assert invitation.token_hash and invitation.link_nonce

    assert ops.request_problem(result.request) is ops.RequestProblem.USED
    with pytest.raises(ops.RequestLinkError) as used:
        ops.confirm_public_request(result.request, head)
    assert used.value.problem is ops.RequestProblem.USED

    commit()
    message = outbox.to("amina@friends.example.org")[-1]
    text = MailCatcher.text_of(message)
    assert "review" in text
    assert "/sign/" in text  # their private link


def test_the_private_invitation_expires_like_other_invitations(app) -> None:
    deadline = utcnow() + timedelta(days=3)
    letter = make_public_letter(deadline=deadline)
    assert ask_and_confirm(letter).invitation.expires_at == deadline
    undated = make_public_letter()
    expires = ask_and_confirm(undated).invitation.expires_at
    days = app.config["SIGNON"].invitation_days
    assert abs((expires - utcnow()) - timedelta(days=days)) < timedelta(minutes=1)


def test_an_address_invited_before_uses_its_invitation_when_unanswered() -> None:
    letter = make_public_letter()
    earlier = Invitation(
        letter=letter,
        organisation_name="Friends of the Court",
        email="amina@friends.example.org",
        link_nonce="x",
        token_hash="f" * 64,
        status=InvitationStatus.SENT,
        expires_at=utcnow() + timedelta(days=5),
    )
    db.session.add(earlier)
    db.session.flush()
    signature = ask_and_confirm(letter)
    assert signature.invitation is earlier
    assert earlier.status == InvitationStatus.APPROVED
    # the same address signing for a second organisation gets no second invitation
    second = ask_and_confirm(letter, "Network of Friends")
    assert second.invitation is None
    assert second.moderation == Moderation.PENDING


def test_expired_requests_cannot_be_confirmed() -> None:
    letter = make_public_letter()
    result = ask(letter)
    result.request.expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    with pytest.raises(ops.RequestLinkError) as expired:
        ops.confirm_public_request(result.request, letter.head())
    assert expired.value.problem is ops.RequestProblem.EXPIRED
    assert db.session.scalar(select(Signature)) is None
    assert db.session.scalar(select(Invitation)) is None


def test_tokens_are_found_only_within_their_letter() -> None:
    letter, other = make_public_letter(), make_public_letter()
    result = ask(letter)
    assert ops.find_request(letter, result.token) is result.request
    assert ops.find_request(other, result.token) is None
    assert ops.find_request(letter, result.token[:-1] + "x") is None
    assert ops.find_request(letter, "") is None
    assert ops.find_request(letter, "a" * 500) is None
    assert ops.request_problem(None) is ops.RequestProblem.UNKNOWN


def test_when_the_text_changed_they_must_confirm_the_current_one() -> None:
    letter = make_public_letter()
    shown = letter.head()
    result = ask(letter)
    newer = add_revision(letter, None, "First paragraph, changed.\n\nSecond paragraph.\n")
    with pytest.raises(StaleRevisionError):
        ops.confirm_public_request(result.request, shown)
    assert db.session.scalar(select(Signature)) is None
    assert db.session.scalar(select(Invitation)) is None  # nothing half-made
    assert ops.request_problem(result.request) is None  # the link still works

    signature = ops.confirm_public_request(result.request, newer)
    assert signature.revision_id == newer.id
    assert result.request.revision_id == shown.id  # what they were shown first is kept
    confirmed = [e for e in signature.events if e.action == "public_request_confirmed"]
    assert confirmed[0].details["shown_revision"] == shown.number


def test_confirming_never_takes_over_an_existing_signature() -> None:
    """Someone asks in the name of an organisation that answered meanwhile: refused."""
    letter = make_public_letter()
    result = ask(letter, "Friends of the Court", email="impostor@example.net")
    existing = make_signature(letter, "Friends of the Court", status=SignatureStatus.WITHDRAWN)
    with pytest.raises(ops.NameTakenError) as taken:
        ops.confirm_public_request(result.request, letter.head())
    assert taken.value.listed is False
    db.session.refresh(existing)
    assert existing.status == SignatureStatus.WITHDRAWN
    assert existing.email != "impostor@example.net"
    assert result.request.confirmed_at is None

    existing.status = SignatureStatus.APPROVED
    db.session.flush()
    with pytest.raises(ops.NameTakenError) as listed:
        ops.confirm_public_request(result.request, letter.head())
    assert listed.value.listed is True


def test_confirming_is_refused_once_signing_is_closed() -> None:
    letter = make_public_letter()
    result = ask(letter)
    letter.status = LetterStatus.CLOSED
    with pytest.raises(SignatureError, match="closed"):
        ops.confirm_public_request(result.request, letter.head())
    assert db.session.scalar(select(Signature)) is None


# --- The public list ------------------------------------------------------------------------------


def test_the_public_list_shows_only_published_signatures_in_print_order() -> None:
    letter = make_public_letter()
    make_signature(letter, "Zeta Alliance")
    make_signature(letter, "the Alpha Network")
    make_signature(
        letter, "Accepted Public", source=SignatureSource.PUBLIC, moderation=Moderation.ACCEPTED
    )
    make_signature(
        letter, "Pending Public", source=SignatureSource.PUBLIC, moderation=Moderation.PENDING
    )
    make_signature(
        letter, "Rejected Public", source=SignatureSource.PUBLIC, moderation=Moderation.REJECTED
    )
    make_signature(letter, "Declined Org", status=SignatureStatus.DECLINED)
    make_signature(letter, "Withdrawn Org", status=SignatureStatus.WITHDRAWN)
    other = make_public_letter()
    make_signature(other, "Another Letter's Signatory")

    listing = signatory_list(letter)
    names = [s.name for s in listing.signatures]
    assert names == ["Accepted Public", "the Alpha Network", "Zeta Alliance"]
    assert listing.count == 3
    assert all(is_listed(s) for s in listing.signatures)


def test_the_public_list_leaves_out_approvals_of_an_earlier_text() -> None:
    letter = make_public_letter()
    old = make_signature(letter, "Old Approver")
    add_revision(letter, None, "A substantive change.\n")  # unclassified: not editorial
    current = make_signature(letter, "Current Approver")
    listing = signatory_list(letter)
    assert listing.signatures == [current]
    assert [item.signature for item in listing.left_out] == [old]
    assert listing.awaiting_reconfirmation == 1


def test_published_signature_is_only_found_when_public() -> None:
    letter = make_public_letter()
    shown = make_signature(letter, "Shown")
    pending = make_signature(
        letter, "Pending", source=SignatureSource.PUBLIC, moderation=Moderation.PENDING
    )
    assert listed_signature(letter, shown.id) is shown
    assert listed_signature(letter, pending.id) is None
    assert listed_signature(make_public_letter(), shown.id) is None


def test_switching_the_public_page_is_audited() -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator, is_public=False)
    assert ops.set_public_page(letter, enabled=True, user=coordinator) is True
    assert letter.is_public
    assert ops.set_public_page(letter, enabled=True, user=coordinator) is False
    assert ops.set_public_page(letter, enabled=False, user=coordinator) is True
    assert not letter.is_public
    actions = _audit_actions(letter.id)
    assert actions.count("letter.public_page_enabled") == 1
    assert actions.count("letter.public_page_disabled") == 1


# --- Moderation -----------------------------------------------------------------------------------


def test_accepting_publishes_it_records_it_and_mails_the_signatory(outbox: MailCatcher) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    signature = ask_and_confirm(letter)
    commit()
    outbox.clear()
    ops.accept_signature(signature, moderator=coordinator)
    assert signature.moderation == Moderation.ACCEPTED
    assert is_listed(signature)
    assert [s.id for s in signatory_list(letter).signatures] == [signature.id]
    event = next(e for e in signature.events if e.action == "moderation_accepted")
    assert event.details["moderator"] == coordinator.email
    assert "signature.moderation_accepted" in _audit_actions(letter.id)
    commit()
    [message] = outbox.to("amina@friends.example.org")
    text = MailCatcher.text_of(message)
    assert "accepted" in text and f"/p/{letter.slug}" in text and "/sign/" in text

    with pytest.raises(SignatureError, match="already been moderated"):
        ops.accept_signature(signature, moderator=coordinator)


def test_a_signature_withdrawn_while_pending_cannot_be_accepted() -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    signature = ask_and_confirm(letter)
    signature.status = SignatureStatus.WITHDRAWN
    db.session.flush()
    with pytest.raises(SignatureError, match="withdrew"):
        ops.accept_signature(signature, moderator=coordinator)
    assert signature.moderation == Moderation.PENDING


def test_rejecting_keeps_it_hidden_with_its_reason_and_mails_nobody(outbox: MailCatcher) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    signature = ask_and_confirm(letter)
    commit()
    outbox.clear()
    ops.reject_signature(signature, moderator=coordinator, reason="Not an organisation")
    assert signature.moderation == Moderation.REJECTED
    assert not is_listed(signature)
    assert signatory_list(letter).count == 0
    event = next(e for e in signature.events if e.action == "moderation_rejected")
    assert event.details["reason"] == "Not an organisation"
    audit = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "signature.moderation_rejected")
    )
    assert audit.details["reason"] == "Not an organisation"
    assert audit.actor_id == coordinator.id
    commit()
    assert len(outbox) == 0
    with pytest.raises(SignatureError):
        ops.reject_signature(signature, moderator=coordinator, reason=None)


def test_merging_rejects_the_duplicate_and_records_the_target() -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    existing = make_signature(letter, "Friends of the Court (Kenya)", country="Kenya")
    duplicate = ask_and_confirm(letter)
    ops.merge_signature(duplicate, existing, moderator=coordinator, take_details=False)
    assert duplicate.moderation == Moderation.REJECTED
    assert not is_listed(duplicate)
    merged = next(e for e in duplicate.events if e.action == "merged")
    assert merged.details["merged_into"] == existing.id
    assert merged.details["merged_into_name"] == "Friends of the Court (Kenya)"
    assert merged.details["took_details"] is False
    # the existing signatory is unchanged, but its history says so
    assert existing.name == "Friends of the Court (Kenya)"
    assert existing.representative_name != "Amina Otieno"
    received = next(e for e in existing.events if e.action == "merge_received")
    assert received.details["merged_from"] == duplicate.id
    assert "signature.merged" in _audit_actions(letter.id)
    assert [s.name for s in signatory_list(letter).signatures] == [existing.name]


def test_merging_with_take_details_updates_the_existing_signatory() -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    existing = make_signature(
        letter,
        "Friends of the Court",
        country="Chile",
        email="old@friends.example.org",
        website="https://old.example.com",
    )
    # a visitor asks under a slightly different printed name (a new signature)
    duplicate = ask_and_confirm(letter, "Friends of the Court!")
    ops.merge_signature(duplicate, existing, moderator=coordinator, take_details=True)
    assert existing.name == "Friends of the Court!"
    assert existing.name_key == Signature.key_for("Friends of the Court!")
    assert existing.name_skeleton == skeleton("Friends of the Court!")
    assert existing.country == "Kenya"
    assert existing.representative_name == "Amina Otieno"
    assert existing.website == "https://friends.example.org"
    assert existing.email == "old@friends.example.org"  # who confirmed stays the same
    assert existing.domain_verified  # recomputed: old@friends.example.org vs the new website
    received = next(e for e in existing.events if e.action == "merge_received")
    assert received.details["before"]["country"] == "Chile"
    assert received.details["after"]["country"] == "Kenya"
    assert duplicate.name == "Friends of the Court!"  # both keep their own record


def test_merge_refuses_nonsense() -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    duplicate = ask_and_confirm(letter)
    rejected = make_signature(letter, "Rejected", moderation=Moderation.REJECTED)
    elsewhere = make_signature(make_public_letter(), "Elsewhere")
    with pytest.raises(SignatureError):
        ops.merge_signature(duplicate, duplicate, moderator=coordinator, take_details=False)
    with pytest.raises(SignatureError):
        ops.merge_signature(duplicate, elsewhere, moderator=coordinator, take_details=False)
    with pytest.raises(SignatureError, match="rejected"):
        ops.merge_signature(duplicate, rejected, moderator=coordinator, take_details=False)
    assert duplicate.moderation == Moderation.PENDING


def test_the_queue_lists_pending_ones_with_possible_duplicates() -> None:
    letter = make_public_letter()
    same_name = make_signature(letter, "The Friends of the Court.")
    same_site = make_signature(letter, "FotC Kenya", website="https://www.friends.example.org/x")
    same_domain = make_signature(letter, "FotC Uganda", email="x@friends.example.org")
    unrelated = make_signature(letter, "Unrelated", email="a@gmail.com")
    gmail_user = ask_and_confirm(letter, "Someone Else", email="b@gmail.com", website=None)
    pending = ask_and_confirm(letter)
    ask(letter, "Not confirmed yet", email="later@example.org")
    rejected = make_signature(
        letter, "Rejected One", source=SignatureSource.PUBLIC, moderation=Moderation.REJECTED
    )

    queue = ops.moderation_queue(letter)
    assert [item.signature for item in queue.items] == [gmail_user, pending]
    item = queue.items[1]
    found = {d.signature.id: d.reasons for d in item.duplicates}
    assert found == {
        same_name.id: ("similar name",),
        same_site.id: ("same website",),
        same_domain.id: ("same e-mail domain",),
    }
    # a shared mail provider is no sign of being the same organisation
    assert queue.items[0].duplicates == []
    assert unrelated not in [d.signature for d in queue.items[0].duplicates]
    assert queue.unconfirmed == 1
    # merge targets come from a search by the start of the name, never a rejected one
    assert ops.search_merge_targets(letter, gmail_user, "rejected") == []
    assert ops.search_merge_targets(letter, gmail_user, "  FRIENDS of ") == [pending]
    assert ops.search_merge_targets(letter, pending, "friends") == []
    assert ops.search_merge_targets(letter, pending, "fotc") == [same_site, same_domain]
    assert [s for s, _ in queue.recent] == [rejected]
