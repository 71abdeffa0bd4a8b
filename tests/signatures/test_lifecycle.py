"""Classification, re-confirmation mails, freezing, closing and the deadline (operations).

Mail goes through the real in-process SMTP server: ``commit()`` (which only releases
a SAVEPOINT here) runs the queued sends.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from signon.accounts.models import User
from signon.audit.models import AuditEvent
from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from signon.letters import operations as letter_ops
from signon.letters import queries
from signon.letters.models import ChangeKind, Letter, LetterStatus
from signon.letters.operations import LetterError
from signon.signatures.approvals.operations import decline, withdraw
from signon.signatures.invitations.links import invitation_token
from signon.signatures.lifecycle import operations as lifecycle
from signon.signatures.lifecycle.operations import LifecycleError
from signon.signatures.models import Invitation, InvitationStatus, Signature, SignatureEvent
from signon.signatures.state import SignatoryState, coverage, state_of
from tests.factories import add_revision, make_letter, make_user
from tests.signatures.factories import (
    approve_through,
    classify,
    endpoint_of,
    make_invitation,
)
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")

E, S = ChangeKind.EDITORIAL, ChangeKind.SUBSTANTIVE
TEXT_1 = (
    "We welcome the focus on cooperation.\n\n"
    "We call on the States to arrest the suspects.\n\n"
    "We thank the Court.\n"
)
TEXT_2 = (
    "We welcome the focus on cooperation.\n\n"
    "We urge all States to arrest the suspects without delay.\n\n"
    "We thank the Court.\n"
)


def _world() -> tuple[User, Letter]:
    coordinator = make_user(name="Cora Coordinator")
    letter = make_letter(coordinator, body=TEXT_1, title="Joint statement")
    return coordinator, letter


def _state(signature: Signature, invitation: Invitation | None = None) -> SignatoryState:
    revisions = queries.revisions_of(letter := signature.letter)
    numbers = {r.id: r.number for r in revisions}
    del letter
    return state_of(signature, invitation, numbers.get(signature.revision_id), coverage(revisions))


def _status(letter: Letter) -> LetterStatus:
    """The status as stored (a function, so that type narrowing does not stick)."""
    db.session.flush()
    return letter.status


def _audit(letter: Letter, action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.letter_id == letter.id, AuditEvent.action == action)
            .order_by(AuditEvent.seq)
        )
    )


def _reconfirm_events(signature: Signature) -> list[SignatureEvent]:
    return [e for e in signature.events if e.action == lifecycle.RECONFIRM_EVENT]


# --- pending_classification ---------------------------------------------------------------


def test_nothing_is_pending_while_nobody_approved() -> None:
    coordinator, letter = _world()
    add_revision(letter, coordinator, TEXT_2)
    assert lifecycle.pending_classification(letter) == []


def test_revisions_saved_after_an_approval_are_pending_until_classified() -> None:
    coordinator, letter = _world()
    add_revision(letter, coordinator, TEXT_1 + "\nMore.\n")  # 2: before any approval
    approve_through(make_invitation(letter))  # approves 2
    r3 = add_revision(letter, coordinator, TEXT_2)
    r4 = add_revision(letter, coordinator, TEXT_2 + "\nEnd.\n")
    assert [r.number for r in lifecycle.pending_classification(letter)] == [3, 4]
    classify(r3, E)
    assert lifecycle.pending_classification(letter) == [r4]
    classify(r4, S)
    assert lifecycle.pending_classification(letter) == []


def test_withdrawn_approvals_make_nothing_pending() -> None:
    coordinator, letter = _world()
    invitation = make_invitation(letter)
    signature = approve_through(invitation)
    add_revision(letter, coordinator, TEXT_2)
    assert len(lifecycle.pending_classification(letter)) == 1
    withdraw(signature, reason=None, email=invitation.email)
    assert lifecycle.pending_classification(letter) == []


def test_coverage_note() -> None:
    coordinator, letter = _world()
    r2 = classify(add_revision(letter, coordinator, TEXT_2), E)
    revisions = queries.revisions_of(letter)
    assert lifecycle.coverage_note(revisions, 1) == "approved revision 1; revision 2 editorial"
    r3 = classify(add_revision(letter, coordinator, TEXT_2 + "x\n"), E)
    add_revision(letter, coordinator, TEXT_2 + "y\n")  # 4, unclassified
    revisions = queries.revisions_of(letter)
    assert lifecycle.coverage_note(revisions, 1) == "approved revision 1; revisions 2–3 editorial"
    assert lifecycle.coverage_note(revisions, 3) == "approved revision 3"
    assert r2.number == 2 and r3.number == 3


# --- classification -------------------------------------------------------------------------


def test_editorial_carries_approvals_forward_and_tells_the_organisation_once(
    outbox: MailCatcher,
) -> None:
    coordinator, letter = _world()
    invitation = make_invitation(letter)
    signature = approve_through(invitation)
    r2 = add_revision(letter, coordinator, TEXT_1.replace("Court.", "Court!"))
    r3 = add_revision(letter, coordinator, TEXT_1.replace("Court.", "Court!!"))
    assert _state(signature, invitation) == SignatoryState.APPROVED_EARLIER
    for revision in (r3, r2):
        result = lifecycle.classify_revision(revision, E, coordinator)
        assert result.changed and result.reconfirmations == 0
    commit()
    assert _state(signature, invitation) == SignatoryState.APPROVED_CURRENT
    # Classifying r3 first carried nothing yet (r2 was open); r2 then carried the approval
    # over both: one mail, from the approved text to revision 3.
    (message,) = outbox.messages
    text = MailCatcher.text_of(message)
    assert "approved revision 1" in text and "it is now revision 3" in text
    assert "/withdraw" in text
    assert lifecycle.carried_forward_due(letter) == []
    assert r2.classified_by_id == coordinator.id and r2.classified_at is not None
    events = _audit(letter, lifecycle.REVISION_CLASSIFIED)
    assert [(e.details["revision"], e.details["kind"]) for e in events] == [
        (3, "editorial"),
        (2, "editorial"),
    ]
    assert all(e.actor_id == coordinator.id for e in events)


def test_substantive_mails_the_diff_and_the_link(app: Flask, outbox: MailCatcher) -> None:
    coordinator, letter = _world()
    invitation = make_invitation(letter, organisation_name="Justice NGO", email="jo@justice.org")
    signature = approve_through(invitation)
    r2 = add_revision(letter, coordinator, TEXT_2)
    result = lifecycle.classify_revision(r2, S, coordinator)
    assert result.reconfirmations == 1
    commit()
    assert _state(signature, invitation) == SignatoryState.APPROVED_EARLIER
    (message,) = outbox.to("jo@justice.org")
    assert "re-confirm" in message["Subject"] and "Joint statement" in message["Subject"]
    text = MailCatcher.text_of(message)
    assert "Justice NGO approved revision 1" in text and "now revision 2" in text
    # the changed paragraph as read, before and after (no Markdown, no diff markers)
    assert (
        "Before:\nWe call on the States to arrest the suspects.\n\n"
        "After:\nWe urge all States to arrest the suspects without delay." in text.replace("\r", "")
    )
    assert "[-" not in text and "{+" not in text
    # unchanged paragraphs are left out, marked […]
    assert "We welcome the focus" not in text and "[…]" in text
    html = MailCatcher.html_of(message)
    assert "<del" in html and "call on the</del>" in html and "urge all</ins>" in html
    token = invitation_token(invitation)
    links = [word for word in text.split() if token in word]
    assert links, "the mail carries the invitee's own link"
    assert endpoint_of(app, links[0]) == ("signatures.sign", {"token": token})
    assert token in html
    (event,) = _reconfirm_events(signature)
    assert event.revision_id == r2.id and event.details == {"approved_revision": 1, "head": 2}
    (audit,) = _audit(letter, lifecycle.RECONFIRMATION_REQUESTED)
    assert audit.details == {"revision": 2, "organisations": 1}


def test_the_mail_shows_the_formatted_text_with_changes_marked_inside(
    outbox: MailCatcher,
) -> None:
    coordinator = make_user()
    old = (
        "## Climate finance\n\n**Dear Ministers**, we urge you.\n\n- one\n- two\n\n"
        "Unchanged <script>alert(1)</script> paragraph.\n"
    )
    new = (
        "## Climate finance now\n\n**Dear Ministers**, we urge you.\n\n- one\n- three\n\n"
        "Unchanged <script>alert(1)</script> paragraph.\n"
    )
    letter = make_letter(coordinator, body=old)
    invitation = make_invitation(letter)
    approve_through(invitation)
    lifecycle.classify_revision(add_revision(letter, coordinator, new), S, coordinator)
    commit()
    (message,) = outbox.to(invitation.email)
    html = MailCatcher.html_of(message).replace("\r", "")
    ins = '<ins style="background:#d8f3dc;color:#0f5130;text-decoration:underline">'
    dele = '<del style="background:#fddede;color:#8a1116;text-decoration:line-through">'
    assert f"<h2>Climate finance {ins}now</ins></h2>" in html
    assert f"<ul><li>one</li><li>{dele}two</del>{ins}three</ins></li></ul>" in html
    # the unchanged paragraphs are left out: […] where they were
    assert "Dear Ministers" not in html and "<p>[…]</p>" in html
    assert "Unchanged" not in html and "<script" not in html
    assert "##" not in html and "**" not in html
    text = MailCatcher.text_of(message).replace("\r", "")
    assert "Before:\nClimate finance\n\nAfter:\nClimate finance now" in text
    assert "Before:\n• two\n\nAfter:\n• three" in text
    assert "[-" not in text and "{+" not in text and "##" not in text and "<del" not in text


def test_the_mail_shows_a_title_change(outbox: MailCatcher) -> None:
    coordinator, letter = _world()
    invitation = make_invitation(letter)
    approve_through(invitation)
    r2 = add_revision(letter, coordinator, TEXT_1, title="Joint statement on cooperation")
    lifecycle.classify_revision(r2, S, coordinator)
    commit()
    text = MailCatcher.text_of(outbox.to(invitation.email)[0])
    assert "Title before: Joint statement\r\nTitle after:  Joint statement on cooperation" in text


def test_each_organisation_is_mailed_once_per_head(outbox: MailCatcher) -> None:
    coordinator, letter = _world()
    invitation = make_invitation(letter)
    signature = approve_through(invitation)
    r2 = add_revision(letter, coordinator, TEXT_2)
    lifecycle.classify_revision(r2, S, coordinator)
    # the coordinator hesitates: editorial (against the proposal), then substantive again
    assert lifecycle.classify_revision(r2, E, coordinator, "hesitating").reconfirmations == 0
    assert lifecycle.classify_revision(r2, S, coordinator).reconfirmations == 0
    assert lifecycle.classify_revision(r2, S, coordinator).changed is False
    assert lifecycle.request_reconfirmations(letter) == 0
    commit()
    # asked to re-confirm once; told once that the approval carried (while it was editorial)
    assert [("re-confirm" in m["Subject"]) for m in outbox.to(invitation.email)] == [True, False]
    # a new substantive change is a new head: they are asked again, with both changes
    r3 = add_revision(letter, coordinator, TEXT_2.replace("thank", "salute"))
    assert lifecycle.classify_revision(r3, S, coordinator).reconfirmations == 1
    commit()
    mails = outbox.to(invitation.email)
    assert len(mails) == 3
    text = MailCatcher.text_of(mails[2])
    assert "approved revision 1" in text and "salute" in text and "thank" in text
    assert "urge all" in text
    assert [e.revision_id for e in _reconfirm_events(signature)] == [r2.id, r3.id]
    reclassified = _audit(letter, lifecycle.REVISION_CLASSIFIED)
    assert [e.details.get("previous") for e in reclassified] == [
        None,
        "substantive",
        "editorial",
        None,
    ]


def test_who_is_asked_to_reconfirm(outbox: MailCatcher) -> None:
    coordinator, letter = _world()
    asked = make_invitation(letter, email="asked@one.org")
    approve_through(asked)
    declined = make_invitation(letter, email="declined@two.org")
    decline(letter, declined, reason=None, email=declined.email)
    withdrawn = make_invitation(letter, email="withdrawn@three.org")
    withdraw(approve_through(withdrawn), reason=None, email=withdrawn.email)
    revoked = make_invitation(letter, email="revoked@four.org")
    approve_through(revoked)
    revoked.status, revoked.revoked_at = InvitationStatus.REVOKED, utcnow()
    expired = make_invitation(letter, email="expired@five.org")
    approve_through(expired)
    expired.expires_at = utcnow() - timedelta(minutes=1)
    silent = make_invitation(letter, email="silent@six.org")
    from signon.signatures.approvals import operations
    from signon.signatures.approvals.operations import SignatoryDetails
    from signon.signatures.models import SignatureSource

    operations.approve(  # a public sign-on has no invitation link to send
        letter,
        letter.head(),
        SignatoryDetails(name="Public NGO"),
        email="public@seven.org",
        source=SignatureSource.PUBLIC,
    )
    r2 = add_revision(letter, coordinator, TEXT_2)
    approved_head = make_invitation(letter, email="current@eight.org")
    approve_through(approved_head)  # approved revision 2 itself
    assert lifecycle.classify_revision(r2, S, coordinator).reconfirmations == 1
    commit()
    # (and the coordinators' immediate notice of the withdrawal: tests/signatures/test_notices.py)
    assert [str(m["To"]) for m in outbox.messages if m["To"] != coordinator.email] == [
        "asked@one.org"
    ]
    assert silent.signature is None


def test_unclassified_revisions_in_between_do_not_trigger_mails(outbox: MailCatcher) -> None:
    coordinator, letter = _world()
    invitation = make_invitation(letter)
    approve_through(invitation)  # approves 1
    r2 = add_revision(letter, coordinator, TEXT_2)
    later = make_invitation(letter)
    approve_through(later)  # approves 2
    r3 = add_revision(letter, coordinator, TEXT_2 + "\nEnd.\n")
    # 2 substantive: the approval of 1 is overtaken whatever 3 is; 2's approval depends on 3
    assert lifecycle.classify_revision(r2, S, coordinator).reconfirmations == 1
    commit()
    assert [str(m["To"]) for m in outbox.messages] == [invitation.email]
    text = MailCatcher.text_of(outbox.messages[0])
    assert "now revision 3" in text and re.search(r"After:\r?\n[^\n]*End", text)
    assert lifecycle.classify_revision(r3, S, coordinator).reconfirmations == 1
    commit()
    assert [str(m["To"]) for m in outbox.messages] == [invitation.email, later.email]


def test_nobody_is_mailed_while_signing_is_closed_until_it_reopens(outbox: MailCatcher) -> None:
    coordinator, letter = _world()
    invitation = make_invitation(letter)
    approve_through(invitation)
    r2 = classify(add_revision(letter, coordinator, TEXT_2), E)
    lifecycle.freeze_text(letter, coordinator)
    lifecycle.close_signing(letter, coordinator, "Sent to the Court")
    result = lifecycle.classify_revision(r2, S, coordinator)
    assert result.changed and result.reconfirmations == 0 and result.signing_closed
    commit()
    assert outbox.messages == []
    assert lifecycle.reopen_signing(letter, coordinator, "One more week") == 1
    commit()
    assert len(outbox.to(invitation.email)) == 1
    assert lifecycle.request_reconfirmations(letter) == 0


def test_the_first_revision_cannot_be_classified() -> None:
    coordinator, letter = _world()
    with pytest.raises(LifecycleError, match="first revision"):
        lifecycle.classify_revision(letter.head(), E, coordinator)
    assert letter.head().change_kind is None


def test_a_published_letter_cannot_be_reclassified() -> None:
    coordinator, letter = _world()
    r2 = add_revision(letter, coordinator, TEXT_2)
    letter.status = LetterStatus.PUBLISHED
    with pytest.raises(LifecycleError, match="published"):
        lifecycle.classify_revision(r2, E, coordinator)
    assert r2.change_kind is None


# --- freeze, unfreeze, close, reopen ------------------------------------------------------------


def test_freeze_stops_editing_and_is_logged() -> None:
    coordinator, letter = _world()
    lifecycle.freeze_text(letter, coordinator)
    assert _status(letter) == LetterStatus.OPEN
    (event,) = _audit(letter, lifecycle.FROZEN)
    assert event.details["revision"] == 1 and event.actor_id == coordinator.id
    with pytest.raises(LetterError, match="frozen"):
        letter_ops.save_revision(
            letter, coordinator, base=letter.head(), title=letter.title, body="Changed.\n"
        )
    with pytest.raises(LifecycleError, match="only be frozen while drafting"):
        lifecycle.freeze_text(letter, coordinator)
    assert len(_audit(letter, lifecycle.FROZEN)) == 1


def test_freezing_with_unclassified_changes_is_refused() -> None:
    coordinator, letter = _world()
    add_revision(letter, coordinator, TEXT_1 + "\nBefore.\n")  # 2: nobody approved yet
    approve_through(make_invitation(letter))
    r3 = add_revision(letter, coordinator, TEXT_2)
    with pytest.raises(LifecycleError, match="revision 3 was saved after organisations approved"):
        lifecycle.freeze_text(letter, coordinator)
    assert _status(letter) == LetterStatus.DRAFTING
    assert _audit(letter, lifecycle.FROZEN) == []
    classify(r3, E)
    lifecycle.freeze_text(letter, coordinator)  # revision 2 concerns no approval
    assert _status(letter) == LetterStatus.OPEN


def test_unfreeze_requires_a_reason_and_logs_it() -> None:
    coordinator, letter = _world()
    lifecycle.freeze_text(letter, coordinator)
    for empty in ("", "   \n "):
        with pytest.raises(LifecycleError, match="reason"):
            lifecycle.unfreeze_text(letter, coordinator, empty)
    assert _status(letter) == LetterStatus.OPEN
    lifecycle.unfreeze_text(letter, coordinator, "  The Court asked for a correction.  ")
    assert _status(letter) == LetterStatus.DRAFTING
    (event,) = _audit(letter, lifecycle.UNFROZEN)
    assert event.details["reason"] == "The Court asked for a correction."
    with pytest.raises(LifecycleError, match="Only a frozen text"):
        lifecycle.unfreeze_text(letter, coordinator, "again")
    # editing works again
    result = letter_ops.save_revision(
        letter, coordinator, base=letter.head(), title=letter.title, body=TEXT_2
    )
    assert result.revision is not None and result.revision.number == 2


def test_close_and_reopen() -> None:
    coordinator, letter = _world()
    with pytest.raises(LifecycleError, match="open for signature"):
        lifecycle.close_signing(letter, coordinator)
    with pytest.raises(LifecycleError, match="Only a closed letter"):
        lifecycle.reopen_signing(letter, coordinator)
    lifecycle.freeze_text(letter, coordinator)
    assert letter.accepts_signatures
    lifecycle.close_signing(letter, coordinator, "Delivered")
    assert _status(letter) == LetterStatus.CLOSED and not letter.accepts_signatures
    with pytest.raises(LifecycleError):
        lifecycle.close_signing(letter, coordinator)
    with pytest.raises(LifecycleError):
        lifecycle.unfreeze_text(letter, coordinator, "reason")
    lifecycle.reopen_signing(letter, coordinator, None)
    assert _status(letter) == LetterStatus.OPEN and letter.accepts_signatures
    (closed,) = _audit(letter, lifecycle.SIGNING_CLOSED)
    (reopened,) = _audit(letter, lifecycle.SIGNING_REOPENED)
    assert closed.details == {"reason": "Delivered"} and reopened.details == {}
    history = [e.action for e in lifecycle.letter_history(letter)]
    assert history == [lifecycle.SIGNING_REOPENED, lifecycle.SIGNING_CLOSED, lifecycle.FROZEN]


# --- the deadline --------------------------------------------------------------------------------


def test_extend_deadline_moves_invitations_that_expired_with_it() -> None:
    coordinator, letter = _world()
    old = (utcnow() - timedelta(hours=1)).replace(second=0, microsecond=0)
    letter.deadline = old
    with_deadline = make_invitation(letter, expires_at=old)
    own_expiry = make_invitation(letter, expires_at=old - timedelta(days=1))
    db.session.flush()
    assert not letter.accepts_signatures and with_deadline.is_expired
    new = datetime(2040, 3, 1, 17, 30, 45, tzinfo=UTC)
    result = lifecycle.extend_deadline(letter, coordinator, new)
    assert result.invitations_moved == 1
    assert letter.deadline == new.replace(second=0)
    db.session.expire_all()
    assert with_deadline.expires_at == new.replace(second=0) and with_deadline.is_usable
    assert own_expiry.expires_at == old - timedelta(days=1)
    assert letter.accepts_signatures
    (event,) = _audit(letter, lifecycle.DEADLINE_EXTENDED)
    assert event.details == {
        "old": old.isoformat(),
        "new": new.replace(second=0).isoformat(),
        "invitations_moved": 1,
    }


def test_extend_deadline_refuses_the_past_and_an_earlier_time() -> None:
    coordinator, letter = _world()
    now = utcnow()
    with pytest.raises(LifecycleError, match="future"):
        lifecycle.extend_deadline(letter, coordinator, now - timedelta(minutes=5))
    letter.deadline = now + timedelta(days=10)
    with pytest.raises(LifecycleError, match="after the current one"):
        lifecycle.extend_deadline(letter, coordinator, now + timedelta(days=5))
    assert _audit(letter, lifecycle.DEADLINE_EXTENDED) == []


def test_a_deadline_can_be_set_on_a_letter_without_one() -> None:
    coordinator, letter = _world()
    make_invitation(letter, expires_at=utcnow() + timedelta(days=30))
    result = lifecycle.extend_deadline(letter, coordinator, utcnow() + timedelta(days=7))
    assert result.old is None and result.invitations_moved == 0
    (event,) = _audit(letter, lifecycle.DEADLINE_EXTENDED)
    assert "old" not in event.details
