"""Notices to the team (issue 12, item 1): every kind is recorded with the change it
describes, mailed at once or in the daily digest by each person's choice (or their role's
default), never to someone whose role may not see it, and listed on the letter's page.

Mail is caught by the real SMTP server the tests run (``outbox``); the digest goes
through ``flask send-digests`` itself.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.accounts.models import NotificationPreference, User
from signon.core import transaction
from signon.core.jobs import periodic_tasks
from signon.core.mail import queue_mail, send_due
from signon.core.notices import Delivery, NoticeKind, delivery_for
from signon.core.permissions import TeamRole
from signon.db import utcnow
from signon.extensions import db
from signon.letters import notices, operations
from signon.letters.guard import guard_of
from signon.letters.models import Letter, Notice
from signon.signatures.approvals.operations import SignatoryDetails, approve, decline, withdraw
from signon.signatures.invitations import operations as invitation_ops
from signon.signatures.invitations.reminders import send_reminders
from signon.signatures.models import SignatureSource
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_organisation, make_user
from tests.querycount import count_queries
from tests.signatures.factories import (
    approve_through,
    ask_and_confirm,
    commit,
    make_invitation,
    make_public_letter,
    refusing_mail_server,
)
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")


def _team(letter: Letter) -> dict[str, User]:
    """The letter's coordinator (made with it) and one member of each other role."""
    coordinator = letter.created_by
    assert coordinator is not None
    people = {"coordinator": coordinator}
    for role in (TeamRole.DRAFTER, TeamRole.VIEWER):
        people[role.value] = make_user(email=f"{role.value}-{letter.id}@team.example.org")
        add_team_member(letter, role=role, user=people[role.value])
    return people


def _letter(**fields: Any) -> tuple[Letter, dict[str, User]]:
    letter = make_letter(make_user(), **fields)
    return letter, _team(letter)


def _choose(user: User, kind: NoticeKind, delivery: Delivery) -> None:
    db.session.add(NotificationPreference(user_id=user.id, kind=kind, delivery=delivery))
    db.session.flush()


def _kinds(letter: Letter) -> list[NoticeKind]:
    return list(
        db.session.scalars(
            select(Notice.kind).where(Notice.letter_id == letter.id).order_by(Notice.id)
        )
    )


def _notice_mails(outbox: MailCatcher, user: User) -> list[EmailMessage]:
    return [m for m in outbox.to(user.email) if "on Signon" not in str(m["Subject"])]


def _digest(outbox: MailCatcher, app: Flask, now_offset: timedelta = timedelta(0)) -> int:
    """Run the digest as the scheduler does: one unit of work, committed."""
    sent = notices.send_digests(utcnow() + now_offset)
    commit()
    return sent


# --- each kind, recorded with its change and delivered by default ----------------------------


def test_an_approval_is_recorded_and_waits_for_the_coordinators_digest(
    outbox: MailCatcher, app: Flask
) -> None:
    letter, team = _letter()
    approve_through(make_invitation(letter, organisation_name="Friends of the Court"))
    commit()
    assert _kinds(letter) == [NoticeKind.APPROVED]
    assert outbox.to(team["coordinator"].email) == [], "approvals wait for the digest"
    assert _digest(outbox, app) == 1
    (mail,) = outbox.to(team["coordinator"].email)
    text = MailCatcher.text_of(mail)
    assert "Friends of the Court approved revision 1" in text
    assert letter.title in text and f"/letters/{letter.slug}/#activity" in text
    assert "Friends of the Court approved revision 1" in MailCatcher.html_of(mail)
    assert outbox.to(team["drafter"].email) == [] and outbox.to(team["viewer"].email) == []


def test_a_decline_is_recorded_with_its_reason(outbox: MailCatcher, app: Flask) -> None:
    letter, team = _letter()
    invitation = make_invitation(letter, organisation_name="Redress")
    decline(letter, invitation, reason="Not our mandate", email=invitation.email)
    commit()
    assert _kinds(letter) == [NoticeKind.DECLINED]
    assert _digest(outbox, app) == 1
    assert "Redress declined: “Not our mandate”" in MailCatcher.text_of(
        outbox.to(team["coordinator"].email)[0]
    )


