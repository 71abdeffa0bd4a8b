"""Confirmations racing each other (threads, one connection each, real commits).

The same link opened twice at once creates one signature; two visitors confirming
the same organisation's name at once create one signature, and the other is told.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import func, select

from signon.core import transaction
from signon.extensions import db
from signon.signatures.models import Invitation, PublicSignRequest, Signature
from tests.signatures.factories import ask, make_public_letter
from tests.threads import run_together

pytestmark = pytest.mark.real_commits


def _confirmer(
    app: Flask, path: str, head_id: int, barrier: threading.Barrier, statuses: list[int]
) -> Callable[[], None]:
    def work() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(path, data={"revision_id": str(head_id)})
        statuses.append(response.status_code)

    return work


def test_one_link_confirmed_twice_at_once_makes_one_signature(app: Flask) -> None:
    with app.test_request_context():
        letter = make_public_letter()
        result = ask(letter)
        slug, head_id, token = letter.slug, letter.head().id, result.token
        transaction.commit()
    barrier = threading.Barrier(4)
    statuses: list[int] = []
    path = f"/p/{slug}/confirm/{token}"
    run_together([_confirmer(app, path, head_id, barrier, statuses) for _ in range(4)], timeout=60)
    assert sorted(statuses) == [302, 410, 410, 410]
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 1
        assert db.session.scalar(select(func.count(Invitation.id))) == 1
        request = db.session.scalar(select(PublicSignRequest))
        assert request.signature_id is not None


def test_two_visitors_confirming_the_same_name_at_once(app: Flask) -> None:
    with app.test_request_context():
        letter = make_public_letter()
        tokens = [
            ask(letter, "Same Name Network", email=f"person{i}@example.org").token for i in range(3)
        ]
        slug, head_id = letter.slug, letter.head().id
        transaction.commit()
    barrier = threading.Barrier(3)
    statuses: list[int] = []
    run_together(
        [
            _confirmer(app, f"/p/{slug}/confirm/{token}", head_id, barrier, statuses)
            for token in tokens
        ],
        timeout=60,
    )
    assert sorted(statuses) == [302, 409, 409]
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 1
        # the losers left nothing behind: no orphan invitation
        assert db.session.scalar(select(func.count(Invitation.id))) == 1
        confirmed = db.session.scalar(
            select(func.count(PublicSignRequest.id)).where(
                PublicSignRequest.confirmed_at.is_not(None)
            )
        )
        assert confirmed == 1
