"""A large bundle goes through the bulk path (``core.bulk.add_numbered`` above
``RESERVE_FROM`` rows: one INSERT for every row, outside the unit of work) and must
come out exactly as the same bundle imported row by row through the session: the same
content, the same stored sort keys and skeletons, an intact audit chain, and a number
of SQL statements that does not grow with the signatories.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select

from signon.audit.verify import verify_letter
from signon.core import bulk
from signon.exports.bundles.operations import content_of, export_letter, import_letter
from signon.extensions import db
from signon.letters.models import Letter, Revision
from signon.signatures.models import Signature, SignatureEvent
from tests.factories import make_user
from tests.querycount import count_queries

TITLE = "On cooperation"
BODY = "We call on every state to act.\n"
COUNTRIES = ("Chile", None, "Côte d'Ivoire", "Japan")


def _signatory(index: int, sha256: str) -> dict[str, Any]:
    """Every other one "from a list" (approves on import), the others restored with a
    history whose entries alternate with and without a revision; optional fields
    present on some and absent (None) on others, so the rows differ in their NULLs."""
    item: dict[str, Any] = {
        "name": f"Organisation {index:04d}",
        "kind": ("ngo", "network", "union")[index % 3],
        "country": COUNTRIES[index % len(COUNTRIES)],
        "email": f"contact@org{index}.example.org" if index % 5 else None,
        "website": f"https://org{index}.example.org" if index % 3 else None,
        "authority_confirmed": bool(index % 2),
    }
    if index % 7 == 0:
        item["sort_name"] = f"Sorted {index:04d}, the"
    if index % 2:
        if index % 3 == 1:
            item["source"] = "invitation"
            item["domain_verified"] = True
            item["last_activity_at"] = "2026-03-01T12:00:00Z"
        return item
    item.update(
        status="declined" if index % 10 == 0 else "approved",
        source="invitation",
        approved_revision={"number": 1, "sha256": sha256},
        approved_at="2026-02-01T12:00:00Z",
        events=[
            {"action": "opened", "created_at": "2026-01-30T12:00:00Z"},
            {
                "action": "approved",
                "revision_number": 1,
                "details": {"sha256": sha256},
                "created_at": "2026-02-01T12:00:00Z",
            },
        ],
    )
    return item


def _bundle(size: int) -> dict[str, Any]:
    sha256 = Revision.hash_content(TITLE, BODY)
    return {
        "format": "signon-letter-bundle",
        "format_version": 1,
        "slug": "bulk",
        "title": TITLE,
        "language": "fr",
        "status": "open",
        "revisions": [{"number": 1, "title": TITLE, "body_markdown": BODY, "sha256": sha256}],
        "signatories": [_signatory(i, sha256) for i in range(size)],
    }


def _timeless(value: Any) -> Any:
    """``value`` without the times the import takes from the clock (``*_at``) nor the slug."""
    if isinstance(value, dict):
        return {
            k: None if k.endswith("_at") or k == "slug" else _timeless(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_timeless(item) for item in value]
    return value


def _stored(letter: Letter) -> list[tuple[Any, ...]]:
    """What each signature stores beyond the bundle's content: its keys and history."""
    rows = db.session.scalars(
        select(Signature).where(Signature.letter_id == letter.id).order_by(Signature.id)
    ).all()
    return [
        (
            s.name,
            s.name_key,
            s.name_skeleton,
            s.name_order,
            s.country_order,
            s.country_place,
            s.source,
            s.domain_verified,
            [(e.action, e.revision_id is not None, e.details) for e in s.events],
        )
        for s in rows
    ]


@pytest.mark.usefixtures("app_context")
def test_a_large_import_equals_the_same_import_row_by_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner = make_user()
    size = 4 * bulk.RESERVE_FROM  # each half (approved on import, restored) is above it
    in_bulk = import_letter(copy.deepcopy(_bundle(size)), owner).letter
    with monkeypatch.context() as patch:
        patch.setattr(bulk, "RESERVE_FROM", 10 * size)  # everything through the session
        one_by_one = import_letter(copy.deepcopy(_bundle(size)), owner).letter
    db.session.expire_all()
    assert _timeless(content_of(export_letter(in_bulk))) == _timeless(
        content_of(export_letter(one_by_one))
    )
    assert _stored(in_bulk) == _stored(one_by_one)
    assert len(_stored(in_bulk)) == size
    events = db.session.scalars(
        select(SignatureEvent).join(Signature).where(Signature.letter_id == in_bulk.id)
    ).all()
    assert len(events) == size // 2 + size // 2 * 2  # one per approval, two per restored
    for letter in (in_bulk, one_by_one):
        report = verify_letter(letter.id)
        assert report.intact and not report.findings, report


@pytest.mark.usefixtures("app_context")
def test_the_statements_of_an_import_do_not_grow_with_its_signatories() -> None:
    owner = make_user()
    counts = []
    for size in (2 * bulk.RESERVE_FROM, 8 * bulk.RESERVE_FROM):
        with count_queries() as counter:
            import_letter(_bundle(size), owner)
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


@pytest.mark.usefixtures("app_context")
def test_a_bulk_batch_must_set_the_same_attributes_on_every_row() -> None:
    rows = [SignatureEvent(signature_id=1, action="x") for _ in range(bulk.RESERVE_FROM)]
    rows[-1].email = "one@example.org"  # would be NULL on the others, not their default
    with pytest.raises(ValueError, match="same attributes"):
        bulk.add_numbered(rows)
    assert db.session.scalar(select(SignatureEvent.id).limit(1)) is None  # nothing written
