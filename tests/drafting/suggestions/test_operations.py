"""Suggestions without HTTP: made from an edit, accepted as revisions by their authors,
flagged (never applied to other words) when their words changed meanwhile, rejected."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from signon.accounts.models import User
from signon.audit.models import AuditEvent
from signon.core.notices import Delivery, NoticeKind
from signon.core.permissions import TeamRole, letter_role_allows
from signon.drafting.suggestions import operations
from signon.drafting.suggestions.models import Suggestion, SuggestionState
from signon.drafting.suggestions.operations import SuggestionError
from signon.extensions import db
from signon.letters import notices
from signon.letters.models import Letter, LetterStatus, Notice
from signon.letters.text import blame
from tests.factories import add_revision, add_team_member, make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")

BASE = "We call on the council to act now.\n\nThe river is dying.\n"


def _letter() -> tuple[Letter, User, User]:
    coordinator, viewer = make_user(name="Coral"), make_user(name="Vera")
    letter = make_letter(coordinator, body=BASE)
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    return letter, coordinator, viewer


def _suggest(letter: Letter, author: User, body: str) -> list[Suggestion]:
    head = letter.head()
    assert head is not None
    return operations.suggest_changes(letter, author, base=head, body=body)


def test_an_edit_becomes_one_suggestion_per_changed_passage() -> None:
    letter, coordinator, viewer = _letter()
    made = _suggest(letter, viewer, "We urge the council to act now.\n\nThe river is dying fast.\n")
    assert [(s.quote, s.replacement) for s in made] == [
        ("call on", "urge"),
        ("dying", "dying fast"),
    ]
    assert all(s.author is viewer and s.state == SuggestionState.OPEN for s in made)
    assert letter.head().number == 1  # the text itself is unchanged
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "suggestion.made")
    ).one()
    assert event.letter_id == letter.id
    # those who decide hear of it (the letter's feed, mail by their choice); viewers do not
    notice = db.session.scalars(select(Notice).where(Notice.letter_id == letter.id)).one()
    assert notice.kind == NoticeKind.SUGGESTED
    assert notice.summary == "Vera suggested 2 changes to revision 1"
    assert notices.recipients(letter, NoticeKind.SUGGESTED, Delivery.DIGEST) == [coordinator]
    assert not letter_role_allows(TeamRole.VIEWER, NoticeKind.SUGGESTED.action)


def test_nothing_changed_is_refused() -> None:
    letter, _, viewer = _letter()
    with pytest.raises(SuggestionError):
        _suggest(letter, viewer, BASE)


def test_accepting_makes_a_revision_by_the_suggestions_author() -> None:
    letter, coordinator, viewer = _letter()
    first, _ = _suggest(letter, viewer, "We urge the council to act now.\n\nThe river is gone.\n")
    revision = operations.accept_suggestion(first, coordinator)
    assert revision is not None and revision.number == 2
    assert revision.author is viewer
    assert revision.body_markdown == "We urge the council to act now.\n\nThe river is dying.\n"
    assert "accepted by Coral" in revision.change_note
    assert first.state == SuggestionState.ACCEPTED
    assert first.revision is revision and first.decided_by is coordinator
    # who wrote what: the changed paragraph is the viewer's revision
    lines = blame([r.body_markdown for r in (letter.head().parent, revision)])
    assert lines[0].origin == 1 and lines[-1].origin == 0


def test_accepting_after_an_overlapping_edit_flags_it_and_changes_nothing() -> None:
    letter, coordinator, viewer = _letter()
    (suggestion,) = _suggest(letter, viewer, BASE.replace("act now", "act this week"))
    add_revision(letter, coordinator, BASE.replace("act now", "act today"))
    assert operations.accept_suggestion(suggestion, coordinator) is None
    assert suggestion.state == SuggestionState.OUTDATED
    assert "after revision 1" in suggestion.reason
    assert letter.head().number == 2
    assert letter.head().body_markdown == BASE.replace("act now", "act today")


def test_accepting_after_its_words_were_deleted_flags_it() -> None:
    letter, coordinator, viewer = _letter()
    (suggestion,) = _suggest(letter, viewer, BASE.replace("is dying", "is dead"))
    add_revision(letter, coordinator, "We call on the council to act now.\n")
    assert operations.accept_suggestion(suggestion, coordinator) is None
    assert suggestion.state == SuggestionState.OUTDATED
    assert "replaced or deleted after revision 1" in suggestion.reason
    assert letter.head().body_markdown == "We call on the council to act now.\n"


def test_accepting_after_an_edit_elsewhere_is_rebased_onto_the_current_text() -> None:
    letter, coordinator, viewer = _letter()
    (suggestion,) = _suggest(letter, viewer, BASE.replace("is dying", "is dead"))
    moved = "Preamble first.\n\n" + BASE.replace("council", "city council")
    add_revision(letter, coordinator, moved)
    revision = operations.accept_suggestion(suggestion, coordinator)
    assert revision is not None and revision.author is viewer
    assert revision.body_markdown == moved.replace("is dying", "is dead")


def test_rejecting_keeps_the_text_and_records_who() -> None:
    letter, coordinator, viewer = _letter()
    (suggestion,) = _suggest(letter, viewer, BASE.replace("now", "soon"))
    operations.reject_suggestion(suggestion, coordinator)
    assert suggestion.state == SuggestionState.REJECTED
    assert suggestion.decided_by is coordinator and suggestion.revision is None
    assert letter.head().number == 1
    with pytest.raises(SuggestionError, match="rejected meanwhile"):
        operations.accept_suggestion(suggestion, coordinator)


def test_accept_all_makes_one_revision_per_suggestion_each_by_its_author() -> None:
    letter, coordinator, viewer = _letter()
    drafter = make_user(name="Dora")
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    _suggest(letter, viewer, "We urge the council to act now.\n\nThe river is dying fast.\n")
    _suggest(letter, drafter, BASE.replace("The river", "Our river"))
    outcome = operations.accept_all(letter, coordinator)
    assert [r.author for r in outcome.revisions] == [viewer, viewer, drafter]
    assert [r.number for r in outcome.revisions] == [2, 3, 4]
    assert outcome.outdated == []
    assert (
        letter.head().body_markdown
        == "We urge the council to act now.\n\nOur river is dying fast.\n"
    )


def test_accept_all_flags_a_suggestion_an_earlier_one_changed() -> None:
    letter, coordinator, viewer = _letter()
    drafter = make_user()
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    _suggest(letter, viewer, BASE.replace("act now", "act today"))
    (second,) = _suggest(letter, drafter, BASE.replace("act now", "act at once"))
    outcome = operations.accept_all(letter, coordinator)
    assert len(outcome.revisions) == 1 and outcome.outdated == [second]
    assert letter.head().body_markdown == BASE.replace("act now", "act today")


def test_reject_all() -> None:
    letter, coordinator, viewer = _letter()
    _suggest(letter, viewer, "We urge the council to act now.\n\nThe river is dying fast.\n")
    assert operations.reject_all(letter, coordinator) == 2
    states = db.session.scalars(select(Suggestion.state)).all()
    assert states == [SuggestionState.REJECTED] * 2


@pytest.mark.parametrize("status", [LetterStatus.OPEN, LetterStatus.CLOSED])
def test_a_frozen_or_closed_letter_takes_no_suggestion_and_accepts_none(
    status: LetterStatus,
) -> None:
    letter, coordinator, viewer = _letter()
    (suggestion,) = _suggest(letter, viewer, BASE.replace("now", "soon"))
    letter.status = status
    db.session.flush()
    with pytest.raises(SuggestionError, match="frozen"):
        _suggest(letter, viewer, BASE.replace("now", "today"))
    for decide in (operations.accept_suggestion, operations.reject_suggestion):
        with pytest.raises(SuggestionError, match="frozen"):
            decide(suggestion, coordinator)
    with pytest.raises(SuggestionError, match="frozen"):
        operations.accept_all(letter, coordinator)
    assert suggestion.state == SuggestionState.OPEN and letter.head().number == 1


def test_an_accepted_suggestion_of_an_author_who_left_is_the_acceptors() -> None:
    letter, coordinator, viewer = _letter()
    (suggestion,) = _suggest(letter, viewer, BASE.replace("now", "soon"))
    suggestion.author = None
    revision = operations.accept_suggestion(suggestion, coordinator)
    assert revision is not None and revision.author is coordinator
