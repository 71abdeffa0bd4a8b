"""No query on a hot path scans a whole table (issue 11 item 5), on PostgreSQL.

The public page, its embed, the public API (the letter with its counts, a page of
signatories), a public sign-on, the coordinators' moderation page, their signatory list
(its page, CSV and JSON) and their dashboard (pages, a filtered page, its CSV: issue 11
item 5) are requested
against tables with enough rows, after ANALYZE, so that PostgreSQL's planner picks an
index wherever one fits; every statement
those requests send is then EXPLAINed with its own parameters, and a sequential scan of
one of the tables that grow with traffic fails the test. (On SQLite the test is skipped:
its planner has no statistics to go by; ``tests/core/test_lookup_indexes.py`` checks its
plans for the lookups that matter.)
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, insert, text

from signon.core import names, transaction
from signon.core.outbox import OutboxMessage
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.models import (
    Invitation,
    Moderation,
    PublicSignRequest,
    Signature,
    SignatureSource,
    SignatureStatus,
)
from tests.conftest import login
from tests.factories import make_user
from tests.signatures.factories import make_public_letter
from tests.signatures.test_public_views import form_data

pytestmark = pytest.mark.usefixtures("app_context")

#: Tables that grow with signatories and traffic: never scanned whole on a hot path.
GROWING = {"signatures", "invitations", "public_sign_requests", "outbox_messages"}
LETTERS = 25
PER_LETTER = 200


def _fill(letter: Letter, index: int) -> None:
    """Signatures, invitations, sign-on requests and outbox messages of one letter."""
    head = letter.head()
    assert head is not None
    now = utcnow()
    signatures, invitations, requests, messages = [], [], [], []
    for i in range(PER_LETTER):
        name = f"Organisation {index:02d}-{i:04d}"
        pending = i % 10 == 0
        signatures.append(
            {
                "letter_id": letter.id,
                "source": SignatureSource.PUBLIC if pending else SignatureSource.IMPORT,
                "status": SignatureStatus.APPROVED,
                "moderation": Moderation.PENDING if pending else Moderation.NOT_NEEDED,
                "name": name,
                "name_key": names.name_key(name),
                "country": "Kenya",
                "revision_id": head.id,
                "approved_sha256": head.content_sha256,
                "approved_at": now,
            }
        )
        email = f"org{index}-{i}@example.org"
        invitations.append(
            {
                "letter_id": letter.id,
                "organisation_name": name,
                "email": email,
                "link_nonce": secrets.token_hex(16),
                "token_hash": secrets.token_hex(32),
                "expires_at": now + timedelta(days=30),
            }
        )
        requests.append(
            {
                "letter_id": letter.id,
                "email": email,
                "token_hash": secrets.token_hex(32),
                "data": {},
                "revision_id": head.id,
                "expires_at": now + timedelta(days=2),
            }
        )
        messages.append(
            {
                "letter_id": letter.id,
                "recipient": email,
                "subject": "Old news",
                "text": "Sent long ago.",
                "html": "<p>Sent long ago.</p>",
                "sent_at": now - timedelta(days=30),
            }
        )
    for model, rows in (
        (Signature, signatures),
        (Invitation, invitations),
        (PublicSignRequest, requests),
        (OutboxMessage, messages),
    ):
        db.session.execute(insert(model), rows)


@contextmanager
def _recorded() -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            statements.append((statement, parameters))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _scans(node: dict[str, Any]) -> Iterator[str]:
    if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in GROWING:
        yield str(node["Relation Name"])
    for child in node.get("Plans", []):
        yield from _scans(child)


def _whole_table_scans(statement: str, parameters: Any) -> list[str]:
    connection = db.session.connection()
    plan = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar()
    document = plan if isinstance(plan, list) else json.loads(plan)
    return list(_scans(document[0]["Plan"]))


def test_hot_paths_scan_no_growing_table(client: FlaskClient) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("plans are checked on PostgreSQL (SIGNON_TEST_DATABASE_URL)")
    coordinator = make_user()
    letters = [make_public_letter(coordinator) for _ in range(LETTERS)]
    for index, letter in enumerate(letters):
        _fill(letter, index)
    transaction.commit()
    for table in sorted(GROWING):
        db.session.execute(text(f"ANALYZE {table}"))
    slug = letters[LETTERS // 2].slug
    letter = letters[LETTERS // 2]
    with _recorded() as statements:
        for path in (
            f"/p/{slug}",
            f"/p/{slug}?page=2",
            f"/p/{slug}/embed",
            f"/api/v1/letters/{slug}",
            f"/api/v1/letters/{slug}/signatories?page=2",
        ):
            assert client.get(path).status_code == 200, path
        response = client.post(f"/p/{slug}/sign", data=form_data(letter, email="new@example.net"))
        assert response.status_code == 302
        login(client, coordinator)
        assert client.get(f"/letters/{slug}/moderation").status_code == 200
        for page in ("export/signatories", "export/signatories.csv", "export/signatories.json"):
            response = client.get(f"/letters/{slug}/{page}")
            assert response.status_code == 200, page
            response.get_data()
        for page in (
            "signatories",
            "signatories?page=2",
            "signatories?state=approved_current&q=organisation&sort=activity",
            "signatories.csv",
            "signatories.csv?state=pending_moderation&sort=state",
        ):
            response = client.get(f"/letters/{slug}/{page}")
            assert response.status_code == 200, page
            response.get_data()  # the CSV's rows are read as it streams
    assert len(statements) >= 10
    scans = {
        statement: found
        for statement, parameters in statements
        if (found := _whole_table_scans(statement, parameters))
    }
    assert scans == {}, "\n\n".join(f"{found}: {sql}" for sql, found in scans.items())
