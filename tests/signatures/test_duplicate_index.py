"""The moderation queue's possible duplicates: the index answers what a pass over every
signature answered (the rule as it was written before the index, kept here as the model)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from signon.signatures.likeness import SHARED_MAIL_DOMAINS, email_domain, loose_key, website_host
from signon.signatures.models import Moderation, Signature
from signon.signatures.public_signon.operations import DuplicateIndex, find_duplicates

NAMES = ("Friends of the Court", "the friends of the court", "FRIENDS OF THE COURT!", "Amnesty")
WEBSITES = (None, "https://friends.example.org", "www.friends.example.org", "https://other.org")
EMAILS = (None, "a@friends.example.org", "b@FRIENDS.example.org", "c@gmail.com", "d@gmail.com")


def _model(
    signature: Signature, candidates: Sequence[Signature]
) -> list[tuple[int, tuple[str, ...]]]:
    name = loose_key(signature.name)
    host = website_host(signature.website)
    domain = email_domain(signature.email) if signature.email else None
    if domain in SHARED_MAIL_DOMAINS:
        domain = None
    found = []
    for other in candidates:
        if other.id == signature.id or other.moderation == Moderation.REJECTED:
            continue
        reasons: list[str] = []
        if loose_key(other.name) == name:
            reasons.append("similar name")
        if host and website_host(other.website) == host:
            reasons.append("same website")
        if domain and other.email and email_domain(other.email) == domain:
            reasons.append("same e-mail domain")
        if reasons:
            found.append((other.id, tuple(reasons)))
    return found


def _signatures(rng: random.Random, count: int) -> list[Signature]:
    signatures = []
    for i in range(count):
        signature = Signature(
            id=i + 1,
            moderation=rng.choice(tuple(Moderation)),
            website=rng.choice(WEBSITES),
            email=rng.choice(EMAILS),
        )
        signature.rename(rng.choice(NAMES))
        signatures.append(signature)
    return signatures


def test_the_index_finds_what_a_pass_over_every_signature_finds() -> None:
    rng = random.Random(11)
    for _ in range(40):
        signatures = _signatures(rng, rng.randrange(1, 30))
        rng.shuffle(signatures)
        index = DuplicateIndex(signatures)
        for signature in signatures:
            expected = _model(signature, signatures)
            assert [(d.signature.id, d.reasons) for d in index.duplicates_of(signature)] == expected
            found = find_duplicates(signature, signatures)
            assert [(d.signature.id, d.reasons) for d in found] == expected
    assert any(_model(s, signatures) for s in signatures)  # the data has duplicates
