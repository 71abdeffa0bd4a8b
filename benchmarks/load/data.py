"""The load test's letter: public, open for signature, with N listed signatories.

Built in the scratch database through the ORM in one transaction (so every column
default and model rule applies, as if the app had stored them): a coordinator with a
known password, a public letter with a three-paragraph text, and ``size`` listed
signatories, four in five invited (an invitation with a real link, approved) and one in
five public sign-ons a coordinator accepted. 5,000 take a few seconds.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import timedelta

from signon.core import transaction
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import LetterStatus
from signon.signatures.models import (
    Invitation,
    InvitationStatus,
    Moderation,
    SignatoryKind,
    Signature,
    SignatureSource,
    SignatureStatus,
)
from tests.factories import make_user
from tests.signatures.factories import make_public_letter

COORDINATOR_EMAIL = "coordinator@load.example.org"
COORDINATOR_PASSWORD = "load-test-coordinator-password"
BODY = (
    "We, the undersigned organisations, call on the Assembly to keep its promise.\n\n"
    "The **Court** must have the means to do its work, and states must cooperate "
    "with it fully and without delay.\n\n"
    "We ask every state party to arrest and surrender those it has charged.\n"
)
COUNTRIES = ("Kenya", "Chile", "France", "Japan", "Peru", "Ghana", "Nepal", "Italy", "Mali")
WORDS = ("Coalition", "Network", "Foundation", "Institute", "Centre", "Alliance", "Forum")


@dataclass(frozen=True)
class LoadLetter:
    slug: str
    coordinator_email: str
    coordinator_password: str
    signatories: int


def build_letter(size: int, *, slug: str = "load-letter", seed: int = 11) -> LoadLetter:
    """Create and commit the letter and its ``size`` listed signatories (in an app context)."""
    rng = random.Random(seed)
    coordinator = make_user(email=COORDINATOR_EMAIL, password=COORDINATOR_PASSWORD)
    letter = make_public_letter(
        coordinator,
        slug=slug,
        title="Joint statement on cooperation with the Court",
        body=BODY,
        status=LetterStatus.OPEN,
    )
    head = letter.head()
    assert head is not None
    now = utcnow()
    for i in range(size):
        at = now - timedelta(days=rng.uniform(1, 60))
        name = f"{rng.choice(WORDS)} for Justice {i:05d}"
        email = f"contact@org{i:05d}.example.org"
        public = i % 5 == 4
        invitation = None
        if not public:
            invitation = Invitation(
                letter=letter,
                organisation_name=name,
                email=email,
                link_nonce=secrets.token_hex(16),
                token_hash=secrets.token_hex(32),
                status=InvitationStatus.APPROVED,
                created_at=at,
                expires_at=now + timedelta(days=30),
                sent_at=at,
                send_attempts=1,
                last_activity_at=at,
            )
        signature = Signature(
            letter=letter,
            invitation=invitation,
            source=SignatureSource.PUBLIC if public else SignatureSource.INVITATION,
            status=SignatureStatus.APPROVED,
            moderation=Moderation.ACCEPTED if public else Moderation.NOT_NEEDED,
            country=rng.choice(COUNTRIES),
            kind=rng.choice(tuple(SignatoryKind)),
            representative_name="A. Representative",
            representative_title="Director",
            website=f"https://org{i:05d}.example.org",
            email=email,
            domain_verified=True,
            authority_confirmed=True,
            revision_id=head.id,
            approved_sha256=head.content_sha256,
            approved_at=at,
            last_activity_at=at,
        )
        signature.rename(name)
        db.session.add(signature)
    db.session.flush()
    transaction.commit()
    return LoadLetter(letter.slug, COORDINATOR_EMAIL, COORDINATOR_PASSWORD, size)
