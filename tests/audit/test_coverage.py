"""Every state change writes an audit event, with the right actor and details.

Each test performs one action through its operation (or its route, where the
operation does not know the actor yet) and looks for the event.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from signon.accounts import operations as accounts
from signon.accounts.models import Membership, TokenPurpose, User, UserToken
from signon.api.tokens import create_api_token, revoke_api_token
from signon.audit.models import AuditEvent
from signon.audit.sealing import seal_letter
from signon.audit.verify import verify_all
from signon.core.permissions import OrganisationRole, TeamRole
from signon.core.transaction import commit
from signon.extensions import db
from signon.letters import operations as letters
from signon.letters.models import ChangeKind, Letter, LetterStatus
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations import operations as invitations
from signon.signatures.lifecycle import operations as lifecycle
from signon.signatures.public_signon import operations as public
from tests.conftest import login
from tests.factories import (
    DEFAULT_PASSWORD,
    add_team_member,
    make_letter,
    make_organisation,
    make_user,
)
from tests.signatures.factories import ask_and_confirm, make_public_letter

pytestmark = pytest.mark.usefixtures("app_context")


def events(action: str, letter: Letter | None = None) -> list[AuditEvent]:
    """The events named ``action`` of the letter's chain (or of the global chain)."""
    chain = f"letter:{letter.id}" if letter is not None else "global"
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.chain == chain, AuditEvent.action == action)
            .order_by(AuditEvent.seq)
        )
    )


def the_event(action: str, letter: Letter | None = None, **details: Any) -> AuditEvent:
    found = events(action, letter)
    assert len(found) == 1, f"{action}: {len(found)} events"
    event = found[0]
    for key, value in details.items():
        assert event.details.get(key) == value, f"{action}.{key}: {event.details}"
    assert all(report.intact for report in verify_all())
    return event


def _open_letter() -> tuple[User, Letter]:
    coordinator = make_user()
    letter = make_letter(coordinator)
    return coordinator, letter


def _invited(letter: Letter, by: User, email: str = "contact@ngo.example.org") -> Any:
    return invitations.invite_organisation(
        letter, organisation_name="Rights NGO", email=email, invited_by=by
    )


def _details() -> SignatoryDetails:
    return SignatoryDetails(name="Rights NGO", authority_confirmed=True)


# --- The text --------------------------------------------------------------------------------


def test_revision_saved() -> None:
    _coordinator, letter = _open_letter()
    drafter = make_user()
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    result = letters.save_revision(
        letter, drafter, base=letter.head(), title=letter.title, body="New text.\n"
    )
    assert result.revision is not None
    event = the_event("revision.saved", letter, revision=2, sha256=result.revision.content_sha256)
    assert event.actor_id == drafter.id and event.actor_label == drafter.email


def test_revision_classified() -> None:
    coordinator, letter = _open_letter()
    result = letters.save_revision(
        letter, coordinator, base=letter.head(), title=letter.title, body="New text.\n"
    )
    assert result.revision is not None
    lifecycle.classify_revision(
        result.revision, ChangeKind.EDITORIAL, coordinator, reason="Placeholder text"
    )
    event = the_event(
        "letter.revision_classified",
        letter,
        revision=2,
        kind="editorial",
        proposed="substantive",
        reason="Placeholder text",
    )
    assert event.actor_id == coordinator.id


def test_letter_details_changed(client: FlaskClient) -> None:
    coordinator, letter = _open_letter()
    login(client, coordinator)
    response = client.post(
        f"/letters/{letter.slug}/settings", data={"addressee": "The Court", "language": "en"}
    )
    assert response.status_code == 302
    event = the_event("letter.details_changed", letter, addressee="The Court")
    assert event.actor_id == coordinator.id


def test_draft_discarded(client: FlaskClient) -> None:
    coordinator, letter = _open_letter()
    base = letter.head()
    assert base is not None
    letters.save_revision(letter, coordinator, base=base, title=letter.title, body="Mine.\n")
    result = letters.save_revision(letter, coordinator, base=base, title=letter.title, body="No.\n")
    assert result.draft is not None
    login(client, coordinator)
    response = client.post(f"/letters/{letter.slug}/drafts/{result.draft.id}/discard")
    assert response.status_code == 302
    event = the_event("draft.discarded", letter, draft=result.draft.id)
    assert event.actor_id == coordinator.id


# --- Invitations and answers ------------------------------------------------------------------


def test_invitation_sent_resent_and_revoked() -> None:
    coordinator, letter = _open_letter()
    invitation = _invited(letter, coordinator)
    sent = the_event("invitations.created", letter, count=1, emails=["contact@ngo.example.org"])
    assert sent.actor_id == coordinator.id
    invitations.revoke_invitation(invitation, by=coordinator)
    revoked = the_event("invitation.revoked", letter, email="contact@ngo.example.org")
    assert revoked.actor_id == coordinator.id
    invitations.resend_invitation(invitation, by=coordinator)
    assert the_event("invitation.resent", letter, new_link=True).actor_id == coordinator.id


