"""Two bulk sends at the same instant cannot both pass the daily mail allowance.

Real threads, one connection each, real commits, through HTTP. The allowance is
decided under the letter's and the account's row locks (PostgreSQL) or the write lock
taken at BEGIN IMMEDIATE (SQLite), and recorded in the same transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from signon.accounts.models import CoordinatorMail, User
from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from signon.signatures.models import Invitation
from tests.conftest import login
from tests.factories import make_letter, make_user
from tests.smtp import MailCatcher
from tests.threads import run_together

pytestmark = pytest.mark.real_commits

ALLOWANCE = 10
PER_SEND = 8


@pytest.fixture(autouse=True)
def _small_allowance(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = app.config["SIGNON"].with_(mail_allowance_account_day=ALLOWANCE)
    monkeypatch.setitem(app.config, "SIGNON", settings)


def _setup(app: Flask, letters: int) -> tuple[int, list[str]]:
    """A coordinator (a month old) and their letters: (user id, [slug])."""
    with app.test_request_context():
        coordinator = make_user(created_at=utcnow() - timedelta(days=30))
        slugs = [make_letter(coordinator).slug for _ in range(letters)]
        user_id = coordinator.id
        commit()
        db.session.remove()
    return user_id, slugs


def _sender(
    app: Flask, user_id: int, slug: str, start: int, barrier: threading.Barrier, pages: list[str]
) -> Callable[[], None]:
    lines = "\n".join(f"NGO {i}, n{i}@ngo{i}.example.org" for i in range(start, start + PER_SEND))

    def work() -> None:
        client = app.test_client()
        with app.app_context():
            login(client, db.session.get(User, user_id))
            db.session.remove()
        barrier.wait()
        response = client.post(
            f"/letters/{slug}/invitations/bulk",
            # confirmed, as after the confirmation step: both go on to send
            data={"many-lines": lines, "many-confirm_count": str(PER_SEND)},
        )
        assert response.status_code == 200
        pages.append(response.get_data(as_text=True))

    return work


def _totals(app: Flask) -> tuple[int, int]:
    with app.app_context():
        invitations = db.session.scalar(select(func.count()).select_from(Invitation)) or 0
        counted = db.session.scalar(select(func.sum(CoordinatorMail.count))) or 0
        db.session.remove()
    return invitations, counted


@pytest.mark.parametrize("letters", [1, 2], ids=["same-letter", "two-letters"])
def test_two_bulk_sends_at_once_stay_within_the_account_allowance(
    app: Flask, outbox: MailCatcher, letters: int
) -> None:
    user_id, slugs = _setup(app, letters)
    barrier = threading.Barrier(2)
    pages: list[str] = []
    run_together(
        [
            _sender(app, user_id, slugs[0], 0, barrier, pages),
            _sender(app, user_id, slugs[-1], 100, barrier, pages),
        ]
    )
    assert _totals(app) == (ALLOWANCE, ALLOWANCE)
    assert len(outbox) == ALLOWANCE
    # the second one to decide sent what was left, and said so
    assert sum("lines were not sent: the daily mail allowance let 2 go now" in p for p in pages)