def test_a_withdrawal_is_mailed_to_the_coordinators_at_once(outbox: MailCatcher) -> None:
    letter, team = _letter()
    invitation = make_invitation(letter, organisation_name="Amnesty")
    approve_through(invitation)
    commit()
    outbox.clear()
    withdraw(invitation.signature, reason="Board decision", email=invitation.email)
    commit()
    (mail,) = outbox.to(team["coordinator"].email)
    assert "Withdrawals: Amnesty withdrew their approval" in str(mail["Subject"])
    assert "Amnesty withdrew their approval: “Board decision”" in MailCatcher.text_of(mail)
    assert outbox.to(team["drafter"].email) == []


def test_a_public_sign_on_waiting_for_moderation_is_recorded(
    outbox: MailCatcher, app: Flask
) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    ask_and_confirm(letter, "Friends of the Court")
    commit()
    assert _kinds(letter) == [NoticeKind.PUBLIC_PENDING]
    assert _digest(outbox, app) == 1
    assert "Friends of the Court signed revision 1 publicly and waits for moderation" in (
        MailCatcher.text_of(outbox.to(coordinator.email)[0])
    )


def test_a_change_saved_after_an_approval_is_mailed_at_once_as_it_blocks_the_freeze(
    outbox: MailCatcher,
) -> None:
    letter, team = _letter()
    approve_through(make_invitation(letter))
    head = letter.head()
    assert head is not None
    result = operations.save_revision(
        letter, team["drafter"], base=head, title=head.title, body="A new text.\n"
    )
    commit()
    assert result.revision is not None
    assert _kinds(letter) == [NoticeKind.APPROVED, NoticeKind.CHANGE_WAITING]
    (mail,) = outbox.to(team["coordinator"].email)
    assert f"Revision 2 by {team['drafter'].display_name} was saved after organisations" in (
        MailCatcher.text_of(mail)
    )


def test_a_change_before_anyone_approved_is_no_notice() -> None:
    letter, team = _letter()
    head = letter.head()
    assert head is not None
    operations.save_revision(letter, team["drafter"], base=head, title=head.title, body="New.\n")
    assert _kinds(letter) == []


def test_a_deadline_near_is_recorded_once_per_point(outbox: MailCatcher, app: Flask) -> None:
    deadline = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    letter, team = _letter(deadline=deadline)
    make_invitation(letter)
    send_reminders(deadline - timedelta(hours=10))
    send_reminders(deadline - timedelta(hours=9))
    commit()
    assert _kinds(letter) == [NoticeKind.DEADLINE_NEAR]
    assert _digest(outbox, app) == 1
    assert "Signing closes in 10 hours" in MailCatcher.text_of(
        outbox.to(team["coordinator"].email)[0]
    )


def test_mail_that_fails_is_recorded_for_the_coordinators_once(
    outbox: MailCatcher, app: Flask
) -> None:
    letter, team = _letter()
    with refusing_mail_server(app):
        queue_mail(
            "refuse-me@ngo.example.org",
            "A receipt",
            "test_message",
            letter_id=letter.id,
            user=team["coordinator"],
        )
        commit()
        send_due(utcnow() + timedelta(days=1))  # tried again, failed again: still one notice
    assert _kinds(letter) == [NoticeKind.MAIL_FAILED]
    (notice,) = db.session.scalars(select(Notice).where(Notice.letter_id == letter.id))
    assert "Mail to refuse-me@ngo.example.org (“A receipt”)" in notice.summary
    assert "550" in notice.summary
    assert _digest(outbox, app) == 1
    assert "could not be delivered" in MailCatcher.text_of(outbox.to(team["coordinator"].email)[0])


def test_an_immediate_failed_mail_notice_goes_out_with_the_failure_not_at_the_next_run(
    app: Flask,
) -> None:
    """The sender that met the failure also sends the notice it queued, over the same
    connection: the coordinator does not wait for ``send-mail`` (every 5 minutes)."""
    letter, team = _letter()
    _choose(team["coordinator"], NoticeKind.MAIL_FAILED, Delivery.IMMEDIATE)
    with refusing_mail_server(app) as server:
        queue_mail(
            "refuse-me@ngo.example.org",
            "A receipt",
            "test_message",
            letter_id=letter.id,
            user=team["coordinator"],
        )
        commit()  # the receipt is sent after the commit, and refused
        assert server.accepted == [team["coordinator"].email]
        report = send_due(utcnow() + timedelta(days=1))  # refused again: no second notice
    assert (report.sent, report.failed) == (0, 1)
    assert server.accepted == [team["coordinator"].email]


