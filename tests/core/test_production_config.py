"""Issue 11, item 1: production refuses to start on unsafe settings, with a clear message.

Outside development (``SIGNON_ENV`` unset or anything but ``development``) the app needs a
strong ``SIGNON_SECRET_KEY`` (never the key generated into ``instance/``) and its canonical
host (``SIGNON_BASE_URL``); development keeps its zero-setup defaults.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import signon.config
from signon import create_app
from signon.config import (
    MIN_SECRET_KEY_LENGTH,
    PROJECT_ROOT,
    ConfigurationError,
    Settings,
    production_secret_key,
)
from signon.extensions import limiter
from tests.redis_urls import redis_db

STRONG_KEY = secrets.token_hex(32)


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A clean production environment; ``instance/`` is a temporary folder.

    The apps built here switch the (global) limiter on: it is switched back afterwards.
    """
    for name in list(os.environ):
        if name.startswith("SIGNON_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(signon.config, "INSTANCE_DIR", tmp_path / "instance")
    monkeypatch.setenv("SIGNON_BASE_URL", "https://signon.example.org")
    monkeypatch.setenv("SIGNON_DATABASE_URL", "sqlite://")
    was_enabled = limiter.enabled
    yield monkeypatch
    limiter.enabled = was_enabled


def test_production_without_a_secret_key_does_not_start(
    production_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match="SIGNON_SECRET_KEY is not set") as refused:
        Settings.from_env()
    assert "secrets.token_hex(32)" in str(refused.value)
    # ... and it did not quietly generate one either.
    assert not (tmp_path / "instance" / "secret_key").exists()


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("   ", "is not set"),
        ("test-secret-key", "well-known example value"),
        ("Change-Me", "well-known example value"),
        ("secret", "well-known example value"),
        (STRONG_KEY[: MIN_SECRET_KEY_LENGTH - 1], "too short"),
        ("smoke-1733326000123456789", "too short"),
        ("ab" * 40, "not random"),
        ("0" * 64, "not random"),
    ],
)
def test_weak_secret_keys_are_refused_in_production(
    production_env: pytest.MonkeyPatch, key: str, problem: str
) -> None:
    production_env.setenv("SIGNON_SECRET_KEY", key)
    with pytest.raises(ConfigurationError, match=problem):
        Settings.from_env()


def test_a_strong_key_is_taken_as_given(production_env: pytest.MonkeyPatch) -> None:
    production_env.setenv("SIGNON_SECRET_KEY", f"  {STRONG_KEY}\n")
    settings = Settings.from_env()
    assert settings.secret_key == STRONG_KEY
    assert create_app(settings).config["SECRET_KEY"] == STRONG_KEY
    assert production_secret_key(STRONG_KEY) == STRONG_KEY


def test_any_other_environment_name_counts_as_production(
    production_env: pytest.MonkeyPatch,
) -> None:
    production_env.setenv("SIGNON_ENV", "staging")
    with pytest.raises(ConfigurationError, match="SIGNON_SECRET_KEY is not set"):
        Settings.from_env()


def test_development_keeps_its_generated_key(
    production_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    production_env.setenv("SIGNON_ENV", "development")
    production_env.delenv("SIGNON_BASE_URL")
    first = Settings.from_env()
    assert len(first.secret_key) == 64
    assert (tmp_path / "instance" / "secret_key").read_text() == first.secret_key
    assert Settings.from_env().secret_key == first.secret_key
    # A short key is the developer's business.
    production_env.setenv("SIGNON_SECRET_KEY", "dev")
    assert Settings.from_env().secret_key == "dev"


def test_production_without_its_canonical_host_does_not_start(
    production_env: pytest.MonkeyPatch,
) -> None:
    production_env.setenv("SIGNON_SECRET_KEY", STRONG_KEY)
    production_env.delenv("SIGNON_BASE_URL")
    with pytest.raises(ConfigurationError, match="SIGNON_BASE_URL is not set"):
        create_app(Settings.from_env())


def test_memory_rate_limits_in_production_are_warned_about(
    production_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    production_env.setenv("SIGNON_SECRET_KEY", STRONG_KEY)
    with caplog.at_level(logging.WARNING, logger="signon"):
        create_app(Settings.from_env())
    assert "rate limits are counted per process" in caplog.text
    caplog.clear()
    production_env.setenv("SIGNON_RATELIMIT_STORAGE_URL", redis_db(2))
    with caplog.at_level(logging.WARNING, logger="signon"):
        settings = Settings.from_env()
        create_app(settings)
    assert not settings.rate_limits_per_process
    assert "rate limits are counted per process" not in caplog.text


def _flask_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIGNON_")}
    flask = str(Path(sys.executable).parent / "flask")
    return subprocess.run(
        [flask, "--app", "signon", *args],
        env={**clean, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_real_command_line_refuses_and_says_why(tmp_path: Path) -> None:
    """A real process, as an operator would start it: it stops with the message, no traceback
    to dig through for the cause."""
    base = {"SIGNON_BASE_URL": "https://signon.example.org", "SIGNON_DATABASE_URL": "sqlite://"}
    refused = _flask_command(base, "routes")
    assert refused.returncode != 0
    assert "SIGNON_SECRET_KEY is not set" in refused.stderr
    accepted = _flask_command({**base, "SIGNON_SECRET_KEY": STRONG_KEY}, "routes")
    assert accepted.returncode == 0, accepted.stderr
    assert "/login" in accepted.stdout
