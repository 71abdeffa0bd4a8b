"""The daily mail allowances, as the signature features use them.

The rule itself lives in :mod:`signon.accounts.mail_allowance`, one layer down, so that
drafting-team and organisation invitations draw on the same allowance as invitations
to sign; this module only re-exports it under the name the signature code has always
used.
"""

from __future__ import annotations

from signon.accounts.mail_allowance import (
    WINDOW,
    AllowanceExceededError,
    MailKind,
    Standing,
    account_limit,
    available_at,
    describe_when,
    is_young,
    record,
    refusal,
    standing,
    take,
)

__all__ = [
    "WINDOW",
    "AllowanceExceededError",
    "MailKind",
    "Standing",
    "account_limit",
    "available_at",
    "describe_when",
    "is_young",
    "record",
    "refusal",
    "standing",
    "take",
]
