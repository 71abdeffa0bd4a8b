"""Chains written by the demo, by a bundle import and before the upgrade all verify.

- ``seed-demo`` and ``import-letter`` record every revision and signature they create,
  so ``verify-audit`` reports them intact.
- A database from before the audit covered revisions and signatures: its old events
  (hash format 1) still verify; its unrecorded revisions and signatures are reported
  until ``audit-baseline`` records them once; a text that no longer matches its hash is
  never vouched for.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from signon.audit.operations import record_event
from signon.audit.verify import verify_letter
from signon.core.transaction import commit
from signon.exports.bundles.operations import export_letter, import_letter
from signon.extensions import db
from signon.letters.models import Letter, Revision
from tests.exports.test_bundles import build_rich_letter
from tests.factories import make_user
from tests.signatures.factories import make_signature

pytestmark = pytest.mark.real_commits

DEMO_BUNDLE = Path(__file__).parents[2] / "signon/demo/icc-cooperation-statement.json"


def test_verify_audit_after_seed_demo(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    result = runner.invoke(args=["verify-audit"])
    assert result.exit_code == 0, result.output
    assert "All audit chains are intact, and the letters match them." in result.output


def test_verify_audit_after_a_bundle_import(app: Flask) -> None:
    with app.app_context():
        make_user("owner@example.org")
        commit()
    runner = app.test_cli_runner()
    imported = runner.invoke(
        args=["import-letter", str(DEMO_BUNDLE), "--owner", "owner@example.org"]
    )
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(args=["verify-audit", imported.output.strip().splitlines()[-1]])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_a_round_trip_of_every_signature_shape_verifies(app: Flask) -> None:
    """Approved, withdrawn, declined, pending and older approvals, restored from a bundle."""
    with app.app_context():
        letter = build_rich_letter()
        owner = make_user()
        copy_of = import_letter(copy.deepcopy(export_letter(letter)), owner).letter
        report = verify_letter(copy_of.id)
        assert report.intact, (report.problem, report.findings)
        commit()


def _legacy_letter(slug: str) -> None:
    """A letter as the app left it before this change: rows, and a version-1 event."""
    user = make_user()
    letter = Letter(slug=slug, title="Old letter", created_by=user)
    db.session.add(letter)
    db.session.flush()
    body = "Old text.\n"
    db.session.add(
        Revision(
            letter=letter,
            number=1,
            author=user,
            title="Old letter",
            body_markdown=body,
            content_sha256=Revision.hash_content("Old letter", body),
        )
    )
    db.session.flush()
    make_signature(letter, "Old NGO")
    event = record_event("letter.created", letter_id=letter.id, actor=user, slug=slug)
    event.hash_version = 1
    event.hash = event.compute_hash()
    db.session.flush()


def test_audit_baseline_records_what_older_chains_lack_once(app: Flask) -> None:
    with app.app_context():
        _legacy_letter("old-letter")
        _legacy_letter("old-forged")
        db.session.execute(
            update(Revision)
            .where(
                Revision.letter_id
                == select(Letter.id).where(Letter.slug == "old-forged").scalar_subquery()
            )
            .values(body_markdown="Forged.\n")
        )
        commit()
    runner = app.test_cli_runner()
    before = runner.invoke(args=["verify-audit", "old-letter"])
    assert before.exit_code == 1
    assert "revision 1: no audit event records its SHA-256" in before.output
    assert "“Old NGO”: no audit event of this letter records it" in before.output
    assert "BROKEN" not in before.output  # the version-1 event itself verifies

    baseline = runner.invoke(args=["audit-baseline"])
    assert baseline.exit_code == 1  # the forged text was refused
    assert "old-letter: recorded revisions [1], 1 signature(s)" in baseline.output
    assert "old-forged: revision 1 NOT recorded: its text does not match" in baseline.output

    assert runner.invoke(args=["verify-audit", "old-letter"]).exit_code == 0
    forged = runner.invoke(args=["verify-audit", "old-forged"])
    assert forged.exit_code == 1
    assert "revision 1: its text does not match its stored SHA-256" in forged.output
    again = runner.invoke(args=["audit-baseline"])
    assert "old-letter" not in again.output  # nothing left to record there
