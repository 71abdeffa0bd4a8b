"""Tampering with the database outside Signon shows, one kind at a time.

Each test makes a letter through the operations (as the app does), changes one row
with plain SQL (as someone with database access would), and checks that the audit
verification names it, and that the export refuses a text that no longer matches its
hash.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select, update

from signon.audit.models import AuditEvent
from signon.audit.operations import record_event
from signon.audit.verify import verify_all, verify_chain, verify_letter
from signon.core.transaction import commit
from signon.exports.models import ExportRecord
from signon.exports.pdf.operations import ExportError, export_pdf, prepare, preview_pdf
from signon.extensions import db
from signon.letters import operations as letters
from signon.letters.models import Letter, Revision
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations import operations as invitations
from signon.signatures.models import Signature
from tests.conftest import login
from tests.factories import make_user
from tests.signatures.factories import make_signature


def signed_letter(title: str = "On cooperation") -> tuple[Letter, Signature]:
    """A letter with one approval, made through the operations."""
    coordinator = make_user()
    letter = letters.create_letter(coordinator, title=title, body="We call on every state.\n")
    head = letter.head()
    assert head is not None
    invitation = invitations.invite_organisation(
        letter,
        organisation_name="Rights NGO",
        email="contact@ngo.example.org",
        invited_by=coordinator,
    )
    details = SignatoryDetails(
        name="Rights NGO",
        country="Chile",
        representative_name="Ana Pérez",
        representative_title="Director",
        authority_confirmed=True,
    )
    signature = invitations.approve_invitation(invitation, head, details).signature
    return letter, signature


def tampered(statement: object) -> None:
    db.session.execute(statement)  # type: ignore[call-overload]
    db.session.expire_all()


def findings(letter: Letter) -> list[str]:
    report = verify_letter(letter.id)
    assert not report.intact
    return list(report.findings)


@pytest.mark.usefixtures("app_context")
class TestVerification:
    def test_a_letter_made_through_the_operations_is_intact(self) -> None:
        letter, _signature = signed_letter()
        report = verify_letter(letter.id)
        assert report.intact, (report.problem, report.findings)
        assert all(r.intact for r in verify_all())

    def test_an_events_actor_changed(self) -> None:
        letter, _signature = signed_letter()
        someone_else = make_user()
        first = db.session.scalar(
            select(AuditEvent).where(AuditEvent.letter_id == letter.id).order_by(AuditEvent.seq)
        )
        assert first is not None and first.actor_id is not None and first.hash_version == 2
        tampered(
            update(AuditEvent).where(AuditEvent.id == first.id).values(actor_id=someone_else.id)
        )
        report = verify_letter(letter.id)
        assert report.broken_at is not None and report.broken_at.id == first.id
        assert report.problem == "its content does not match its hash"

    def test_an_events_payload_changed(self) -> None:
        letter, _signature = signed_letter()
        approved = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.letter_id == letter.id, AuditEvent.action == "signature.approved"
            )
        )
        assert approved is not None
        details = {**approved.details, "signature": "Forged NGO"}
        tampered(update(AuditEvent).where(AuditEvent.id == approved.id).values(details=details))
        report = verify_letter(letter.id)
        assert report.broken_at is not None and report.broken_at.id == approved.id

    def test_a_revisions_text_rewritten(self) -> None:
        letter, _signature = signed_letter()
        tampered(
            update(Revision)
            .where(Revision.letter_id == letter.id)
            .values(body_markdown="We call on no state.\n")
        )
        assert verify_chain(f"letter:{letter.id}").broken_at is None  # the events are untouched
        (problem,) = findings(letter)
        assert problem.startswith("revision 1: its text does not match its stored SHA-256")

    def test_a_revisions_text_and_stored_hash_rewritten_together(self) -> None:
        letter, _signature = signed_letter()
        forged = "We call on no state.\n"
        tampered(
            update(Revision)
            .where(Revision.letter_id == letter.id)
            .values(
                body_markdown=forged,
                content_sha256=Revision.hash_content("On cooperation", forged),
            )
        )
        (problem,) = findings(letter)
        assert problem.startswith("revision 1: its stored SHA-256")
        assert "differs from the audited" in problem

    def test_a_signature_renamed(self) -> None:
        letter, signature = signed_letter()
        tampered(update(Signature).where(Signature.id == signature.id).values(name="Forged NGO"))
        (problem,) = findings(letter)
        assert problem == (
            f"signature #{signature.id} “Forged NGO”: name is 'Forged NGO', "
            "the audit recorded 'Rights NGO'"
        )

    def test_a_signatures_country_and_representative_changed(self) -> None:
        letter, signature = signed_letter()
        tampered(
            update(Signature)
            .where(Signature.id == signature.id)
            .values(country="Atlantis", representative_title="Chair")
        )
        (problem,) = findings(letter)
        assert "country is 'Atlantis', the audit recorded 'Chile'" in problem
        assert "representative title is 'Chair', the audit recorded 'Director'" in problem

    def test_a_signature_moved_to_another_letter(self) -> None:
        letter, signature = signed_letter()
        other, _ = signed_letter("Another letter")
        head = other.head()
        assert head is not None
        tampered(
            update(Signature)
            .where(Signature.id == signature.id)
            .values(letter_id=other.id, revision_id=head.id, name_key="moved")
        )
        (left,) = findings(letter)
        assert left == (
            f"signature #{signature.id} “Rights NGO”: audited here, but now belongs to "
            f"letter {other.id}"
        )
        (arrived,) = findings(other)
        assert arrived.startswith(
            f"signature #{signature.id} “Rights NGO”: no audit event of this letter records it"
        )

    def test_a_signature_deleted(self) -> None:
        letter, signature = signed_letter()
        tampered(delete(Signature).where(Signature.id == signature.id))
        (problem,) = findings(letter)
        assert problem == (
            f"signature #{signature.id} “Rights NGO”: audited, but deleted from the database"
        )

    def test_a_signature_without_any_event(self) -> None:
        letter, _signature = signed_letter()
        added = make_signature(letter, "Smuggled In")  # a bare row, as plain SQL would add
        (problem,) = findings(letter)
        assert problem.startswith(
            f"signature #{added.id} “Smuggled In”: no audit event of this letter records it"
        )

    def test_a_withdrawn_signature_put_back(self) -> None:
        letter, signature = signed_letter()
        assert signature.invitation is not None
        invitations.withdraw_invitation(signature.invitation, reason="Board said no")
        assert verify_letter(letter.id).intact
        tampered(update(Signature).where(Signature.id == signature.id).values(status="approved"))
        (problem,) = findings(letter)
        assert "status is 'approved', the audit recorded 'withdrawn'" in problem


@pytest.mark.usefixtures("app_context")
class TestHashVersions:
    def _legacy_event(self, letter: Letter) -> AuditEvent:
        """An event as written before version 2: its hash does not cover the actor."""
        event = record_event("letter.frozen", letter_id=letter.id, actor=make_user())
        event.hash_version = 1
        event.hash = event.compute_hash()
        db.session.flush()
        return event

    def test_old_events_verify_with_the_old_formula(self) -> None:
        user = make_user()
        first = record_event("account.login", actor=user)
        first.hash_version = 1
        first.hash = first.compute_hash()
        db.session.flush()
        second = record_event("account.login", actor=user)  # version 2 follows version 1
        assert second.hash_version == 2
        report = verify_chain("global")
        assert report.intact, report.problem

    def test_an_event_cannot_be_downgraded_to_the_old_formula(self) -> None:
        letter, _signature = signed_letter()
        last = db.session.scalar(
            select(AuditEvent)
            .where(AuditEvent.letter_id == letter.id)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        )
        assert last is not None
        # even with the hash recomputed by the old formula (which leaves the actor out)
        last.hash_version = 1
        last.actor_id = make_user().id
        last.hash = last.compute_hash()
        db.session.flush()
        report = verify_chain(f"letter:{letter.id}")
        assert report.broken_at is not None and report.broken_at.id == last.id
        assert "old hash format (version 1) after an event of version 2" in report.problem

    def test_an_unknown_format_is_named(self) -> None:
        letter, _signature = signed_letter()
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.letter_id == letter.id))
        assert event is not None
        tampered(update(AuditEvent).where(AuditEvent.id == event.id).values(hash_version=7))
        report = verify_chain(f"letter:{letter.id}")
        assert report.problem == "its hash format (version 7) is unknown"


@pytest.mark.usefixtures("app_context")
class TestExportRefusal:
    def test_export_and_preview_refuse_a_text_that_does_not_match_its_hash(self) -> None:
        letter, _signature = signed_letter()
        tampered(
            update(Revision)
            .where(Revision.letter_id == letter.id)
            .values(body_markdown="We call on no state.\n")
        )
        before = db.session.scalar(select(db.func.count()).select_from(ExportRecord))
        with pytest.raises(ExportError) as refused:
            export_pdf(letter, None, actor_label="test", background=False)
        assert "revision 1 no longer matches its recorded SHA-256" in str(refused.value)
        assert db.session.scalar(select(db.func.count()).select_from(ExportRecord)) == before
        prepared = prepare(letter)  # the settings page still opens, with the warning
        assert any("no longer matches" in warning for warning in prepared.warnings)
        with pytest.raises(ExportError):
            preview_pdf(prepared)


def _tamper_and_commit(app: Flask, kind: str) -> str:
    """A committed letter with one kind of tampering; returns the letter's slug."""
    with app.test_request_context():  # the invitation's mail builds links
        letter, signature = signed_letter()
        if kind == "revision":
            tampered(update(Revision).where(Revision.letter_id == letter.id).values(title="Forged"))
        elif kind == "signature":
            tampered(delete(Signature).where(Signature.id == signature.id))
        slug = letter.slug
        commit()
    return slug


