"""With Redis (production), a sign-on hands its letter to ``flask worker``'s sealing thread.

Real Redis (DB 8, a queue name of its own per test): the request adds the letter to a set
after its commit; one round of the sealing thread (``audit.sealing.seal_handed_over``)
seals the letter's pending events into its chain, once however often it was handed over.
With Redis down the sign-on still succeeds and its events wait for the scheduler.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.audit import sealing
from signon.audit.models import AuditEvent
from signon.config import Settings
from signon.core import jobs
from signon.extensions import db
from signon.letters.models import Letter
from tests.faults.helpers import free_port
from tests.redis_urls import redis_db
from tests.signatures.factories import make_public_letter

REDIS_URL = redis_db(8)


def _configure(app: Flask, monkeypatch: pytest.MonkeyPatch, redis_url: str) -> str:
    settings: Settings = app.config["SIGNON"]
    queue = f"signon-test-{uuid.uuid4().hex}"
    monkeypatch.setitem(app.config, "SIGNON", settings.with_(redis_url=redis_url, job_queue=queue))
    monkeypatch.delitem(app.extensions, "signon_jobs_redis", raising=False)
    return queue


@pytest.fixture
def with_redis(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app with Redis configured; the queue's keys removed after."""
    queue = _configure(app, monkeypatch, REDIS_URL)
    yield f"{queue}:seal"
    redis.Redis.from_url(REDIS_URL).delete(f"{queue}:seal", f"{queue}:mail")
    app.extensions.pop("signon_jobs_redis", None)


def _sign(client: FlaskClient, letter: Letter, email: str) -> None:
    response = client.post(
        f"/p/{letter.slug}/sign",
        data={
            "name": f"Handed Over {email}",
            "country": "Kenya",
            "kind": "ngo",
            "representative_name": "Amina Otieno",
            "email": email,
            "authority": "y",
            "revision_id": str(letter.head().id),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def _chain(letter: Letter) -> list[str]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.chain == f"letter:{letter.id}")
        )
    )


def test_sign_ons_hand_their_letter_to_the_sealer_which_seals_once(
    app: Flask, client: FlaskClient, with_redis: str
) -> None:
    letter = make_public_letter()
    other = make_public_letter()
    for i in range(3):
        _sign(client, letter, f"p{i}@example.org")
    _sign(client, other, "q@example.org")
    members = {int(m) for m in jobs.redis_connection().smembers(with_redis)}
    assert members == {letter.id, other.id}  # a letter is in the set once
    assert sealing.pending_count(letter.id) == 3
    assert "public_signature.requested" not in _chain(letter)

    assert sealing.seal_handed_over() == 2
    assert sealing.pending_count(letter.id) == sealing.pending_count(other.id) == 0
    assert _chain(letter).count("public_signature.requested") == 3
    assert _chain(other).count("public_signature.requested") == 1
    assert jobs.redis_connection().scard(with_redis) == 0
    jobs.redis_connection().sadd(with_redis, letter.id)  # handed over again: nothing twice
    assert sealing.seal_handed_over() == 1
    assert _chain(letter).count("public_signature.requested") == 3


def test_with_redis_down_the_sign_on_succeeds_and_its_events_wait(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(app, monkeypatch, f"redis://127.0.0.1:{free_port()}/0")
    letter = make_public_letter()
    _sign(client, letter, "down@example.org")
    assert sealing.pending_count(letter.id) == 1  # kept: the scheduler seals it
    assert sealing.seal_all() == 1
    assert sealing.pending_count(letter.id) == 0
    app.extensions.pop("signon_jobs_redis", None)