def test_invitations_that_fail_are_one_notice(outbox: MailCatcher, app: Flask) -> None:
    letter, team = _letter()
    _choose(team["coordinator"], NoticeKind.MAIL_FAILED, Delivery.IMMEDIATE)
    with refusing_mail_server(app) as server:
        invitation_ops.create_invitations(
            letter,
            invitation_ops.parse_pasted(
                "\n".join(f"Bounced NGO {n}, refuse-{n}@ngo{n}.example.org" for n in range(7))
            ),
            invited_by=team["coordinator"],
        )
        commit()
        # sent by the sender that met the failures, over its connection, at once
        assert server.accepted == [team["coordinator"].email]
    (notice,) = db.session.scalars(select(Notice).where(Notice.letter_id == letter.id))
    assert notice.kind == NoticeKind.MAIL_FAILED
    assert notice.summary.startswith("7 invitations could not be delivered (refuse-0@")
    assert "and 2 more" in notice.summary
    assert send_due().sent == 0  # nothing was left for the next round of sending


def test_an_imported_approval_is_no_notice() -> None:
    letter, _unused = _letter()
    head = letter.head()
    assert head is not None
    approve(
        letter,
        head,
        SignatoryDetails(name="Imported NGO", authority_confirmed=True),
        email=None,
        source=SignatureSource.IMPORT,
        require_current=False,
    )
    approve_through(make_invitation(letter, organisation_name="Invited NGO"))
    assert _kinds(letter) == [NoticeKind.APPROVED], "the invited one only"


# --- each choice ----------------------------------------------------------------------------


@pytest.mark.parametrize("delivery", list(Delivery))
def test_each_choice_is_followed(delivery: Delivery, outbox: MailCatcher, app: Flask) -> None:
    letter, team = _letter()
    _choose(team["coordinator"], NoticeKind.APPROVED, delivery)
    approve_through(make_invitation(letter, organisation_name="Chosen NGO"))
    commit()
    immediate = outbox.to(team["coordinator"].email)
    assert len(immediate) == (1 if delivery == Delivery.IMMEDIATE else 0)
    outbox.clear()
    assert _digest(outbox, app) == (1 if delivery == Delivery.DIGEST else 0)
    assert len(outbox.to(team["coordinator"].email)) == (1 if delivery == Delivery.DIGEST else 0)


def test_a_coordinator_may_turn_off_even_the_immediate_defaults(outbox: MailCatcher) -> None:
    letter, team = _letter()
    _choose(team["coordinator"], NoticeKind.WITHDRAWN, Delivery.OFF)
    invitation = make_invitation(letter)
    approve_through(invitation)
    withdraw(invitation.signature, reason=None, email=invitation.email)
    commit()
    assert outbox.to(team["coordinator"].email) == []


def test_other_members_choose_to_hear_and_through_an_organisation_too(
    outbox: MailCatcher, app: Flask
) -> None:
    letter, team = _letter()
    colleague = make_user(email="colleague@drafting.example.org")
    add_team_member(
        letter, role=TeamRole.DRAFTER, organisation=make_organisation(members=(colleague,))
    )
    for person in (team["drafter"], colleague):
        _choose(person, NoticeKind.CHANGE_WAITING, Delivery.IMMEDIATE)
    _save_after_an_approval(letter, team["coordinator"])
    commit()
    assert len(_notice_mails(outbox, team["drafter"])) == 1
    assert len(_notice_mails(outbox, colleague)) == 1
    assert _notice_mails(outbox, team["viewer"]) == [], "the viewer chose nothing: not at all"


def _save_after_an_approval(letter: Letter, author: User) -> None:
    """An approval, then a change saved after it: a notice of each, the second for
    everyone on the team, the first for those who may see who signed."""
    approve_through(make_invitation(letter, organisation_name="Approving NGO"))
    head = letter.head()
    assert head is not None
    operations.save_revision(letter, author, base=head, title=head.title, body="Changed.\n")


