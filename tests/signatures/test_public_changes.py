"""A public signatory's changes after acceptance are held for review; removal by coordinators.

Through the invitee link (test client) for what the signatory does, and through the
moderation routes for what the coordinators do; every output is read back.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from signon.accounts.models import User
from signon.audit.models import AuditEvent
from signon.exports.models import ExportStatus
from signon.exports.pdf import operations as pdf_operations
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.audit_records import signature_problems
from signon.signatures.invitations import links
from signon.signatures.models import (
    ChangeStatus,
    Moderation,
    Signature,
    SignatureChange,
)
from signon.signatures.public_signon import changes as public_changes
from signon.signatures.public_signon import operations as public_ops
from signon.signatures.uploads import process_logo, save_logo
from tests.api.factories import token_for
from tests.conftest import login
from tests.factories import add_revision, make_user
from tests.signatures.factories import (
    ask_and_confirm,
    commit,
    image_bytes,
    make_public_letter,
    make_signature,
)
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")

CHOIR = "Friendly Neighbourhood Choir"
MINISTRY = "Ministry of Truth (official endorsement)"


def _accepted_choir() -> tuple[User, Letter, Signature]:
    coordinator = make_user()
    letter = make_public_letter(coordinator, title="Open letter")
    signature = ask_and_confirm(letter, CHOIR, "choir@choir.example.org")
    public_ops.accept_signature(signature, moderator=coordinator)
    commit()
    return coordinator, letter, signature


def _sign_path(signature: Signature, suffix: str = "") -> str:
    assert signature.invitation is not None
    return f"/sign/{links.invitation_token(signature.invitation)}{suffix}"


def _form(letter: Letter, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "approve-name": CHOIR,
        "approve-sort_name": "",
        "approve-country": "Kenya",
        "approve-kind": "ngo",
        "approve-representative_name": "Amina Otieno",
        "approve-representative_title": "Director",
        "approve-website": "https://friends.example.org",
        "approve-authority": "y",
        "approve-revision": str(letter.head().id),
    }
    data.update(changes)
    return data


def _propose(client: FlaskClient, signature: Signature, **changes: Any) -> str:
    response = client.post(
        _sign_path(signature, "/approve"),
        data=_form(signature.letter, **changes),
        follow_redirects=True,
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _listed_names(client: FlaskClient, letter: Letter, coordinator: User) -> dict[str, list[str]]:
    """The names every output lists: public page, API, CSV and PDF."""
    db.session.expire_all()
    page = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    _token, raw = token_for(letter, coordinator)
    commit()
    api = client.get(
        f"/api/v1/letters/{letter.slug}/signatories", headers={"Authorization": f"Bearer {raw}"}
    ).get_json()
    login(client, coordinator)
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(f"/letters/{letter.slug}/export/signatories.csv").get_data(as_text=True)
            )
        )
    )
    client.post("/logout")
    result = pdf_operations.export_pdf(letter, coordinator, actor_label="test")
    assert result.record.status == ExportStatus.DONE, result.record.error
    pdf = PdfReader(io.BytesIO(pdf_operations.stored_pdf(result.record)))
    pdf_text = " ".join(" ".join(p.extract_text() for p in pdf.pages).split())
    names = [CHOIR, MINISTRY]
    return {
        "page": [n for n in names if n in page],
        "api": [s["name"] for s in api["items"]],
        "csv": [r["name"] for r in rows],
        "pdf": [n for n in names if n in pdf_text],
    }


def _status(change: SignatureChange) -> ChangeStatus:
    """The current value (a function call, so that type checkers do not narrow it)."""
    return change.status


def _moderation(signature: Signature) -> Moderation:
    """The current value (a function call, so that type checkers do not narrow it)."""
    return signature.moderation


def _audit_actions(letter: Letter) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.letter_id == letter.id)
            .order_by(AuditEvent.seq)
        )
    )


# --------------------------------------------------------------------------- held changes


def test_a_renamed_accepted_signature_stays_listed_as_accepted_until_reviewed(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator, letter, signature = _accepted_choir()
    page = _propose(client, signature, **{"approve-name": MINISTRY, "approve-country": "Oceania"})
    assert "Your changes are sent to the coordinators for review" in page
    assert "Your changes await review" in page and MINISTRY in page
    assert f'value="{MINISTRY}"' in page  # the form keeps what they typed
    db.session.expire_all()
    assert signature.name == CHOIR and signature.country == "Kenya"
    change = db.session.scalars(select(SignatureChange)).one()
    assert change.status == ChangeStatus.PENDING
    assert change.proposed["name"] == MINISTRY and change.proposed["country"] == "Oceania"
    assert _listed_names(client, letter, coordinator) == {
        "page": [CHOIR],
        "api": [CHOIR],
        "csv": [CHOIR],
        "pdf": [CHOIR],
    }
    assert "signature.change_proposed" in _audit_actions(letter)
    assert signature_problems(letter.id) == []

    login(client, coordinator)
    queue = client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    assert "Changes awaiting review" in queue
    assert f"<del>{CHOIR}</del>" in queue and f"<ins>{MINISTRY}</ins>" in queue
    assert "<del>Kenya</del>" in queue and "<ins>Oceania</ins>" in queue
    outbox.clear()
    response = client.post(f"/letters/{letter.slug}/moderation/{signature.id}/change/accept")
    assert response.status_code == 302
    commit()
    db.session.expire_all()
    assert signature.name == MINISTRY and signature.country == "Oceania"
    assert _status(change) == ChangeStatus.ACCEPTED and change.decided_by_id == coordinator.id
    assert "signature.change_accepted" in _audit_actions(letter)
    assert signature_problems(letter.id) == []
    (mail,) = outbox.to("choir@choir.example.org")
    assert "accepted" in mail["Subject"]
    client.post("/logout")
    assert _listed_names(client, letter, coordinator) == {
        "page": [MINISTRY],
        "api": [MINISTRY],
        "csv": [MINISTRY],
        "pdf": [MINISTRY],
    }


def test_a_rejected_change_leaves_the_listed_details(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator, letter, signature = _accepted_choir()
    _propose(client, signature, **{"approve-name": MINISTRY})
    commit()
    login(client, coordinator)
    outbox.clear()
    response = client.post(
        f"/letters/{letter.slug}/moderation/{signature.id}/change/reject",
        data={f"change-reject-{signature.id}-reason": "Not the same organisation"},
    )
    assert response.status_code == 302
    commit()
    db.session.expire_all()
    change = db.session.scalars(select(SignatureChange)).one()
    assert change.status == ChangeStatus.REJECTED and change.reason == "Not the same organisation"
    assert signature.name == CHOIR and signature.moderation == Moderation.ACCEPTED
    assert "signature.change_rejected" in _audit_actions(letter)
    (mail,) = outbox.to("choir@choir.example.org")
    assert "not accepted" in mail["Subject"]
    queue = client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    assert "No change awaits review." in queue
    # nothing left to decide: a second decision is refused with a message
    again = client.post(
        f"/letters/{letter.slug}/moderation/{signature.id}/change/accept", follow_redirects=True
    )
    assert "No change of" in again.get_data(as_text=True)
    db.session.expire_all()
    assert signature.name == CHOIR


def test_a_second_proposal_replaces_the_first_and_the_listed_details_take_it_back(
    client: FlaskClient,
) -> None:
    _coordinator, _letter, signature = _accepted_choir()
    _propose(client, signature, **{"approve-name": "Choir One"})
    _propose(client, signature, **{"approve-name": "Choir Two"})
    changes = list(db.session.scalars(select(SignatureChange)))
    assert len(changes) == 1 and changes[0].proposed["name"] == "Choir Two"
    _propose(client, signature)  # the listed details again
    db.session.expire_all()
    assert changes[0].status == ChangeStatus.CANCELLED
    assert signature.name == CHOIR


def test_approving_a_new_text_with_a_new_name_records_the_approval_and_holds_the_name(
    client: FlaskClient,
) -> None:
    coordinator, letter, signature = _accepted_choir()
    new_text = add_revision(letter, coordinator, "We urge all States to protect the Court.\n")
    commit()
    page = _propose(client, signature, **{"approve-name": MINISTRY})
    assert "Thank you" in page and "Your changes await review" in page
    db.session.expire_all()
    assert signature.revision_id == new_text.id  # the approval of the new text counts
    assert signature.name == CHOIR  # the new name waits
    assert public_changes.pending_change(signature) is not None
    assert signature_problems(letter.id) == []


def test_the_same_proposal_twice_records_it_once(client: FlaskClient) -> None:
    _coordinator, letter, signature = _accepted_choir()
    _propose(client, signature, **{"approve-name": MINISTRY})
    page = _propose(client, signature, **{"approve-name": MINISTRY})
    assert "already recorded; nothing changed" in page
    proposals = [a for a in _audit_actions(letter) if a == "signature.change_proposed"]
    assert len(proposals) == 1


def test_a_proposed_name_another_signatory_holds_is_refused_and_kept_in_the_form(
    client: FlaskClient,
) -> None:
    _coordinator, letter, signature = _accepted_choir()
    make_signature(letter, "Amnesty International")
    commit()
    response = client.post(
        _sign_path(signature, "/approve"),
        data=_form(letter, **{"approve-name": "amnesty  INTERNATIONAL"}),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "already signed this letter" in page and 'value="amnesty INTERNATIONAL"' in page
    assert db.session.scalars(select(SignatureChange)).all() == []


def test_a_new_logo_waits_for_review_too(client: FlaskClient, storage: Path) -> None:
    coordinator, letter, signature = _accepted_choir()
    data = _form(letter)
    data["approve-logo"] = (io.BytesIO(image_bytes(400, 100)), "logo.png", "image/png")
    response = client.post(
        _sign_path(signature, "/approve"), data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    db.session.expire_all()
    change = db.session.scalars(select(SignatureChange)).one()
    assert signature.logo_filename is None and change.logo_filename
    assert (storage / "logos" / change.logo_filename).exists()
    commit()
    assert client.get(f"/p/{letter.slug}/logos/{signature.id}").status_code == 404
    login(client, coordinator)
    proposed_logo = f"/letters/{letter.slug}/moderation/{signature.id}/change/logo"
    assert proposed_logo in client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    shown = client.get(proposed_logo)
    assert shown.status_code == 200 and shown.mimetype == "image/png"
    assert shown.data == (storage / "logos" / change.logo_filename).read_bytes()
    client.post(f"/letters/{letter.slug}/moderation/{signature.id}/change/accept")
    commit()
    db.session.expire_all()
    assert signature.logo_filename == change.logo_filename
    assert client.get(f"/p/{letter.slug}/logos/{signature.id}").status_code == 200


def test_a_replaced_proposed_logo_and_the_replaced_listed_logo_leave_the_storage(
    client: FlaskClient, storage: Path
) -> None:
    """A second proposed logo makes the first nobody's, and accepting the change makes the
    listed one nobody's: each is deleted after its commit, only the current file stays."""
    coordinator, letter, signature = _accepted_choir()
    listed = process_logo(io.BytesIO(image_bytes(30, 30)))
    save_logo(listed)
    signature.logo_filename = listed.filename
    commit()

    def propose() -> str:
        data = _form(letter)
        data["approve-logo"] = (io.BytesIO(image_bytes(400, 100)), "logo.png", "image/png")
        response = client.post(
            _sign_path(signature, "/approve"), data=data, content_type="multipart/form-data"
        )
        assert response.status_code == 302
        db.session.expire_all()
        return db.session.scalars(select(SignatureChange)).one().logo_filename or ""

    def stored() -> set[str]:
        return {path.name for path in (storage / "logos").iterdir()}

    first = propose()
    assert stored() == {listed.filename, first}
    second = propose()
    assert second != first and stored() == {listed.filename, second}
    login(client, coordinator)
    client.post(f"/letters/{letter.slug}/moderation/{signature.id}/change/accept")
    db.session.expire_all()
    assert signature.logo_filename == second
    assert stored() == {second}


