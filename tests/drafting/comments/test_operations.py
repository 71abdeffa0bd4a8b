"""Comment operations and visibility, without HTTP: anchoring, carrying across revisions
saved through letters.operations, passage removed, frozen letters, invitees, mentions."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from signon.accounts.models import NotificationPreference
from signon.audit.models import AuditEvent
from signon.core.notices import Delivery, NoticeKind
from signon.core.permissions import TeamRole
from signon.db import utcnow
from signon.drafting.comments import operations as ops
from signon.drafting.comments import queries
from signon.drafting.comments.models import Comment, CommentThread
from signon.drafting.comments.operations import CommentError
from signon.extensions import db
from signon.letters import notices
from signon.letters.models import LetterStatus, Notice
from signon.letters.operations import save_revision
from tests.drafting.comments.helpers import (
    BODY,
    Team,
    comment_on,
    invitee_comment_on,
    open_to_invitees,
    team_letter,
)
from tests.factories import add_revision, make_user
from tests.signatures.factories import commit
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")


def _save(team: Team, body: str) -> None:
    head = team.letter.head()
    assert head is not None
    result = save_revision(team.letter, team.drafter, base=head, title=team.letter.title, body=body)
    assert result.revision is not None and result.revision.body_markdown == body


def test_a_thread_is_anchored_to_the_selected_words() -> None:
    team = team_letter()
    thread = comment_on(team, "public hearing", "Which ministry holds it?")
    assert thread.quote == "public hearing"
    assert BODY[thread.anchor_start : thread.anchor_end] == "public hearing"
    assert thread.anchor_revision_id == team.letter.head().id
    assert [c.body for c in thread.comments] == ["Which ministry holds it?"]
    assert thread.comments[0].author_name == "Dan Drafter"


def test_the_right_one_of_repeated_words_by_its_context() -> None:
    team = team_letter()
    head = team.letter.head()
    thread = ops.start_thread(
        team.letter,
        head,
        quote="river basin",
        prefix="farms.\n\nThe ",  # not in the text: only "The " helps
        suffix=" feeds three",
        body="Say which basin.",
        author=team.drafter,
    )
    assert thread.anchor_start == BODY.index("river basin", BODY.index("river basin") + 1)


def test_words_not_in_the_text_are_refused() -> None:
    team = team_letter()
    with pytest.raises(CommentError, match="not in the text"):
        comment_on(team, "a tax on water")
    with pytest.raises(CommentError, match="Write a comment"):
        comment_on(team, "public hearing", "   ")


def test_a_comment_survives_two_revisions() -> None:
    team = team_letter()
    thread = comment_on(team, "public hearing")
    second = BODY.replace("We call on", "Today we call on")
    _save(team, second)
    assert thread.anchor_revision_id == team.letter.head().id
    assert second[thread.anchor_start : thread.anchor_end] == "public hearing"
    third = second.replace("a public hearing", "a public and open hearing")
    _save(team, third)
    assert thread.anchor_revision_id == team.letter.head().id
    assert thread.quote == "public and open hearing"
    assert third[thread.anchor_start : thread.anchor_end] == "public and open hearing"
    assert not thread.passage_removed


def test_a_deleted_passage_keeps_its_thread_marked_removed_with_the_old_text() -> None:
    team = team_letter()
    thread = comment_on(team, "feeds three cities")
    kept = comment_on(team, "public hearing")
    _save(team, BODY.replace("The river basin feeds three cities and their farms.\n\n", ""))
    head = team.letter.head()
    assert thread.passage_removed and thread.removed_in_id == head.id
    assert thread.quote == "feeds three cities"
    assert thread.anchor_start is None
    assert db.session.get(CommentThread, thread.id) is not None
    assert not kept.passage_removed
    # A later save leaves it removed (it is not carried again).
    _save(team, head.body_markdown + "\nA last line.\n")
    assert thread.removed_in_id == head.id
    shown = queries.shown(
        queries.visible_threads(team.letter, user=team.viewer), team.letter.head()
    )
    assert [(s.thread.id, s.passage is None, s.quote) for s in shown] == [
        (thread.id, True, "feeds three cities"),
        (kept.id, False, "public hearing"),
    ]


def test_a_thread_of_an_older_revision_is_carried_on_the_page_without_being_stored() -> None:
    """A revision made without a save (an import, this factory) sends no signal: the page
    carries the thread in memory, and stores nothing."""
    team = team_letter()
    thread = comment_on(team, "public hearing")
    old_id = thread.anchor_revision_id
    new = add_revision(team.letter, team.drafter, "Preface.\n\n" + BODY)
    (shown,) = queries.shown([thread], new)
    assert shown.passage is not None
    assert new.body_markdown[shown.passage.start : shown.passage.end] == "public hearing"
    assert thread.anchor_revision_id == old_id


def test_starting_on_an_older_revision_anchors_to_the_current_one() -> None:
    team = team_letter()
    first = team.letter.head()
    _save(team, "Preface.\n\n" + BODY)
    thread = ops.start_thread(
        team.letter, first, quote="public hearing", body="Still?", author=team.drafter
    )
    head = team.letter.head()
    assert thread.started_on_id == first.id and thread.anchor_revision_id == head.id
    assert head.body_markdown[thread.anchor_start : thread.anchor_end] == "public hearing"
    _save(team, head.body_markdown.replace("a public hearing before", "action before"))
    with pytest.raises(CommentError, match="deleted"):
        ops.start_thread(team.letter, first, quote="public hearing", body="?", author=team.drafter)


def test_replies_resolve_and_reopen() -> None:
    team = team_letter()
    thread = comment_on(team, "public hearing")
    ops.reply(thread, body="Yes, the environment ministry.", author=team.coordinator)
    assert [c.author_name for c in thread.comments] == ["Dan Drafter", "Cora Coordinator"]
    ops.resolve_thread(thread, team.coordinator)
    assert thread.is_resolved and thread.resolved_by_id == team.coordinator.id
    ops.reopen_thread(thread, team.drafter)
    assert not thread.is_resolved and thread.resolved_by_id is None


def test_a_viewer_may_not_reply() -> None:
    team = team_letter()
    thread = comment_on(team, "public hearing")
    with pytest.raises(CommentError):
        ops.reply(thread, body="Me too", author=team.viewer)


@pytest.mark.parametrize("status", [LetterStatus.OPEN, LetterStatus.CLOSED, LetterStatus.PUBLISHED])
def test_frozen_or_closed_letters_take_no_comments_and_keep_their_threads_as_they_are(
    status: LetterStatus,
) -> None:
    team = team_letter()
    thread = comment_on(team, "public hearing")
    resolved = comment_on(team, "river basin")
    ops.resolve_thread(resolved, team.drafter)
    team.letter.status = status
    with pytest.raises(CommentError, match="closed"):
        comment_on(team, "three cities")
    with pytest.raises(CommentError, match="closed"):
        ops.reply(thread, body="And?", author=team.coordinator)
    with pytest.raises(CommentError, match="neither resolved nor reopened"):
        ops.resolve_thread(thread, team.coordinator)
    with pytest.raises(CommentError, match="neither resolved nor reopened"):
        ops.reopen_thread(resolved, team.coordinator)
    assert not thread.is_resolved and resolved.is_resolved
    assert [t.id for t in db.session.scalars(select(CommentThread))] == [thread.id, resolved.id]


def test_the_coordinator_may_keep_comments_open_on_a_frozen_text_not_a_closed_one() -> None:
    team = team_letter()
    ops.update_settings(
        team.letter,
        invitees_may_comment=False,
        on_frozen=True,
        actor=team.coordinator,
        seen_revision=None,
    )
    team.letter.status = LetterStatus.OPEN
    thread = comment_on(team, "public hearing")
    ops.reply(thread, body="Noted.", author=team.coordinator)
    ops.resolve_thread(thread, team.drafter)
    ops.reopen_thread(thread, team.coordinator)
    for status in (LetterStatus.CLOSED, LetterStatus.PUBLISHED):
        team.letter.status = status
        with pytest.raises(CommentError, match="closed"):
            comment_on(team, "river basin")
        with pytest.raises(CommentError, match="closed"):
            ops.resolve_thread(thread, team.coordinator)
    assert not thread.is_resolved


# --- Invited organisations ------------------------------------------------------------------


def test_invitees_comment_only_on_the_revision_the_coordinator_opened() -> None:
    team = team_letter()
    head = team.letter.head()
    with pytest.raises(CommentError, match="not open"):
        ops.start_thread(
            team.letter, head, quote="river basin", body="?", invitation=team.invitation
        )
    open_to_invitees(team)
    thread = ops.start_thread(
        team.letter, head, quote="public hearing", body="We agree.", invitation=team.invitation
    )
    assert thread.invitation_id == team.invitation.id
    assert thread.comments[0].author_name == "River Friends"
    assert thread.comments[0].author_id is None
    _save(team, "Preface.\n\n" + BODY)  # a new revision closes it until opened again
    with pytest.raises(CommentError, match="not open"):
        ops.start_thread(
            team.letter,
            team.letter.head(),
            quote="river basin",
            body="?",
            invitation=team.invitation,
        )


def test_visibility_one_rule_for_every_reader() -> None:
    team = team_letter()
    open_to_invitees(team)
    head = team.letter.head()
    internal = comment_on(team, "river basin", "Internal: do we need this?")
    theirs = ops.start_thread(
        team.letter,
        head,
        quote="public hearing",
        body="Please add a date.",
        invitation=team.invitation,
    )
    ops.reply(theirs, body="We will.", author=team.coordinator)
    others = ops.start_thread(
        team.letter, head, quote="three cities", body="Name them.", invitation=team.other_invitation
    )
    outsider = make_user()
    everything = [internal.id, theirs.id, others.id]
    for member in (team.coordinator, team.drafter, team.viewer):
        assert [t.id for t in queries.visible_threads(team.letter, user=member)] == everything
    assert [t.id for t in queries.visible_threads(team.letter, invitation=team.invitation)] == [
        theirs.id
    ]
    assert [
        t.id for t in queries.visible_threads(team.letter, invitation=team.other_invitation)
    ] == [others.id]
    assert queries.visible_threads(team.letter, user=outsider) == []
    assert queries.visible_threads(team.letter) == []
    assert queries.visible_thread(team.letter, internal.id, invitation=team.invitation) is None
    assert queries.visible_thread(team.letter, others.id, invitation=team.invitation) is None
    assert queries.visible_thread(team.letter, internal.id, user=outsider) is None
    # An invitation of another letter sees nothing here.
    elsewhere = team_letter()
    assert queries.visible_threads(team.letter, invitation=elsewhere.invitation) == []


def test_only_coordinators_and_the_organisation_write_in_its_thread() -> None:
    team = team_letter()
    open_to_invitees(team)
    thread = ops.start_thread(
        team.letter,
        team.letter.head(),
        quote="public hearing",
        body="A date?",
        invitation=team.invitation,
    )
    with pytest.raises(CommentError):
        ops.reply(thread, body="Internal note", author=team.drafter)
    with pytest.raises(CommentError):
        ops.reply(thread, body="Us too", invitation=team.other_invitation)
    ops.reply(thread, body="Thanks.", invitation=team.invitation)
    ops.reply(thread, body="Added.", author=team.coordinator)
    bodies = db.session.scalars(
        select(Comment.body).where(Comment.thread_id == thread.id).order_by(Comment.id)
    ).all()
    assert bodies == ["A date?", "Thanks.", "Added."]


def test_the_team_resolves_any_thread_and_an_organisation_its_own() -> None:
    team = team_letter()
    open_to_invitees(team)
    internal = comment_on(team, "river basin")
    theirs = ops.start_thread(
        team.letter,
        team.letter.head(),
        quote="public hearing",
        body="A date?",
        invitation=team.invitation,
    )
    # The team: drafters and coordinators, any thread; viewers none.
    ops.resolve_thread(theirs, team.drafter)
    assert theirs.resolved_by_id == team.drafter.id and theirs.resolver_name == "Dan Drafter"
    ops.reopen_thread(theirs, team.coordinator)
    for thread in (internal, theirs):
        with pytest.raises(CommentError, match="Only drafters and coordinators"):
            ops.resolve_thread(thread, team.viewer)
    # An organisation: its own thread, neither the team's nor another organisation's.
    ops.resolve_thread(theirs, invitation=team.invitation)
    assert theirs.resolved_by_id is None and theirs.resolver_name == "River Friends"
    ops.reopen_thread(theirs, invitation=team.invitation)
    assert not theirs.is_resolved and theirs.resolved_by_invitation_id is None
    for thread, invitation in (
        (internal, team.invitation),
        (theirs, team.other_invitation),
    ):
        with pytest.raises(CommentError, match="not your organisation's"):
            ops.resolve_thread(thread, invitation=invitation)
    assert not internal.is_resolved and not theirs.is_resolved
    actors = db.session.scalars(
        select(AuditEvent.actor_label)
        .where(AuditEvent.action == ops.RESOLVED, AuditEvent.letter_id == team.letter.id)
        .order_by(AuditEvent.id)
    ).all()
    assert actors == [team.drafter.email, "invited organisation River Friends"]


# --- Mentions ----------------------------------------------------------------------------------


def test_mentions_find_team_members_by_address_or_name() -> None:
    team = team_letter()
    found = queries.mentioned_people(team.letter, "@cora and @VeraViewer, see this. Not @nobody.")
    assert {p.id for p in found} == {team.coordinator.id, team.viewer.id}
    outsider = make_user(name="Olga", email="olga@elsewhere.example.org")
    assert queries.mentioned_people(team.letter, f"@olga {outsider.email}") == []
    assert queries.mentioned_people(team.letter, f"mail {team.drafter.email}") == []


def test_a_mention_is_mailed_at_once_to_that_person_only(outbox: MailCatcher, app: Flask) -> None:
    team = team_letter()
    comment_on(team, "public hearing", "@vera can you check the date?", by=team.drafter)
    commit()
    mails = outbox.to(team.viewer.email)
    assert len(mails) == 1
    text = MailCatcher.text_of(mails[0])
    assert "Dan Drafter mentioned you" in text and "can you check the date?" in text
    assert "#comments" in text
    assert outbox.to(team.coordinator.email) == []
    assert outbox.to(team.drafter.email) == []
    notice = db.session.scalars(select(Notice).where(Notice.letter_id == team.letter.id)).one()
    assert notice.kind == NoticeKind.MENTIONED and notice.for_user_id == team.viewer.id
    # Only the person mentioned sees it in the letter's feed.

    assert notices.feed_page(team.letter, TeamRole.VIEWER, 1, reader_id=team.viewer.id).total == 1
    assert (
        notices.feed_page(team.letter, TeamRole.COORDINATOR, 1, reader_id=team.coordinator.id).total
        == 0
    )


def test_a_mention_waits_for_the_digest_when_the_person_chose_so(
    outbox: MailCatcher, app: Flask
) -> None:
    team = team_letter()
    db.session.add(
        NotificationPreference(
            user_id=team.viewer.id, kind=NoticeKind.MENTIONED, delivery=Delivery.DIGEST
        )
    )
    db.session.flush()
    comment_on(team, "public hearing", "@vera the date?", by=team.drafter)
    comment_on(team, "river basin", "@dan internal", by=team.coordinator)
    commit()
    assert outbox.to(team.viewer.email) == []
    assert len(outbox.to(team.drafter.email)) == 1
    notices.send_digests(utcnow())
    commit()
    (digest,) = outbox.to(team.viewer.email)
    text = MailCatcher.text_of(digest)
    assert "mentioned you" in text and "the date?" in text
    assert "@dan internal" not in text, "a mention of someone else is not in their digest"


def test_the_team_hears_of_an_invited_organisations_comment(
    outbox: MailCatcher, app: Flask
) -> None:
    team = team_letter()
    open_to_invitees(team)
    thread = ops.start_thread(
        team.letter,
        team.letter.head(),
        quote="public hearing",
        body="When will it be?",
        invitation=team.invitation,
    )
    ops.reply(thread, body="Before June?", invitation=team.invitation)
    commit()
    found = db.session.scalars(
        select(Notice).where(Notice.letter_id == team.letter.id).order_by(Notice.id)
    ).all()
    assert [n.kind for n in found] == [NoticeKind.INVITEE_COMMENTED] * 2
    assert found[0].for_user_id is None
    assert "River Friends commented on “public hearing”: When will it be?" in found[0].summary
    assert "River Friends replied on “public hearing”: Before June?" in found[1].summary
    assert outbox.to(team.coordinator.email) == [], "the coordinators' digest, by default"
    notices.send_digests(utcnow())
    commit()
    (digest,) = outbox.to(team.coordinator.email)
    assert "Before June?" in MailCatcher.text_of(digest)


def _notices_of(team: Team) -> list[Notice]:
    return list(
        db.session.scalars(
            select(Notice).where(Notice.letter_id == team.letter.id).order_by(Notice.id)
        )
    )


def test_the_team_hears_when_an_organisation_replies_resolves_or_reopens(
    outbox: MailCatcher, app: Flask
) -> None:
    """Issue 13: what an invited organisation does in its thread reaches the team as its
    new comment does (one rule: comments.notifications); a coordinator who chose to hear
    of it at once is mailed each."""
    team = team_letter()
    db.session.add(
        NotificationPreference(
            user_id=team.coordinator.id,
            kind=NoticeKind.INVITEE_COMMENTED,
            delivery=Delivery.IMMEDIATE,
        )
    )
    open_to_invitees(team)
    thread = invitee_comment_on(team, "public hearing")
    ops.reply(thread, body="Before June?", invitation=team.invitation)
    ops.resolve_thread(thread, invitation=team.invitation)
    ops.reopen_thread(thread, invitation=team.invitation)
    commit()
    assert [(n.kind, n.for_user_id, n.summary) for n in _notices_of(team)] == [
        (NoticeKind.INVITEE_COMMENTED, None, f"River Friends {said}")
        for said in (
            "commented on “public hearing”: When?",
            "replied on “public hearing”: Before June?",
            "resolved its thread on “public hearing”",
            "reopened its thread on “public hearing”",
        )
    ]
    mails = outbox.to(team.coordinator.email)
    assert len(mails) == 4
    assert "River Friends resolved its thread on “public hearing”" in MailCatcher.text_of(mails[2])
    assert outbox.to(team.drafter.email) == [], "drafters: nothing unless they choose"


def test_the_team_settling_or_answering_tells_nobody_outside_the_team(
    outbox: MailCatcher, app: Flask
) -> None:
    """Organisations are mailed nothing about comments (not a coordinator's reply), so
    neither of the team resolving or reopening their thread; nor is the team told of its
    own resolving."""
    team = team_letter()
    open_to_invitees(team)
    theirs = invitee_comment_on(team, "public hearing")
    ours = comment_on(team, "river basin", "Which?")
    before = len(_notices_of(team))
    ops.reply(theirs, body="In May.", author=team.coordinator)
    ops.resolve_thread(theirs, team.drafter)
    ops.reopen_thread(theirs, team.coordinator)
    ops.resolve_thread(ours, team.coordinator)
    commit()
    assert len(_notices_of(team)) == before
    assert outbox.to(team.invitation.email) == []
    notices.send_digests(utcnow())
    commit()
    assert outbox.to(team.invitation.email) == []
