"""Letters without HTTP: creation, the team rules, and saving text without losing edits."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from signon.core.permissions import Action, TeamRole
from signon.extensions import db
from signon.letters import operations
from signon.letters.models import Letter, LetterStatus, Revision, UnresolvedDraft
from signon.letters.operations import LetterError, SaveStatus
from tests.factories import add_team_member, make_letter, make_organisation, make_user

pytestmark = pytest.mark.usefixtures("app_context")

BASE = "Alpha paragraph one.\n\nBeta paragraph two.\n\nGamma paragraph three.\n"


def test_create_letter_makes_creator_coordinator_and_revision_one() -> None:
    user = make_user()
    org = make_organisation("Drafting NGO", admin=user)
    letter = operations.create_letter(
        user, title="Joint statement", body="Hello\r\nworld", drafting_organisation=org
    )
    assert letter.slug == "joint-statement"
    assert letter.status == LetterStatus.DRAFTING
    assert letter.role_of(user) == TeamRole.COORDINATOR
    head = letter.head()
    assert head is not None and head.number == 1 and head.parent_id is None
    assert head.body_markdown == "Hello\nworld\n"
    assert head.content_sha256 == Revision.hash_content("Joint statement", "Hello\nworld\n")
    drafting = [m for m in letter.team if m.is_drafting_organisation]
    assert [m.organisation for m in drafting] == [org]


def test_slugs_stay_unique_and_survive_non_latin_titles() -> None:
    user = make_user()
    first = operations.create_letter(user, title="Statement")
    second = operations.create_letter(user, title="Statement")
    arabic = operations.create_letter(user, title="بيان مشترك")
    empty = operations.create_letter(user, title="!!!")
    assert (first.slug, second.slug) == ("statement", "statement-2")
    assert arabic.slug and arabic.slug.isascii()
    assert empty.slug == "letter"


def test_roles_reach_members_through_their_organisation() -> None:
    coordinator, colleague, outsider = make_user(), make_user(), make_user()
    org = make_organisation(members=(colleague,))
    letter = make_letter(coordinator)
    add_team_member(letter, role=TeamRole.DRAFTER, organisation=org)
    assert letter.can(colleague, Action.LETTER_EDIT)
    assert not letter.can(colleague, Action.LETTER_MANAGE_TEAM)
    assert not letter.can(outsider, Action.LETTER_VIEW)
    # the strongest role wins when a user is on the team twice
    add_team_member(letter, role=TeamRole.COORDINATOR, user=colleague)
    assert letter.role_of(colleague) == TeamRole.COORDINATOR


def test_last_coordinator_can_be_neither_removed_nor_demoted() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    (member,) = letter.team
    with pytest.raises(LetterError):
        operations.remove_team_member(member)
    with pytest.raises(LetterError):
        operations.change_team_role(member, TeamRole.DRAFTER)
    second = operations.add_team_member(
        letter, role=TeamRole.COORDINATOR, added_by=coordinator, user=make_user()
    )
    operations.change_team_role(member, TeamRole.DRAFTER)
    assert member.role == TeamRole.DRAFTER
    with pytest.raises(LetterError):
        operations.remove_team_member(second)


def test_adding_the_same_user_twice_is_refused() -> None:
    coordinator, drafter = make_user(), make_user()
    letter = make_letter(coordinator)
    operations.add_team_member(letter, role=TeamRole.DRAFTER, added_by=coordinator, user=drafter)
    with pytest.raises(LetterError, match="already on the team"):
        operations.add_team_member(letter, role=TeamRole.VIEWER, added_by=coordinator, user=drafter)


def _save(letter: Letter, user, base: Revision, body: str, title: str | None = None):
    return operations.save_revision(
        letter, user, base=base, title=title or base.title, body=body, change_note="edit"
    )


def test_save_on_the_current_revision_creates_the_next_one() -> None:
    user = make_user()
    letter = make_letter(user, body=BASE)
    base = letter.head()
    result = _save(letter, user, base, BASE.replace("one", "ONE"))
    assert result.status == SaveStatus.SAVED
    assert result.revision.number == 2
    assert result.revision.parent_id == base.id and result.revision.base_id == base.id
    assert letter.head().body_markdown == BASE.replace("one", "ONE")


def test_saving_the_same_text_creates_no_revision() -> None:
    user = make_user()
    letter = make_letter(user, body=BASE)
    result = _save(letter, user, letter.head(), BASE)
    assert result.status == SaveStatus.UNCHANGED
    assert letter.head().number == 1


def test_non_overlapping_edits_are_merged() -> None:
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    letter = make_letter(alice, body=BASE)
    base = letter.head()
    first = _save(letter, alice, base, BASE.replace("Alpha", "ALPHA"))
    second = _save(letter, bob, base, BASE.replace("Gamma", "GAMMA"))
    assert first.status == SaveStatus.SAVED
    assert second.status == SaveStatus.MERGED
    assert second.concurrent == [first.revision]
    head = letter.head()
    assert head.number == 3 and head.merged and head.base_id == base.id
    assert head.parent_id == first.revision.id
    assert "ALPHA" in head.body_markdown and "GAMMA" in head.body_markdown


def test_overlapping_edits_keep_the_text_as_a_draft_and_save_nothing() -> None:
    alice, bob = make_user(), make_user()
    letter = make_letter(alice, body=BASE)
    base = letter.head()
    _save(letter, alice, base, BASE.replace("Beta paragraph two", "Beta section 2"))
    bobs_text = BASE.replace("Beta paragraph two", "Beta part II")
    result = _save(letter, bob, base, bobs_text)
    assert result.status == SaveStatus.CONFLICT
    assert letter.head().number == 2
    draft = result.draft
    assert draft is not None and draft.body_markdown == bobs_text
    assert draft.base_revision_id == base.id and draft.author_id == bob.id
    # resolving: Bob saves on top of the new head, naming the draft
    resolved = operations.save_revision(
        letter,
        bob,
        base=letter.head(),
        title=base.title,
        body=BASE.replace("Beta paragraph two", "Beta section 2 (part II)"),
        draft=draft,
    )
    assert resolved.status == SaveStatus.SAVED
    assert draft.resolved_at is not None


def test_title_changed_by_both_differently_is_a_conflict() -> None:
    alice, bob = make_user(), make_user()
    letter = make_letter(alice, title="Old", body=BASE)
    base = letter.head()
    _save(letter, alice, base, BASE, title="Alice's title")
    result = _save(letter, bob, base, BASE, title="Bob's title")
    assert result.status == SaveStatus.CONFLICT
    assert result.draft.title == "Bob's title"


def test_title_change_merges_with_a_text_change() -> None:
    alice, bob = make_user(), make_user()
    letter = make_letter(alice, title="Old", body=BASE)
    base = letter.head()
    _save(letter, alice, base, BASE, title="New title")
    result = _save(letter, bob, base, BASE.replace("Gamma", "Delta"))
    assert result.status == SaveStatus.MERGED
    assert result.revision.title == "New title" and "Delta" in result.revision.body_markdown
    assert letter.title == "New title"


def test_a_frozen_letter_cannot_be_edited() -> None:
    user = make_user()
    letter = make_letter(user, body=BASE)
    letter.status = LetterStatus.OPEN
    with pytest.raises(LetterError):
        _save(letter, user, letter.head(), "changed")


def test_revision_numbers_are_unique_per_letter() -> None:
    from sqlalchemy.exc import IntegrityError

    user = make_user()
    letter = make_letter(user)
    head = letter.head()
    duplicate = Revision(
        letter=letter,
        number=head.number,
        author=user,
        title="t",
        body_markdown="x",
        content_sha256=Revision.hash_content("t", "x"),
    )
    db.session.add(duplicate)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.flush()


def test_discarding_a_draft_resolves_it() -> None:
    alice, bob = make_user(), make_user()
    letter = make_letter(alice, body=BASE)
    base = letter.head()
    _save(letter, alice, base, BASE.replace("Alpha", "A1"))
    result = _save(letter, bob, base, BASE.replace("Alpha", "A2"))
    operations.discard_draft(result.draft)
    open_drafts = db.session.scalars(
        select(UnresolvedDraft).where(UnresolvedDraft.resolved_at.is_(None))
    ).all()
    assert open_drafts == []
