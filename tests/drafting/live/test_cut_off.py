"""A person who loses their way onto the letter by another road than the team page is cut
off at once too (issue 13 item 3): a drafter on the team through an organisation, removed
from it or leaving it, and a person who logs out (every session ends, sockets included).

Before, only the team page and the letter's status told the open sockets; these waited for
the maintenance thread's round (every 10 s) and could read the live text until then.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from signon.accounts.models import Membership
from signon.core.permissions import TeamRole
from signon.core.transaction import commit
from signon.extensions import db
from signon.letters.models import Letter
from tests.drafting.live.client import eventually
from tests.drafting.live.conftest import AppServer, Serve
from tests.drafting.live.world import Team, editor, make_team, post
from tests.factories import add_team_member, make_organisation, make_user
from tests.redis_urls import redis_db

pytestmark = [pytest.mark.real_commits, pytest.mark.usefixtures("app_context")]

#: Sooner than the maintenance thread's re-check (``hub.RECHECK_SECONDS``).
AT_ONCE = 1.5


@dataclass(frozen=True)
class ThroughOrganisation:
    team: Team
    organisation: int
    admin: int
    #: a member of the organisation, which drafts the letter
    member: int
    membership: int


def _through_organisation() -> ThroughOrganisation:
    team = make_team()
    admin, member = make_user(), make_user()
    organisation = make_organisation(admin=admin, members=(member,))
    letter = db.session.get(Letter, team.letter)
    assert letter is not None
    add_team_member(letter, role=TeamRole.DRAFTER, organisation=organisation)
    membership = db.session.scalar(
        select(Membership.id).where(
            Membership.user_id == member.id, Membership.organisation_id == organisation.id
        )
    )
    assert membership is not None
    found = ThroughOrganisation(
        Team(
            team.letter,
            team.slug,
            team.coordinator,
            team.drafter,
            team.viewer,
            team.outsider,
            {**team.sessions, admin.id: admin.get_id(), member.id: member.get_id()},
        ),
        organisation.id,
        admin.id,
        member.id,
        membership,
    )
    commit()
    return found


@pytest.fixture
def world() -> ThroughOrganisation:
    return _through_organisation()


def _remove_member(server: AppServer, world: ThroughOrganisation) -> None:
    post(
        server,
        world.team,
        world.admin,
        f"/organisations/{world.organisation}/members/{world.membership}/remove",
    )


def test_a_member_removed_from_the_drafting_organisation_is_cut_off_at_once(
    serve: Serve, world: ThroughOrganisation
) -> None:
    server = serve()
    member = editor(server, world.team, world.member)
    viewer = editor(server, world.team, world.team.viewer)
    _remove_member(server, world)
    eventually(member.closed.is_set, timeout=AT_ONCE, what="the removed member's socket closes")
    assert member.close_code == 1008
    assert not viewer.closed.is_set()


def test_a_member_who_leaves_the_drafting_organisation_is_cut_off_at_once(
    serve: Serve, world: ThroughOrganisation
) -> None:
    server = serve()
    member = editor(server, world.team, world.member)
    post(server, world.team, world.member, f"/organisations/{world.organisation}/leave")
    eventually(member.closed.is_set, timeout=AT_ONCE, what="the leaving member's socket closes")


def test_logging_out_closes_the_persons_sockets_at_once(
    serve: Serve, world: ThroughOrganisation
) -> None:
    server = serve()
    team = world.team
    drafter = editor(server, team, team.drafter)
    coordinator = editor(server, team, team.coordinator)
    post(server, team, team.drafter, "/logout")
    eventually(drafter.closed.is_set, timeout=AT_ONCE, what="the logged-out socket closes")
    assert not coordinator.closed.is_set()


def test_a_removal_from_the_organisation_reaches_the_other_servers(
    serve: Serve, world: ThroughOrganisation
) -> None:
    queue = f"test-live-{uuid.uuid4().hex[:8]}"
    one = serve(redis_url=redis_db(11), job_queue=queue)
    two = serve(redis_url=redis_db(11), job_queue=queue)
    member = editor(two, world.team, world.member)
    _remove_member(one, world)
    eventually(member.closed.is_set, timeout=AT_ONCE, what="cut off on the other server")
