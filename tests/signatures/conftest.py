"""Fixtures shared by the signature tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask


@pytest.fixture
def storage(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Uploaded logos (and other stored files) go to a folder of this test's own."""
    monkeypatch.setitem(app.config, "SIGNON", app.config["SIGNON"].with_(storage_dir=str(tmp_path)))
    return tmp_path