def test_before_acceptance_and_for_invited_organisations_changes_apply_at_once(
    client: FlaskClient,
) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    pending = ask_and_confirm(letter, CHOIR, "choir@choir.example.org")
    commit()
    _propose(client, pending, **{"approve-name": "Choir (pending)"})
    db.session.expire_all()
    assert pending.name == "Choir (pending)" and pending.moderation == Moderation.PENDING
    assert db.session.scalars(select(SignatureChange)).all() == []


# --------------------------------------------------------------------------- removal


def test_removing_an_accepted_public_signature_needs_a_reason_and_mails_after_commit(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator, letter, signature = _accepted_choir()
    make_signature(letter, "Steady Org")  # an invited one, so that the PDF has a list
    _propose(client, signature, **{"approve-name": MINISTRY})
    commit()
    login(client, coordinator)
    path = f"/letters/{letter.slug}/moderation/{signature.id}/remove"
    refused = client.post(path, data={f"remove-{signature.id}-reason": "  "})
    assert refused.status_code == 422
    assert "Give the reason for the removal." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert signature.moderation == Moderation.ACCEPTED
    outbox.clear()
    response = client.post(path, data={f"remove-{signature.id}-reason": "Impersonation"})
    assert response.status_code == 302
    commit()
    db.session.expire_all()
    assert _moderation(signature) == Moderation.REJECTED
    assert db.session.scalars(select(SignatureChange)).one().status == ChangeStatus.CANCELLED
    assert "signature.removed" in _audit_actions(letter)
    # (the factory's row is not audited; the removed one must be)
    assert [p for p in signature_problems(letter.id) if "Steady Org" not in p] == []
    (mail,) = outbox.to("choir@choir.example.org")
    assert "no longer listed" in mail["Subject"]
    assert "Impersonation" in MailCatcher.text_of(mail)
    queue = client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    assert "Removed" in queue
    client.post("/logout")
    assert _listed_names(client, letter, coordinator) == {
        "page": [],
        "api": ["Steady Org"],
        "csv": ["Steady Org"],
        "pdf": [],
    }
    client.post("/logout")
    page = client.get(_sign_path(signature)).get_data(as_text=True)
    assert "or removed it from the list" in page


def test_only_accepted_public_signatures_can_be_removed(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    invited = make_signature(letter, "Invited Org")
    pending = ask_and_confirm(letter, CHOIR, "choir@choir.example.org")
    commit()
    login(client, coordinator)
    for signature in (invited, pending):
        response = client.post(
            f"/letters/{letter.slug}/moderation/{signature.id}/remove",
            data={f"remove-{signature.id}-reason": "No"},
            follow_redirects=True,
        )
        assert "is not an accepted public signature" in response.get_data(as_text=True)
    db.session.expire_all()
    assert invited.moderation == Moderation.NOT_NEEDED
    assert pending.moderation == Moderation.PENDING
