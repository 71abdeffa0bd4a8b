"""The stored sort keys the list is paginated on are kept with the names they sort."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from signon.extensions import db
from signon.signatures import collation
from signon.signatures.listing import listed, signatory_list
from signon.signatures.models import Invitation, Signature, SignatureSource, SignatureStatus
from tests.factories import make_user
from tests.signatures.factories import make_invitation, make_public_letter, make_signature

pytestmark = pytest.mark.usefixtures("app_context")


def _stored(signature: Signature) -> tuple[bytes | None, bytes | None, bytes | None]:
    row = db.session.execute(
        select(Signature.name_order, Signature.country_order, Signature.country_place).where(
            Signature.id == signature.id
        )
    ).one()
    return row.name_order, row.country_order, row.country_place


def _expected(signature: Signature, language: str) -> tuple[bytes, bytes, bytes]:
    return (
        collation.stored_name_order(signature.name, signature.sort_name, language),
        collation.stored_country_order(signature.country, language),
        collation.stored_country_place(signature.country),
    )


def test_keys_are_stored_with_a_new_signature_and_follow_a_rename() -> None:
    letter = make_public_letter(make_user())
    signature = make_signature(letter, "Zebra Trust", country=" Égypte ")
    assert _stored(signature) == _expected(signature, letter.language)
    signature.rename("Aardvark Alliance")
    signature.country = None
    db.session.flush()
    assert _stored(signature) == _expected(signature, letter.language)
    signature.sort_name = "Mmm"
    db.session.flush()
    assert _stored(signature) == _expected(signature, letter.language)


def test_a_new_language_rekeys_the_letter() -> None:
    letter = make_public_letter(make_user(), language="en")
    # Swedish sorts "Ö" after "Z"; English with "O".
    names = ["Örebro Fund", "Oslo Friends", "Zulu Trust"]
    for name in names:
        make_signature(letter, name)
    assert [e.name for e in listed(letter).entries(0, 10)] == names
    letter.language = "sv"
    db.session.flush()
    assert [e.name for e in listed(letter).entries(0, 10)] == [
        "Oslo Friends",
        "Zulu Trust",
        "Örebro Fund",
    ]
    assert [e.name for e in listed(letter).entries(0, 10)] == signatory_list(letter).names


def test_rows_inserted_in_bulk_get_their_keys() -> None:
    letter = make_public_letter(make_user())
    head = letter.head()
    assert head is not None
    rows = [
        {
            "letter_id": letter.id,
            "source": SignatureSource.IMPORT,
            "status": SignatureStatus.APPROVED,
            "name": name,
            "name_key": name.casefold(),
            "country": "Chile",
            "revision_id": head.id,
            "approved_sha256": head.content_sha256,
        }
        for name in ["Beta", "Alpha", "Gamma"]
    ]
    db.session.execute(insert(Signature), rows)
    read = listed(letter)
    assert [e.name for e in read.entries(0, 10)] == ["Alpha", "Beta", "Gamma"]
    assert read.count() == 3
    assert [e.name for e in read.entries(0, 10)] == signatory_list(letter).names


def _invitation_order(invitation: Invitation) -> bytes | None:
    return db.session.scalar(select(Invitation.name_order).where(Invitation.id == invitation.id))


def test_an_invitation_stores_its_name_key_and_a_new_language_rekeys_it() -> None:
    """The dashboard sorts invitations not answered yet with the signatures, in SQL."""
    letter = make_public_letter(make_user(), language="en")
    invitation = make_invitation(letter, organisation_name="Örebro Fund")
    english = collation.stored_name_order("Örebro Fund", None, "en")
    assert _invitation_order(invitation) == english
    letter.language = "sv"
    db.session.flush()
    swedish = collation.stored_name_order("Örebro Fund", None, "sv")
    assert swedish != english
    assert _invitation_order(invitation) == swedish
