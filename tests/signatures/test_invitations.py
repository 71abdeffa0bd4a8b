"""Invitation operations without HTTP: parsing lists, creating, revoking, re-sending,
sending mail and recording the outcome, and the invitee's transitions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import LetterStatus
from signon.signatures.approvals.operations import (
    SignatoryDetails,
    SignatureError,
    StaleRevisionError,
)
from signon.signatures.duplicates import possible_duplicates
from signon.signatures.invitations import links, notifications
from signon.signatures.invitations import operations as ops
from signon.signatures.invitations.operations import InvitationError, LineProblem
from signon.signatures.models import (
    Invitation,
    InvitationStatus,
    SignatureEvent,
    SignatureStatus,
)
from tests.factories import add_revision
from tests.signatures.factories import (
    coordinated_letter,
    invited,
    link_in,
    refusing_mail_server,
    token_of,
)
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")


def _status(invitation: Invitation) -> InvitationStatus:
    """The status now (a function call, so that mypy does not keep an earlier narrowing)."""
    return invitation.status


def _problems(lines: list[ops.InviteeLine]) -> list[tuple[int, LineProblem | None]]:
    return [(line.number, line.problem) for line in lines]


# --------------------------------------------------------------------------- parsing a paste


def test_parse_pasted_understands_the_usual_ways_of_writing_a_list() -> None:
    lines = ops.parse_pasted(
        "Amnesty International, info@amnesty.example.org\n"
        "Human Rights Watch <HRW@HRW.example.org>\n"
        '"Lawyers, Advocates and Friends", contact@laf.example.org\n'
        "Redress\tredress@redress.example.org\n"
        "Al-Haq; al@alhaq.example.org\n"
        '"Quoted Name" <quoted@ngo.example.org>\n'
    )
    assert [(line.organisation, line.email, line.problem) for line in lines] == [
        ("Amnesty International", "info@amnesty.example.org", None),
        ("Human Rights Watch", "hrw@hrw.example.org", None),
        ("Lawyers, Advocates and Friends", "contact@laf.example.org", None),
        ("Redress", "redress@redress.example.org", None),
        ("Al-Haq", "al@alhaq.example.org", None),
        ("Quoted Name", "quoted@ngo.example.org", None),
    ]


def test_parse_pasted_keeps_line_numbers_and_skips_blank_lines() -> None:
    lines = ops.parse_pasted("\n\nA, a@a.example.org\n   \n\nB, b@b.example.org\n\n")
    assert [(line.number, line.organisation) for line in lines] == [(3, "A"), (6, "B")]


def test_parse_pasted_skips_a_header_row_pasted_from_a_spreadsheet() -> None:
    lines = ops.parse_pasted("Organisation\tE-mail\nA\ta@a.example.org\n")
    assert [(line.number, line.organisation, line.problem) for line in lines] == [(2, "A", None)]
    # a header anywhere else is an ordinary (bad) line
    later = ops.parse_pasted("A, a@a.example.org\nOrganisation, Email\n")
    assert [line.problem for line in later] == [None, LineProblem.BAD_EMAIL]


def test_parse_pasted_names_with_unquoted_commas_keep_them() -> None:
    (line,) = ops.parse_pasted("Lawyers, Inc., legal@lawyers.example.org")
    assert (line.organisation, line.email, line.problem) == (
        "Lawyers, Inc.",
        "legal@lawyers.example.org",
        None,
    )


def test_parse_pasted_accepts_the_address_first_and_extra_columns() -> None:
    first, extra = ops.parse_pasted(
        "someone@ngo.example.org, The NGO\nThe Other NGO, other@ngo.example.org, Kenya, NGO"
    )
    assert (first.organisation, first.email) == ("The NGO", "someone@ngo.example.org")
    assert (extra.organisation, extra.email, extra.problem) == (
        "The Other NGO",
        "other@ngo.example.org",
        None,
    )


def test_parse_pasted_reports_each_bad_line_with_its_reason() -> None:
    lines = ops.parse_pasted(
        "Good NGO, good@ngo.example.org\n"
        "Bad Address NGO, not-an-address\n"
        ", nameless@ngo.example.org\n"
        "only-an-address@ngo.example.org\n"
        "Only A Name\n"
        '"Unclosed quote, x@ngo.example.org\n'
        "Typo NGO, typo@ngo\n"
        "Unicode NGO, josé@ngo.example.org\n"
        "Two Addresses, a@x.example.org, b@x.example.org\n"
    )
    assert _problems(lines) == [
        (1, None),
        (2, LineProblem.BAD_EMAIL),
        (3, LineProblem.MISSING_NAME),
        (4, LineProblem.MISSING_NAME),
        (5, LineProblem.BAD_EMAIL),
        (6, LineProblem.MALFORMED),
        (7, LineProblem.BAD_EMAIL),
        (8, LineProblem.BAD_EMAIL),
        (9, LineProblem.MALFORMED),
    ]
    assert "@-sign" in lines[1].detail
    assert "quotes" in lines[5].detail
    assert "before the @" in lines[7].detail


def test_parse_pasted_refuses_very_long_lines_and_names() -> None:
    long_line = "X" * 2000 + ", x@x.example.org"
    long_name = "N" * 400 + ", n@n.example.org"
    too_long, long_named = ops.parse_pasted(f"{long_line}\n{long_name}")
    assert too_long.problem == LineProblem.TOO_LONG and "2,017 characters" in too_long.detail
    assert long_named.problem == LineProblem.TOO_LONG and "at most 300" in long_named.detail
    assert too_long.raw == long_line  # kept whole, to be given back


def test_parse_pasted_removes_control_characters_and_outer_quotes_from_names() -> None:
    (line,) = ops.parse_pasted("'Quoted\x07  NGO' , q@q.example.org")
    assert line.organisation == "Quoted NGO"
    (bom,) = ops.parse_pasted("\ufeffBOM NGO, bom@bom.example.org")
    assert bom.organisation == "BOM NGO" and bom.problem is None


def test_parse_pasted_refuses_more_than_the_cap() -> None:
    text = "\n".join(f"NGO {i}, n{i}@ngo.example.org" for i in range(ops.MAX_BULK_LINES + 1))
    with pytest.raises(InvitationError, match="2,001 lines; at most 2,000"):
        ops.parse_pasted(text)
    assert len(ops.parse_pasted(text.rsplit("\n", 1)[0])) == ops.MAX_BULK_LINES


# --------------------------------------------------------------------------- parsing a CSV file


def test_parse_csv_with_bom_header_and_extra_columns() -> None:
    data = (
        "\ufefforganisation,country,email\r\n"
        '"Lawyers, Inc.",Kenya,legal@lawyers.example.org\r\n'
        "Plain NGO,Chile,PLAIN@ngo.example.org\r\n"
        "\r\n"
        "No Address,Peru,\r\n"
    ).encode()
    lines = ops.parse_csv(data)
    assert [(line.number, line.organisation, line.email, line.problem) for line in lines] == [
        (2, "Lawyers, Inc.", "legal@lawyers.example.org", None),
        (3, "Plain NGO", "plain@ngo.example.org", None),
        (5, "No Address", "", LineProblem.BAD_EMAIL),
    ]


def test_parse_csv_without_header_semicolons_and_a_broken_line() -> None:
    data = (
        b"Alpha NGO;alpha@ngo.example.org\n"
        b'"Broken NGO;broken@ngo.example.org\n'
        b"Gamma NGO;gamma@ngo.example.org\n"
    )
    lines = ops.parse_csv(data)
    assert _problems(lines) == [(1, None), (2, LineProblem.MALFORMED), (3, None)]
    # the broken line did not swallow the next one
    assert lines[2].organisation == "Gamma NGO"


def test_parse_csv_refuses_files_that_are_not_utf8_or_too_large() -> None:
    with pytest.raises(InvitationError, match="not UTF-8"):
        ops.parse_csv("Société Générale,sg@sg.example.org\n".encode("latin-1"))
    with pytest.raises(InvitationError, match="larger than"):
        ops.parse_csv(b"x" * (ops.MAX_CSV_BYTES + 1))
    assert ops.parse_csv(b"") == []


def test_parse_csv_with_header_only_is_empty() -> None:
    assert ops.parse_csv(b"Organisation,E-mail\n") == []


# --------------------------------------------------------------------------- creating


def test_create_invitations_creates_valid_lines_and_reports_duplicates() -> None:
    coordinator, letter = coordinated_letter()
    existing = invited(letter, coordinator, name="Old Friend", email="old@friend.example.org")
    report = ops.create_invitations(
        letter,
        ops.parse_pasted(
            "New One, new@one.example.org\n"
            "Old Friend Again, OLD@friend.example.org\n"
            "New One Twice, New@One.example.org\n"
            "Broken, broken\n"
            "New Two, two@two.example.org\n"
        ),
        invited_by=coordinator,
    )
    assert [(line.number, line.problem) for line in report.lines] == [
        (1, None),
        (2, LineProblem.ALREADY_INVITED),
        (3, LineProblem.DUPLICATE),
        (4, LineProblem.BAD_EMAIL),
        (5, None),
    ]
    assert "already on line 1" in report.lines[2].detail
    assert "Old Friend" in report.lines[1].detail
    assert report.text_to_fix() == "Broken, broken"
    emails = set(
        db.session.scalars(select(Invitation.email).where(Invitation.letter_id == letter.id))
    )
    assert emails == {existing.email, "new@one.example.org", "two@two.example.org"}
    for line in report.created:
        invitation = db.session.get(Invitation, line.invitation_id)
        assert invitation.status == InvitationStatus.QUEUED
        assert invitation.created_by_id == coordinator.id
        assert links.find_invitation(token_of(invitation)) == invitation


def test_invite_organisation_refuses_a_duplicate_and_a_bad_address() -> None:
    coordinator, letter = coordinated_letter()
    invited(letter, coordinator, email="dup@ngo.example.org")
    with pytest.raises(InvitationError, match="already invited"):
        invited(letter, coordinator, email="DUP@ngo.example.org")
    with pytest.raises(InvitationError, match="@-sign"):
        invited(letter, coordinator, email="nobody")


def test_the_same_address_may_be_invited_to_two_letters() -> None:
    coordinator, letter = coordinated_letter()
    _, other = coordinated_letter()
    a = invited(letter, coordinator, email="both@ngo.example.org")
    b = invited(other, coordinator, email="both@ngo.example.org")
    assert a.id != b.id and token_of(a) != token_of(b)


def test_default_expiry_is_the_deadline_or_the_configured_days(app: Flask) -> None:
    coordinator, letter = coordinated_letter()
    days = app.config["SIGNON"].invitation_days
    invitation = invited(letter, coordinator)
    assert abs(invitation.expires_at - (utcnow() + timedelta(days=days))) < timedelta(minutes=1)
    deadline = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    _, with_deadline = coordinated_letter(deadline=deadline)
    assert invited(with_deadline, coordinator).expires_at == deadline
    chosen = utcnow() + timedelta(days=1)
    report = ops.create_invitations(
        with_deadline,
        ops.parse_pasted("Chosen, chosen@ngo.example.org"),
        invited_by=coordinator,
        expires_at=chosen,
    )
    assert db.session.get(Invitation, report.created[0].invitation_id).expires_at == chosen


def test_no_invitations_once_signing_is_closed_or_with_an_expiry_in_the_past() -> None:
    coordinator, letter = coordinated_letter(deadline=utcnow() - timedelta(hours=1))
    with pytest.raises(InvitationError, match="deadline has passed"):
        invited(letter, coordinator)
    _, closed = coordinated_letter(status=LetterStatus.CLOSED)
    with pytest.raises(InvitationError, match="signing is closed"):
        invited(closed, coordinator)
    _, open_letter = coordinated_letter()
    with pytest.raises(InvitationError, match="already have expired"):
        ops.create_invitations(
            open_letter,
            ops.parse_pasted("Late, late@ngo.example.org"),
            invited_by=coordinator,
            expires_at=utcnow() - timedelta(minutes=1),
        )
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0


# --------------------------------------------------------------------------- revoke and re-send


def test_revoke_then_resend_gives_a_new_link_and_kills_the_old_one() -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator)
    old_token = token_of(invitation)
    assert ops.revoke_invitation(invitation, by=coordinator) is True
    assert invitation.status == InvitationStatus.REVOKED and invitation.revoked_at is not None
    assert ops.revoke_invitation(invitation, by=coordinator) is False  # idempotent
    assert links.find_invitation(old_token) == invitation  # found, but not usable
    assert not invitation.is_usable
    assert ops.resend_invitation(invitation, by=coordinator) is True
    assert _status(invitation) == InvitationStatus.QUEUED and invitation.revoked_at is None
    new_token = token_of(invitation)
    assert new_token != old_token
    assert links.find_invitation(old_token) is None
    assert links.find_invitation(new_token) == invitation and invitation.is_usable


def test_resend_of_a_live_invitation_keeps_its_link_and_its_answer() -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator)
    token = token_of(invitation)
    invitation.status = InvitationStatus.FAILED
    assert ops.resend_invitation(invitation, by=coordinator) is False
    assert token_of(invitation) == token and invitation.status == InvitationStatus.QUEUED
    invitation.status = InvitationStatus.OPENED
    ops.resend_invitation(invitation, by=coordinator)
    assert invitation.status == InvitationStatus.OPENED


def test_resend_of_an_expired_invitation_extends_it() -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator)
    invitation.expires_at = utcnow() - timedelta(days=1)
    assert ops.display_status(invitation) == ("expired", "Expired")
    ops.resend_invitation(invitation, by=coordinator)
    assert invitation.expires_at > utcnow() + timedelta(days=1)
    assert ops.display_status(invitation) == ("queued", "Sending")


# --------------------------------------------------------------------------- sending


def test_mail_goes_out_after_the_commit_and_the_outcome_is_recorded(outbox: MailCatcher) -> None:
    coordinator, letter = coordinated_letter(
        title="Statement on cooperation",
        addressee="Assembly of States Parties",
        deadline=utcnow() + timedelta(days=12, hours=1),
    )
    invitation = invited(letter, coordinator, name="Redress", email="info@redress.example.org")
    assert len(outbox) == 0  # nothing before the commit
    commit()
    (message,) = outbox.to("info@redress.example.org")
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.SENT
    assert invitation.sent_at is not None and invitation.send_attempts == 1
    assert invitation.last_error is None
    text = MailCatcher.text_of(message)
    assert message["Subject"] == "Invitation to sign: Statement on cooperation"
    assert "Redress" in text and "Assembly of States Parties" in text
    assert "Cora Coordinator" in text and "Drafting Org" in text
    assert "(in 12 days)" in text
    assert link_in(message).endswith(f"/sign/{token_of(invitation)}")
    assert link_in(message) in MailCatcher.html_of(message)
    # forwarding within the organisation is allowed, sharing outside it is not
    flat = " ".join(text.split())
    assert "do not forward" not in flat
    assert "You may forward this message to colleagues at Redress" in flat
    assert "please do not share it outside Redress" in flat
    assert "You may forward this message to colleagues at Redress" in MailCatcher.html_of(message)


def test_a_refused_address_is_recorded_as_failed_and_the_others_are_sent(app: Flask) -> None:
    coordinator, letter = coordinated_letter()
    with refusing_mail_server(app) as server:
        report = ops.create_invitations(
            letter,
            ops.parse_pasted(
                "Fine, fine@ngo.example.org\nRefused, refuse-me@ngo.example.org\n"
                "Also Fine, also@ngo.example.org"
            ),
            invited_by=coordinator,
        )
        commit()
    assert sorted(server.accepted) == ["also@ngo.example.org", "fine@ngo.example.org"]
    by_email = {
        i.email: i
        for i in db.session.scalars(select(Invitation).where(Invitation.letter_id == letter.id))
    }
    for invitation in by_email.values():
        db.session.refresh(invitation)
    refused = by_email["refuse-me@ngo.example.org"]
    assert refused.status == InvitationStatus.FAILED
    assert refused.send_attempts == 1 and refused.sent_at is None
    assert "550" in refused.last_error and "No such mailbox" in refused.last_error
    assert by_email["fine@ngo.example.org"].status == InvitationStatus.SENT
    assert len(report.created) == 3
    # re-sending to a server that accepts it: SENT, two attempts, the error cleared
    ops.resend_invitation(refused, by=coordinator)
    commit()
    db.session.refresh(refused)
    assert _status(refused) == InvitationStatus.SENT
    assert refused.send_attempts == 2 and refused.last_error is None


def test_an_unreachable_mail_server_marks_every_invitation_failed(app: Flask) -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator)
    state = app.extensions["mailman"]
    original = state.port
    state.port = 1  # nothing listens there
    try:
        commit()
    finally:
        state.port = original
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.FAILED
    assert invitation.last_error.startswith("Could not reach the mail server")


def test_outcome_keeps_an_answer_given_meanwhile() -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator)
    invitation.status = InvitationStatus.OPENED
    db.session.flush()
    notifications.record_send_outcomes([], {invitation.id: "Refused by the mail server: 550 gone"})
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.OPENED
    assert invitation.last_error == "Refused by the mail server: 550 gone"


def test_describe_moment_in_plain_words() -> None:
    now = utcnow().replace(year=2030, month=3, day=1, hour=12, minute=0, second=0, microsecond=0)
    to = "nobody@example.org"  # no browser of theirs sent a zone: UTC
    assert notifications.describe_moment(now + timedelta(days=12), now, email=to) == (
        "13 March 2030, 12:00 UTC (in 12 days)"
    )
    assert notifications.describe_moment(now + timedelta(hours=5), now, email=to).endswith(
        "(in 5 hours)"
    )
    assert (
        notifications.describe_moment(now - timedelta(days=1), now, email=to)
        == "28 February 2030, 12:00 UTC"
    )


# --------------------------------------------------------------------------- the invitee


def _details(invitation: Invitation, **changes: object) -> SignatoryDetails:
    values: dict[str, object] = {
        "name": invitation.organisation_name,
        "representative_name": "Rita Rep",
        "representative_title": "Director",
        "authority_confirmed": True,
    }
    values.update(changes)
    return SignatoryDetails(**values)  # type: ignore[arg-type]


def test_seen_marks_opened_once_and_only_moves_forward() -> None:
    coordinator, letter = coordinated_letter()
    first = letter.head()
    invitation = invited(letter, coordinator)
    second = add_revision(letter, coordinator, "A second text.")
    ops.record_seen(invitation, second)
    assert invitation.status == InvitationStatus.OPENED
    opened_at = invitation.opened_at
    assert opened_at is not None and invitation.last_seen_revision_id == second.id
    ops.record_seen(invitation, first)  # an old tab: does not go back
    assert invitation.last_seen_revision_id == second.id and invitation.opened_at == opened_at
    _, other = coordinated_letter()
    with pytest.raises(SignatureError):
        ops.record_seen(invitation, other.head())


def test_approve_counts_as_opened_and_is_idempotent(outbox: MailCatcher) -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator)
    commit()
    outbox.clear()
    head = letter.head()
    approval = ops.approve_invitation(invitation, head, _details(invitation))
    assert approval.recorded
    assert invitation.status == InvitationStatus.APPROVED and invitation.opened_at is not None
    again = ops.approve_invitation(invitation, head, _details(invitation))
    assert not again.recorded and again.signature.id == approval.signature.id
    events = db.session.scalars(
        select(SignatureEvent).where(SignatureEvent.signature_id == approval.signature.id)
    ).all()
    assert [e.action for e in events] == ["approved"]
    commit()
    (receipt,) = outbox.to(invitation.email)
    text = MailCatcher.text_of(receipt)
    assert f"revision {head.number}" in text and head.content_sha256 in text
    assert link_in(receipt).endswith(token_of(invitation))


def test_approving_an_old_revision_is_stale() -> None:
    coordinator, letter = coordinated_letter()
    old = letter.head()
    invitation = invited(letter, coordinator)
    add_revision(letter, coordinator, "Changed.")
    with pytest.raises(StaleRevisionError):
        ops.approve_invitation(invitation, old, _details(invitation))
    assert invitation.signature is None


def test_decline_after_approving_is_refused_and_withdraw_is_idempotent(
    outbox: MailCatcher,
) -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator)
    ops.approve_invitation(invitation, letter.head(), _details(invitation))
    with pytest.raises(SignatureError, match="withdraw"):
        ops.decline_invitation(invitation, reason="no")
    assert ops.withdraw_invitation(invitation, reason="Board said no") is True
    assert invitation.signature.status == SignatureStatus.WITHDRAWN
    assert invitation.status == InvitationStatus.WITHDRAWN
    assert ops.withdraw_invitation(invitation, reason=None) is False
    actions = [e.action for e in invitation.signature.events]
    assert actions == ["approved", "withdrawn"]


def test_decline_then_approve_then_nothing_to_withdraw_twice() -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator)
    signature = ops.decline_invitation(invitation, reason="Not our topic")
    assert signature.status == SignatureStatus.DECLINED and invitation.opened_at is not None
    assert ops.decline_invitation(invitation, reason="again").id == signature.id
    with pytest.raises(SignatureError, match="no approval"):
        ops.withdraw_invitation(invitation, reason=None)
    approval = ops.approve_invitation(invitation, letter.head(), _details(invitation))
    assert approval.signature.id == signature.id
    assert approval.signature.status == SignatureStatus.APPROVED


def test_a_declined_invitation_approving_under_a_name_already_signed_keeps_both() -> None:
    coordinator, letter = coordinated_letter()
    first = invited(letter, coordinator, name="First")
    second = invited(letter, coordinator, name="Second")
    ops.approve_invitation(first, letter.head(), _details(first, name="Same Name"))
    declined = ops.decline_invitation(second, reason=None)
    approval = ops.approve_invitation(second, letter.head(), _details(second, name="same  name"))
    # the declined answer is the one that changed; the first organisation's is untouched
    assert approval.signature.id == declined.id
    assert approval.signature.name == "same name"
    assert first.signature.name == "Same Name" and first.signature.invitation_id == first.id
    [group] = possible_duplicates(letter)
    assert {s.id for s in group.signatures} == {first.signature.id, declined.id}
