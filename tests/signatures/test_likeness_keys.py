"""The stored likeness keys (loose name, website host, mail domain) that the moderation page
matches possible duplicates on: kept up to date on every insert and change, and the indexed
lookup finds what a pass over every signature of the letter finds."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import insert, select

from signon.core import names
from signon.extensions import db
from signon.signatures import likeness
from signon.signatures.models import Moderation, Signature, SignatureSource, SignatureStatus
from signon.signatures.public_signon import operations as ops
from tests.signatures.factories import make_public_letter, make_signature

pytestmark = pytest.mark.usefixtures("app_context")

NAMES = ("Friends of the Court", "the friends of the court!", "FRIENDS  OF THE COURT", "Amnesty")
WEBSITES = (None, "https://friends.example.org", "www.friends.example.org/about", "other.org")
EMAILS = (None, "a@friends.example.org", "b@FRIENDS.example.org.", "c@gmail.com", "d@other.org")


#: The stored key each field feeds.
KEY_OF = {"name": "loose_key", "website": "website_host", "email": "mail_domain"}


def _stored(signature: Signature) -> tuple[str | None, str | None, str | None]:
    db.session.refresh(signature)
    return signature.loose_key, signature.website_host, signature.mail_domain


def _expected(signature: Signature) -> tuple[str | None, str | None, str | None]:
    return (
        likeness.loose_key(signature.name),
        likeness.website_host(signature.website),
        likeness.mail_domain(signature.email),
    )


def test_an_inserted_signature_stores_its_keys() -> None:
    signature = make_signature(
        make_public_letter(),
        "The Friends of the Court",
        website="https://www.Friends.example.org/",
        email="amina@friends.example.org",
    )
    assert _stored(signature) == (
        "friends of the court",
        "friends.example.org",
        "friends.example.org",
    )


def test_a_shared_mail_domain_is_not_a_key() -> None:
    signature = make_signature(make_public_letter(), "Lone Voice", email="lone@gmail.com")
    assert _stored(signature)[2] is None


def test_a_bulk_insert_stores_the_keys_too() -> None:
    letter = make_public_letter()
    db.session.execute(
        insert(Signature),
        [
            {
                "letter_id": letter.id,
                "source": SignatureSource.IMPORT,
                "status": SignatureStatus.APPROVED,
                "name": "The Bulk Alliance",
                "name_key": names.name_key("The Bulk Alliance"),
                "website": "bulk.example.org",
                "email": "x@bulk.example.org",
            }
        ],
    )
    signature = db.session.scalars(select(Signature).where(Signature.letter_id == letter.id)).one()
    assert _stored(signature) == ("bulk alliance", "bulk.example.org", "bulk.example.org")


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "Renamed Coalition"), ("website", "https://renamed.org"), ("email", "r@renamed.org")],
)
def test_a_change_of_name_website_or_address_rekeys_it(field: str, value: str) -> None:
    signature = make_signature(
        make_public_letter(), "Old Name", website="old.org", email="o@old.org"
    )
    if field == "name":
        signature.rename(value)
    else:
        setattr(signature, field, value)
    db.session.flush()
    assert _stored(signature) == _expected(signature)
    assert "renamed" in str(getattr(signature, KEY_OF[field]))


def test_the_indexed_lookup_finds_what_a_pass_over_every_signature_finds() -> None:
    letter = make_public_letter()
    rng = random.Random(11)
    signatures = [
        make_signature(
            letter,
            rng.choice(NAMES),
            website=rng.choice(WEBSITES),
            email=rng.choice(EMAILS),
            moderation=rng.choice([Moderation.PENDING, Moderation.NOT_NEEDED, Moderation.REJECTED]),
        )
        for _ in range(40)
    ]
    make_signature(make_public_letter(), NAMES[0], website=WEBSITES[1], email=EMAILS[1])
    page = [s for s in signatures if s.moderation == Moderation.PENDING][:8]
    assert page
    found = ops.duplicates_of_page(letter, page)
    for signature in page:
        assert found[signature.id] == ops.find_duplicates(signature, signatures), signature