def test_the_answers_of_invitees_are_for_those_who_may_see_who_signed(
    outbox: MailCatcher, app: Flask
) -> None:
    """Who approved, declined (and why) or withdrew is shown on "Who has signed" and
    "Invitations", which only coordinators may open: a drafter or a viewer who asks for
    every notice of the letter at once is not told either."""
    letter, team = _letter()
    for role in ("drafter", "viewer"):
        operations.choose_letter_notifications(letter, team[role], Delivery.IMMEDIATE)
        for kind in (NoticeKind.APPROVED, NoticeKind.DECLINED, NoticeKind.WITHDRAWN):
            _choose(team[role], kind, Delivery.IMMEDIATE)
    approving = make_invitation(letter, organisation_name="Approving NGO")
    approve_through(approving)
    declining = make_invitation(letter, organisation_name="Declining NGO")
    decline(letter, declining, reason="Our board said no", email=declining.email)
    withdraw(approving.signature, reason="Changed our mind", email=approving.email)
    commit()
    assert _kinds(letter) == [NoticeKind.APPROVED, NoticeKind.DECLINED, NoticeKind.WITHDRAWN]
    for role in ("drafter", "viewer"):
        assert _notice_mails(outbox, team[role]) == [], role
    (withdrawal,) = _notice_mails(outbox, team["coordinator"])  # at once, by default
    assert "Withdrawals: Approving NGO" in str(withdrawal["Subject"])
    assert _digest(outbox, app) == 1  # the coordinator's: the approval and the decline
    digest = _notice_mails(outbox, team["coordinator"])[-1]
    assert "Declining NGO declined: “Our board said no”" in MailCatcher.text_of(digest)
    for role in ("drafter", "viewer"):
        assert _notice_mails(outbox, team[role]) == [], role


def test_each_kind_is_seen_by_whoever_may_open_the_page_that_shows_it(app: Flask) -> None:
    """One rule: a notice's kind asks the action that the page showing the same thing
    checks (``@letter_route``), so the feed and the mail never tell a role more."""
    shown_on = {
        NoticeKind.APPROVED: "signatures.dashboard",
        NoticeKind.DECLINED: "signatures.invitations",
        NoticeKind.WITHDRAWN: "signatures.dashboard",
        NoticeKind.PUBLIC_PENDING: "signatures.moderation",
        NoticeKind.CHANGE_WAITING: "signatures.lifecycle_changes",
        NoticeKind.DEADLINE_NEAR: "signatures.lifecycle",
        NoticeKind.MAIL_FAILED: "mail.problems",
        NoticeKind.MENTIONED: "letters.show",  # where comments are read
        NoticeKind.INVITEE_COMMENTED: "letters.show",
        NoticeKind.SUGGESTED: "drafting.accept_suggestion",  # told: those who decide
    }
    assert set(shown_on) == set(NoticeKind)
    for kind, endpoint in shown_on.items():
        assert kind.action == guard_of(app.view_functions[endpoint]), kind


def test_nobody_is_told_what_their_role_may_not_see(outbox: MailCatcher, app: Flask) -> None:
    letter, team = _letter(is_public=True, addressee="The Assembly")
    for kind in (NoticeKind.PUBLIC_PENDING, NoticeKind.MAIL_FAILED):
        _choose(team["viewer"], kind, Delivery.IMMEDIATE)
        _choose(team["drafter"], kind, Delivery.DIGEST)
    ask_and_confirm(letter, "Friends of the Court")
    commit()
    assert outbox.to(team["viewer"].email) == []
    assert _digest(outbox, app) == 1  # the coordinator's
    assert outbox.to(team["drafter"].email) == []


def test_an_unconfirmed_account_gets_no_notice_mail(outbox: MailCatcher) -> None:
    letter, _unused = _letter()
    pending = make_user(email="pending@team.example.org", confirmed=False)
    add_team_member(letter, role=TeamRole.COORDINATOR, user=pending)
    invitation = make_invitation(letter)
    approve_through(invitation)
    withdraw(invitation.signature, reason=None, email=invitation.email)
    commit()
    assert outbox.to(pending.email) == []


# --- the digest --------------------------------------------------------------------------------


