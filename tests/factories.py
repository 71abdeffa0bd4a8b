"""Factories, one module per feature (tests/<feature>/factories.py); this module re-exports
the accounts and letters ones for the tests that import them from here."""

from __future__ import annotations

from tests.accounts.factories import DEFAULT_PASSWORD, make_organisation, make_user
from tests.letters.factories import add_revision, add_team_member, make_letter

__all__ = [
    "DEFAULT_PASSWORD",
    "add_revision",
    "add_team_member",
    "make_letter",
    "make_organisation",
    "make_user",
]
