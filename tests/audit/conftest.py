"""Audit tests run on an app that has the audit blueprint (see audit_app.py)."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.audit.audit_app import build_app
from tests.smtp import MailCatcher


@pytest.fixture(scope="session")
def app(database_url: str, mail_catcher: MailCatcher) -> Flask:
    return build_app(database_url, mail_catcher)
