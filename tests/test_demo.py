"""`flask seed-demo` loads the real ICC statement, once, with history worth looking at."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from sqlalchemy import func, select

from signon.accounts.models import User
from signon.audit.models import AuditEvent
from signon.core.notices import NoticeKind
from signon.core.outbox import OutboxMessage
from signon.demo import (
    COORDINATOR_EMAIL,
    DECLINE_REASON,
    DECLINING_NAME,
    DEMO_PASSWORD,
    DEMO_SLUG,
    DRAFTER_EMAIL,
    OPENING_NAME,
    RECONFIRMING,
    SENT_NAME,
    seed_demo,
)
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, Notice, Revision
from signon.signatures.invitations.links import find_invitation, invitation_token
from signon.signatures.listing import is_listed, signatory_list
from signon.signatures.models import (
    Invitation,
    Signature,
    SignatureSource,
    SignatureStatus,
)
from signon.signatures.state import SignatoryState, coverage, state_of
from tests.conftest import login
from tests.signatures import listing_outputs as outputs

pytestmark = pytest.mark.real_commits


def test_seed_demo_loads_the_statement_once(app: Flask, project_root) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert f"/letters/{DEMO_SLUG}/" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "already there" in second.output
    third = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "demo not loaded" in third.output

    bundle = json.loads((project_root / "signon/demo/icc-cooperation-statement.json").read_text())
    shared = project_root.parent / "shared/demo/icc-cooperation-statement.json"
    if shared.exists():
        assert json.loads(shared.read_text()) == bundle, "the bundled copy matches shared/demo"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Letter)) == 1
        letter = db.session.scalar(select(Letter).where(Letter.slug == DEMO_SLUG))
        assert letter.title == bundle["title"] and letter.addressee == bundle["addressee"]
        revisions = db.session.scalars(
            select(Revision).where(Revision.letter_id == letter.id).order_by(Revision.number)
        ).all()
        assert len(revisions) >= 3
        assert revisions[-1].body_markdown == bundle["body_markdown"]
        assert len({r.author_id for r in revisions}) == 2
        assert len(revisions[-1].body_markdown.strip().split("\n\n")) == 7
        for email in (COORDINATOR_EMAIL, DRAFTER_EMAIL):
            assert User.find_by_email(email) is not None


def _counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Letter, Revision, Signature, Invitation, AuditEvent, User)
    }


def test_seed_demo_shows_every_signatory_state(app: Flask, project_root) -> None:
    """The eleven approve the current text; four invitations show the other states."""
    bundle = json.loads((project_root / "signon/demo/icc-cooperation-statement.json").read_text())
    with app.app_context():
        assert seed_demo().created
        db.session.commit()
        letter = db.session.scalar(select(Letter).where(Letter.slug == DEMO_SLUG))
        revisions = db.session.scalars(
            select(Revision).where(Revision.letter_id == letter.id).order_by(Revision.number)
        ).all()
        # Three revisions (the drafting journey saves "revision 4"), both changes substantive.
        assert [r.number for r in revisions] == [1, 2, 3]
        assert [r.change_kind for r in revisions] == [
            None,
            ChangeKind.SUBSTANTIVE,
            ChangeKind.SUBSTANTIVE,
        ]
        cover = coverage(revisions)
        numbers = {r.id: r.number for r in revisions}
        signatures = db.session.scalars(
            select(Signature).where(Signature.letter_id == letter.id)
        ).all()
        invitations = db.session.scalars(
            select(Invitation).where(Invitation.letter_id == letter.id)
        ).all()
        by_invitation = {s.invitation_id: s for s in signatures if s.invitation_id}
        states: dict[str, SignatoryState] = {}
        for signature in signatures:
            if signature.invitation_id is None:
                states[signature.name] = state_of(
                    signature, None, numbers.get(signature.revision_id), cover
                )
        for invitation in invitations:
            signature = by_invitation.get(invitation.id)
            number = numbers.get(signature.revision_id) if signature else None
            states[invitation.organisation_name] = state_of(signature, invitation, number, cover)

        names = [s["name"] for s in bundle["signatories"]]
        assert len(names) == 11
        assert {n: states[n] for n in names} == dict.fromkeys(
            names, SignatoryState.APPROVED_CURRENT
        )
        assert {n: s for n, s in states.items() if n not in names} == {
            RECONFIRMING.name: SignatoryState.APPROVED_EARLIER,
            DECLINING_NAME: SignatoryState.DECLINED,
            OPENING_NAME: SignatoryState.OPENED,
            SENT_NAME: SignatoryState.INVITED,
        }
        eleven = [s for s in signatures if s.name in names]
        head = revisions[-1]
        assert all(
            s.source == SignatureSource.IMPORT
            and s.revision_id == head.id
            and s.approved_sha256 == head.content_sha256
            and is_listed(s)
            for s in eleven
        )
        reconfirming = next(s for s in signatures if s.name == RECONFIRMING.name)
        assert reconfirming.revision_id == revisions[1].id and reconfirming.domain_verified
        declined = next(s for s in signatures if s.status == SignatureStatus.DECLINED)
        assert declined.decline_reason == DECLINE_REASON
        for invitation in invitations:
            assert invitation.email.endswith("@example.org")
            assert find_invitation(invitation_token(invitation)) is invitation
        assert sum(1 for i in invitations if i.opened_at is not None) == 1

        # Running it again changes nothing at all.
        before = _counts()
        assert not seed_demo().created
        db.session.commit()
        assert _counts() == before


def test_demo_login_prints_the_credentials(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo-login"])
    assert COORDINATOR_EMAIL in result.output and DEMO_PASSWORD in result.output


def test_the_demo_lists_the_same_eleven_everywhere(app: Flask) -> None:
    """Public page, its counter, the embed, the API, CSV, JSON, the export preview, the
    dashboard and the PDF all list the eleven; the organisation that approved revision 2
    (a substantive change came after) is in none of them."""
    with app.app_context():
        letter = seed_demo().letter
        letter.is_public = True
        outputs.audit_page_on(letter)
        db.session.commit()
        slug = letter.slug
        coordinator = User.find_by_email(COORDINATOR_EMAIL)
        expected = signatory_list(letter).names
    client = login(app.test_client(), coordinator)
    assert len(expected) == 11 and RECONFIRMING.name not in expected
    seen = {
        "public page": outputs.public_page(client, slug),
        "embed": outputs.embed(client, slug),
        "api": outputs.api(client, slug),
        "api, 4 per page": outputs.api(client, slug, per_page=4),
        "csv": outputs.csv_list(client, slug),
        "json": outputs.json_list(client, slug),
        "export preview": outputs.export_preview(client, slug),
    }
    text = outputs.pdf_text(client, slug)
    seen["pdf"] = outputs.pdf(text, expected)
    assert {key: value.names for key, value in seen.items()} == dict.fromkeys(seen, expected)
    assert {key: value.count for key, value in seen.items()} == dict.fromkeys(seen, 11)
    assert outputs.dashboard_count(client, slug) == 11
    assert RECONFIRMING.name not in text


def test_seeding_the_demo_records_its_notices_but_mails_nobody(app: Flask) -> None:
    """Loading the demo is history, not news: `make run` printed a "changes waiting for
    classification" mail to the demo coordinator before the server even started."""
    seeded = app.test_cli_runner().invoke(args=["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    assert "--- e-mail to" not in seeded.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        kinds = set(db.session.scalars(select(Notice.kind)))
        assert NoticeKind.CHANGE_WAITING in kinds  # still in the letter's feed
