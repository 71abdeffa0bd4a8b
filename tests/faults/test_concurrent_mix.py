"""100 requests at the same moment on ONE letter: edits against a stale base, approvals
(distinct invitations) and withdrawals (of earlier approvals), through HTTP, in threads,
with real commits. Every accepted action (2xx/3xx) must be recorded exactly once and
nothing from a refused one; the revision chain and the audit chain must stay intact.

Runs on SQLite (writers take turns: BEGIN IMMEDIATE) and on PostgreSQL (row locks).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from signon.audit.models import AuditEvent
from signon.audit.verify import verify_chain
from signon.core.notices import NoticeKind
from signon.core.outbox import OutboxMessage
from signon.core.permissions import TeamRole
from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter, Notice, Revision, UnresolvedDraft
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations import links, notifications
from signon.signatures.invitations import operations as ops
from signon.signatures.models import (
    Invitation,
    SignatoryKind,
    Signature,
    SignatureEvent,
    SignatureStatus,
)
from tests.factories import add_team_member, make_letter, make_user
from tests.smtp import MailCatcher

pytestmark = pytest.mark.real_commits

EDITS, APPROVALS, WITHDRAWALS = 40, 30, 30
PARAGRAPHS = EDITS + 5
#: An approval refused because the text changed is tried again (as a person would,
#: after reading the changes) this many times at most.
APPROVAL_TRIES = 3


def _paragraph(i: int) -> str:
    return f"Paragraph {i} says something about water and rights."


def _body(changed: set[int]) -> str:
    return (
        "\n\n".join(
            f"Paragraph {i} now says something better, edit {i}." if i in changed else _paragraph(i)
            for i in range(PARAGRAPHS)
        )
        + "\n"
    )


@dataclass
class Setup:
    letter_id: int
    slug: str
    first_revision_id: int
    drafter_ids: list[str]  # session ids (User.get_id())
    to_approve: list[tuple[str, str]] = field(default_factory=list)  # (token, name)
    to_withdraw: list[str] = field(default_factory=list)  # tokens
    coordinator_email: str = ""


def _setup(app: Flask) -> Setup:
    with app.test_request_context():
        # a month old: more than a new account's daily mail allowance is invited below
        coordinator = make_user(name="Mix Coordinator", created_at=utcnow() - timedelta(days=30))
        letter = make_letter(coordinator, body=_body(set()))
        drafters = [make_user(name=f"Drafter {i}") for i in range(4)]
        for drafter in drafters:
            add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
        head = letter.head()
        assert head is not None
        lines = "\n".join(
            f"Org {i:03d}, contact{i}@org{i}.example.org" for i in range(APPROVALS + WITHDRAWALS)
        )
        report = ops.create_invitations(letter, ops.parse_pasted(lines), invited_by=coordinator)
        invitations = [db.session.get(Invitation, line.invitation_id) for line in report.created]
        setup = Setup(letter.id, letter.slug, head.id, [d.get_id() for d in drafters])
        setup.coordinator_email = coordinator.email
        for invitation in invitations[:APPROVALS]:
            assert invitation is not None
            setup.to_approve.append(
                (links.invitation_token(invitation), invitation.organisation_name)
            )
        for invitation in invitations[APPROVALS:]:
            assert invitation is not None
            ops.approve_invitation(
                invitation,
                head,
                SignatoryDetails(
                    name=invitation.organisation_name,
                    kind=SignatoryKind.NGO,
                    representative_name="Someone",
                    representative_title="Director",
                ),
            )
            setup.to_withdraw.append(links.invitation_token(invitation))
        commit()
        notifications.wait_for_background_sends()
        db.session.remove()
    return setup


def _head_id(app: Flask, letter_id: int) -> int:
    with app.app_context():
        head = db.session.scalar(
            select(Revision.id)
            .where(Revision.letter_id == letter_id)
            .order_by(Revision.number.desc())
            .limit(1)
        )
        db.session.remove()
    assert head is not None
    return head


@dataclass
class Outcome:
    kind: str  # edit / approve / withdraw
    key: str  # paragraph number, token
    status: int
    location: str = ""
    attempts: list[int] = field(default_factory=list)


def test_a_hundred_mixed_requests_on_one_letter(app: Flask, outbox: MailCatcher) -> None:
    setup = _setup(app)
    outbox.clear()
    workers: list[Callable[[], Outcome]] = []

    def edit(i: int) -> Callable[[], Outcome]:
        def run() -> Outcome:
            client = app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = setup.drafter_ids[i % len(setup.drafter_ids)]
                session["_fresh"] = True
            barrier.wait()
            response = client.post(
                f"/letters/{setup.slug}/edit",
                data={
                    "title": "Letter about water",
                    "body": _body({i}),
                    "change_note": f"edit {i}",
                    "base_revision": str(setup.first_revision_id),  # stale for all but one
                },
            )
            return Outcome("edit", str(i), response.status_code, response.location or "")

        return run

    def approve(token: str, name: str) -> Callable[[], Outcome]:
        def run() -> Outcome:
            client = app.test_client()
            revision_id = setup.first_revision_id
            barrier.wait()
            outcome = Outcome("approve", token, 0)
            for _try in range(APPROVAL_TRIES):
                response = client.post(
                    f"/sign/{token}/approve",
                    data={
                        "approve-name": name,
                        "approve-kind": "ngo",
                        "approve-representative_name": f"Representative of {name}",
                        "approve-representative_title": "Director",
                        "approve-authority": "y",
                        "approve-revision": str(revision_id),
                    },
                )
                outcome.attempts.append(response.status_code)
                outcome.status = response.status_code
                if response.status_code != 409:
                    break
                revision_id = _head_id(app, setup.letter_id)  # read the changes, approve again
            return outcome

        return run

    def withdraw(token: str) -> Callable[[], Outcome]:
        def run() -> Outcome:
            client = app.test_client()
            barrier.wait()
            response = client.post(
                f"/sign/{token}/withdraw", data={"withdraw-reason": "Changed our mind"}
            )
            return Outcome("withdraw", token, response.status_code)

        return run

    workers += [edit(i) for i in range(EDITS)]
    workers += [approve(token, name) for token, name in setup.to_approve]
    workers += [withdraw(token) for token in setup.to_withdraw]
    assert len(workers) == 100
    barrier = threading.Barrier(len(workers), timeout=30)
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def wrap(fn: Callable[[], Outcome]) -> Callable[[], None]:
        def run() -> None:
            try:
                result = fn()
            except BaseException as exc:  # reported in the main thread
                with lock:
                    errors.append(exc)
            else:
                with lock:
                    outcomes.append(result)

        return run

    started = time.monotonic()
    threads = [threading.Thread(target=wrap(w)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, 60 - (time.monotonic() - started)))
    elapsed = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), "a request hung (deadlock?)"
    assert not errors, errors
    assert elapsed < 60, f"took {elapsed:.1f} s"
    assert len(outcomes) == 100

    edits = [o for o in outcomes if o.kind == "edit"]
    approvals = [o for o in outcomes if o.kind == "approve"]
    withdrawals = [o for o in outcomes if o.kind == "withdraw"]
    assert all(o.status in (302, 409) for o in edits), Counter(o.status for o in edits)
    assert all(set(o.attempts) <= {302, 409} for o in approvals)
    assert all(o.status == 302 for o in withdrawals)
    saved = {int(o.key) for o in edits if o.status == 302 and "/drafts/" not in o.location}
    conflicts = [o for o in edits if "/drafts/" in o.location]
    approved = {o.key for o in approvals if o.status == 302}
    refused_approvals = {o.key for o in approvals if o.status != 302}
    print(
        f"{len(saved)} edits saved, {len(conflicts)} kept as drafts, {len(approved)} approvals "
        f"accepted (after {sum(len(o.attempts) for o in approvals)} tries), "
        f"{len(withdrawals)} withdrawals, in {elapsed:.1f} s"
    )
    assert saved, "no edit was accepted"
    assert approved, "no approval was accepted"

    with app.app_context():
        letter = db.session.get(Letter, setup.letter_id)
        assert letter is not None
        # Revisions: 1..N contiguous, each the child of the one before; N = 1 + saved edits.
        revisions = db.session.scalars(
            select(Revision).where(Revision.letter_id == letter.id).order_by(Revision.number)
        ).all()
        assert [r.number for r in revisions] == list(range(1, len(saved) + 2))
        for previous, revision in itertools.pairwise(revisions):
            assert revision.parent_id == previous.id
        # No edit lost: every accepted edit is in the final text, no refused one is.
        assert revisions[-1].body_markdown == _body(saved)
        assert sorted(r.change_note for r in revisions[1:]) == sorted(f"edit {i}" for i in saved)
        drafts = db.session.scalars(
            select(UnresolvedDraft).where(UnresolvedDraft.letter_id == letter.id)
        ).all()
        assert len(drafts) == len(conflicts)

        # Signatures: one per organisation; approvals and withdrawals recorded exactly once.
        by_token: dict[str, Invitation] = {}
        for invitation in db.session.scalars(
            select(Invitation).where(Invitation.letter_id == letter.id)
        ):
            by_token[links.invitation_token(invitation)] = invitation
        signatures = db.session.scalars(
            select(Signature).where(Signature.letter_id == letter.id)
        ).all()
        assert len({s.name_key for s in signatures}) == len(signatures)
        assert len(signatures) == WITHDRAWALS + len(approved)
        for token in approved:
            signature = by_token[token].signature
            assert signature is not None and signature.status == SignatureStatus.APPROVED
        for token in refused_approvals:
            assert by_token[token].signature is None
        for token in setup.to_withdraw:
            signature = by_token[token].signature
            assert signature is not None and signature.status == SignatureStatus.WITHDRAWN
        events = Counter(
            (e.signature_id, e.action)
            for e in db.session.scalars(
                select(SignatureEvent).join(Signature).where(Signature.letter_id == letter.id)
            )
        )
        assert all(count == 1 for count in events.values()), events
        assert sum(1 for _, a in events if a == "approved") == WITHDRAWALS + len(approved)
        assert sum(1 for _, a in events if a == "withdrawn") == WITHDRAWALS

        # The audit chain: intact, one event per accepted action, and in an order that
        # could have happened: an approval of revision r lies between the saves of r and r+1.
        report = verify_chain(f"letter:{letter.id}")
        assert report.intact, report.problem
        audit = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.chain == f"letter:{letter.id}")
            .order_by(AuditEvent.seq)
        ).all()
        actions = Counter(e.action for e in audit)
        assert actions["revision.saved"] == len(saved)
        assert actions["signature.approved"] == WITHDRAWALS + len(approved)
        assert actions["signature.withdrawn"] == WITHDRAWALS
        head_number = 1
        for event in audit:
            if event.action == "revision.saved":
                head_number = event.details["revision"]
            elif event.action == "signature.approved":
                assert event.details["revision"] == head_number, (
                    f"an approval of revision {event.details['revision']} was accepted "
                    f"while revision {head_number} was the current text"
                )

        # Mail: one receipt per accepted approval and withdrawal, recorded and sent once.
        receipts = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.letter_id == letter.id)
        ).all()
        subjects = Counter(m.subject.split(":")[0] for m in receipts)
        # the set-up's approvals had their receipts too (sent before ``outbox.clear()``)
        assert subjects == Counter(
            {"You approved": WITHDRAWALS + len(approved), "You withdrew your approval": WITHDRAWALS}
        )
        assert all(m.sent_at is not None and m.attempts == 1 for m in receipts)
        # The coordinator is told at once of each withdrawal and each change to classify.
        immediate = db.session.scalar(
            select(func.count())
            .select_from(Notice)
            .where(
                Notice.letter_id == letter.id,
                Notice.kind.in_([NoticeKind.WITHDRAWN, NoticeKind.CHANGE_WAITING]),
            )
        )
        db.session.remove()
    to_coordinator = len(outbox.to(setup.coordinator_email))
    assert to_coordinator == immediate and immediate >= WITHDRAWALS
    assert len(outbox) - to_coordinator == len(approved) + WITHDRAWALS
