"""Daily allowances of mail sent to other people on a user's say-so: the one rule.

Every path that mails addresses someone typed asks :func:`take` (or, for
re-confirmation requests, :func:`record`) before it queues anything: single and bulk
invitations to sign, re-sending an invitation, re-confirmation requests (after a change
is classified substantive, signing reopened or the deadline extended), invitations to
a letter's drafting team and invitations to join an organisation. What is counted are
mails, not requests, from durable rows (:class:`CoordinatorMail`) within a rolling 24
hours, so the count holds across processes and restarts. Two allowances apply at once,
and the smaller remainder wins:

- per account: ``mail_allowance_account_day``, or ``mail_allowance_new_account_day``
  while the account is younger than ``new_account_days``;
- per letter, all its coordinators together: ``mail_allowance_letter_day`` (mails that
  belong to no letter, organisation invitations, count only against the account).

The rule lives here, in ``accounts``, because accounts, letters and signatures all
send such mails and may only import downwards; a letter is known by its id only (its
row is locked by table name), so nothing here imports ``letters``.

The decision is taken under locks (the letter's row, then the account's row, on
PostgreSQL; SQLite serialises writers at ``BEGIN IMMEDIATE``), and the send is recorded
in the same transaction, so two concurrent sends cannot both pass the allowance.

Exempt, because nobody can point them at new addresses: the scheduled deadline
reminders (``flask send-reminders``, once per invitation per point, to invitations
that were counted when created), receipts to the invitee's own answers, and mails to
people who asked for them (public sign-on, password reset, confirmation of one's own
address).

Re-confirmation requests, and notices that an approval carries over an editorial
change, are counted but never refused: they go only to organisations that already
approved this letter, once per revision, and holding them back would leave
signatories unaware that the text they approved has changed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from flask import current_app
from sqlalchemy import ColumnElement, func, select

from signon.accounts.models import CoordinatorMail, User
from signon.config import Settings
from signon.core.locks import lock_row
from signon.core.timefmt import datetime_in
from signon.db import utcnow
from signon.extensions import db

#: The allowances count the mails of the past 24 hours (a rolling window).
WINDOW = timedelta(hours=24)


class MailKind(enum.StrEnum):
    INVITATION = "invitation"
    RESEND = "resend"
    RECONFIRMATION = "reconfirmation"
    #: Telling organisations that their approval carries over an editorial change.
    CARRIED_FORWARD = "carried_forward"
    TEAM_INVITATION = "team_invitation"
    ORGANISATION_INVITATION = "organisation_invitation"


class HasId(Protocol):
    """A letter, as far as the allowance needs to know it."""

    @property
    def id(self) -> int: ...


class AllowanceExceededError(Exception):
    """Nothing may be sent now; ``str(error)`` says why and when more may go."""

    def __init__(self, message: str, *, available_at: datetime) -> None:
        super().__init__(message)
        self.available_at = available_at


def _settings() -> Settings:
    settings: Settings = current_app.config["SIGNON"]
    return settings


def is_young(user: User, now: datetime) -> bool:
    """True while the account is younger than ``new_account_days``."""
    return now - user.created_at < timedelta(days=_settings().new_account_days)


def account_limit(user: User, now: datetime) -> int:
    settings = _settings()
    if is_young(user, now):
        return settings.mail_allowance_new_account_day
    return settings.mail_allowance_account_day


@dataclass(frozen=True)
class Standing:
    """How much of each allowance the past 24 hours used (``letter_limit`` is ``None``
    for mails that belong to no letter)."""

    account_used: int
    account_limit: int
    letter_used: int
    letter_limit: int | None
    young: bool

    @property
    def _letter_left(self) -> int | None:
        return None if self.letter_limit is None else self.letter_limit - self.letter_used

    @property
    def remaining(self) -> int:
        left = self.account_limit - self.account_used
        letter_left = self._letter_left
        if letter_left is not None:
            left = min(left, letter_left)
        return max(0, left)

    @property
    def letter_binds(self) -> bool:
        """The letter's allowance, not the account's, is the one that runs out first."""
        letter_left = self._letter_left
        return letter_left is not None and letter_left < self.account_limit - self.account_used

    @property
    def day(self) -> int:
        """The most that may go in one day under both allowances."""
        if self.letter_limit is None:
            return self.account_limit
        return min(self.account_limit, self.letter_limit)


def _within(where: ColumnElement[bool], now: datetime) -> int:
    used = db.session.scalar(
        select(func.coalesce(func.sum(CoordinatorMail.count), 0)).where(
            where, CoordinatorMail.created_at > now - WINDOW
        )
    )
    return int(used or 0)


def standing(user: User, letter: HasId | None, now: datetime | None = None) -> Standing:
    """The allowances of ``user`` on ``letter`` (or on no letter) as of ``now``
    (read only, no lock)."""
    now = now or utcnow()
    return Standing(
        account_used=_within(CoordinatorMail.user_id == user.id, now),
        account_limit=account_limit(user, now),
        letter_used=0 if letter is None else _within(CoordinatorMail.letter_id == letter.id, now),
        letter_limit=None if letter is None else _settings().mail_allowance_letter_day,
        young=is_young(user, now),
    )


def _free_from(where: ColumnElement[bool], limit: int, needed: int, now: datetime) -> datetime:
    """When ``needed`` mails (at most ``limit``) fit in this allowance's rolling window."""
    needed = min(needed, limit)
    rows: list[tuple[datetime, int]] = [
        (created_at, count)
        for created_at, count in db.session.execute(
            select(CoordinatorMail.created_at, CoordinatorMail.count)
            .where(where, CoordinatorMail.created_at > now - WINDOW)
            .order_by(CoordinatorMail.created_at, CoordinatorMail.id)
        )
    ]
    free = limit - sum(count for _, count in rows)
    if free >= needed:
        return now
    for created_at, count in rows:
        free += count
        if free >= needed:
            return created_at + WINDOW
    return now + WINDOW  # not reached: every row leaves the window within 24 hours


