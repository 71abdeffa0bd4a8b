"""Two-step login, the pure parts: TOTP secrets and codes (RFC 6238), QR codes, recovery codes.

Nothing here touches the database or the request; the operations that change state
live in :mod:`signon.accounts.operations`.

Codes are the common authenticator-app kind: 6 digits, a new one every 30 seconds,
HMAC-SHA-1 (what every app understands). A code is accepted for the time step it
belongs to and one step either side (``valid_window=1``: clocks drift); the caller
remembers the step of the last code accepted, so that no code is accepted twice.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time

import pyotp
import segno

from signon.core.tokens import hash_token

ISSUER = "Signon"
DIGITS = 6
INTERVAL = 30
#: How many time steps either side of now a code may belong to.
VALID_WINDOW = 1
#: How many recovery codes a person gets at a time.
RECOVERY_CODE_COUNT = 10
#: Lower-case base32 (no 0, 1, 8 or 9, so nothing to confuse with o, l or b).
RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
#: Characters in a recovery code (5 bits each: 50 bits of entropy), shown as xxxxx-xxxxx.
RECOVERY_CODE_LENGTH = 10

_SEPARATORS = re.compile(r"[\s\-]+")
_TOTP_CODE = re.compile(rf"^[0-9]{{{DIGITS}}}$")
_RECOVERY_CODE = re.compile(rf"^[{RECOVERY_ALPHABET}]{{{RECOVERY_CODE_LENGTH}}}$")


def new_secret() -> str:
    """A fresh random secret: 32 base32 characters, 160 bits (RFC 4226's recommendation)."""
    return pyotp.random_base32(length=32)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL, issuer=ISSUER)


def provisioning_uri(secret: str, email: str) -> str:
    """The ``otpauth://totp/Signon:<email>?secret=...&issuer=Signon`` URI the QR code holds."""
    return _totp(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_code_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as an SVG ``data:`` URI, for an ``<img src>`` (CSP: img-src data:)."""
    qr = segno.make(uri, error="m", micro=False)
    return str(qr.svg_data_uri(scale=4, border=4, dark="#000", light="#fff"))


def grouped(secret: str) -> str:
    """The secret in groups of four ("ABCD EFGH ..."), for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def time_step(for_time: float | None = None) -> int:
    """The time step (Unix time // 30) that ``for_time`` (default: now) falls in."""
    return int((time.time() if for_time is None else for_time) // INTERVAL)


def code_at(secret: str, step: int) -> str:
    """The code of time step ``step`` (for tests and the e2e journey as much as for checks)."""
    return _totp(secret).at(step * INTERVAL)


def normalise_code(code: str | None) -> str:
    """What was typed, without spaces or hyphens and lower-cased ("123 456", "ABCDE-FGHIJ")."""
    return _SEPARATORS.sub("", code or "").lower()


def looks_like_totp_code(code: str) -> bool:
    return bool(_TOTP_CODE.match(normalise_code(code)))


def looks_like_recovery_code(code: str) -> bool:
    return bool(_RECOVERY_CODE.match(normalise_code(code)))


def matching_step(secret: str, code: str, for_time: float | None = None) -> int | None:
    """The time step within the window whose code is ``code`` (the latest if several), or
    ``None``. Compared in constant time."""
    code = normalise_code(code)
    if not _TOTP_CODE.match(code):
        return None
    now = time_step(for_time)
    for step in range(now + VALID_WINDOW, now - VALID_WINDOW - 1, -1):
        if hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def new_recovery_code() -> str:
    """A random recovery code, ``xxxxx-xxxxx`` (50 bits)."""
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    half = RECOVERY_CODE_LENGTH // 2
    return f"{raw[:half]}-{raw[half:]}"


def hash_recovery_code(code: str) -> str:
    """SHA-256 of the normalised code: "ABCDE FGHIJ" and "abcde-fghij" are one code."""
    return hash_token(normalise_code(code))