def test_invitation_opened() -> None:
    coordinator, letter = _open_letter()
    invitation = _invited(letter, coordinator)
    head = letter.head()
    assert head is not None
    invitations.record_seen(invitation, head)
    invitations.record_seen(invitation, head)  # opened once, however often it is seen
    event = the_event("invitation.opened", letter, email="contact@ngo.example.org", revision=1)
    assert event.actor_label == "contact@ngo.example.org" and event.actor_id is None


def test_approval_decline_and_withdrawal() -> None:
    coordinator, letter = _open_letter()
    invitation = _invited(letter, coordinator)
    head = letter.head()
    assert head is not None
    invitations.decline_invitation(invitation, reason="Not our mandate")
    declined = the_event("signature.declined", letter, reason="Not our mandate")
    assert declined.actor_label == "contact@ngo.example.org"
    invitations.approve_invitation(invitation, head, _details())
    approved = the_event(
        "signature.approved", letter, signature="Rights NGO", revision=1, sha256=head.content_sha256
    )
    assert approved.actor_label == "contact@ngo.example.org"
    assert invitations.withdraw_invitation(invitation, reason="Changed our mind")
    withdrawn = the_event("signature.withdrawn", letter, reason="Changed our mind")
    assert withdrawn.actor_label == "contact@ngo.example.org"


def test_public_request_and_moderation_decisions() -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    accepted = ask_and_confirm(letter, "Friends of the Court", "amina@friends.example.org")
    rejected = ask_and_confirm(letter, "Spam Org", "spam@spam.example.net")
    # public sign-ons do not queue for the chain: their events wait to be sealed
    assert events("public_signature.requested", letter) == []
    assert seal_letter(letter.id)
    assert len(events("public_signature.requested", letter)) == 2
    assert len(events("signature.approved", letter)) == 2
    public.accept_signature(accepted, moderator=coordinator)
    public.reject_signature(rejected, moderator=coordinator, reason="Not an organisation")
    ok = the_event("signature.moderation_accepted", letter, signature="Friends of the Court")
    no = the_event("signature.moderation_rejected", letter, reason="Not an organisation")
    assert ok.actor_id == no.actor_id == coordinator.id


# --- The letter's life --------------------------------------------------------------------------


def test_freeze_unfreeze_close_reopen() -> None:
    coordinator, letter = _open_letter()
    lifecycle.freeze_text(letter, coordinator)
    assert letter.status == LetterStatus.OPEN
    lifecycle.close_signing(letter, coordinator, "Delivered")
    lifecycle.reopen_signing(letter, coordinator, "One more week")
    lifecycle.unfreeze_text(letter, coordinator, "A typo in paragraph 2")
    assert the_event("letter.frozen", letter, revision=1).actor_id == coordinator.id
    assert the_event("letter.unfrozen", letter, reason="A typo in paragraph 2").actor_id
    assert the_event("letter.signing_closed", letter, reason="Delivered").actor_id
    assert the_event("letter.signing_reopened", letter, reason="One more week").actor_id


def test_team_role_changes() -> None:
    coordinator, letter = _open_letter()
    user = make_user(name="Dana Drafter")
    member = letters.add_team_member(letter, role=TeamRole.VIEWER, added_by=coordinator, user=user)
    letters.change_team_role(member, TeamRole.DRAFTER, coordinator)
    letters.remove_team_member(member, coordinator)
    assert the_event("team.added", letter, member="Dana Drafter", role="viewer").actor_id
    changed = the_event("team.role_changed", letter, old="viewer", new="drafter")
    assert changed.actor_id == coordinator.id
    assert the_event("team.removed", letter, member="Dana Drafter").actor_id == coordinator.id


def test_public_page_switch_and_api_tokens() -> None:
    coordinator, letter = _open_letter()
    public.set_public_page(letter, enabled=True, user=coordinator)
    token, _raw = create_api_token(letter, name="Website", created_by=coordinator)
    revoke_api_token(token, revoked_by=coordinator)
    assert the_event("letter.public_page_enabled", letter).actor_id == coordinator.id
    assert the_event("api_token.created", letter, name="Website", token_id=token.id).actor_id
    assert the_event("api_token.revoked", letter, token_id=token.id).actor_id == coordinator.id


# --- Exports ---------------------------------------------------------------------------------


def test_pdf_export() -> None:
    from signon.exports.pdf.operations import export_pdf

    coordinator, letter = _open_letter()
    head = letter.head()
    assert head is not None
    invitations.approve_invitation(_invited(letter, coordinator), head, _details())
    result = export_pdf(letter, coordinator, background=False)
    started = the_event("export.started", letter, export=result.record.id, revision=1)
    assert started.actor_id == coordinator.id
    the_event("export.finished", letter, export=result.record.id)


