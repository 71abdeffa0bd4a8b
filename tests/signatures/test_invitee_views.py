"""The invitation link through the test client: reading, "opened", approving (and every way
of getting it wrong), declining, withdrawing."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import ChangeKind, LetterStatus
from signon.signatures import collation
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations import operations as ops
from signon.signatures.models import (
    InvitationStatus,
    SignatoryKind,
    Signature,
    SignatureEvent,
    SignatureStatus,
)
from tests.factories import add_revision
from tests.signatures.factories import (
    SVG,
    coordinated_letter,
    image_bytes,
    invited,
    link_in,
    png_bomb,
    sign_path,
)
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")

BODY = "We welcome the focus on asset recovery.\n\nWe urge all states to cooperate.\n"


@pytest.fixture
def world():
    coordinator, letter = coordinated_letter(
        title="Joint statement", addressee="The Assembly", body=BODY
    )
    invitation = invited(
        letter, coordinator, name="Redress Trust", email="rita@redress.example.org"
    )
    commit()
    return coordinator, letter, invitation


def _approve_data(revision_id: int, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "approve-name": "REDRESS",
        "approve-sort_name": "",
        "approve-country": "United Kingdom",
        "approve-kind": "ngo",
        "approve-representative_name": "Rita Rep",
        "approve-representative_title": "Director",
        "approve-website": "redress.example.org",
        "approve-authority": "y",
        "approve-revision": str(revision_id),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _signatures(letter_id: int) -> list[Signature]:
    return list(db.session.scalars(select(Signature).where(Signature.letter_id == letter_id)))


def _events() -> list[str]:
    return list(db.session.scalars(select(SignatureEvent.action).order_by(SignatureEvent.id)))


# --------------------------------------------------------------------------- reading


def test_the_page_shows_the_letter_and_changes_nothing(client: FlaskClient, world) -> None:
    _coordinator, _letter, invitation = world
    response = client.get(sign_path(invitation))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Joint statement" in page and "The Assembly" in page
    assert "<p>We welcome the focus on asset recovery.</p>" in page  # rendered Markdown
    assert "Cora Coordinator" in page and "Drafting Org" in page
    assert 'value="Redress Trust"' in page  # the name prefilled
    assert "js/invitee.js" in page and "data-seen-url" in page
    # the mail lets them forward it within the organisation; the page says the same
    assert "This link answers for Redress Trust only: pass it to colleagues there" in page
    assert "personal" not in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    for kind in SignatoryKind:
        assert kind.label in page
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.SENT
    assert invitation.opened_at is None and invitation.last_seen_revision_id is None


def test_seen_marks_opened_and_the_next_visit_shows_the_diff(client: FlaskClient, world) -> None:
    coordinator, letter, invitation = world
    first = letter.head()
    response = client.post(sign_path(invitation, "/seen"), data={"revision": str(first.id)})
    assert response.status_code == 204
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.OPENED and invitation.opened_at is not None
    assert invitation.last_seen_revision_id == first.id
    add_revision(letter, coordinator, BODY.replace("all states", "every state party"))
    commit()
    page = client.get(sign_path(invitation)).get_data(as_text=True)
    assert "What changed since you last read it (revision 1)" in page
    assert re.search(r"<del>[^<]*all", page) and re.search(r"<ins>[^<]*every", page)
    assert client.post(sign_path(invitation, "/seen"), data={}).status_code == 400


def test_the_invitee_reads_the_changes_formatted(client: FlaskClient, world) -> None:
    coordinator, letter, invitation = world
    client.post(sign_path(invitation, "/seen"), data={"revision": str(letter.head().id)})
    new = (
        "## Asset recovery\n\nWe welcome the focus on **asset recovery**.\n\n"
        "- We urge every state to cooperate.\n- <b>Now</b>.\n"
    )
    add_revision(letter, coordinator, new)
    commit()
    page = client.get(sign_path(invitation)).get_data(as_text=True)
    changes = page.split('class="diff diff-rendered letter-text"', 1)[1].split("</div>", 1)[0]
    assert "<h2><ins>Asset recovery</ins></h2>" in changes
    assert "<strong>asset recovery</strong>" in changes
    assert "<li>We urge <del>all states</del><ins>every state</ins> to cooperate.</li>" in changes
    assert "<li><ins>&lt;b&gt;Now&lt;/b&gt;.</ins></li>" in changes
    assert "##" not in changes and "**" not in changes


def test_the_invitee_sees_times_in_the_zone_their_browser_sent(client: FlaskClient, world) -> None:
    _coordinator, _letter, invitation = world
    expires = invitation.expires_at
    page = client.get(sign_path(invitation)).get_data(as_text=True)
    utc = expires.astimezone(ZoneInfo("UTC"))
    assert f"{utc.day} {utc:%B %Y, %H:%M} UTC" in page  # no zone sent yet: UTC
    client.set_cookie("signon_tz", "Asia/Tokyo")
    page = client.get(sign_path(invitation)).get_data(as_text=True)
    tokyo = expires.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"{tokyo.day} {tokyo:%B %Y, %H:%M} JST" in page


def test_seen_with_another_letters_revision_is_refused(client: FlaskClient, world) -> None:
    _coordinator, _letter, invitation = world
    _, other = coordinated_letter()
    commit()
    response = client.post(sign_path(invitation, "/seen"), data={"revision": str(other.head().id)})
    assert response.status_code == 400
    db.session.refresh(invitation)
    assert invitation.opened_at is None


@pytest.mark.parametrize("suffix", ["", "/seen", "/approve", "/decline", "/withdraw"])
def test_unknown_tampered_revoked_and_expired_links(
    client: FlaskClient, world, suffix: str
) -> None:
    """Withdrawing works with revoked and expired links (tests/signatures/test_withdraw_anytime.py):
    without an approval, it is refused with 409 instead of 410."""
    closed = 409 if suffix == "/withdraw" else 410
    coordinator, letter, invitation = world
    method = client.get if suffix == "" else client.post
    token = sign_path(invitation).rsplit("/", 1)[1]
    assert (
        method(f"/sign/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}{suffix}").status_code == 404
    )
    assert method(f"/sign/nothing{suffix}").status_code == 404
    assert method(f"/sign/{'x' * 500}{suffix}").status_code == 404
    ops.revoke_invitation(invitation, by=coordinator)
    commit()
    revoked = method(sign_path(invitation, suffix))
    assert revoked.status_code == closed
    if suffix == "":
        assert "ask the coordinators" in revoked.get_data(as_text=True).lower()
    invitation.status, invitation.revoked_at = InvitationStatus.SENT, None
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    commit()
    expired = method(sign_path(invitation, suffix), data={"revision": str(letter.head().id)})
    assert expired.status_code == closed
    if suffix == "":
        assert "This invitation has expired" in expired.get_data(as_text=True)
    db.session.refresh(invitation)
    assert invitation.opened_at is None and _signatures(letter.id) == []


# --------------------------------------------------------------------------- approving


def test_approve_records_exactly_what_was_read_and_mails_a_receipt(
    client: FlaskClient, world, outbox: MailCatcher
) -> None:
    _coordinator, letter, invitation = world
    head = letter.head()
    outbox.clear()
    response = client.post(sign_path(invitation, "/approve"), data=_approve_data(head.id))
    assert response.status_code == 302 and response.location.endswith("#answer")
    (signature,) = _signatures(letter.id)
    assert signature.status == SignatureStatus.APPROVED
    assert (signature.name, signature.country, signature.kind) == (
        "REDRESS",
        "United Kingdom",
        SignatoryKind.NGO,
    )
    assert signature.revision_id == head.id and signature.approved_sha256 == head.content_sha256
    assert signature.email == "rita@redress.example.org"
    assert signature.website == "https://redress.example.org"
    assert signature.domain_verified is True and signature.authority_confirmed is True
    db.session.refresh(invitation)
    assert invitation.status == InvitationStatus.APPROVED and invitation.opened_at is not None
    page = client.get(response.location).get_data(as_text=True)
    assert "Your approval is recorded" in page
    assert f"Revision {head.number}" in page and head.content_sha256[:12] in page
    assert "rita@redress.example.org" in page and "Withdraw my approval" in page
    assert "Approve this letter" not in page and "Decline to sign" not in page
    (receipt,) = outbox.to("rita@redress.example.org")
    text = MailCatcher.text_of(receipt)
    assert head.content_sha256 in text and f"revision {head.number}" in text
    assert link_in(receipt).endswith(sign_path(invitation))


def test_double_submission_records_one_approval(
    client: FlaskClient, world, outbox: MailCatcher
) -> None:
    _coordinator, letter, invitation = world
    outbox.clear()
    data = _approve_data(letter.head().id)
    first = client.post(sign_path(invitation, "/approve"), data=data)
    second = client.post(sign_path(invitation, "/approve"), data=data)
    assert first.status_code == second.status_code == 302
    assert len(_signatures(letter.id)) == 1
    assert _events() == ["approved"]
    assert len(outbox.to(invitation.email)) == 1
    assert "already recorded" in client.get(second.location).get_data(as_text=True)


def test_a_stale_revision_shows_the_changes_and_keeps_what_was_typed(
    client: FlaskClient, world
) -> None:
    coordinator, letter, invitation = world
    read = letter.head()
    head = add_revision(letter, coordinator, BODY.replace("asset recovery", "asset tracing"))
    commit()
    response = client.post(
        sign_path(invitation, "/approve"),
        data=_approve_data(read.id, **{"approve-country": "Wales"}),
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "The text changed while you were reading it" in page
    assert re.search(r"<ins>[^<]*tracing", page)
    assert 'value="REDRESS"' in page and 'value="Wales"' in page and 'value="Rita Rep"' in page
    assert f'name="approve-revision" type="hidden" value="{head.id}"' in page
    assert _signatures(letter.id) == []
    # approving again from that page (now the head) works
    assert (
        client.post(sign_path(invitation, "/approve"), data=_approve_data(head.id)).status_code
        == 302
    )
    assert _signatures(letter.id)[0].revision_id == head.id


def test_bad_input_changes_nothing(client: FlaskClient, world) -> None:
    _coordinator, letter, invitation = world
    head = letter.head()
    _, other = coordinated_letter()
    commit()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"approve-authority": None}, "Please confirm that this person may sign"),
        ({"approve-name": "   "}, "This field is required"),
        ({"approve-website": "javascript:alert(1)"}, "starting with http:// or https://"),
        ({"approve-website": "ftp://files.example.org"}, "starting with http:// or https://"),
        ({"approve-kind": "government-of-mars"}, "Not a valid choice"),
        ({"approve-revision": str(other.head().id)}, "a version of the text we do not know"),
        ({"approve-name": "N" * 301}, "Field cannot be longer than 300 characters"),
    ]
    for changes, message in cases:
        response = client.post(
            sign_path(invitation, "/approve"), data=_approve_data(head.id, **changes)
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 200, changes
        assert message in page, (changes, message)
    assert _signatures(letter.id) == [] and _events() == []


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        ((b"just some text", "logo.png"), "not a PNG, JPEG or WebP"),
        ((SVG, "logo.png"), "not a PNG, JPEG or WebP"),
        ((SVG, "logo.svg"), "not a PNG, JPEG or WebP"),
        (("BOMB", "bomb.png"), "too large"),
        ((b"\x89PNG" + b"\x00" * (2 * 1024 * 1024), "huge.png"), "larger than 2 MB"),
    ],
    ids=["text", "svg-renamed-png", "svg", "png-bomb", "oversize"],
)
def test_bad_logos_are_refused_and_nothing_is_recorded(
    client: FlaskClient, world, storage: Path, upload: tuple[Any, str], message: str
) -> None:
    _coordinator, letter, invitation = world
    content, filename = upload
    if content == "BOMB":
        content = png_bomb(20_000)
    data = _approve_data(letter.head().id)
    data["approve-logo"] = (io.BytesIO(content), filename, "image/png")
    response = client.post(
        sign_path(invitation, "/approve"), data=data, content_type="multipart/form-data"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    assert 'value="Rita Rep"' in page  # the rest is kept
    assert _signatures(letter.id) == []
    assert not (storage / "logos").exists() or list((storage / "logos").iterdir()) == []


def test_a_good_logo_is_stored_re_encoded_under_a_new_name(
    client: FlaskClient, world, storage: Path
) -> None:
    _coordinator, letter, invitation = world
    data = _approve_data(letter.head().id)
    data["approve-logo"] = (io.BytesIO(image_bytes(2400, 600, fmt="JPEG")), "../../x.jpg")
    response = client.post(
        sign_path(invitation, "/approve"), data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    (signature,) = _signatures(letter.id)
    (stored,) = list((storage / "logos").iterdir())
    assert stored.name == signature.logo_filename and re.fullmatch(
        r"[0-9a-f]{32}\.png", stored.name
    )
    assert stored.read_bytes().startswith(b"\x89PNG")
    from PIL import Image

    assert Image.open(stored).size == (1200, 300)


def test_a_replaced_logo_leaves_the_storage_and_a_failed_request_deletes_nothing(
    client: FlaskClient, world, storage: Path
) -> None:
    """Each upload is stored under a new name: the one a new approval replaces is deleted
    once that approval is committed, so only the current logo stays; a refused request
    (here a stale revision) keeps the current one."""
    coordinator, letter, invitation = world

    def approve(revision_id: int, name: str) -> int:
        data = _approve_data(revision_id, **{"approve-name": name})
        data["approve-logo"] = (io.BytesIO(image_bytes(40, 20)), "logo.png")
        return client.post(
            sign_path(invitation, "/approve"), data=data, content_type="multipart/form-data"
        ).status_code

    def stored() -> list[str]:
        return sorted(path.name for path in (storage / "logos").iterdir())

    first = letter.head().id
    assert approve(first, "REDRESS") == 302
    (signature,) = _signatures(letter.id)
    old = signature.logo_filename
    assert stored() == [old]
    assert approve(first, "REDRESS Trust") == 302
    db.session.refresh(signature)
    assert signature.logo_filename != old
    assert stored() == [signature.logo_filename]
    add_revision(letter, coordinator, BODY + "\nA newer text.\n")
    commit()
    assert approve(first, "REDRESS Again") == 409, "a stale revision is refused"
    db.session.refresh(signature)
    assert stored() == [signature.logo_filename]


def test_an_earlier_approval_awaits_reconfirmation_with_the_diff(
    client: FlaskClient, world
) -> None:
    coordinator, letter, invitation = world
    approved = letter.head()
    client.post(sign_path(invitation, "/approve"), data=_approve_data(approved.id))
    substantive = add_revision(letter, coordinator, BODY + "\nWe demand arrests.\n")
    substantive.change_kind = ChangeKind.SUBSTANTIVE
    commit()
    page = client.get(sign_path(invitation)).get_data(as_text=True)
    assert "Your approval awaits re-confirmation" in page
    assert "What changed since the text you approved (revision 1)" in page
    assert re.search(r"<ins>[^<]*arrests", page)
    assert "Approve the current text" in page and "Withdraw my approval" in page
    # the form is prefilled with what they gave last time
    assert 'value="REDRESS"' in page and 'value="United Kingdom"' in page
    response = client.post(sign_path(invitation, "/approve"), data=_approve_data(substantive.id))
    assert response.status_code == 302
    (signature,) = _signatures(letter.id)
    assert signature.revision_id == substantive.id
    assert _events() == ["approved", "approved"]


def test_an_editorial_change_keeps_the_approval_counting(client: FlaskClient, world) -> None:
    coordinator, letter, invitation = world
    client.post(sign_path(invitation, "/approve"), data=_approve_data(letter.head().id))
    editorial = add_revision(letter, coordinator, BODY.replace("focus", "focus,"))
    editorial.change_kind = ChangeKind.EDITORIAL
    commit()
    page = client.get(sign_path(invitation)).get_data(as_text=True)
    assert "your approval still counts" in page
    assert "awaits re-confirmation" not in page


def test_decline_with_a_reason_then_change_of_mind(client: FlaskClient, world) -> None:
    _coordinator, letter, invitation = world
    response = client.post(
        sign_path(invitation, "/decline"), data={"decline-reason": "Outside our mandate"}
    )
    assert response.status_code == 302
    (signature,) = _signatures(letter.id)
    assert signature.status == SignatureStatus.DECLINED
    assert signature.decline_reason == "Outside our mandate"
    page = client.get(sign_path(invitation)).get_data(as_text=True)
    assert "You declined" in page and "Outside our mandate" in page
    assert "Decline to sign" not in page and "Approve this letter" in page
    client.post(sign_path(invitation, "/decline"), data={"decline-reason": "Again"})
    assert _events() == ["declined"]
    client.post(sign_path(invitation, "/approve"), data=_approve_data(letter.head().id))
    assert _signatures(letter.id)[0].status == SignatureStatus.APPROVED


def test_decline_after_approving_is_refused(client: FlaskClient, world) -> None:
    _coordinator, letter, invitation = world
    client.post(sign_path(invitation, "/approve"), data=_approve_data(letter.head().id))
    response = client.post(sign_path(invitation, "/decline"), data={"decline-reason": "x"})
    assert response.status_code == 409
    assert "withdraw it below" in response.get_data(as_text=True)
    assert _signatures(letter.id)[0].status == SignatureStatus.APPROVED


def test_withdraw_keeps_the_history_and_is_idempotent(
    client: FlaskClient, world, outbox: MailCatcher
) -> None:
    _coordinator, letter, invitation = world
    client.post(sign_path(invitation, "/approve"), data=_approve_data(letter.head().id))
    outbox.clear()
    response = client.post(
        sign_path(invitation, "/withdraw"), data={"withdraw-reason": "Board decision"}
    )
    assert response.status_code == 302
    (signature,) = _signatures(letter.id)
    assert signature.status == SignatureStatus.WITHDRAWN
    assert signature.withdraw_reason == "Board decision"
    assert _events() == ["approved", "withdrawn"]
    again = client.post(sign_path(invitation, "/withdraw"), data={})
    assert "already been withdrawn" in client.get(again.location).get_data(as_text=True)
    assert _events() == ["approved", "withdrawn"]
    assert len(outbox.to(invitation.email)) == 1
    page = client.get(sign_path(invitation)).get_data(as_text=True)
    assert "You withdrew your approval" in page and "Approve this letter" in page


def test_withdraw_without_an_approval_is_refused(client: FlaskClient, world) -> None:
    _coordinator, _letter, invitation = world
    response = client.post(sign_path(invitation, "/withdraw"), data={})
    assert response.status_code == 409
    assert "no approval to withdraw" in response.get_data(as_text=True)


def test_when_signing_is_closed_there_is_no_form_but_withdrawing_works(
    client: FlaskClient, world
) -> None:
    _coordinator, letter, invitation = world
    ops.approve_invitation(
        invitation, letter.head(), SignatoryDetails(name="Closed NGO", authority_confirmed=True)
    )
    letter.status = LetterStatus.CLOSED
    commit()
    page = client.get(sign_path(invitation)).get_data(as_text=True)
    assert "Signing is closed for this letter" in page
    assert "Approve this letter" not in page and "Withdraw my approval" in page
    response = client.post(
        sign_path(invitation, "/approve"),
        data=_approve_data(letter.head().id, **{"approve-name": "Other Name"}),
    )
    assert response.status_code == 409 and "Signing is closed" in response.get_data(as_text=True)
    assert client.post(sign_path(invitation, "/withdraw"), data={}).status_code == 302
    assert _signatures(letter.id)[0].status == SignatureStatus.WITHDRAWN


def test_approving_under_another_organisations_name_takes_nothing_over(
    client: FlaskClient, world
) -> None:
    """The issue's attack: "Small Local Group" approves as "amnesty  INTERNATIONAL"."""
    coordinator, letter, invitation = world
    other = invited(letter, coordinator, name="Amnesty International")
    amnesty = ops.approve_invitation(
        other,
        letter.head(),
        SignatoryDetails(name="Amnesty International", country="UK", authority_confirmed=True),
    ).signature
    commit()
    response = client.post(
        sign_path(invitation, "/approve"),
        data=_approve_data(letter.head().id, **{"approve-name": "amnesty  INTERNATIONAL"}),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (amnesty.name, amnesty.country, amnesty.invitation_id, amnesty.email) == (
        "Amnesty International",
        "UK",
        other.id,
        other.email,
    )
    theirs = db.session.get(type(invitation), invitation.id).signature
    assert theirs is not None and theirs.id != amnesty.id
    assert theirs.name == "amnesty INTERNATIONAL"  # stored cleaned: one space
    # their own withdrawal still works, and touches only their own signature
    assert client.post(sign_path(invitation, "/withdraw"), data={}).status_code == 302
    db.session.expire_all()
    assert theirs.status == SignatureStatus.WITHDRAWN
    assert amnesty.status == SignatureStatus.APPROVED


# --------------------------------------------------------------------------- individuals


def test_an_individual_editing_through_the_link_keeps_the_family_name_key(
    client: FlaskClient, world
) -> None:
    """The private link's form may leave "sort under" empty: an individual stays sorted
    under their family name (SignatoryDetails applies collation.family_name), and the
    stored name order follows the stored sort name."""
    _coordinator, letter, invitation = world
    person = {
        "approve-kind": "individual",
        "approve-name": "Ana María Pérez",
        "approve-representative_name": "Ana María Pérez",
        "approve-representative_title": "Professor",
        "approve-website": "",
        "approve-affiliation": "University of Nairobi",
    }
    approve = sign_path(invitation, "/approve")
    assert client.post(approve, data=_approve_data(letter.head().id, **person)).status_code == 302
    (signature,) = _signatures(letter.id)
    assert (signature.kind, signature.sort_name) == (SignatoryKind.INDIVIDUAL, "Pérez")
    page = client.get(sign_path(invitation)).get_data(as_text=True)
    assert 'value="Pérez"' in page  # the form shows what it is sorted under
    assert 'value="University of Nairobi"' in page  # and the affiliation, kept on a resend
    renamed = {**person, "approve-name": "Ana María Pérez Gómez", "approve-sort_name": ""}
    assert client.post(approve, data=_approve_data(letter.head().id, **renamed)).status_code == 302
    db.session.refresh(signature)
    assert (signature.name, signature.sort_name) == ("Ana María Pérez Gómez", "Gómez")
    assert signature.affiliation == "University of Nairobi"
    assert signature.name_order == collation.stored_name_order(
        "Ana María Pérez Gómez", "Gómez", letter.language
    )
    given = {**renamed, "approve-sort_name": "Pérez Gómez"}
    assert client.post(approve, data=_approve_data(letter.head().id, **given)).status_code == 302
    db.session.refresh(signature)
    assert signature.sort_name == "Pérez Gómez"


def test_the_family_name_rule_applies_to_individuals_only() -> None:
    assert SignatoryDetails(name="Ana Pérez", kind=SignatoryKind.INDIVIDUAL).sort_name == "Pérez"
    assert SignatoryDetails(name="Ana Pérez", sort_name="Ana").sort_name == "Ana"
    assert SignatoryDetails(name="Human Rights Watch").sort_name is None
