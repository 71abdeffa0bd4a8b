"""Passwords: hashed with Argon2id (argon2-cffi), rehashed transparently when the
parameters change, and checked against a list of common passwords shipped with Signon."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
#: Parts of a name or address shorter than this are not looked for in a password.
_MIN_PERSONAL_PART = 3
#: Fewer different characters than this ("aaaaaaaaaaaa", "abababababab") is too easy to guess.
_MIN_DISTINCT_CHARACTERS = 5

COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "accounts" / "passwords_common.txt"

_hasher = PasswordHasher(type=Type.ID)

#: Verifying against this keeps the time of a login for an unknown e-mail the same
#: as for a known one, so timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("signon-dummy-password")

_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")

#: Runs along these (forwards or backwards, wrapping round) are refused: "123456789012",
#: "qwertyuiopasdf", "zyxwvutsrqpo".
_SEQUENCES = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)


def _is_sequence(text: str) -> bool:
    for sequence in _SEQUENCES:
        looped = sequence * (len(text) // len(sequence) + 2)
        if text in looped or text[::-1] in looped:
            return True
    return False


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True for hashes made with other parameters or another Argon2 variant (i, d)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased (read once per process)."""
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as lines:
        return frozenset(
            line.strip().lower() for line in lines if line.strip() and not line.startswith("# ")
        )


def _personal_parts(email: str | None, display_name: str | None) -> list[str]:
    parts: list[str] = []
    if email:
        local = email.strip().lower().partition("@")[0]
        parts.append(local)
        parts.extend(re.split(r"[._+\-]+", local))
    if display_name:
        name = display_name.strip().lower()
        parts.append(name)
        parts.append("".join(name.split()))
        parts.extend(name.split())
    return [part for part in parts if len(part) >= _MIN_PERSONAL_PART]


def password_problem(
    password: str, email: str | None = None, display_name: str | None = None
) -> str | None:
    """Why ``password`` is not good enough, in words for its owner; ``None`` when it is.

    Refused: shorter than the minimum; a common password (also with digits or symbols
    added before or after it, "Password123!"); very few different characters; anything
    containing the e-mail's local part or the person's name (or a part of either).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    common = common_passwords()
    core = _EDGES.sub("", lowered)
    if lowered in common or lowered.strip() in common or (core and core in common):
        return (
            "This password is one of the most common ones, which attackers try first. "
            "Choose another: a few unrelated words make a strong one."
        )
    if _is_sequence(lowered) or (len(core) >= 6 and _is_sequence(core)):
        return "This password is a run of keys or characters in a row. Choose another."
    if len(set(lowered)) < _MIN_DISTINCT_CHARACTERS:
        return "This password repeats too few different characters. Choose another."
    for part in _personal_parts(email, display_name):
        if part in lowered:
            return "Your password must not contain your name or your email address."
    return None
