"""Every known XSS payload through the user-controlled fields that reach e-mails.

For each of the corpus' payloads, one letter is built whose title, coordinator's
display name, invited organisation's name, signatory details and inviting
organisation's name are the payload; then the five kinds of mail that carry
them are sent for real (through the in-process SMTP server, after the commit):
the invitation, the reminder, the re-confirmation request, the public sign-on
confirmation and the organisation invitation. The HTML part of each must hold
nothing that would execute (``find_live_xss``) and the text part must hold the
hostile value literally (not escaped into ``&lt;...``, not evaluated as a template).
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from email.message import EmailMessage

import pytest

from signon.accounts import operations as account_ops
from signon.core.permissions import OrganisationRole
from signon.core.transaction import commit
from signon.db import utcnow
from signon.letters.models import ChangeKind
from signon.signatures.invitations import operations as invitation_ops
from signon.signatures.invitations.reminders import send_reminders
from signon.signatures.lifecycle import operations as lifecycle
from signon.signatures.models import SignatoryKind
from signon.signatures.public_signon import operations as public_ops
from tests.factories import add_revision, make_letter, make_organisation, make_user
from tests.security.xss import TEMPLATE_PROBE, find_live_xss, load_payloads
from tests.signatures.factories import approve_through
from tests.smtp import MailCatcher

PAYLOADS = load_payloads()
_counter = itertools.count(1)


def _one(outbox: MailCatcher, address: str) -> EmailMessage:
    messages = outbox.to(address)
    assert len(messages) == 1, f"expected one mail to {address}, got {len(messages)}"
    return messages[0]


def _assert_dead_and_literal(message: EmailMessage, kind: str, *values: str) -> None:
    html = MailCatcher.html_of(message)
    text = MailCatcher.text_of(message)
    assert find_live_xss(html) == [], f"{kind} mail: live content in the HTML part"
    for value in values:
        assert value in text, f"{kind} mail: {value!r} is not literally in the text part"
    if any(TEMPLATE_PROBE in value for value in values):
        assert TEMPLATE_PROBE in html, f"{kind} mail: the template probe was evaluated (HTML)"


def test_the_corpus_reaches_the_mails_in_full() -> None:
    assert len(PAYLOADS) >= 200


@pytest.mark.usefixtures("app_context")
@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_is_dead_in_every_mail(outbox: MailCatcher, payload: str) -> None:
    n = next(_counter)
    coordinator = make_user(name=payload[:120])
    deadline = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    letter = make_letter(
        coordinator,
        title=payload[:300],
        body=f"We call on the States.\n\n{payload}\n",
        deadline=deadline,
        is_public=True,
        addressee=payload[:500],
    )

    # 1. the invitation: organisation name, letter title, coordinator's name
    invitee = f"invitee{n}@ngo{n}.example.org"
    invitation = invitation_ops.invite_organisation(
        letter, organisation_name=payload, email=invitee, invited_by=coordinator
    )
    stored_name = invitation.organisation_name
    assert stored_name.strip(), "the name was emptied"
    commit()
    _assert_dead_and_literal(_one(outbox, invitee), "invitation", stored_name, letter.title)

    # 2. the reminder (the invitation is still unanswered, the deadline is near)
    outbox.clear()
    send_reminders(deadline - timedelta(hours=11))
    commit()
    _assert_dead_and_literal(_one(outbox, invitee), "reminder", stored_name)

    # 3. the re-confirmation request: signatory details are the payload too
    signer = f"signer{n}@ngo{n}.example.org"
    signing = invitation_ops.invite_organisation(
        letter, organisation_name=f"Signer {n}", email=signer, invited_by=coordinator
    )
    signature = approve_through(signing, name=payload[:300], website=None)
    revision = add_revision(letter, coordinator, f"A substantive change.\n\n{payload}\n")
    commit()
    outbox.clear()
    lifecycle.classify_revision(revision, ChangeKind.SUBSTANTIVE, coordinator)
    commit()
    _assert_dead_and_literal(_one(outbox, signer), "re-confirmation", signature.name)

    # 4. the public sign-on confirmation
    outbox.clear()
    visitor = f"visitor{n}@public{n}.example.org"
    data = public_ops.PublicRequestData(
        name=f"{payload[:280]} {n}",
        country=payload[:100],
        kind=SignatoryKind.NGO,
        representative_name=payload[:200],
        representative_title=payload[:200],
        sort_name=payload[:200],
        authority_confirmed=True,
    )
    head = letter.head()
    assert head is not None
    public_ops.request_public_signature(letter, head, data, email=visitor, client_ip="192.0.2.7")
    commit()
    _assert_dead_and_literal(_one(outbox, visitor), "public sign-on confirmation", letter.title)

    # 5. the organisation invitation: organisation name and inviter's name
    outbox.clear()
    organisation = make_organisation(f"{payload[:280]} {n}", admin=coordinator)
    newcomer = f"newcomer{n}@example.org"
    account_ops.invite_to_organisation(organisation, coordinator, newcomer, OrganisationRole.MEMBER)
    commit()
    _assert_dead_and_literal(_one(outbox, newcomer), "organisation invitation", organisation.name)
