"""A letter always keeps a coordinator, whichever way a coordinator could be taken away:
demoting or removing a person or an organisation, or a person leaving (or being removed
from) the organisation that makes them a coordinator. The one check lives in
``letters.operations._keep_a_coordinator``; the threads test is test_team_concurrency.py.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from signon.accounts import operations as accounts
from signon.accounts.models import Membership
from signon.core.permissions import TeamRole
from signon.extensions import db
from signon.letters import operations
from signon.letters.models import TeamMember
from signon.letters.operations import LetterError
from tests.factories import add_team_member, make_letter, make_organisation, make_user

LAST_COORDINATOR = "A letter needs at least one coordinator: appoint another one first."


def test_an_organisation_that_coordinates_counts_as_a_coordinator() -> None:
    creator, admin, colleague = make_user(), make_user(), make_user()
    organisation = make_organisation(admin=admin, members=(colleague,))
    letter = make_letter(creator)
    (person,) = letter.team
    by_organisation = add_team_member(letter, role=TeamRole.COORDINATOR, organisation=organisation)
    operations.remove_team_member(person, actor=admin)
    assert letter.role_of(colleague) == TeamRole.COORDINATOR
    with pytest.raises(LetterError, match=LAST_COORDINATOR):
        operations.change_team_role(by_organisation, TeamRole.DRAFTER, actor=admin)
    with pytest.raises(LetterError, match=LAST_COORDINATOR):
        operations.remove_team_member(by_organisation, actor=admin)
    assert by_organisation.role == TeamRole.COORDINATOR


def test_leaving_the_coordinating_organisation_leaves_it_a_coordinator() -> None:
    """Membership changes never take the letter's coordinator away: the organisation keeps
    its role on the team, and it always keeps an admin."""
    admin, colleague = make_user(), make_user()
    organisation = make_organisation(admin=admin, members=(colleague,))
    letter = make_letter(admin)
    (person,) = letter.team
    add_team_member(letter, role=TeamRole.COORDINATOR, organisation=organisation)
    operations.remove_team_member(person, actor=admin)
    membership_of = {
        m.user_id: m
        for m in db.session.scalars(
            select(Membership).where(Membership.organisation_id == organisation.id)
        )
    }
    accounts.leave_organisation(membership_of[colleague.id])
    with pytest.raises(accounts.LastAdminError):
        accounts.leave_organisation(membership_of[admin.id])
    assert letter.role_of(admin) == TeamRole.COORDINATOR


def test_someone_no_longer_coordinator_cannot_change_the_team() -> None:
    first, second, third = make_user(), make_user(), make_user()
    letter = make_letter(first)
    (first_member,) = letter.team
    second_member = add_team_member(letter, role=TeamRole.COORDINATOR, user=second)
    third_member = add_team_member(letter, role=TeamRole.COORDINATOR, user=third)
    # second was demoted by first while second's request waited for the lock
    operations.change_team_role(second_member, TeamRole.VIEWER, actor=first)
    with pytest.raises(LetterError, match="you are no longer one"):
        operations.change_team_role(third_member, TeamRole.VIEWER, actor=second)
    with pytest.raises(LetterError, match="you are no longer one"):
        operations.remove_team_member(first_member, actor=second)
    assert (first_member.role, third_member.role) == (TeamRole.COORDINATOR, TeamRole.COORDINATOR)


def test_a_member_removed_meanwhile_is_explained() -> None:
    first, second = make_user(), make_user()
    letter = make_letter(first)
    member = add_team_member(letter, role=TeamRole.DRAFTER, user=second)
    db.session.execute(delete(TeamMember).where(TeamMember.id == member.id))
    with pytest.raises(LetterError, match="no longer on the team"):
        operations.change_team_role(member, TeamRole.VIEWER, actor=first)
