from __future__ import annotations

import pytest
from flask import Flask

from tests.faults.helpers import production_like_app
from tests.smtp import MailCatcher


@pytest.fixture(scope="session")
def prod_app(database_url: str, mail_catcher: MailCatcher) -> Flask:
    """The app as production runs it: an exception in a view is a 500 page."""
    return production_like_app(database_url, mail_catcher)