def test_the_digest_is_one_mail_a_day_whatever_the_number_of_runs(
    outbox: MailCatcher, app: Flask
) -> None:
    letter, team = _letter()
    other = make_letter(team["coordinator"], title="Second letter")
    approve_through(make_invitation(letter, organisation_name="First NGO"))
    approve_through(make_invitation(other, organisation_name="Second NGO"))
    commit()
    assert _digest(outbox, app) == 1
    assert _digest(outbox, app) == 0, "run twice: one mail"
    (mail,) = outbox.to(team["coordinator"].email)
    text = MailCatcher.text_of(mail)
    assert "First NGO approved" in text and "Second NGO approved" in text
    assert "Second letter" in text
    # Something new the same day waits for tomorrow's digest, which has only the new.
    approve_through(make_invitation(letter, organisation_name="Third NGO"))
    commit()
    assert _digest(outbox, app) == 0
    outbox.clear()
    assert _digest(outbox, app, timedelta(days=1)) == 1
    text = MailCatcher.text_of(outbox.to(team["coordinator"].email)[0])
    assert "Third NGO approved" in text and "First NGO" not in text
    assert _digest(outbox, app, timedelta(days=1)) == 0


def test_a_digest_run_that_dies_half_way_loses_nothing_and_sends_nothing_twice(
    outbox: MailCatcher, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run is one unit of work: dying at the second person (a crash, a lost database)
    rolls back the first person's claim and mail with it; the next run sends both once."""
    letter, team = _letter()
    second = make_user(email="second-coordinator@team.example.org")
    add_team_member(letter, role=TeamRole.COORDINATOR, user=second)
    approve_through(make_invitation(letter, organisation_name="Early NGO"))
    commit()
    sections = notices._digest_sections

    def dies_at_the_second(user: User, found: Any) -> Any:
        if user.id == second.id:
            raise RuntimeError("the process dies here")
        return sections(user, found)

    with monkeypatch.context() as patched:
        patched.setattr(notices, "_digest_sections", dies_at_the_second)
        with pytest.raises(RuntimeError):
            notices.send_digests(utcnow())
        transaction.rollback()
    assert outbox.messages == []
    assert _digest(outbox, app) == 2
    assert _digest(outbox, app) == 0
    for person in (team["coordinator"], second):
        (mail,) = outbox.to(person.email)
        assert "Early NGO approved revision 1" in MailCatcher.text_of(mail)


def test_the_digest_is_cut_at_the_readers_own_midnight(outbox: MailCatcher, app: Flask) -> None:
    """Tokyo is 9 hours ahead: 15:30 UTC is already tomorrow there, not in London."""
    letter, team = _letter()
    tokyo, london = team["coordinator"], make_user(email="london@team.example.org")
    tokyo.timezone, london.timezone = "Asia/Tokyo", "Europe/London"
    add_team_member(letter, role=TeamRole.COORDINATOR, user=london)
    evening = datetime(2026, 12, 4, 14, 30, tzinfo=UTC)  # 23:30 in Tokyo, 14:30 in London
    approve_through(make_invitation(letter, organisation_name="First NGO"))
    commit()
    assert notices.send_digests(evening) == 2
    commit()
    assert notices.digest_day(tokyo, evening) == date(2026, 12, 4)
    approve_through(make_invitation(letter, organisation_name="Second NGO"))
    commit()
    outbox.clear()
    after_midnight_in_tokyo = evening + timedelta(hours=1)
    assert notices.send_digests(after_midnight_in_tokyo) == 1
    commit()
    assert notices.send_digests(after_midnight_in_tokyo) == 0, "run twice: one mail"
    commit()
    (mail,) = outbox.to(tokyo.email)
    assert "Second NGO approved" in MailCatcher.text_of(mail)
    assert "First NGO" not in MailCatcher.text_of(mail)
    assert outbox.to(london.email) == [], "still 4 December in London"
    assert notices.send_digests(datetime(2026, 12, 5, 0, 30, tzinfo=UTC)) == 1  # London's turn
    commit()
    assert len(outbox.to(london.email)) == 1


def test_the_digest_dates_each_notice_in_the_readers_zone(outbox: MailCatcher, app: Flask) -> None:
    letter, team = _letter()
    team["coordinator"].timezone = "Asia/Tokyo"
    approve_through(make_invitation(letter, organisation_name="First NGO"))
    commit()
    assert _digest(outbox, app) == 1
    mail = outbox.to(team["coordinator"].email)[0]
    line = r"\d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} JST, [^:\n]+: First NGO approved"
    assert re.search(line, MailCatcher.text_of(mail)), MailCatcher.text_of(mail)
    assert re.search(line, MailCatcher.html_of(mail))


def test_no_digest_without_anything_new(outbox: MailCatcher, app: Flask) -> None:
    _letter()
    assert _digest(outbox, app) == 0
    assert len(outbox) == 0


def test_the_send_digests_command(app: Flask, outbox: MailCatcher) -> None:
    letter, team = _letter()
    approve_through(make_invitation(letter, organisation_name="Command NGO"))
    commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["send-digests"])
    second = runner.invoke(args=["send-digests"])
    assert first.exit_code == 0 and "Digests sent: 1" in first.output
    assert "Digests sent: 0" in second.output
    assert len(outbox.to(team["coordinator"].email)) == 1


