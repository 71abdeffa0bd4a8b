"""Helpers for the public sign-on tests (no tests here): public letters, signatures, requests."""

from __future__ import annotations

import itertools
import re
from typing import Any

from signon.accounts.models import User
from signon.core import transaction
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures import public as ops
from signon.signatures.models import (
    Moderation,
    SignatoryKind,
    Signature,
    SignatureSource,
    SignatureStatus,
)
from tests.factories import make_letter, make_user
from tests.smtp import MailCatcher

_counter = itertools.count(1)


def make_public_letter(coordinator: User | None = None, **fields: Any) -> Letter:
    fields.setdefault("is_public", True)
    fields.setdefault("addressee", "The Assembly of States Parties")
    return make_letter(coordinator or make_user(), **fields)


def sign_data(name: str = "Friends of the Court", **overrides: Any) -> ops.PublicRequestData:
    values: dict[str, Any] = {
        "name": name,
        "country": "Kenya",
        "kind": SignatoryKind.NGO,
        "representative_name": "Amina Otieno",
        "representative_title": "Director",
        "website": "https://friends.example.org",
        "authority_confirmed": True,
    }
    values.update(overrides)
    return ops.PublicRequestData(**values)


def make_signature(
    letter: Letter,
    name: str | None = None,
    *,
    status: SignatureStatus = SignatureStatus.APPROVED,
    moderation: Moderation = Moderation.NOT_NEEDED,
    source: SignatureSource = SignatureSource.INVITATION,
    country: str | None = "Chile",
    email: str | None = None,
    website: str | None = None,
    logo_filename: str | None = None,
) -> Signature:
    """A signature row as the other features leave them (approved the head by default)."""
    n = next(_counter)
    name = name or f"Organisation {n}"
    head = letter.head()
    signature = Signature(
        letter=letter,
        source=source,
        status=status,
        moderation=moderation,
        kind=SignatoryKind.NGO,
        country=country,
        email=email or f"contact{n}@org{n}.example.org",
        website=website,
        representative_name=f"Person {n}",
        revision_id=head.id if head else None,
        approved_sha256=head.content_sha256 if head else None,
        approved_at=utcnow(),
        logo_filename=logo_filename,
    )
    signature.rename(name)
    db.session.add(signature)
    db.session.flush()
    return signature


def ask(
    letter: Letter,
    name: str = "Friends of the Court",
    email: str = "amina@friends.example.org",
    **details: Any,
) -> ops.RequestResult:
    """Ask to sign the head as a visitor would (the operation, no HTTP)."""
    head = letter.head()
    return ops.request_public_signature(
        letter, head, sign_data(name, **details), email=email, client_ip="192.0.2.7"
    )


def ask_and_confirm(
    letter: Letter,
    name: str = "Friends of the Court",
    email: str = "amina@friends.example.org",
    **details: Any,
) -> Signature:
    result = ask(letter, name, email, **details)
    assert result.request is not None
    return ops.confirm_public_request(result.request, letter.head())


def commit() -> None:
    """Commit (a SAVEPOINT release in tests): queued mail goes out."""
    transaction.commit()


def link_in(outbox: MailCatcher, address: str, pattern: str) -> str:
    """The first link matching ``pattern`` in the last message to ``address`` (text part)."""
    messages = outbox.to(address)
    assert messages, f"no mail to {address}"
    text = MailCatcher.text_of(messages[-1])
    found = re.search(r"https?://\S*" + pattern + r"\S*", text)
    assert found, f"no link matching {pattern!r} in:\n{text}"
    return found.group(0)


def path_of(url: str) -> str:
    """``http://localhost/p/x`` -> ``/p/x`` (for the test client)."""
    return re.sub(r"^https?://[^/]+", "", url)
