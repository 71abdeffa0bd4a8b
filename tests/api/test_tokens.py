"""API token operations: what is stored, what is audited, revocation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from signon.api.models import ApiToken
from signon.api.tokens import (
    ApiTokenError,
    create_api_token,
    find_live_token,
    revoke_api_token,
    token_of,
    tokens_of,
)
from signon.audit.models import AuditEvent
from signon.core.tokens import hash_token
from signon.extensions import db
from tests.factories import make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")


def _events(letter_id: int) -> list[AuditEvent]:
    """The letter's token events (its chain also holds its first revision's)."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.letter_id == letter_id, AuditEvent.action.like("api_token.%"))
            .order_by(AuditEvent.seq)
        )
    )


def test_only_a_hash_and_a_prefix_are_stored() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    token, raw = create_api_token(letter, name="  Coalition   website ", created_by=coordinator)
    assert raw.startswith("sgn_") and len(raw) == 4 + 43
    assert token.name == "Coalition website"
    assert token.token_hash == hash_token(raw)
    assert token.prefix == raw[:12]
    row = db.session.execute(select(ApiToken.__table__)).one()
    assert raw not in [str(value) for value in row]
    assert token.created_by_id == coordinator.id and token.revoked_at is None
    assert token.last_used_at is None
    [event] = _events(letter.id)
    assert event.action == "api_token.created"
    assert event.actor_id == coordinator.id
    assert event.details == {"token_id": token.id, "name": "Coalition website", "prefix": raw[:12]}
    assert raw not in str(event.details)


def test_two_tokens_differ() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    _, first = create_api_token(letter, name="A", created_by=coordinator)
    _, second = create_api_token(letter, name="A", created_by=coordinator)
    assert first != second


def test_a_name_is_required() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    with pytest.raises(ApiTokenError):
        create_api_token(letter, name="   ", created_by=coordinator)
    assert tokens_of(letter) == []


def test_find_live_token_and_revoke() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    token, raw = create_api_token(letter, name="CRM", created_by=coordinator)
    assert find_live_token(raw) is token
    assert find_live_token(raw + "x") is None
    assert find_live_token(raw[4:]) is None  # without its marker
    assert find_live_token("") is None
    assert revoke_api_token(token, revoked_by=coordinator) is True
    assert token.revoked_at is not None
    assert find_live_token(raw) is None
    revoked_at = token.revoked_at
    assert revoke_api_token(token, revoked_by=coordinator) is False  # nothing changes
    assert token.revoked_at == revoked_at
    assert [e.action for e in _events(letter.id)] == ["api_token.created", "api_token.revoked"]


def test_tokens_are_listed_within_their_letter() -> None:
    coordinator = make_user()
    letter, other = make_letter(coordinator), make_letter(coordinator)
    old, _ = create_api_token(letter, name="Old", created_by=coordinator)
    new, _ = create_api_token(letter, name="New", created_by=coordinator)
    foreign, _ = create_api_token(other, name="Foreign", created_by=coordinator)
    revoke_api_token(new, revoked_by=coordinator)
    assert tokens_of(letter) == [old, new]  # live ones first
    assert token_of(letter, old.id) is old
    assert token_of(letter, foreign.id) is None