def test_the_scheduler_runs_the_digest() -> None:
    assert "send-digests" in {task.name for task in periodic_tasks()}


# --- the account page ---------------------------------------------------------------------------


def _form(**chosen: str) -> dict[str, str]:
    data = {f"notify-{kind.value}": "default" for kind in NoticeKind}
    data.update({f"notify-{kind}": value for kind, value in chosen.items()})
    return data


def test_the_account_page_saves_each_choice_and_default_removes_it(client: FlaskClient) -> None:
    user = make_user()
    login(client, user)
    page = client.get("/account").get_data(as_text=True)
    assert "Withdrawals" in page and "Default (coordinators: immediately" in page
    response = client.post("/account/notifications", data=_form(approved="off", withdrawn="digest"))
    assert response.status_code == 302
    rows = {
        kind: delivery
        for kind, delivery in db.session.execute(
            select(NotificationPreference.kind, NotificationPreference.delivery).where(
                NotificationPreference.user_id == user.id
            )
        )
    }
    assert rows == {NoticeKind.APPROVED: Delivery.OFF, NoticeKind.WITHDRAWN: Delivery.DIGEST}
    page = client.get("/account").get_data(as_text=True)
    assert '<option selected value="off">' in page
    client.post("/account/notifications", data=_form(withdrawn="digest"))
    remaining = db.session.scalars(
        select(NotificationPreference.kind).where(NotificationPreference.user_id == user.id)
    ).all()
    assert remaining == [NoticeKind.WITHDRAWN]


def test_a_made_up_choice_is_refused(client: FlaskClient) -> None:
    user = make_user()
    login(client, user)
    response = client.post("/account/notifications", data=_form(approved="hourly"))
    assert response.status_code == 200
    assert (
        db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        ).all()
        == []
    )


# --- the feed on the letter's page ----------------------------------------------------------------


def test_the_feed_shows_each_role_what_it_may_see(client: FlaskClient) -> None:
    letter, team = _letter(is_public=True, addressee="The Assembly")
    approve_through(make_invitation(letter, organisation_name="<b>Bold NGO</b>"))
    declining = make_invitation(letter, organisation_name="Declining NGO")
    decline(letter, declining, reason="Private reason", email=declining.email)
    ask_and_confirm(letter, "Public Friends")
    notices.notify(letter, NoticeKind.MAIL_FAILED, "Mail to x@example.org failed")
    notices.notify(letter, NoticeKind.DEADLINE_NEAR, "Signing closes in <i>10 hours</i>")
    everything = {"Bold NGO", "Private reason", "Public Friends", "x@example.org", "10 hours"}
    for role, seen in (
        ("coordinator", everything),
        ("drafter", {"10 hours"}),
        ("viewer", {"10 hours"}),
    ):
        login(client, team[role])
        page = client.get(f"/letters/{letter.slug}/").get_data(as_text=True)
        for text in everything:
            assert (text in page) == (text in seen), (role, text)
        assert "&lt;i&gt;10 hours&lt;/i&gt;" in page, "escaped, never markup"


