"""Issue 12 item 6 gaps: an individual public signatory's private link. Their change of
affiliation after acceptance is held for the coordinators like the other printed fields,
and the form asks a person for an affiliation and an organisation for a representative,
not the other way round."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.extensions import db
from signon.letters.models import Letter, PublicSignatories
from signon.signatures.invitations import links
from signon.signatures.models import ChangeStatus, Signature, SignatureChange
from signon.signatures.public_signon import operations as public_ops
from tests.conftest import login
from tests.factories import make_user
from tests.signatures.factories import ask_and_confirm, commit, make_public_letter
from tests.signatures.test_public_individuals import PERSON

pytestmark = pytest.mark.usefixtures("app_context")


def _accepted(**details: Any) -> tuple[Any, Letter, Signature]:
    coordinator = make_user()
    letter = make_public_letter(coordinator, public_signatories=PublicSignatories.BOTH)
    signature = ask_and_confirm(letter, "Amina Otieno", "amina@example.org", **details)
    public_ops.accept_signature(signature, moderator=coordinator)
    commit()
    return coordinator, letter, signature


def _path(signature: Signature, suffix: str = "") -> str:
    assert signature.invitation is not None
    return f"/sign/{links.invitation_token(signature.invitation)}{suffix}"


def _person_form(letter: Letter, **changes: str) -> dict[str, str]:
    data = {
        "approve-name": "Amina Otieno",
        "approve-sort_name": "",
        "approve-country": "",
        "approve-kind": "individual",
        "approve-representative_title": "Professor of Law",
        "approve-website": "",
        "approve-affiliation": "University of Nairobi",
        "approve-revision": str(letter.head().id),
    }
    return data | changes


def _block(page: str, kind: str) -> str:
    """The opening tag of the first block shown for ``kind`` only."""
    found = re.search(rf'<div data-for-kind="{kind}"[^>]*>', page)
    assert found, kind
    return found.group(0)


def test_an_individuals_new_affiliation_waits_for_review(client: FlaskClient) -> None:
    coordinator, letter, signature = _accepted(**PERSON)
    assert signature.affiliation == "University of Nairobi"
    response = client.post(
        _path(signature, "/approve"),
        data=_person_form(letter, **{"approve-affiliation": "Ministry of Justice"}),
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Your changes are sent to the coordinators for review" in response.get_data(as_text=True)
    db.session.expire_all()
    assert signature.affiliation == "University of Nairobi", "listed as accepted until reviewed"
    change = db.session.scalars(select(SignatureChange)).one()
    assert change.status == ChangeStatus.PENDING
    assert change.proposed["affiliation"] == "Ministry of Justice"
    login(client, coordinator)
    queue = client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    assert "<del>University of Nairobi</del>" in queue
    assert "<ins>Ministry of Justice</ins>" in queue
    client.post(f"/letters/{letter.slug}/moderation/{signature.id}/change/accept")
    commit()
    db.session.expire_all()
    assert signature.affiliation == "Ministry of Justice"


def test_the_form_shows_the_affiliation_to_individuals_only(client: FlaskClient) -> None:
    _coordinator, letter, person = _accepted(**PERSON)
    page = client.get(_path(person)).get_data(as_text=True)
    assert "hidden" not in _block(page, "individual") and 'name="approve-affiliation"' in page
    assert "hidden" in _block(page, "organisation")  # no representative, no "on behalf of"

    organisation = ask_and_confirm(letter, "Friends of the Court", "friends@example.org")
    public_ops.accept_signature(organisation, moderator=letter.created_by)
    commit()
    page = client.get(_path(organisation)).get_data(as_text=True)
    assert "hidden" in _block(page, "individual")
    assert "hidden" not in _block(page, "organisation")
    # an affiliation an organisation's browser sends anyway is not recorded
    data = _person_form(
        letter,
        **{
            "approve-name": "Friends of the Court",
            "approve-kind": "ngo",
            "approve-country": "Kenya",
            "approve-representative_name": "Amina Otieno",
            "approve-representative_title": "Director",
            "approve-authority": "y",
            "approve-affiliation": "Somewhere",
        },
    )
    client.post(_path(organisation, "/approve"), data=data)
    db.session.expire_all()
    assert organisation.affiliation is None
    assert all(
        "affiliation" not in change.proposed or change.proposed["affiliation"] is None
        for change in db.session.scalars(select(SignatureChange))
    )


def test_an_organisation_still_names_its_representative_and_confirms(
    client: FlaskClient,
) -> None:
    _coordinator, letter, _person = _accepted(**PERSON)
    organisation = ask_and_confirm(letter, "Friends of the Court", "friends@example.org")
    commit()
    data = _person_form(letter, **{"approve-name": "Friends of the Court", "approve-kind": "ngo"})
    page = client.post(_path(organisation, "/approve"), data=data).get_data(as_text=True)
    assert "Please confirm that this person may sign for the organisation." in page
