"""Look-alike names and name collisions (issue 10, items 2 and 5).

Names are cleaned once when stored and compared by exact key and by confusable
skeleton. On the public page a look-alike of an existing signatory is refused; an
invitation, an import or a coordinator is never blocked, and a collision is shown
to the coordinators as a possible duplicate. No approval adopts another record.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.audit.models import AuditEvent
from signon.audit.operations import record_event
from signon.audit.verify import verify_letter
from signon.core.names import clean_name, name_key, skeleton
from signon.exports.bundles.operations import import_signatories
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.approvals.operations import SignatoryDetails, SignatureError
from signon.signatures.audit_records import printed_records
from signon.signatures.duplicates import look_alikes, possible_duplicates
from signon.signatures.invitations import operations as invitations
from signon.signatures.models import (
    Invitation,
    Moderation,
    PublicSignRequest,
    SignatoryKind,
    Signature,
    SignatureSource,
    SignatureStatus,
)
from signon.signatures.public_signon import operations as public_ops
from tests.conftest import login
from tests.factories import make_user
from tests.signatures.factories import (
    ask_and_confirm,
    commit,
    invited,
    make_public_letter,
    make_signature,
    sign_path,
)

pytestmark = pytest.mark.usefixtures("app_context")

AMNESTY = "Amnesty International"
#: The issue's look-alikes: a zero-width space, a Cyrillic "а", a right-to-left override.
LOOK_ALIKES = {
    "zero-width space": "Amnesty\u200b International",
    "Cyrillic a": "Amnesty Internationаl",
    "right-to-left override": "\u202eAmnesty International",
}


# --- The name rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Amnesty\u200b International", AMNESTY),
        ("\u202eAmnesty International\u202c", AMNESTY),
        ("\u2066Amnesty\u2069 International\ufeff", AMNESTY),
        ("Amnesty\u200d\u200e International", AMNESTY),
        ("  amnesty \t INTERNATIONAL\n", "amnesty INTERNATIONAL"),
        ("Amnesty\u00a0International", AMNESTY),
        ("Cafe\u0301 Solidarite\u0301", "Café Solidarité"),  # NFC: one code point each
    ],
)
def test_clean_name_removes_what_cannot_be_seen(typed: str, stored: str) -> None:
    assert clean_name(typed) == stored


def test_name_key_folds_case_and_spacing_only() -> None:
    assert name_key("amnesty  INTERNATIONAL") == name_key(AMNESTY)
    assert name_key(LOOK_ALIKES["Cyrillic a"]) != name_key(AMNESTY)


@pytest.mark.parametrize("variant", [*LOOK_ALIKES.values(), "Amnesty InternationaI"])
def test_look_alikes_share_the_skeleton(variant: str) -> None:
    assert skeleton(variant) == skeleton(AMNESTY)


def test_different_names_have_different_skeletons() -> None:
    assert skeleton("Amnesty Internationals") != skeleton(AMNESTY)
    assert skeleton("Amnesty Nationale") != skeleton(AMNESTY)


# --- The public page: a look-alike of a signatory is refused on the form --------------------


def _form(letter: Letter, name: str) -> dict[str, str]:
    return {
        "name": name,
        "sort_name": "",
        "country": "Kenya",
        "kind": "ngo",
        "representative_name": "Amina Otieno",
        "representative_title": "Director",
        "website": "friends.example.org",
        "email": "amina@friends.example.org",
        "authority": "y",
        "revision_id": str(letter.head().id),
    }


@pytest.mark.parametrize("variant", list(LOOK_ALIKES), ids=list(LOOK_ALIKES))
def test_a_public_look_alike_of_a_listed_name_is_refused_and_the_form_kept(
    client: FlaskClient, variant: str
) -> None:
    letter = make_public_letter()
    make_signature(letter, AMNESTY)
    commit()
    response = client.post(f"/p/{letter.slug}/sign", data=_form(letter, LOOK_ALIKES[variant]))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # a bidirectional override is refused by the one-line rule already, as a control character
    expected = (
        "cannot contain control characters"
        if variant == "right-to-left override"
        else "already listed among the signatories"
    )
    assert expected in html and "nothing has been lost" in html
    assert 'value="Kenya"' in html and 'value="Amina Otieno"' in html
    assert db.session.scalar(select(PublicSignRequest)) is None


def test_a_look_alike_confirmed_meanwhile_is_refused_at_confirmation() -> None:
    letter = make_public_letter()
    result = public_ops.request_public_signature(
        letter,
        letter.head(),
        public_ops.PublicRequestData(
            name=LOOK_ALIKES["Cyrillic a"],
            country="Kenya",
            kind=SignatoryKind.NGO,
            representative_name="A. Person",
        ),
        email="someone@example.net",
    )
    assert result.request is not None
    make_signature(letter, AMNESTY)
    with pytest.raises(public_ops.NameTakenError, match="looks the same as"):
        public_ops.confirm_public_request(result.request, letter.head())


def test_a_rejected_public_sign_on_blocks_no_one(client: FlaskClient) -> None:
    letter = make_public_letter()
    squatter = ask_and_confirm(letter, AMNESTY, email="squatter@example.net")
    public_ops.reject_signature(squatter, moderator=make_user(), reason="not them")
    assert look_alikes(letter, AMNESTY) == []
    ask_and_confirm(letter, LOOK_ALIKES["Cyrillic a"], email="someone@example.net")
    assert len(look_alikes(letter, AMNESTY)) == 1


# --- Invitations: never blocked, never adopting, flagged -------------------------------------


def _approve_form(letter: Letter, name: str) -> dict[str, Any]:
    return {
        "approve-name": name,
        "approve-sort_name": "",
        "approve-country": "Ghana",
        "approve-kind": "ngo",
        "approve-representative_name": "Rita Rep",
        "approve-representative_title": "Director",
        "approve-website": "",
        "approve-authority": "y",
        "approve-revision": str(letter.head().id),
    }


@pytest.mark.parametrize("rejected", [False, True], ids=["pending", "rejected"])
def test_a_public_squatter_never_blocks_the_invited_organisation(
    client: FlaskClient, rejected: bool
) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    invitation = invited(letter, coordinator, name="Small Local Group")
    squatter = ask_and_confirm(letter, "Small Local Group", email="stranger@example.net")
    if rejected:
        public_ops.reject_signature(squatter, moderator=coordinator, reason="not them")
    commit()
    response = client.post(
        sign_path(invitation, "/approve"), data=_approve_form(letter, "Small Local Group")
    )
    assert response.status_code == 302
    db.session.expire_all()
    own = db.session.get(Invitation, invitation.id).signature
    assert own is not None and own.id != squatter.id
    assert (own.status, own.source, own.moderation) == (
        SignatureStatus.APPROVED,
        SignatureSource.INVITATION,
        Moderation.NOT_NEEDED,
    )
    assert squatter.email == "stranger@example.net"  # the stranger's record is untouched
    # withdrawing still works afterwards, and touches only their own signature
    assert client.post(sign_path(invitation, "/withdraw"), data={}).status_code == 302
    db.session.expire_all()
    assert own.status == SignatureStatus.WITHDRAWN
    assert squatter.status == SignatureStatus.APPROVED
    groups = possible_duplicates(letter)
    assert [{s.id for s in g.signatures} for g in groups] == (
        [] if rejected else [{own.id, squatter.id}]
    )


@pytest.mark.parametrize("variant", list(LOOK_ALIKES), ids=list(LOOK_ALIKES))
def test_an_invited_look_alike_is_stored_clean_and_flagged(variant: str) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    real = make_signature(letter, AMNESTY)
    invitation = invited(letter, coordinator, name="Small Local Group")
    theirs = invitations.approve_invitation(
        invitation,
        letter.head(),
        SignatoryDetails(name=LOOK_ALIKES[variant], authority_confirmed=True),
    ).signature
    assert "\u200b" not in theirs.name and "\u202e" not in theirs.name
    [group] = possible_duplicates(letter)
    assert [s.id for s in group.signatures] == [real.id, theirs.id]
    assert group.same_name == (variant != "Cyrillic a")


def test_an_imported_look_alike_is_kept_and_flagged() -> None:
    letter = make_public_letter()
    real = make_signature(letter, AMNESTY)
    import_signatories(letter, [{"name": LOOK_ALIKES["Cyrillic a"]}, {"name": "Other NGO"}])
    imported = db.session.scalar(
        select(Signature).where(
            Signature.letter_id == letter.id, Signature.name == LOOK_ALIKES["Cyrillic a"]
        )
    )
    assert imported is not None and imported.source == SignatureSource.IMPORT
    [group] = possible_duplicates(letter)
    assert [s.id for s in group.signatures] == [real.id, imported.id]
    assert not group.same_name


def test_an_invitation_stores_the_organisation_name_clean() -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    invitation = invited(letter, coordinator, name="Amnesty\u200b  International\u202e")
    assert invitation.organisation_name == AMNESTY


# --- The audit chain from before cleaning still verifies ------------------------------------


def test_a_chain_written_before_names_were_cleaned_still_verifies() -> None:
    letter = make_public_letter()
    old = make_signature(letter, AMNESTY)
    # as rows were written before: the name stored with its invisible character
    old.name = "Amnesty\u200b International"
    db.session.flush()
    record_event(
        "signature.approved",
        letter_id=letter.id,
        actor_label="import",
        signature=old.name,
        printed=printed_records(old),
    )
    db.session.flush()
    report = verify_letter(letter.id)
    assert report.intact, report.findings


# --- Coordinators: the possible duplicates, merged and taken back -----------------------------


def _audit_actions(letter: Letter) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.letter_id == letter.id)
            .order_by(AuditEvent.seq)
        )
    )


def _moderation_of(signature: Signature) -> Moderation:
    """As stored now (what a request changed)."""
    db.session.expire_all()
    return signature.moderation


def test_coordinators_see_a_look_alike_merge_it_and_undo_the_merge(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    real = make_signature(letter, AMNESTY)
    invitation = invited(letter, coordinator, name="Small Local Group")
    theirs = invitations.approve_invitation(
        invitation,
        letter.head(),
        SignatoryDetails(name=LOOK_ALIKES["Cyrillic a"], authority_confirmed=True),
    ).signature
    commit()
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    assert "Possible duplicates" in page and "Names that look the same" in page
    merge = f"/letters/{letter.slug}/moderation/{theirs.id}/merge-duplicate"
    assert client.post(merge, data={"target": str(real.id)}).status_code == 302
    db.session.expire_all()
    assert theirs.moderation == Moderation.REJECTED and theirs.status == SignatureStatus.APPROVED
    assert possible_duplicates(letter) == []
    page = client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    assert "Undo the merge" in page
    undo = f"/letters/{letter.slug}/moderation/{theirs.id}/undo-merge"
    assert client.post(undo).status_code == 302
    assert _moderation_of(theirs) == Moderation.NOT_NEEDED
    assert [s.id for s in possible_duplicates(letter)[0].signatures] == [real.id, theirs.id]
    actions = _audit_actions(letter)
    assert actions.index("signature.merged") < actions.index("signature.merge_undone")
    assert verify_letter(letter.id).intact
    # undone once: a second undo is refused with a message, nothing changes
    client.post(undo)
    assert _moderation_of(theirs) == Moderation.NOT_NEEDED
    assert _audit_actions(letter).count("signature.merge_undone") == 1


def test_undoing_a_merge_that_took_the_details_gives_them_back() -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    existing = make_signature(letter, "Friends of the Court", country="Chile")
    duplicate = ask_and_confirm(letter, "Friends of the Court!")
    public_ops.merge_signature(duplicate, existing, moderator=coordinator, take_details=True)
    assert (existing.name, existing.country) == ("Friends of the Court!", "Kenya")
    public_ops.undo_merge(duplicate, moderator=coordinator)
    assert (existing.name, existing.country) == ("Friends of the Court", "Chile")
    assert existing.name_skeleton == skeleton("Friends of the Court")
    assert duplicate.moderation == Moderation.PENDING  # back in the queue
    assert verify_letter(letter.id).intact


def test_only_a_pending_signature_or_a_possible_duplicate_can_be_merged() -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    one = make_signature(letter, "First Organisation")
    other = make_signature(letter, "Second Organisation")
    with pytest.raises(SignatureError, match="neither awaiting moderation nor a possible"):
        public_ops.merge_signature(one, other, moderator=coordinator, take_details=False)
    with pytest.raises(SignatureError, match="is not merged"):
        public_ops.undo_merge(one, moderator=coordinator)
    assert one.moderation == Moderation.NOT_NEEDED