def test_list_downloads_are_reads_and_write_no_event(client: FlaskClient) -> None:
    """Downloads are GET requests: no state change on GET, so no audit event either.

    (The PDF export, a POST that stores a file and a record, is audited above.)
    """
    coordinator, letter = _open_letter()
    login(client, coordinator)
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert client.get(f"/letters/{letter.slug}/export/signatories.csv").status_code == 200
    assert client.get(f"/letters/{letter.slug}/signatories.csv").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


# --- Accounts (the global chain) -------------------------------------------------------------


def test_login() -> None:
    user = make_user()
    result = accounts.attempt_login(user.email, DEFAULT_PASSWORD)
    assert result.user is not None and result.user.id == user.id
    assert the_event("account.login").actor_id == user.id


def test_failed_login() -> None:
    user = make_user()
    result = accounts.attempt_login(user.email, "not the password at all")
    assert result.user is None
    event = the_event("account.login_failed")
    assert event.actor_label == user.email and event.actor_id is None


def test_password_change() -> None:
    user = make_user()
    accounts.change_password(user, DEFAULT_PASSWORD, "a much longer new passphrase 42")
    assert the_event("account.password_changed").actor_id == user.id


def test_password_reset() -> None:
    user = make_user()
    _token, raw = UserToken.issue(user, TokenPurpose.RESET_PASSWORD, timedelta(hours=1))
    db.session.flush()
    accounts.reset_password(raw, "a much longer new passphrase 42")
    assert the_event("account.password_reset").actor_id == user.id


def test_organisation_role_change(client: FlaskClient) -> None:
    admin, member = make_user(), make_user()
    organisation = make_organisation("Org Roles NGO", admin=admin, members=(member,))
    membership = db.session.scalar(select(Membership).where(Membership.user_id == member.id))
    assert membership is not None
    commit()
    login(client, admin)
    response = client.post(
        f"/organisations/{organisation.id}/members/{membership.id}/role", data={"role": "admin"}
    )
    assert response.status_code == 302
    assert membership.role == OrganisationRole.ADMIN
    event = the_event("organisation.role_changed", organisation="Org Roles NGO", new="admin")
    assert event.actor_id == admin.id


def test_name_change() -> None:
    user = make_user(name="Old Name")
    accounts.update_profile(user, "New Name", "UTC")
    event = the_event("account.name_changed", old="Old Name", new="New Name")
    assert event.actor_id == user.id
    accounts.update_profile(user, "New Name", "Asia/Tokyo")  # the time zone only: no event
    assert len(events("account.name_changed")) == 1


def test_organisation_renamed_through_its_page(client: FlaskClient) -> None:
    """The name is the letterhead and the PDF's author of the letters it drafts."""
    admin = make_user()
    organisation = make_organisation("Old Coalition", admin=admin)
    commit()
    login(client, admin)
    response = client.post(
        f"/organisations/{organisation.id}/edit",
        data={"name": "New Coalition", "country": "Chile", "website": ""},
    )
    assert response.status_code == 302
    event = the_event(
        "organisation.details_changed",
        organisation_id=organisation.id,
        organisation="New Coalition",
        old={"name": "Old Coalition", "country": None},
        new={"name": "New Coalition", "country": "Chile"},
    )
    assert event.actor_id == admin.id


def test_organisation_saved_unchanged_writes_no_event() -> None:
    admin = make_user()
    organisation = make_organisation("Same Coalition", admin=admin)
    accounts.update_organisation(organisation, "Same Coalition", actor=admin)
    assert events("organisation.details_changed") == []


def test_first_revision_created() -> None:
    coordinator = make_user()
    letter = letters.create_letter(coordinator, title="A new letter", body="Text.\n")
    head = letter.head()
    assert head is not None
    event = the_event("revision.created", letter, revision=1, sha256=head.content_sha256)
    assert event.actor_id == coordinator.id


def test_signature_events_record_what_is_printed() -> None:
    coordinator, letter = _open_letter()
    head = letter.head()
    assert head is not None
    details = SignatoryDetails(
        name="Rights NGO",
        country="Chile",
        representative_name="Ana Pérez",
        representative_title="Director",
        authority_confirmed=True,
    )
    signature = invitations.approve_invitation(_invited(letter, coordinator), head, details)
    (printed,) = the_event("signature.approved", letter).details["printed"]
    assert printed == {
        "id": signature.signature.id,
        "name": "Rights NGO",
        "sort_name": None,
        "country": "Chile",
        "kind": "ngo",
        "representative_name": "Ana Pérez",
        "representative_title": "Director",
        "website": None,
        "logo_filename": None,
        "status": "approved",
        "moderation": "not_needed",
        "revision_id": head.id,
        "approved_sha256": head.content_sha256,
    }
