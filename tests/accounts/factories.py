"""Accounts factories: users and organisations, built directly (add and flush, never commit)."""

from __future__ import annotations

import itertools
from typing import Any

from signon.accounts.models import Membership, Organisation, User
from signon.core.passwords import hash_password
from signon.core.permissions import OrganisationRole
from signon.db import utcnow
from signon.extensions import db

DEFAULT_PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)
#: Hashing with Argon2 is slow on purpose; factories reuse one hash.
_password_hashes: dict[str, str] = {}


def _hash(password: str) -> str:
    if password not in _password_hashes:
        _password_hashes[password] = hash_password(password)
    return _password_hashes[password]


def make_user(
    email: str | None = None,
    *,
    password: str = DEFAULT_PASSWORD,
    name: str | None = None,
    confirmed: bool = True,
    **fields: Any,
) -> User:
    n = next(_counter)
    user = User(
        email=User.normalise_email(email or f"user{n}@example.org"),
        display_name=name or f"User {n}",
        password_hash=_hash(password),
        email_confirmed_at=utcnow() if confirmed else None,
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_organisation(
    name: str | None = None,
    *,
    admin: User | None = None,
    members: tuple[User, ...] = (),
    **fields: Any,
) -> Organisation:
    name = name or f"Organisation {next(_counter)}"
    org = Organisation(name=name, name_key=Organisation.key_for(name), **fields)
    db.session.add(org)
    db.session.flush()
    if admin is not None:
        db.session.add(Membership(user=admin, organisation=org, role=OrganisationRole.ADMIN))
    for member in members:
        db.session.add(Membership(user=member, organisation=org, role=OrganisationRole.MEMBER))
    db.session.flush()
    return org