def test_the_feed_pages_in_sql_with_a_fixed_number_of_statements(client: FlaskClient) -> None:
    letter, team = _letter()
    login(client, team["coordinator"])

    def statements(page: int) -> tuple[int, str]:
        with count_queries() as counter:
            response = client.get(f"/letters/{letter.slug}/?activity={page}")
        assert response.status_code == 200
        return counter.count, response.get_data(as_text=True)

    notices.notify(letter, NoticeKind.APPROVED, "Notice number 0")
    db.session.flush()  # notify() leaves its INSERT to the caller's next flush
    few, _page = statements(1)
    for n in range(1, notices.FEED_PER_PAGE * 2 + 5):
        notices.notify(letter, NoticeKind.APPROVED, f"Notice number {n}")
    db.session.flush()
    many, first = statements(1)
    _count, third = statements(3)
    assert few == many
    assert "Notice number 44" in first and "Notice number 24" not in first
    assert "Page 3 of 3" in third and "Notice number 0<" in third.replace("\n", "")
    assert "Notice number 5<" not in third.replace("\n", "")


def test_people_off_the_team_see_no_feed(client: FlaskClient) -> None:
    letter, _unused = _letter()
    notices.notify(letter, NoticeKind.APPROVED, "Secret NGO approved")
    login(client, make_user())
    response = client.get(f"/letters/{letter.slug}/")
    assert response.status_code == 404
    assert "Secret NGO" not in response.get_data(as_text=True)


# --- a choice per letter, over the account's ---------------------------------------------------


def test_the_one_rule_letter_choice_then_account_choice_then_default() -> None:
    approved, pending = NoticeKind.APPROVED, NoticeKind.PUBLIC_PENDING
    coordinator, viewer = TeamRole.COORDINATOR, TeamRole.VIEWER
    assert delivery_for(approved, coordinator, None) == Delivery.DIGEST  # the default
    assert delivery_for(approved, coordinator, Delivery.OFF) == Delivery.OFF  # the account's
    assert delivery_for(approved, coordinator, Delivery.OFF, Delivery.IMMEDIATE) == (
        Delivery.IMMEDIATE
    )
    waiting = NoticeKind.CHANGE_WAITING
    assert delivery_for(waiting, viewer, None, Delivery.DIGEST) == Delivery.DIGEST
    # a letter's choice never shows a role what it may not see
    assert delivery_for(pending, viewer, Delivery.IMMEDIATE, Delivery.IMMEDIATE) == Delivery.OFF
    assert delivery_for(approved, viewer, Delivery.IMMEDIATE, Delivery.IMMEDIATE) == Delivery.OFF


def test_a_choice_for_one_letter_overrides_the_account_for_that_letter_only(
    outbox: MailCatcher, app: Flask
) -> None:
    letter, team = _letter()
    other = make_letter(team["coordinator"], title="Other letter")
    coordinator = team["coordinator"]
    viewer = make_user(email="second-coordinator@team.example.org")  # who may see approvals
    for on in (letter, other):
        add_team_member(on, role=TeamRole.COORDINATOR, user=viewer)
    _choose(viewer, NoticeKind.APPROVED, Delivery.OFF)  # the account: no approvals
    operations.choose_letter_notifications(letter, viewer, Delivery.IMMEDIATE)
    operations.choose_letter_notifications(letter, coordinator, Delivery.OFF)
    commit()
    approve_through(make_invitation(letter, organisation_name="Here NGO"))
    approve_through(make_invitation(other, organisation_name="Elsewhere NGO"))
    commit()
    (mail,) = _notice_mails(outbox, viewer)
    assert "Here NGO approved" in mail["Subject"]
    assert _digest(outbox, app) == 1
    (digest,) = _notice_mails(outbox, coordinator)
    text = MailCatcher.text_of(digest)
    assert "Elsewhere NGO approved" in text and "Here NGO" not in text
    # "As on my account page" again: the account's choices and the defaults apply
    operations.choose_letter_notifications(letter, viewer, None)
    operations.choose_letter_notifications(letter, coordinator, Delivery.DIGEST)
    operations.choose_letter_notifications(letter, coordinator, None)
    commit()
    assert notices.letter_choice(letter, viewer) is None
    outbox.clear()
    approve_through(make_invitation(letter, organisation_name="Later NGO"))
    commit()
    assert _notice_mails(outbox, viewer) == []
    assert _digest(outbox, app, timedelta(days=1)) == 1
    assert "Later NGO approved" in MailCatcher.text_of(_notice_mails(outbox, coordinator)[0])


