"""Passwords: length, the shipped list of common passwords, personal data, Argon2id and
transparent rehashing of older hashes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher, Type
from argon2.profiles import RFC_9106_LOW_MEMORY
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from signon.accounts.models import TokenPurpose, User, UserToken
from signon.core.passwords import (
    COMMON_PASSWORDS_FILE,
    MIN_PASSWORD_LENGTH,
    common_passwords,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from signon.extensions import db
from tests.conftest import login
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.usefixtures("app_context")

COMMON_MESSAGE = "one of the most common"
PERSONAL_MESSAGE = "must not contain your name or your email"


def _long_common() -> str:
    """A password from the shipped list that is long enough to pass the length rule."""
    return next(p for p in sorted(common_passwords()) if len(p) >= MIN_PASSWORD_LENGTH)


def _page(response: TestResponse) -> str:
    return response.get_data(as_text=True)


# --- The list --------------------------------------------------------------------------------


def test_the_shipped_list_is_a_real_list_of_common_passwords() -> None:
    lines = [
        line.strip()
        for line in COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("# ")
    ]
    assert len(lines) >= 10_000
    assert len(set(lines)) == len(lines), "no duplicates"
    assert lines[:3] == ["123456", "password", "12345678"], "most common first"
    for well_known in ("qwerty", "iloveyou", "monkey", "letmein", "trustno1", "dragon"):
        assert well_known in common_passwords()
    assert "source" in COMMON_PASSWORDS_FILE.read_text(encoding="utf-8")[:400].lower()


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "Password123!",
        "PASSWORD2024!!",
        "iloveyou2025",
        "qwerty123456",
        "!!letmein!!!",
        "dragon1234567",
    ],
)
def test_common_passwords_with_digits_or_symbols_around_are_refused(password: str) -> None:
    problem = password_problem(password)
    assert problem is not None and COMMON_MESSAGE in problem


def test_a_long_listed_password_is_refused_as_is() -> None:
    common = _long_common()
    assert password_problem(common) is not None
    assert password_problem(common.upper()) is not None


@pytest.mark.parametrize("password", ["aaaaaaaaaaaaaa", "abababababab", "111122221111"])
def test_too_few_different_characters(password: str) -> None:
    problem = password_problem(password)
    assert problem is not None and "too few different characters" in problem


@pytest.mark.parametrize(
    "password",
    [
        "123456789012",
        "098765432109",
        "qwertyuiopasdf",
        "ZYXWVUTSRQPO",
        "2wsx3edc4rfv5tgb",
        "!abcdefghijkl!",
    ],
)
def test_runs_of_keys_are_refused(password: str) -> None:
    problem = password_problem(password)
    assert problem is not None and "run of keys" in problem


@pytest.mark.parametrize(
    ("password", "email", "name"),
    [
        ("amira.haddad is me", "amira.haddad@example.org", "Someone Else"),
        ("ilovehaddad-2025", "amira.haddad@example.org", "Someone Else"),
        ("Zanele Mokoena rocks", "z@example.org", "Zanele Mokoena"),
        ("zanelemokoena!!", "z@example.org", "Zanele Mokoena"),
        ("my name is MOKOENA", "z@example.org", "Zanele Mokoena"),
    ],
)
def test_personal_data_in_the_password_is_refused(password: str, email: str, name: str) -> None:
    problem = password_problem(password, email, name)
    assert problem is not None and PERSONAL_MESSAGE in problem


@pytest.mark.parametrize(
    "password",
    [DEFAULT_PASSWORD, "a long enough password", "Tide-Lantern-Oboe-47", "x7#Kq!2mZ9$w"],
)
def test_good_passwords_pass(password: str) -> None:
    assert password_problem(password, "amira.haddad@example.org", "Amira Haddad") is None


def test_short_names_are_not_looked_for() -> None:
    """A two-letter name would refuse half of all passwords."""
    assert password_problem("a long enough password", "al@example.org", "Al") is None


# --- Through the forms -----------------------------------------------------------------------


def _register(client: FlaskClient, password: str, **overrides: str) -> TestResponse:
    data = {
        "email": "amira.haddad@example.org",
        "display_name": "Amira Haddad",
        "password": password,
        "password_confirm": password,
    }
    data.update(overrides)
    return client.post("/register", data=data)


def test_registration_refuses_common_and_personal_passwords(client: FlaskClient) -> None:
    for password, message in (
        ("short", f"at least {MIN_PASSWORD_LENGTH} characters"),
        ("Password123!", COMMON_MESSAGE),
        (_long_common(), COMMON_MESSAGE),
        ("amira.haddad-2025", PERSONAL_MESSAGE),
        ("haddad family home", PERSONAL_MESSAGE),
    ):
        response = _register(client, password)
        assert response.status_code == 200, password
        assert message in _page(response), password
        assert User.find_by_email("amira.haddad@example.org") is None
    response = _register(client, DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert User.find_by_email("amira.haddad@example.org") is not None


def test_password_change_refuses_common_personal_and_unchanged(client: FlaskClient) -> None:
    user = make_user("zanele@example.org", name="Zanele Mokoena")
    login(client, user)
    old_hash = user.password_hash
    for password, message in (
        ("Password123!", COMMON_MESSAGE),
        ("zanele at work 1", PERSONAL_MESSAGE),
        (DEFAULT_PASSWORD, "different from your current one"),
    ):
        response = client.post(
            "/account/password",
            data={
                "current_password": DEFAULT_PASSWORD,
                "password": password,
                "password_confirm": password,
            },
        )
        assert response.status_code == 200, password
        assert message in _page(response), password
    db.session.refresh(user)
    assert user.password_hash == old_hash


def test_password_reset_refuses_a_password_with_the_name(client: FlaskClient) -> None:
    user = make_user("zanele@example.org", name="Zanele Mokoena")
    _token, raw = UserToken.issue(user, TokenPurpose.RESET_PASSWORD, timedelta(hours=1))
    db.session.flush()
    response = client.post(
        f"/reset-password/{raw}",
        data={"password": "Mokoena forever", "password_confirm": "Mokoena forever"},
    )
    assert response.status_code == 200
    assert PERSONAL_MESSAGE in _page(response)
    response = client.post(
        f"/reset-password/{raw}",
        data={"password": "iloveyou2025", "password_confirm": "iloveyou2025"},
    )
    assert COMMON_MESSAGE in _page(response)
    assert verify_password(user.password_hash, DEFAULT_PASSWORD)


# --- Hashing ---------------------------------------------------------------------------------


def test_hashes_are_argon2id_with_current_parameters() -> None:
    hashed = hash_password(DEFAULT_PASSWORD)
    params = RFC_9106_LOW_MEMORY
    assert hashed.startswith("$argon2id$v=19$")
    assert f"m={params.memory_cost},t={params.time_cost},p={params.parallelism}" in hashed
    assert verify_password(hashed, DEFAULT_PASSWORD)
    assert not verify_password(hashed, DEFAULT_PASSWORD + "x")
    assert not needs_rehash(hashed)


WEAKER_HASHERS = [
    PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID),
    PasswordHasher(time_cost=2, memory_cost=102400, parallelism=8, type=Type.I),
    PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=Type.D),
]


@pytest.mark.parametrize("hasher", WEAKER_HASHERS, ids=["weak-id", "argon2i", "argon2d"])
def test_an_older_hash_is_upgraded_at_login(client: FlaskClient, hasher: PasswordHasher) -> None:
    user = make_user()
    user.password_hash = hasher.hash(DEFAULT_PASSWORD)
    db.session.flush()
    old_hash = user.password_hash
    assert needs_rehash(old_hash)
    response = client.post("/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.password_hash != old_hash
    assert user.password_hash.startswith("$argon2id$")
    assert not needs_rehash(user.password_hash)
    assert verify_password(user.password_hash, DEFAULT_PASSWORD)


def test_a_failed_login_leaves_an_older_hash_alone(client: FlaskClient) -> None:
    user = make_user()
    user.password_hash = WEAKER_HASHERS[0].hash(DEFAULT_PASSWORD)
    db.session.flush()
    old_hash = user.password_hash
    client.post("/login", data={"email": user.email, "password": "not the password at all"})
    db.session.refresh(user)
    assert user.password_hash == old_hash


def test_a_garbage_hash_fails_closed() -> None:
    assert not verify_password("not-a-hash", DEFAULT_PASSWORD)
    assert not verify_password(None, DEFAULT_PASSWORD)
    assert needs_rehash("not-a-hash")
