"""Real concurrent team changes (threads, one connection each, real commits): a letter
always keeps a coordinator.

Two coordinators demote or remove each other at the same instant, through the HTTP
test client, six times over. On PostgreSQL the requests really race (READ COMMITTED);
the letter's row lock makes them take turns, and the second one is refused. On SQLite
write transactions begin immediately, so they take turns too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select

from signon.accounts.models import User
from signon.audit.models import AuditEvent
from signon.core.permissions import TeamRole
from signon.extensions import db
from signon.letters import operations
from signon.letters.models import TeamInvitation, TeamMember
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user
from tests.threads import run_together

pytestmark = pytest.mark.real_commits

TRIALS = 6
LAST_COORDINATOR = "A letter needs at least one coordinator: appoint another one first."


def _two_coordinators(app: Flask) -> tuple[str, list[int], dict[int, int]]:
    """A letter with two coordinators: its slug, their user ids, and user id -> member id."""
    with app.app_context():
        first, second = make_user(), make_user()
        letter = make_letter(first)
        add_team_member(letter, role=TeamRole.COORDINATOR, user=second)
        db.session.flush()
        members = {m.user_id: m.id for m in letter.team if m.user_id is not None}
        slug, user_ids = letter.slug, [first.id, second.id]
        db.session.commit()
    return slug, user_ids, members


def _acting_on(
    app: Flask,
    user_id: int,
    url: str,
    data: dict[str, str],
    barrier: threading.Barrier,
    flashes: list[tuple[str, str]],
    refused: list[int],
) -> Callable[[], None]:
    """A worker: ``user_id`` logs in, waits for the other, then posts ``data`` to ``url``.

    A request that starts after the other one committed finds that its user is no longer
    a coordinator and gets 403, or 404 once removed (``refused``); one that already passed
    that check waits for the lock and is refused with a message (``flashes``)."""

    def work() -> None:
        client = app.test_client()
        with app.app_context():
            user = db.session.get(User, user_id)
            login(client, user)
            db.session.remove()
        barrier.wait()
        response = client.post(url, data=data)
        if response.status_code in (403, 404):  # 404: removed, the letter is hidden
            refused.append(user_id)
            return
        assert response.status_code == 302
        with client.session_transaction() as session:
            flashes.extend(session.get("_flashes", []))

    return work


def _coordinators(app: Flask, slug: str) -> int:
    with app.app_context():
        from signon.letters.models import Letter

        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        assert letter is not None
        count = db.session.scalar(
            select(func.count())
            .select_from(TeamMember)
            .where(TeamMember.letter_id == letter.id, TeamMember.role == TeamRole.COORDINATOR)
        )
        db.session.remove()
        return count or 0


@pytest.mark.parametrize("trial", range(TRIALS))
@pytest.mark.parametrize("how", ["demote", "remove", "demote_and_remove"])
def test_two_coordinators_acting_on_each_other_at_once_leave_one(
    app: Flask, how: str, trial: int
) -> None:
    slug, (first, second), members = _two_coordinators(app)
    demote = {"role": TeamRole.DRAFTER.value}
    by_first = (
        (f"/letters/{slug}/team/{members[second]}/role", demote)
        if how in ("demote", "demote_and_remove")
        else (f"/letters/{slug}/team/{members[second]}/remove", {})
    )
    by_second = (
        (f"/letters/{slug}/team/{members[first]}/role", demote)
        if how == "demote"
        else (f"/letters/{slug}/team/{members[first]}/remove", {})
    )
    barrier = threading.Barrier(2)
    flashes: list[tuple[str, str]] = []
    refused: list[int] = []
    run_together(
        [
            _acting_on(app, first, *by_first, barrier, flashes, refused),
            _acting_on(app, second, *by_second, barrier, flashes, refused),
        ]
    )
    assert _coordinators(app, slug) == 1
    successes = [message for category, message in flashes if category == "success"]
    refusals = [message for category, message in flashes if category == "error"]
    assert len(successes) == 1, flashes
    assert len(refusals) + len(refused) == 1, (flashes, refused)
    for refusal in refusals:
        assert refusal in (
            LAST_COORDINATOR,
            "Only coordinators manage the team, and you are no longer one.",
            "This member is no longer on the team: someone removed them meanwhile.",
        )


def _invitation_to(app: Flask) -> tuple[str, int, int, int]:
    """A letter, its coordinator, and an invitation to a confirmed account's address."""
    with app.test_request_context():
        coordinator, invitee = make_user(), make_user()
        letter = make_letter(coordinator)
        invitation = operations.invite_to_team(
            letter, email=invitee.email, role=TeamRole.DRAFTER, invited_by=coordinator
        )
        ids = (letter.slug, coordinator.id, invitee.id, invitation.id)
        db.session.commit()
    return ids


@pytest.mark.parametrize("trial", range(TRIALS))
def test_revoking_and_accepting_an_invitation_at_once_does_one_of_them(
    app: Flask, trial: int
) -> None:
    slug, coordinator, invitee, invitation = _invitation_to(app)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def post_as(user_id: int, url: str) -> Callable[[], None]:
        def work() -> None:
            client = app.test_client()
            with app.app_context():
                login(client, db.session.get(User, user_id))
                db.session.remove()
            barrier.wait()
            statuses.append(client.post(url).status_code)

        return work

    run_together(
        [
            post_as(coordinator, f"/letters/{slug}/team/invitations/{invitation}/revoke"),
            post_as(invitee, f"/letters/team-invitations/{invitation}/accept"),
        ]
    )
    assert set(statuses) <= {302, 404}, statuses
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("team.invitation_%"))
        ).all()
        on_team = db.session.scalar(select(TeamMember.role).where(TeamMember.user_id == invitee))
        assert db.session.scalars(select(TeamInvitation)).all() == []
        db.session.remove()
    assert actions in (["team.invitation_claimed"], ["team.invitation_revoked"])
    assert on_team == (TeamRole.DRAFTER if actions == ["team.invitation_claimed"] else None)
