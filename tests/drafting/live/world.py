"""The letter and team the live-editing tests work on, and what they do with them."""

from __future__ import annotations

from dataclasses import dataclass

import requests
from sqlalchemy import func, select

from signon.core.permissions import TeamRole
from signon.core.transaction import commit
from signon.drafting.live.models import LiveUpdate
from signon.extensions import db
from signon.letters.models import TeamMember
from tests.drafting.live.client import LiveClient
from tests.drafting.live.conftest import AppServer
from tests.factories import add_team_member, make_letter, make_user

BODY = "First paragraph.\n\nSecond paragraph.\n"


@dataclass(frozen=True)
class Team:
    """Ids only: a loaded row would hold a transaction open (see conftest)."""

    letter: int
    slug: str
    coordinator: int
    drafter: int
    viewer: int
    outsider: int
    #: user id -> ``User.get_id()`` (what a session cookie holds)
    sessions: dict[int, str]

    def cookie(self, server: AppServer, user_id: int) -> str:
        return server.cookie(self.sessions[user_id])


def make_team() -> Team:
    coordinator, drafter, viewer, outsider = (make_user() for _ in range(4))
    letter = make_letter(coordinator, body=BODY)
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    make_letter(outsider)
    users = (coordinator, drafter, viewer, outsider)
    found = Team(
        letter.id,
        letter.slug,
        coordinator.id,
        drafter.id,
        viewer.id,
        outsider.id,
        {user.id: user.get_id() for user in users},
    )
    commit()
    return found


def editor(server: AppServer, team: Team, user_id: int) -> LiveClient:
    client = LiveClient(server.url, team.slug, team.cookie(server, user_id))
    assert client.synced.wait(5), "the server never answered sync step 1"
    return client


def stored_updates(letter_id: int) -> int:
    """How many updates are stored: a short read (on SQLite a reader holds the write lock)."""
    db.session.rollback()
    try:
        query = select(func.count()).select_from(LiveUpdate)
        return db.session.scalar(query.where(LiveUpdate.letter_id == letter_id)) or 0
    finally:
        db.session.rollback()


def member_of(team: Team, user_id: int) -> int:
    member = db.session.scalar(
        select(TeamMember.id).where(
            TeamMember.letter_id == team.letter, TeamMember.user_id == user_id
        )
    )
    db.session.rollback()
    assert member is not None
    return member


def post(server: AppServer, team: Team, user_id: int, path: str, **form: str) -> requests.Response:
    """Submit a form on the app server as ``user_id`` (as a browser would)."""
    response = requests.post(
        server.url + path,
        data=form,
        cookies={"session": team.cookie(server, user_id)},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:500]
    return response
