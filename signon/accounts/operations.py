"""Everything that changes users, organisations and memberships.

Operations take plain arguments, add and flush, queue mail, and raise an
:class:`AccountsError` (with a message meant for people) when the change is not
allowed. They never commit, never read ``request`` and never render pages.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from signon.accounts import mail_allowance, notifications, queries, totp
from signon.accounts.models import (
    Membership,
    NotificationPreference,
    Organisation,
    OrganisationInvitation,
    PendingTwoStepSecret,
    RecoveryCode,
    TokenPurpose,
    User,
    UserToken,
)
from signon.audit.operations import record_event
from signon.config import Settings
from signon.core.locks import lock_row
from signon.core.notices import Delivery, NoticeKind
from signon.core.passwords import hash_password, needs_rehash, verify_password
from signon.core.permissions import OrganisationRole
from signon.core.signals import email_confirmed, user_access_changed
from signon.core.timefmt import is_valid_timezone
from signon.core.tokens import hash_token, new_token
from signon.db import utcnow
from signon.extensions import db, limiter


class AccountsError(Exception):
    """A refused change; ``str(error)`` says why, in words for the person who asked."""


class OrganisationNameTakenError(AccountsError):
    pass


class LastAdminError(AccountsError):
    pass


class AlreadyMemberError(AccountsError):
    pass


class MailAllowanceError(AccountsError):
    """The daily mail allowance (:mod:`signon.accounts.mail_allowance`) is used up:
    nothing was sent; the message says when it may go."""


class WrongAccountError(AccountsError):
    """An organisation invitation opened by an account that has not confirmed the invited
    address."""


class WrongPasswordError(AccountsError):
    """The current password, asked before a change to the account, is not right."""


class TooManyAttemptsError(AccountsError):
    """Too many wrong passwords or codes for this account lately: refused unchecked."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        wait = "a minute" if minutes == 1 else f"{minutes} minutes"
        super().__init__(
            "There have been too many wrong passwords or codes for your account lately. "
            f"For your safety, please wait {wait} and try again."
        )
        self.retry_after = retry_after


class TokenProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


class InvalidTokenError(AccountsError):
    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(f"This link is {problem.value}.")
        self.problem = problem