def available_at(
    user: User, letter: HasId | None, needed: int, now: datetime | None = None
) -> datetime:
    """The earliest moment at which ``needed`` more mails fit in both allowances.

    More than a day's allowance never fits at once: then it is when a full day's worth
    may go.
    """
    now = now or utcnow()
    moment = _free_from(CoordinatorMail.user_id == user.id, account_limit(user, now), needed, now)
    if letter is None:
        return moment
    return max(
        moment,
        _free_from(
            CoordinatorMail.letter_id == letter.id,
            _settings().mail_allowance_letter_day,
            needed,
            now,
        ),
    )


def _lock(user: User, letter: HasId | None) -> None:
    """Serialise allowance decisions of this letter and this account (PostgreSQL).

    The letter first (the order every letter operation uses), then the account. The
    letter's row is locked through its table, without importing the model. ``FOR NO
    KEY UPDATE`` on the account: it does not wait for transactions that merely insert
    rows referring to the account (KEY SHARE), which would risk a deadlock.
    """
    if letter is not None:
        lock_row(db.metadata.tables["letters"], letter.id)
    lock_row(User, user.id, key_share=True)


def describe_when(moment: datetime, user: User, now: datetime | None = None) -> str:
    """ "4 December 2026, 17:05 CET (in 11 hours)" in the user's own time zone."""
    now = now or utcnow()
    label = datetime_in(moment, user.timezone)
    minutes = int((moment - now).total_seconds() // 60) + 1
    if minutes <= 1:
        return f"{label} (now)"
    if minutes < 120:
        return f"{label} (in {minutes} minutes)"
    return f"{label} (in {minutes // 60} hours)"


def _mails(count: int) -> str:
    return f"{count:,} mail" if count == 1 else f"{count:,} mails"


def _which(state: Standing) -> str:
    if state.letter_binds:
        return (
            f"this letter's coordinators have sent {_mails(state.letter_used)} to invitees "
            f"in the past 24 hours, and a letter may send {state.letter_limit:,} a day"
        )
    young = " (while an account is less than a week old)" if state.young else ""
    return (
        f"you have sent {_mails(state.account_used)} to invitees in the past 24 hours, "
        f"and an account may send {state.account_limit:,} a day{young}"
    )


def refusal(user: User, letter: HasId | None, wanted: int, state: Standing, now: datetime) -> str:
    """Why nothing was sent, how many may go now, and from when all of them may."""
    when = describe_when(available_at(user, letter, wanted, now), user, now)
    day = state.day
    if wanted == 1:
        later = f"It may go from {when}."
    elif wanted > day:
        later = f"Up to {day:,} of these {wanted:,} mails may go from {when}."
    else:
        later = f"These {wanted:,} mails may go from {when}."
    if 0 < state.remaining < wanted:
        later = f"Only {_mails(state.remaining)} more may go now. " + later
    return f"Nothing was sent: {_which(state)}. {later}"


def _add(
    user: User | None, letter: HasId | None, count: int, kind: MailKind, now: datetime
) -> None:
    db.session.add(
        CoordinatorMail(
            user_id=user.id if user is not None else None,
            letter_id=letter.id if letter is not None else None,
            kind=kind.value,
            count=count,
            created_at=now,
        )
    )
    db.session.flush()


def take(
    user: User,
    letter: HasId | None,
    wanted: int,
    *,
    kind: MailKind,
    partial: bool = False,
    now: datetime | None = None,
) -> int:
    """Record ``wanted`` mails (or, with ``partial``, as many as the allowances leave).

    Returns how many may go; the caller queues exactly that many, in the same
    transaction. Raises :class:`AllowanceExceededError` when none may go, or when not all
    may and ``partial`` is false.
    """
    now = now or utcnow()
    if wanted <= 0:
        return 0
    _lock(user, letter)
    state = standing(user, letter, now)
    granted = min(wanted, state.remaining)
    if granted == 0 or (granted < wanted and not partial):
        raise AllowanceExceededError(
            refusal(user, letter, wanted, state, now),
            available_at=available_at(user, letter, wanted, now),
        )
    _add(user, letter, granted, kind, now)
    return granted


def record(user: User | None, letter: HasId | None, count: int, kind: MailKind) -> None:
    """Count mails that are not refused (re-confirmation requests; see the module doc)."""
    if count > 0:
        _add(user, letter, count, kind, utcnow())
