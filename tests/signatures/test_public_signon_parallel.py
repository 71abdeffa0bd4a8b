"""Public sign-ons on one letter proceed side by side, and stay exactly-once (PostgreSQL).

Sign-ons hold the letter's row ``FOR KEY SHARE`` (not an exclusive lock), and take
advisory keys of their own for what must not happen twice: one pending request per
address and organisation, one signature per name. These tests run real threads with
their own connections and real commits; "does not wait" is shown with PostgreSQL's
``lock_timeout`` (a wait fails the statement), "waits" by PostgreSQL's own view of the
waiting backend (``pg_stat_activity``), never by a clock.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from signon.accounts.models import User
from signon.core import transaction
from signon.core.outbox import OutboxMessage
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus
from signon.signatures.approvals.operations import SignatureError
from signon.signatures.lifecycle.operations import close_signing
from signon.signatures.models import Invitation, PublicSignRequest, Signature
from signon.signatures.public_signon import operations as public_ops
from tests.factories import make_user
from tests.signatures.factories import ask, make_public_letter
from tests.threads import run_together

pytestmark = [pytest.mark.real_commits]


@pytest.fixture(autouse=True)
def _postgresql_only(app: Flask) -> Iterator[None]:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row and advisory locks: PostgreSQL (SQLite serialises every writer)")
    yield


def _letter(app: Flask) -> tuple[str, int]:
    with app.test_request_context():
        letter = make_public_letter(make_user(), status=LetterStatus.OPEN)
        slug, head_id = letter.slug, letter.head().id
        transaction.commit()
    return slug, head_id


def _asker(
    app: Flask, slug: str, name: str, email: str, barrier: threading.Barrier, out: list[int]
) -> Callable[[], None]:
    def work() -> None:
        with app.test_request_context():
            letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
            assert letter is not None
            barrier.wait()
            try:
                ask(letter, name, email)
                transaction.commit()
            except SignatureError:
                transaction.rollback()
                out.append(409)
            else:
                out.append(200)
            finally:
                db.session.remove()

    return work


def _confirmer(
    app: Flask, path: str, head_id: int, barrier: threading.Barrier, out: list[int]
) -> Callable[[], None]:
    def work() -> None:
        client = app.test_client()
        barrier.wait()
        out.append(client.post(path, data={"revision_id": str(head_id)}).status_code)

    return work


#: (name, address) of 20 confirmations at once: 12 distinct, four visitors naming the same
#: organisation, and one address signing for four organisations.
SIGNERS = (
    [(f"Distinct Org {i}", f"person{i}@org{i}.example.org") for i in range(12)]
    + [("Same Name Alliance", f"same{i}@alliance{i}.example.org") for i in range(4)]
    + [(f"One Address Org {i}", "one@shared.example.org") for i in range(4)]
)


def test_twenty_confirmations_at_once_each_counted_once(app: Flask) -> None:
    slug, head_id = _letter(app)
    with app.test_request_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        tokens = [ask(letter, name, email).token for name, email in SIGNERS]
        transaction.commit()
    barrier = threading.Barrier(len(SIGNERS))
    statuses: list[int] = []
    run_together(
        [_confirmer(app, f"/p/{slug}/confirm/{t}", head_id, barrier, statuses) for t in tokens],
        timeout=120,
    )
    # every distinct one accepted; of the same name, one; the shared address signs for all
    assert Counter(statuses) == {302: 12 + 1 + 4, 409: 3}
    with app.app_context():
        names = Counter(db.session.scalars(select(Signature.name)))
        assert names["Same Name Alliance"] == 1
        assert sum(names.values()) == 17 and set(names.values()) == {1}
        confirmed = db.session.scalars(
            select(PublicSignRequest).where(PublicSignRequest.confirmed_at.is_not(None))
        ).all()
        assert len(confirmed) == 17
        assert len({r.signature_id for r in confirmed}) == 17
        # one private link per address: the shared address's first signature has it
        invitations = Counter(db.session.scalars(select(Invitation.email)))
        assert invitations["one@shared.example.org"] == 1 and set(invitations.values()) == {1}
        thanks = Counter(
            db.session.scalars(
                select(OutboxMessage.recipient).where(OutboxMessage.subject.like("Thank you%"))
            )
        )
        assert thanks["one@shared.example.org"] == 4
        assert sum(thanks.values()) == 17


def test_asking_twice_at_once_from_one_address_makes_one_request(app: Flask) -> None:
    slug, _ = _letter(app)
    barrier = threading.Barrier(6)
    outcomes: list[int] = []
    run_together(
        [_asker(app, slug, "Twice Asked", "twice@example.org", barrier, outcomes)]
        * 3  # the same address and organisation three times: one request, links resent
        + [
            _asker(app, slug, f"Other {i}", f"o{i}@example.org", barrier, outcomes)
            for i in range(3)
        ]
    )
    assert outcomes == [200] * 6
    with app.app_context():
        per_address = Counter(db.session.scalars(select(PublicSignRequest.email)))
        assert per_address["twice@example.org"] == 1
        assert len(per_address) == 4
        mails = db.session.scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.recipient == "twice@example.org"
            )
        )
        assert mails == 3  # each ask was answered by mail (the latest link works)


def _in_transaction(
    app: Flask, started: threading.Event, go_on: threading.Event, fn: Callable[[], object]
) -> Callable[[], None]:
    """Run ``fn`` in a request context, then hold the transaction open until ``go_on``."""

    def work() -> None:
        with app.test_request_context():
            try:
                fn()
                db.session.flush()
                started.set()
                assert go_on.wait(60), "the test never let the transaction go on"
                transaction.commit()
            finally:
                started.set()
                db.session.remove()

    return work


def _letter_of(slug: str) -> Letter:
    letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
    assert letter is not None
    return letter


def test_a_sign_on_does_not_wait_for_another_one_in_flight(app: Flask) -> None:
    slug, _ = _letter(app)
    started, go_on = threading.Event(), threading.Event()
    holder = threading.Thread(
        target=_in_transaction(
            app, started, go_on, lambda: ask(_letter_of(slug), "First In Flight", "f@example.org")
        )
    )
    holder.start()
    try:
        assert started.wait(60)
        with app.test_request_context():
            # any wait for a lock fails the statement instead of queuing
            db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
            result = ask(_letter_of(slug), "Second Meanwhile", "s@example.org")
            assert result.request is not None
            token = result.token
            transaction.commit()
        with app.test_request_context():
            db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
            letter = _letter_of(slug)
            request = public_ops.find_request(letter, token or "")
            assert request is not None
            public_ops.confirm_public_request(request, letter.head())
            transaction.commit()
    finally:
        go_on.set()
        holder.join(60)
    with app.app_context():
        assert db.session.scalar(select(func.count(PublicSignRequest.id))) == 2
        assert db.session.scalar(select(func.count(Signature.id))) == 1


def _waiting_on_a_lock(app: Flask) -> bool:
    with app.app_context():
        waiting = db.session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type IN ('Lock') "
                "AND pid <> pg_backend_pid()"
            )
        )
        db.session.remove()
        return bool(waiting)


def _wait_until(condition: Callable[[], bool]) -> None:
    for _ in range(6000):  # a bound, not a measurement: the condition is a state
        if condition():
            return
        threading.Event().wait(0.01)
    raise AssertionError("the other transaction never started waiting")


def _close(letter: Letter, user: User) -> None:
    close_signing(letter, user)


def _public_page_off(letter: Letter, user: User) -> None:
    public_ops.set_public_page(letter, enabled=False, user=user)


@pytest.mark.parametrize(
    ("change", "refusal"),
    [(_close, "closed"), (_public_page_off, "no public page")],
    ids=["close", "public page off"],
)
def test_a_close_waits_for_sign_ons_in_flight_and_excludes_later_ones(
    app: Flask, change: Callable[[Letter, User], None], refusal: str
) -> None:
    slug, _ = _letter(app)
    with app.app_context():
        closer = make_user(email="closer@example.org")
        transaction.commit()
        closer_id = closer.id
    started, go_on = threading.Event(), threading.Event()
    in_flight = threading.Thread(
        target=_in_transaction(
            app, started, go_on, lambda: ask(_letter_of(slug), "In Flight", "in@example.org")
        )
    )
    closed: list[str] = []

    def close() -> None:
        with app.test_request_context():
            change(_letter_of(slug), db.session.get(User, closer_id))
            transaction.commit()
            closed.append("closed")
            db.session.remove()

    in_flight.start()
    assert started.wait(60)
    closing = threading.Thread(target=close)
    closing.start()
    try:
        _wait_until(lambda: _waiting_on_a_lock(app))  # the change waits for the sign-on
        assert closed == []
    finally:
        go_on.set()
        in_flight.join(60)
        closing.join(60)
    assert closed == ["closed"]
    with app.test_request_context():
        letter = _letter_of(slug)
        with pytest.raises(SignatureError, match=refusal):
            ask(letter, "Too Late", "late@example.org")
        transaction.rollback()
        # the sign-on that was in flight committed before the change, and is kept
        assert db.session.scalar(select(func.count(PublicSignRequest.id))) == 1


def test_a_sign_on_during_a_close_waits_and_is_then_refused(app: Flask) -> None:
    slug, head_id = _letter(app)
    with app.test_request_context():
        letter = _letter_of(slug)
        token = ask(letter, "Asked Before", "before@example.org").token
        closer = make_user(email="closer2@example.org")
        transaction.commit()
        closer_id = closer.id
    started, go_on = threading.Event(), threading.Event()

    def close_now() -> None:
        close_signing(_letter_of(slug), db.session.get(User, closer_id))

    closing = threading.Thread(target=_in_transaction(app, started, go_on, close_now))
    closing.start()
    assert started.wait(60)
    statuses: list[int] = []
    confirming = threading.Thread(
        target=_confirmer(
            app, f"/p/{slug}/confirm/{token}", head_id, threading.Barrier(1), statuses
        )
    )
    confirming.start()
    try:
        _wait_until(lambda: _waiting_on_a_lock(app))  # the confirmation waits for the close
        assert statuses == []
    finally:
        go_on.set()
        closing.join(60)
        confirming.join(60)
    # refused: the POST reads the letter under its shared lock, so it waits for the close
    # and then sees it: the link's "signing is closed" page, as any confirmation after it
    assert statuses == [410]
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 0