class LoginStatus(enum.Enum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    UNCONFIRMED = "unconfirmed"
    #: Too many failed attempts for this address lately: not even checked.
    BACKING_OFF = "backing_off"
    #: The password is right, and the account has two-step login: a code must follow
    #: (:func:`complete_login`). Nothing is recorded as a login yet.
    SECOND_FACTOR_NEEDED = "second_factor_needed"
    #: The code (or recovery code) is not right, or was used already.
    BAD_CODE = "bad_code"


@dataclass(frozen=True)
class LoginResult:
    status: LoginStatus
    user: User | None = None
    #: With BACKING_OFF: how long to wait before the next attempt, in seconds.
    retry_after: int = 0
    #: With OK after a second step: "totp" or "recovery_code".
    second_factor: str | None = None


def _settings() -> Settings:
    settings: Settings = current_app.config["SIGNON"]
    return settings


def _lock_organisation(organisation: Organisation) -> None:
    """Serialise membership changes of one organisation (row lock on PostgreSQL;
    SQLite's write transactions are serialised already)."""
    lock_row(Organisation, organisation.id)


def _use_up_tokens(user: User, purpose: TokenPurpose) -> None:
    """Mark every outstanding token of this purpose used: old links stop working."""
    now = utcnow()
    for token in db.session.scalars(
        select(UserToken).where(
            UserToken.user_id == user.id,
            UserToken.purpose == purpose,
            UserToken.used_at.is_(None),
        )
    ):
        token.used_at = now


def _clean_timezone(name: str | None) -> str:
    name = (name or "").strip()
    return name if name and is_valid_timezone(name) else "UTC"


def token_problem(token: UserToken | None) -> TokenProblem | None:
    """Why a mailed link cannot be used, or ``None`` when it can."""
    if token is None:
        return TokenProblem.UNKNOWN
    if token.used_at is not None:
        return TokenProblem.USED
    if token.expires_at <= utcnow():
        return TokenProblem.EXPIRED
    return None


def invitation_problem(invitation: OrganisationInvitation | None) -> TokenProblem | None:
    if invitation is None:
        return TokenProblem.UNKNOWN
    if invitation.accepted_at is not None:
        return TokenProblem.USED
    if invitation.revoked_at is not None:
        return TokenProblem.REVOKED
    if invitation.expires_at <= utcnow():
        return TokenProblem.EXPIRED
    return None


def _usable_token(raw: str, purpose: TokenPurpose) -> UserToken:
    """The token named by ``raw``, locked against a concurrent use, or InvalidTokenError."""
    token = db.session.scalar(
        select(UserToken)
        .where(UserToken.token_hash == hash_token(raw), UserToken.purpose == purpose)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    problem = token_problem(token)
    if problem is not None or token is None:
        raise InvalidTokenError(problem or TokenProblem.UNKNOWN)
    return token


# --- Registration and e-mail confirmation -------------------------------------------


#: Confirmation mails are counted per address over this window.
CONFIRMATION_MAIL_WINDOW = timedelta(hours=1)


def confirmation_mail_allowed(user: User) -> bool:
    """True while fewer than ``confirmation_mails_per_hour`` confirmation links went to
    this account's address in the past hour: the one per-address limit, whatever route
    (registration, login to an unconfirmed account, "send it again") asks for a link.

    Counted from the issued tokens, so it holds with the rate limiter off, across
    processes and restarts; decided under the account's row lock (PostgreSQL; SQLite
    serialises writers), so concurrent requests cannot both pass the last slot.
    """
    if user.id is not None:
        lock_row(User, user.id, key_share=True)
    sent = db.session.scalar(
        select(func.count())
        .select_from(UserToken)
        .where(
            UserToken.user_id == user.id,
            UserToken.purpose == TokenPurpose.CONFIRM_EMAIL,
            UserToken.created_at > utcnow() - CONFIRMATION_MAIL_WINDOW,
        )
    )
    return (sent or 0) < _settings().confirmation_mails_per_hour


def send_email_confirmation(user: User, next_url: str | None = None) -> UserToken | None:
    """Issue a confirmation token and mail the link (the raw token lives only in the mail).

    Nothing is sent (``None``) once the address had its hourly share of links
    (:func:`confirmation_mail_allowed`); the links already sent still work.
    """
    db.session.flush()
    if not confirmation_mail_allowed(user):
        return None
    hours = _settings().confirm_email_hours
    token, raw = UserToken.issue(user, TokenPurpose.CONFIRM_EMAIL, timedelta(hours=hours))
    db.session.flush()
    notifications.mail_email_confirmation(user, raw, hours, next_url)
    return token


def register_user(
    email: str,
    display_name: str,
    password: str,
    timezone: str | None = None,
    next_url: str | None = None,
) -> User | None:
    """Create an unconfirmed account and mail the confirmation link; returns it.

    When the address has an account already (or gets one meanwhile), nothing is created:
    its owner is mailed instead (log in, or reset the password) and ``None`` is returned,
    so that the caller answers the same either way and nobody learns who has an account.
    The password is hashed in both cases, so that the answer takes the same time too."""
    address = User.normalise_email(email)
    password_hash = hash_password(password)
    existing = User.find_by_email(address)
    if existing is None:
        user = User(
            email=address,
            display_name=display_name.strip(),
            password_hash=password_hash,
            timezone=_clean_timezone(timezone),
        )
        try:
            with db.session.begin_nested():
                db.session.add(user)
                db.session.flush()
        except IntegrityError:
            existing = User.find_by_email(address)
        else:
            send_email_confirmation(user, next_url)
            return user
    if existing is not None:
        notifications.mail_registration_attempt(existing, next_url)
    return None


def resend_email_confirmation(email: str, next_url: str | None = None) -> None:
    """Mail a fresh link if ``email`` belongs to an unconfirmed account; otherwise nothing
    (the caller answers the same either way)."""
    user = User.find_by_email(email)
    if user is not None and not user.is_confirmed:
        send_email_confirmation(user, next_url)


class NotTheRegistrantError(AccountsError):
    """The password given with a confirmation link is not the account's."""


def confirm_email(raw_token: str, password: str) -> User:
    """Mark the address confirmed; every confirmation link of this user is then used up.

    ``password`` must be the account's: the link proves who reads the address's mail, but
    whoever registered someone else's address knows the password, and a role waiting for
    the address (a team invitation) would be theirs once its owner confirmed. A wrong one
    is audited and counts as a failed login (the same back-off, as every secret check:
    :func:`check_current_password`) and confirms nothing; the owner of the
    address can take the account over with a password reset, which proves the address too.
    """
    token = _usable_token(raw_token, TokenPurpose.CONFIRM_EMAIL)
    user = token.user
    _refuse_while_backing_off(user)
    if not verify_password(user.password_hash, password):
        _count_failed_check(user, "account.password_check_failed", "confirm_email")
        raise NotTheRegistrantError(
            "This is not the password of the account created with this address. If you "
            "did not create it, someone else did: reset the password to make the account "
            "yours."
        )
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    _use_up_tokens(user, TokenPurpose.CONFIRM_EMAIL)
    db.session.flush()
    # Features above accounts act on it in this same transaction (letters: the roles
    # waiting for this address on drafting teams).
    email_confirmed.send(user)
    return user


# --- Login back-off -------------------------------------------------------------------------
#
# Failed logins are counted per normalised e-mail address (known or not, so the answer
# reveals nothing) in the rate limiter's storage: memory, or Redis in production. From
# the FREE_FAILURES-th failure within FAILURE_WINDOW on, every further failure shuts the
# address for a growing delay (1, 2, 4, 8 minutes ... capped at MAX_DELAY); attempts
# during the delay are refused unchecked and do not count. A successful login or a
# password reset clears it all, so the real owner is never locked out for long: at
# worst MAX_DELAY at a time, and a reset link always works.

FREE_FAILURES = 5
FAILURE_WINDOW = 15 * 60
FIRST_DELAY = 60
MAX_DELAY = 15 * 60


def _backoff_active() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED")) and limiter.enabled


def _backoff_keys(email: str) -> tuple[str, str]:
    prefix = str(current_app.config.get("RATELIMIT_KEY_PREFIX") or "")
    address = User.normalise_email(email)
    return f"{prefix}/login-failures/{address}", f"{prefix}/login-shut/{address}"


def backoff_delay(failures: int) -> int:
    """Seconds the address stays shut after its ``failures``-th failure in a row."""
    if failures < FREE_FAILURES:
        return 0
    return min(FIRST_DELAY << min(failures - FREE_FAILURES, 20), MAX_DELAY)


def login_backoff_remaining(email: str) -> int:
    """Seconds before ``email`` may try to log in again (0: now)."""
    if not _backoff_active():
        return 0
    _failures, shut = _backoff_keys(email)
    storage = limiter.storage
    if storage.get(shut) <= 0:
        return 0
    return max(1, math.ceil(storage.get_expiry(shut) - time.time()))


def record_login_failure(email: str) -> int:
    """Count a failed login for ``email``; returns the delay it is now shut for (seconds)."""
    if not _backoff_active():
        return 0
    failures_key, shut_key = _backoff_keys(email)
    storage = limiter.storage
    failures = storage.incr(failures_key, FAILURE_WINDOW)
    delay = backoff_delay(failures)
    if delay:
        # Keep the count while the delay runs and a window after it, so the next
        # failure doubles the delay instead of starting over.
        storage.clear(failures_key)
        storage.incr(failures_key, delay + FAILURE_WINDOW, amount=failures)
        storage.clear(shut_key)
        storage.incr(shut_key, delay)
    return delay


def clear_login_failures(email: str) -> None:
    if not _backoff_active():
        return
    for key in _backoff_keys(email):
        limiter.storage.clear(key)


# --- Secret checks while logged in -----------------------------------------------------------
#
# Whoever holds a logged-in session (a borrowed laptop, a stolen cookie) must not get
# unlimited guesses at the password or a code through the settings either: every such
# check is refused unchecked while the address backs off, and every wrong answer is
# audited and counts toward the same per-address back-off as a wrong password at login
# (the views are rate-limited per client as well).


def _refuse_while_backing_off(user: User) -> None:
    waiting = login_backoff_remaining(user.email)
    if waiting:
        raise TooManyAttemptsError(waiting)


def _count_failed_check(user: User, action: str, during: str) -> None:
    """Audit a wrong password or code and count it; raises TooManyAttemptsError when the
    address is now shut."""
    record_event(action, actor=user, during=during)
    delay = record_login_failure(user.email)
    if delay:
        raise TooManyAttemptsError(delay)


CURRENT_PASSWORD_WRONG = "This is not your current password."


def check_current_password(user: User, password: str, during: str) -> None:
    """The password asked before a change to the account (``during`` names the change)."""
    _refuse_while_backing_off(user)
    if not verify_password(user.password_hash, password):
        _count_failed_check(user, "account.password_check_failed", during)
        raise WrongPasswordError(CURRENT_PASSWORD_WRONG)


# --- Login and passwords -----------------------------------------------------------------


def attempt_login(email: str, password: str, next_url: str | None = None) -> LoginResult:
    """Check the password (in equal time for unknown addresses). On success record the
    login and upgrade the hash if its parameters are old; on an unconfirmed account
    mail a fresh confirmation link instead. An address with too many recent failures
    is refused unchecked (see the back-off above)."""
    waiting = login_backoff_remaining(email)
    if waiting:
        return LoginResult(LoginStatus.BACKING_OFF, retry_after=waiting)
    user = User.find_by_email(email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        record_event("account.login_failed", actor_label=User.normalise_email(email)[:254])
        delay = record_login_failure(email)
        if delay:
            return LoginResult(LoginStatus.BACKING_OFF, retry_after=delay)
        return LoginResult(LoginStatus.BAD_CREDENTIALS)
    if user.two_step_enabled:
        # Half-way only: the failure count stays until the code is right too, so that
        # someone who knows the password cannot reset it between guesses at codes.
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        db.session.flush()
        return LoginResult(LoginStatus.SECOND_FACTOR_NEEDED, user)
    clear_login_failures(email)
    if not user.is_confirmed:
        send_email_confirmation(user, next_url)
        return LoginResult(LoginStatus.UNCONFIRMED, user)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    record_event("account.login", actor=user)
    db.session.flush()
    return LoginResult(LoginStatus.OK, user)


def request_password_reset(email: str) -> None:
    """Mail a reset link if the address has an account; nothing otherwise."""
    user = User.find_by_email(email)
    if user is None:
        return
    hours = _settings().reset_password_hours
    _token, raw = UserToken.issue(user, TokenPurpose.RESET_PASSWORD, timedelta(hours=hours))
    db.session.flush()
    notifications.mail_password_reset(user, raw, hours)


def reset_password(raw_token: str, new_password: str) -> User:
    """Set a new password from a reset link: the link and every other reset link are used
    up, and every existing session ends. The link proves the address, so it counts as
    confirmed."""
    token = _usable_token(raw_token, TokenPurpose.RESET_PASSWORD)
    user = token.user
    user.password_hash = hash_password(new_password)
    _end_sessions(user)
    confirmed_now = user.email_confirmed_at is None
    if confirmed_now:
        user.email_confirmed_at = utcnow()
    _use_up_tokens(user, TokenPurpose.RESET_PASSWORD)
    db.session.flush()
    if confirmed_now:  # as confirm_email: what waited for the address (team roles) is taken
        email_confirmed.send(user)
    clear_login_failures(user.email)
    record_event("account.password_reset", actor=user)
    notifications.mail_password_changed(user)
    return user


def _end_sessions(user: User) -> None:
    """End every session of ``user`` (the login loader refuses the old token), their open
    live-editing sockets included once this commits (``core.signals.user_access_changed``:
    a socket outlives the request that opened it)."""
    user.rotate_session_token()
    user_access_changed.send(user)


def log_out_everywhere(user: User) -> None:
    """End every session of ``user`` on every device (the loader refuses the old token)."""
    _end_sessions(user)
    record_event("account.logout", actor=user)
    db.session.flush()


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change the password once the current one is right, and end every session."""
    check_current_password(user, current_password, "change_password")
    user.password_hash = hash_password(new_password)
    _end_sessions(user)
    _use_up_tokens(user, TokenPurpose.RESET_PASSWORD)
    record_event("account.password_changed", actor=user)
    db.session.flush()
    notifications.mail_password_changed(user)


def update_profile(user: User, display_name: str, timezone: str) -> None:
    """Save the name and time zone; a new name is audited (letters and logs show it)."""
    old_name = user.display_name
    user.display_name = display_name.strip()
    user.timezone = _clean_timezone(timezone)
    if user.display_name != old_name:
        record_event("account.name_changed", actor=user, old=old_name, new=user.display_name)
    db.session.flush()


def set_notification_preferences(user: User, choices: Mapping[NoticeKind, Delivery | None]) -> None:
    """Save how the person wants each kind of notice; ``None``: their role's default."""
    lock_row(User, user.id, key_share=True)  # two saves at once take turns
    existing = {
        row.kind: row
        for row in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    for kind, delivery in choices.items():
        row = existing.get(kind)
        if delivery is None:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(NotificationPreference(user_id=user.id, kind=kind, delivery=delivery))
        else:
            row.delivery = delivery
    record_event(
        "account.notifications_changed",
        actor=user,
        choices={kind.value: (d.value if d else "default") for kind, d in choices.items()},
    )
    db.session.flush()


# --- Two-step login ---------------------------------------------------------------------------
#
# A TOTP secret (see signon.accounts.totp) is stored on the user once a code from the app
# has confirmed it, with ten single-use recovery codes (their SHA-256 only). Every code
# check locks the user's row, so two requests with one code cannot both pass; a TOTP code
# is accepted only for a later time step than the last one accepted (no replay), and a
# recovery code is marked used. Wrong codes at login count toward the same per-address
# back-off as wrong passwords.


class InvalidCodeError(AccountsError):
    """The code from the app (or the recovery code) is not right."""


class TwoStepStateError(AccountsError):
    """Two-step login is already on (when setting it up) or off (when changing it)."""


BAD_CODE_MESSAGE = (
    "This code is not right, or it has been used already. Check the time on your phone, "
    "wait for the next code and try again."
)


def _lock_user(user: User) -> None:
    """Serialise code checks of one user (row lock on PostgreSQL) and read the row afresh."""
    lock_row(User, user.id)
    db.session.refresh(user)


def _issue_recovery_codes(user: User) -> list[str]:
    """Replace every recovery code of ``user`` with fresh ones; returns them (shown once)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [totp.new_recovery_code() for _ in range(totp.RECOVERY_CODE_COUNT)]
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(code)))
    db.session.flush()
    return codes


def _use_second_factor(user: User, code: str) -> str | None:
    """Check ``code`` against the user's app or recovery codes and use it up: returns
    "totp" or "recovery_code", or ``None`` when it is wrong or was used before.
    The caller has locked the user (:func:`_lock_user`)."""
    secret = user.totp_secret
    if secret is None:
        return None
    if totp.looks_like_totp_code(code):
        step = totp.matching_step(secret, code)
        if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
            return None
        user.totp_last_step = step
        db.session.flush()
        return "totp"
    if totp.looks_like_recovery_code(code):
        recovery = db.session.scalar(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == totp.hash_recovery_code(code),
                RecoveryCode.used_at.is_(None),
            )
        )
        if recovery is None:
            return None
        recovery.used_at = utcnow()
        db.session.flush()
        return "recovery_code"
    return None


def _second_factor_failed(user: User, during: str) -> int:
    """Record a wrong code (audit and back-off); returns the delay the address is shut for."""
    record_event("account.second_factor_failed", actor=user, during=during)
    return record_login_failure(user.email)


NO_PENDING_SETUP_MESSAGE = "Press “Set up” to start setting up two-step login."


def start_two_step_setup(user: User) -> None:
    """The "Set up" button: a new secret waits server-side until a code confirms it
    (:func:`finish_two_step_setup`). Pressed again while one waits, it keeps that one
    (the app may have it already)."""
    if user.two_step_enabled:
        raise TwoStepStateError("Two-step login is already on for your account.")
    pending = db.session.scalar(
        select(PendingTwoStepSecret).where(PendingTwoStepSecret.user_id == user.id)
    )
    if pending is not None and pending.is_usable_by(user):
        return
    if pending is not None:
        db.session.delete(pending)
        db.session.flush()
    db.session.add(
        PendingTwoStepSecret(
            user_id=user.id, secret=totp.new_secret(), session_token=user.session_token
        )
    )
    db.session.flush()


def finish_two_step_setup(user: User, password: str, code: str) -> list[str]:
    """Turn two-step login on with the secret waiting for ``user``, once the password is
    right and ``code`` shows the app has the secret. The waiting secret is deleted;
    returns the recovery codes, to be shown once (they are stored hashed only)."""
    check_current_password(user, password, "two_step_setup")
    secret = queries.pending_two_step_secret(user)
    if secret is None:
        raise TwoStepStateError(NO_PENDING_SETUP_MESSAGE)
    codes = enable_two_step(user, secret, code)
    db.session.execute(delete(PendingTwoStepSecret).where(PendingTwoStepSecret.user_id == user.id))
    db.session.flush()
    return codes


def enable_two_step(user: User, secret: str, code: str) -> list[str]:
    """Turn two-step login on with ``secret`` once ``code`` shows the app has it (the
    caller checked the password). A wrong code counts toward the back-off, as everywhere.
    Returns the recovery codes, to be shown once."""
    _refuse_while_backing_off(user)
    _lock_user(user)
    if user.two_step_enabled:
        raise TwoStepStateError("Two-step login is already on for your account.")
    step = totp.matching_step(secret, code)
    if step is None:
        _count_failed_check(user, "account.second_factor_failed", "two_step_setup")
        raise InvalidCodeError(BAD_CODE_MESSAGE)
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _issue_recovery_codes(user)
    record_event("account.two_step_enabled", actor=user)
    db.session.flush()
    return codes


def complete_login(user: User, code: str) -> LoginResult:
    """The second step of a login (the password was right a moment ago): a code from the
    app or an unused recovery code. Refused unchecked while the address backs off."""
    waiting = login_backoff_remaining(user.email)
    if waiting:
        return LoginResult(LoginStatus.BACKING_OFF, user, retry_after=waiting)
    _lock_user(user)
    method = _use_second_factor(user, code)
    if method is None:
        delay = _second_factor_failed(user, "login")
        if delay:
            return LoginResult(LoginStatus.BACKING_OFF, user, retry_after=delay)
        return LoginResult(LoginStatus.BAD_CODE, user)
    clear_login_failures(user.email)
    user.last_login_at = utcnow()
    record_event("account.login", actor=user, second_factor=method)
    db.session.flush()
    return LoginResult(LoginStatus.OK, user, second_factor=method)


def _check_code_for_change(user: User, password: str, code: str, during: str) -> str:
    """For turning two-step login off and for new recovery codes: the password and then
    the code must be right, with the same back-off as at login."""
    check_current_password(user, password, during)
    _lock_user(user)
    if not user.two_step_enabled:
        raise TwoStepStateError("Two-step login is not on for your account.")
    method = _use_second_factor(user, code)
    if method is None:
        _count_failed_check(user, "account.second_factor_failed", during)
        raise InvalidCodeError(BAD_CODE_MESSAGE)
    return method


def disable_two_step(user: User, password: str, code: str) -> None:
    """Turn two-step login off: the secret and every recovery code are deleted."""
    method = _check_code_for_change(user, password, code, "disable")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record_event("account.two_step_disabled", actor=user, second_factor=method)
    db.session.flush()


def regenerate_recovery_codes(user: User, password: str, code: str) -> list[str]:
    """Replace the recovery codes (the old ones stop working); returns the new ones."""
    method = _check_code_for_change(user, password, code, "new_recovery_codes")
    codes = _issue_recovery_codes(user)
    record_event("account.recovery_codes_regenerated", actor=user, second_factor=method)
    db.session.flush()
    return codes


# --- Organisations -----------------------------------------------------------------------


def _name_taken() -> OrganisationNameTakenError:
    return OrganisationNameTakenError("An organisation with this name already exists on Signon.")


def create_organisation(
    creator: User,
    name: str,
    short_name: str | None = None,
    country: str | None = None,
    website: str | None = None,
) -> Organisation:
    """Create an organisation; its creator becomes its first admin."""
    organisation = Organisation(
        name=" ".join(name.split()),
        name_key=Organisation.key_for(name),
        short_name=short_name or None,
        country=country or None,
        website=website or None,
        created_by_id=creator.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(organisation)
            db.session.flush()
    except IntegrityError as error:
        raise _name_taken() from error
    db.session.add(Membership(user=creator, organisation=organisation, role=OrganisationRole.ADMIN))
    db.session.flush()
    return organisation


#: The organisation's fields whose changes are audited (the name is the PDF's letterhead
#: and author for the letters it drafts).
AUDITED_ORGANISATION_FIELDS = ("name", "short_name", "country", "website")


def _organisation_fields(organisation: Organisation) -> dict[str, str | None]:
    return {field: getattr(organisation, field) for field in AUDITED_ORGANISATION_FIELDS}


def update_organisation(
    organisation: Organisation,
    name: str,
    short_name: str | None = None,
    country: str | None = None,
    website: str | None = None,
    *,
    actor: User | None = None,
) -> None:
    """Save the organisation's details; what changed is audited (old and new values)."""
    before = _organisation_fields(organisation)
    try:
        # The savepoint first, then the changes: a name taken meanwhile undoes only them.
        with db.session.begin_nested():
            organisation.name = " ".join(name.split())
            organisation.name_key = Organisation.key_for(name)
            organisation.short_name = short_name or None
            organisation.country = country or None
            organisation.website = website or None
            db.session.flush()
    except IntegrityError as error:
        raise _name_taken() from error
    after = _organisation_fields(organisation)
    changed = [field for field in AUDITED_ORGANISATION_FIELDS if before[field] != after[field]]
    if changed:
        record_event(
            "organisation.details_changed",
            actor=actor,
            organisation_id=organisation.id,
            organisation=organisation.name,
            old={field: before[field] for field in changed},
            new={field: after[field] for field in changed},
        )


def invite_to_organisation(
    organisation: Organisation, inviter: User, email: str, role: OrganisationRole
) -> OrganisationInvitation:
    """Invite someone by e-mail. An address with an open invitation gets it again (new
    link, new expiry, the role asked now) instead of a second one. Each mail counts
    against the inviter's daily mail allowance; none is sent beyond it."""
    _lock_organisation(organisation)
    email = User.normalise_email(email)
    already = db.session.scalar(
        select(Membership.id)
        .join(User, Membership.user_id == User.id)
        .where(Membership.organisation_id == organisation.id, User.email == email)
    )
    if already is not None:
        raise AlreadyMemberError("This person is already a member of the organisation.")
    try:
        mail_allowance.take(inviter, None, 1, kind=mail_allowance.MailKind.ORGANISATION_INVITATION)
    except mail_allowance.AllowanceExceededError as error:
        raise MailAllowanceError(str(error)) from error
    hours = _settings().organisation_invite_hours
    raw = new_token()
    invitation = db.session.scalar(
        select(OrganisationInvitation)
        .where(
            OrganisationInvitation.organisation_id == organisation.id,
            OrganisationInvitation.email == email,
            OrganisationInvitation.accepted_at.is_(None),
            OrganisationInvitation.revoked_at.is_(None),
        )
        .order_by(OrganisationInvitation.created_at.desc())
        .limit(1)
    )
    if invitation is None:
        invitation = OrganisationInvitation(organisation=organisation, email=email)
        db.session.add(invitation)
    invitation.role = role
    invitation.token_hash = hash_token(raw)
    invitation.invited_by = inviter
    invitation.expires_at = utcnow() + timedelta(hours=hours)
    db.session.flush()
    notifications.mail_organisation_invitation(invitation, raw, hours)
    return invitation


def revoke_invitation(invitation: OrganisationInvitation) -> None:
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        db.session.flush()


def invitation_refusal(invitation: OrganisationInvitation, user: User) -> str | None:
    """Why ``user`` may not accept ``invitation``, or ``None`` when they may: the link is
    no bearer token, only the account that has confirmed the invited address joins. The
    reason names the invited address only as a hint (``a***@example.org``)."""
    if user.email == invitation.email and user.is_confirmed:
        return None
    hint = invitation.email_hint
    if user.email == invitation.email:
        return (
            f"This invitation was sent to {hint}. Please confirm that address first (we "
            "sent you a link when you registered), then open the invitation again."
        )
    return (
        f"This invitation was sent to {hint}, not to the address of the account you are "
        "logged in with. Log out, then log in with that address (or create an account "
        "with it) to accept."
    )


def accept_invitation(invitation: OrganisationInvitation, user: User) -> Membership:
    """Join the invitation's organisation with its role, if ``user`` has confirmed the
    invited address. Someone who is a member already keeps their role; the invitation
    is used up either way."""
    refusal = invitation_refusal(invitation, user)
    if refusal is not None:
        raise WrongAccountError(refusal)
    locked = db.session.scalar(
        select(OrganisationInvitation)
        .where(OrganisationInvitation.id == invitation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    problem = invitation_problem(locked)
    if problem is not None or locked is None:
        raise InvalidTokenError(problem or TokenProblem.UNKNOWN)
    organisation = locked.organisation
    membership = db.session.scalar(
        select(Membership).where(
            Membership.organisation_id == organisation.id, Membership.user_id == user.id
        )
    )
    if membership is None:
        membership = Membership(user=user, organisation=organisation, role=locked.role)
        db.session.add(membership)
    locked.accepted_at = utcnow()
    locked.accepted_by_id = user.id
    db.session.flush()
    return membership


def _refuse_if_last_admin(membership: Membership, doing: str) -> None:
    organisation = membership.organisation
    _lock_organisation(organisation)
    db.session.refresh(membership)  # the role as it is now that changes are serialised
    if membership.role == OrganisationRole.ADMIN and organisation.admin_count() <= 1:
        raise LastAdminError(
            f"{organisation.name} needs at least one admin: make someone else an admin "
            f"before {doing}."
        )


def change_member_role(
    membership: Membership, role: OrganisationRole, actor: User | None = None
) -> None:
    if membership.role == role:
        return
    if role != OrganisationRole.ADMIN:
        _refuse_if_last_admin(membership, "changing this role")
    old = membership.role
    membership.role = role
    record_event(
        "organisation.role_changed",
        actor=actor,
        organisation=membership.organisation.name,
        member=membership.user.email,
        old=old.value,
        new=role.value,
    )
    db.session.flush()


def remove_member(membership: Membership, actor: User | None = None) -> None:
    _refuse_if_last_admin(membership, "removing this member")
    record_event(
        "organisation.member_removed",
        actor=actor,
        organisation=membership.organisation.name,
        member=membership.user.email,
    )
    _delete_membership(membership)


def leave_organisation(membership: Membership) -> None:
    _refuse_if_last_admin(membership, "leaving")
    _delete_membership(membership)


def _delete_membership(membership: Membership) -> None:
    """The person is no longer in the organisation, nor on the teams it is on: their open
    live-editing sockets are checked again once this commits, not at the next round."""
    user = membership.user
    db.session.delete(membership)
    db.session.flush()
    user_access_changed.send(user)