@pytest.mark.real_commits
def test_verify_audit_command_reports_records_that_do_not_match(app: Flask) -> None:
    runner = app.test_cli_runner()
    intact = _tamper_and_commit(app, "none")
    ok = runner.invoke(args=["verify-audit", intact])
    assert ok.exit_code == 0, ok.output
    assert "All audit chains are intact, and the letters match them." in ok.output
    revision = _tamper_and_commit(app, "revision")
    result = runner.invoke(args=["verify-audit", revision])
    assert result.exit_code == 1
    assert "DOES NOT MATCH THE AUDIT: revision 1: its text does not match its stored" in (
        result.output
    )
    _tamper_and_commit(app, "signature")
    result = runner.invoke(args=["verify-audit"])  # every letter
    assert result.exit_code == 1
    assert "audited, but deleted from the database" in result.output
    assert f"letter:{_letter_id(app, intact)}: 4 events, intact" in result.output


def _letter_id(app: Flask, slug: str) -> int:
    with app.app_context():
        letter_id = db.session.scalar(select(Letter.id).where(Letter.slug == slug))
        assert letter_id is not None
        return letter_id


@pytest.mark.real_commits
def test_export_pdf_command_refuses_a_forged_text(app: Flask, tmp_path: Path) -> None:
    slug = _tamper_and_commit(app, "revision")
    output = tmp_path / "forged.pdf"
    result = app.test_cli_runner().invoke(args=["export-pdf", slug, "-o", str(output)])
    assert result.exit_code == 1
    assert "no longer matches its recorded SHA-256" in result.output
    assert not output.exists()
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ExportRecord)) == 0


@pytest.mark.usefixtures("app_context")
def test_the_export_page_says_why_it_refuses(client: FlaskClient) -> None:
    letter, _signature = signed_letter()
    assert letter.created_by is not None
    tampered(update(Revision).where(Revision.letter_id == letter.id).values(title="Forged"))
    login(client, letter.created_by)
    response = client.post(f"/letters/{letter.slug}/exports")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "The text of revision 1 no longer matches its recorded SHA-256" in page
    assert db.session.scalar(select(db.func.count()).select_from(ExportRecord)) == 0
