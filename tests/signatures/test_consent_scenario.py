"""Issue 10, item 4, end to end through the test client: "We SUPPORT" became "We OPPOSE".

The coordinator's editorial classification goes against the proposal, so it needs a
reason; the organisation is mailed the change as it reads, the reason and a link to
withdraw; it withdraws with that link and is then listed nowhere (public page, PDF).
"""

from __future__ import annotations

import io
import re

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from signon.audit.models import AuditEvent
from signon.core.transaction import commit
from signon.exports.pdf import operations as pdf_operations
from signon.extensions import db
from signon.letters.models import ChangeKind, Revision
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations import operations as ops
from signon.signatures.lifecycle import operations as lifecycle
from signon.signatures.models import Signature, SignatureStatus
from tests.conftest import login
from tests.factories import add_revision
from tests.signatures.factories import coordinated_letter, invited
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")

SUPPORT = "We SUPPORT the repeal of the law.\n\nWe thank the Assembly.\n"
OPPOSE = "We OPPOSE the repeal of the law.\n\nWe thank the Assembly.\n"


def _status(signature: Signature) -> SignatureStatus:
    db.session.refresh(signature)
    return signature.status


def _pdf_text(letter) -> str:
    result = pdf_operations.export_pdf(letter, None, actor_label="test", background=False)
    data = pdf_operations.stored_pdf(result.record)
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_support_to_oppose_editorial_needs_a_reason_mails_and_the_org_withdraws(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator, letter = coordinated_letter(title="On the repeal", body=SUPPORT, is_public=True)
    invitation = invited(letter, coordinator, name="Justice NGO", email="jo@justice.example.org")
    ops.approve_invitation(
        invitation, letter.head(), SignatoryDetails(name="Justice NGO", authority_confirmed=True)
    )
    add_revision(letter, coordinator, OPPOSE)
    commit()
    login(client, coordinator)

    page = client.get(f"/letters/{letter.slug}/changes").get_data(as_text=True)
    assert "Proposed: <strong>Substantive</strong>" in page
    assert "“support” became “oppose”" in page
    assert "<del>SUPPORT</del><ins>OPPOSE</ins>" in page  # rendered, no Markdown source
    # the primary (first) button is the proposal
    buttons = re.findall(r'<button type="submit" name="kind" value="(\w+)"', page)
    assert buttons[0] == "substantive"

    url = f"/letters/{letter.slug}/changes/2/classify"
    outbox.clear()
    refused = client.post(url, data={"kind": "editorial", "reason": "   "})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "give a reason" in page and 'aria-invalid="true"' in page
    revision = db.session.scalars(select(Revision).where(Revision.number == 2)).one()
    assert revision.change_kind is None and outbox.messages == []

    reason = "Our members voted; the wording was agreed by phone."
    response = client.post(url, data={"kind": "editorial", "reason": reason})
    assert response.status_code == 302
    db.session.refresh(revision)
    assert revision.change_kind == ChangeKind.EDITORIAL
    audit = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == lifecycle.REVISION_CLASSIFIED)
    ).one()
    assert audit.details["reason"] == reason and audit.details["proposed"] == "substantive"

    (message,) = outbox.to("jo@justice.example.org")
    text = MailCatcher.text_of(message).replace("\r", "")
    html = MailCatcher.html_of(message)
    assert "Before:\nWe SUPPORT the repeal of the law." in text
    assert "After:\nWe OPPOSE the repeal of the law." in text
    assert reason in text and reason in html
    assert "SUPPORT</del>" in html and "OPPOSE</ins>" in html
    assert "**" not in text and "[-" not in text
    withdraw = re.search(r"http://localhost(/sign/[A-Za-z0-9_-]+/withdraw)", text)
    assert withdraw is not None

    # Before withdrawing: listed under the new text (beside an organisation that approved it).
    other = invited(letter, coordinator, name="Other Voice", email="o@other.example.org")
    ops.approve_invitation(
        other, letter.head(), SignatoryDetails(name="Other Voice", authority_confirmed=True)
    )
    commit()
    client.get("/logout")
    assert "Justice NGO" in client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert "Justice NGO" in _pdf_text(letter)

    # One click: a confirmation page (nothing changes), then its form.
    confirm = client.get(withdraw.group(1))
    assert confirm.status_code == 200 and "Withdraw my approval" in confirm.get_data(as_text=True)
    signature = invitation.signature
    assert signature is not None
    assert _status(signature) == SignatureStatus.APPROVED
    assert client.post(withdraw.group(1), data={}).status_code == 302
    assert _status(signature) == SignatureStatus.WITHDRAWN

    assert "Justice NGO" not in client.get(f"/p/{letter.slug}").get_data(as_text=True)
    after = _pdf_text(letter)
    assert "Other Voice" in after and "Justice NGO" not in after