def test_the_letter_page_saves_the_members_choice(client: FlaskClient) -> None:
    letter, team = _letter()
    viewer = team["viewer"]
    commit()
    login(client, viewer)
    page = client.get(f"/letters/{letter.slug}/").get_data(as_text=True)
    assert "Mail me about this letter" in page
    assert '<option selected value="account">' in page
    path = f"/letters/{letter.slug}/notifications"
    response = client.post(path, data={"letter-notify-delivery": "immediate"})
    assert response.status_code == 302 and response.location.endswith("#activity")
    assert notices.letter_choice(letter, viewer) == Delivery.IMMEDIATE
    assert notices.letter_choice(letter, team["coordinator"]) is None, "the viewer's own"
    page = client.get(f"/letters/{letter.slug}/").get_data(as_text=True)
    assert '<option selected value="immediate">' in page
    refused = client.post(path, data={"letter-notify-delivery": "hourly"})
    assert refused.status_code == 200 and "Not a valid choice" in refused.get_data(as_text=True)
    assert notices.letter_choice(letter, viewer) == Delivery.IMMEDIATE
    client.post(path, data={"letter-notify-delivery": "account"})
    assert notices.letter_choice(letter, viewer) is None


def test_a_deadline_near_is_written_in_each_readers_zone(outbox: MailCatcher, app: Flask) -> None:
    """Issue 12 item 8: the notice's stored words carry no date ("UTC" for everyone
    before); the mail writes the deadline in the reader's zone, the digest too."""
    deadline = datetime(2031, 1, 5, 18, 0, tzinfo=UTC)
    letter, team = _letter(deadline=deadline)
    team["coordinator"].timezone = "Asia/Tokyo"
    team["drafter"].timezone = "America/New_York"
    _choose(team["drafter"], NoticeKind.DEADLINE_NEAR, Delivery.IMMEDIATE)
    make_invitation(letter)
    send_reminders(deadline - timedelta(hours=10))
    commit()
    (notice,) = db.session.scalars(select(Notice).where(Notice.letter_id == letter.id))
    assert notice.summary == "Signing closes in 10 hours"
    (mail,) = _notice_mails(outbox, team["drafter"])
    text = MailCatcher.text_of(mail)
    assert "Signing closes in 10 hours: on 5 January 2031, 13:00 EST" in text
    assert "UTC" not in text and "UTC" not in str(mail["Subject"])
    assert _digest(outbox, app) >= 1
    (digest,) = outbox.to(team["coordinator"].email)
    text = MailCatcher.text_of(digest)
    assert "Signing closes in 10 hours (the deadline now: 6 January 2031, 03:00 JST)" in text
    assert "UTC" not in text


# --- nothing skipped: a notice still being written when the digest runs ------------------------


@pytest.mark.real_commits
def test_a_notice_committed_after_a_later_one_is_in_the_digest_not_skipped(
    app: Flask, outbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL takes a notice's id at its INSERT: a request still open (notice 1) when
    another one commits (notice 2) and the digest runs. The digest waits for it rather
    than covering notice 2 alone and moving on past notice 1 for ever."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: ids are taken in commit order")
    with app.test_request_context():
        letter, team = _letter()
        commit()
        letter_id, coordinator_email = letter.id, team["coordinator"].email
    with db.engine.connect() as slow:
        slow.execute(
            Notice.__table__.insert().values(  # type: ignore[attr-defined]
                letter_id=letter_id,
                kind=NoticeKind.APPROVED,
                summary="Slow NGO approved revision 1",
                created_at=utcnow(),
            )
        )  # notice 1: its transaction stays open
        with app.test_request_context():
            notices.notify(db.session.get(Letter, letter_id), NoticeKind.APPROVED, "Quick NGO")
            commit()  # notice 2, committed first
        with monkeypatch.context() as patched, app.test_request_context():
            patched.setattr(notices, "WATERMARK_WAIT_MS", 200)
            assert notices.send_digests(utcnow()) == 0, "not now, rather than without it"
            commit()
        assert outbox.to(coordinator_email) == []
        ends = threading.Timer(0.5, slow.commit)
        ends.start()
        try:
            with app.test_request_context():
                assert notices.send_digests(utcnow()) == 1
                commit()
        finally:
            ends.join()
    (digest,) = outbox.to(coordinator_email)
    text = MailCatcher.text_of(digest)
    assert "Quick NGO" in text and "Slow NGO approved revision 1" in text
