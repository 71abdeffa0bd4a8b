"""The lifecycle routes × every visitor.

Reading (the changes page, the status page) is for the drafting team; classifying,
freezing, unfreezing, closing, reopening and the deadline are for coordinators.
Outsiders and coordinators of another letter get 404 (the letter does not exist for
them); viewers and drafters get 403 on what they may not do, and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from signon.audit.models import AuditEvent
from signon.core import transaction
from signon.core.permissions import TeamRole
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, LetterStatus, Revision
from tests.factories import add_revision, add_team_member, make_letter, make_user
from tests.permissions import (
    MANAGE_POST,
    READ,
    VISITORS,
    LetterWorld,
    check_route,
    with_other_coordinator,
)
from tests.permissions import Route as MatrixRoute
from tests.signatures.factories import approve_through, make_invitation

pytestmark = pytest.mark.usefixtures("app_context")

TEAM_READS = with_other_coordinator(READ)
COORDINATORS_ACT = with_other_coordinator(MANAGE_POST)


@dataclass(frozen=True)
class Route(MatrixRoute):
    """A matrix route, requested with the letter in a given state."""

    #: The letter's status before the request.
    status: LetterStatus = LetterStatus.DRAFTING
    #: How revision 2 (saved after an approval) is classified before the request.
    revision_2: ChangeKind | None = None


NEXT_YEAR = f"{utcnow().year + 1}-06-01T12:00"

ROUTES = [
    Route("signatures.lifecycle_changes", "GET", "/letters/{slug}/changes", TEAM_READS),
    Route(
        "signatures.lifecycle_classify",
        "POST",
        "/letters/{slug}/changes/2/classify",
        COORDINATORS_ACT,
        {"kind": "substantive"},
    ),
    Route("signatures.lifecycle", "GET", "/letters/{slug}/status", TEAM_READS),
    Route(
        "signatures.lifecycle",
        "GET",
        "/letters/{slug}/status",
        TEAM_READS,
        status=LetterStatus.CLOSED,
    ),
    Route(
        "signatures.lifecycle_freeze",
        "POST",
        "/letters/{slug}/status/freeze",
        COORDINATORS_ACT,
        revision_2=ChangeKind.EDITORIAL,
    ),
    Route(
        "signatures.lifecycle_unfreeze",
        "POST",
        "/letters/{slug}/status/unfreeze",
        COORDINATORS_ACT,
        {"unfreeze-reason": "A correction"},
        LetterStatus.OPEN,
    ),
    Route(
        "signatures.lifecycle_close",
        "POST",
        "/letters/{slug}/status/close",
        COORDINATORS_ACT,
        {"close-reason": "Delivered"},
        LetterStatus.OPEN,
    ),
    Route(
        "signatures.lifecycle_reopen",
        "POST",
        "/letters/{slug}/status/reopen",
        COORDINATORS_ACT,
        {"reopen-reason": ""},
        LetterStatus.CLOSED,
    ),
    Route(
        "signatures.lifecycle_deadline",
        "POST",
        "/letters/{slug}/status/deadline",
        COORDINATORS_ACT,
        {"deadline-deadline": NEXT_YEAR},
    ),
]


def build_world(status: LetterStatus, revision_2: ChangeKind | None) -> LetterWorld:
    coordinator, viewer, drafter, outsider, other = (make_user() for _ in range(5))
    letter = make_letter(coordinator, body="One.\n", deadline=utcnow() + timedelta(days=10))
    add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    approve_through(make_invitation(letter))
    add_revision(letter, drafter, "One, revised.\n").change_kind = revision_2
    make_letter(other)  # coordinates another letter: nothing here
    make_letter(outsider)
    letter.status = status
    db.session.flush()
    users = {
        "coordinator": coordinator,
        "viewer": viewer,
        "drafter": drafter,
        "outsider": outsider,
        "other_coordinator": other,
    }
    return LetterWorld(users, {"slug": letter.slug}, letter)


def _fingerprint(letter: Letter) -> tuple[Any, ...]:
    kinds = tuple(
        db.session.scalars(
            select(Revision.change_kind)
            .where(Revision.letter_id == letter.id)
            .order_by(Revision.number)
        )
    )
    events = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.letter_id == letter.id)
    )
    return (letter.status, letter.deadline, kinds, events)


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize(
    "route", ROUTES, ids=lambda r: f"{r.method} {r.endpoint} ({r.status.value})"
)
def test_route_permissions(client: FlaskClient, route: Route, visitor: str) -> None:
    world = build_world(route.status, route.revision_2)
    before = _fingerprint(world.letter)
    transaction.commit()  # a 403/404 rolls the request back: keep the world
    check_route(client, route, world, visitor)
    db.session.expire_all()
    after = _fingerprint(db.session.get(Letter, world.letter.id))
    if route.method == "POST" and visitor == "coordinator":
        assert after != before, "the coordinator's request did what it says"
    else:
        assert after == before, f"{visitor} changed something"
