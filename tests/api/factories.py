"""Signatures and tokens for the API tests, made through the real operations."""

from __future__ import annotations

from signon.accounts.models import User
from signon.api.models import ApiToken
from signon.api.tokens import create_api_token
from signon.letters.models import ChangeKind, Letter, Revision
from signon.signatures.approvals import operations
from signon.signatures.models import (
    Moderation,
    SignatoryKind,
    Signature,
    SignatureSource,
)


def sign(
    letter: Letter,
    name: str,
    *,
    revision: Revision | None = None,
    country: str | None = None,
    kind: SignatoryKind = SignatoryKind.NGO,
    sort_name: str | None = None,
    moderation: Moderation = Moderation.NOT_NEEDED,
    representative_title: str | None = None,
    affiliation: str | None = None,
) -> Signature:
    """``name`` approves ``revision`` (default: the head), recorded as an import."""
    return operations.approve(
        letter,
        revision or letter.head(),
        operations.SignatoryDetails(
            name=name,
            kind=kind,
            country=country,
            sort_name=sort_name,
            representative_title=representative_title,
            affiliation=affiliation,
        ),
        email=None,
        source=SignatureSource.IMPORT,
        moderation=moderation,
        require_current=False,
    )


def classify(revision: Revision, kind: ChangeKind) -> None:
    revision.change_kind = kind


def token_for(letter: Letter, user: User, name: str = "Website") -> tuple[ApiToken, str]:
    return create_api_token(letter, name=name, created_by=user)
