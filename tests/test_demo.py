"""`flask seed-demo` loads the real ICC statement, once, with history worth looking at."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from sqlalchemy import func, select

from signon.accounts.models import User
from signon.demo import COORDINATOR_EMAIL, DEMO_PASSWORD, DEMO_SLUG, DRAFTER_EMAIL
from signon.extensions import db
from signon.letters.models import Letter, Revision

pytestmark = pytest.mark.real_commits


def test_seed_demo_loads_the_statement_once(app: Flask, project_root) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert f"/letters/{DEMO_SLUG}/" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "already there" in second.output
    third = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "demo not loaded" in third.output

    bundle = json.loads((project_root / "signon/demo/icc-cooperation-statement.json").read_text())
    shared = project_root.parent / "shared/demo/icc-cooperation-statement.json"
    if shared.exists():
        assert json.loads(shared.read_text()) == bundle, "the bundled copy matches shared/demo"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Letter)) == 1
        letter = db.session.scalar(select(Letter).where(Letter.slug == DEMO_SLUG))
        assert letter.title == bundle["title"] and letter.addressee == bundle["addressee"]
        revisions = db.session.scalars(
            select(Revision).where(Revision.letter_id == letter.id).order_by(Revision.number)
        ).all()
        assert len(revisions) >= 3
        assert revisions[-1].body_markdown == bundle["body_markdown"]
        assert len({r.author_id for r in revisions}) == 2
        assert len(revisions[-1].body_markdown.strip().split("\n\n")) == 7
        for email in (COORDINATOR_EMAIL, DRAFTER_EMAIL):
            assert User.find_by_email(email) is not None


def test_demo_login_prints_the_credentials(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo-login"])
    assert COORDINATOR_EMAIL in result.output and DEMO_PASSWORD in result.output
