"""Factories for the PDF export tests: the demo statement with its eleven approvals, and
letters with many signatories in many scripts. Add and flush only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import select

from signon.accounts.models import User
from signon.core.permissions import TeamRole
from signon.db import utcnow
from signon.demo import load_bundle
from signon.exports.models import ExportSettings, Layout, PageSize
from signon.extensions import db
from signon.letters.models import Letter, Revision
from signon.signatures.approvals.operations import SignatoryDetails, approve
from signon.signatures.listing import set_list_arrangement, stored_arrangement
from signon.signatures.models import SignatoryKind, Signature, SignatureSource
from tests.factories import add_team_member, make_letter, make_organisation, make_user

#: Names in the scripts signatories use (Latin with diacritics, Cyrillic, Greek, Arabic,
#: Hebrew, CJK).
SCRIPT_SAMPLES = (
    "Asociación Pro Derechos Humanos de España — Ñandú",
    "Łódzkie Stowarzyszenie Praw Człowieka (Øresund, Ærø, Şişli, Đà Nẵng)",
    "Правозащитный центр «Мемориал»",
    "Ελληνική Ένωση για τα Δικαιώματα του Ανθρώπου",
    "مؤسسة الحق لحقوق الإنسان",
    "בצלם – מרכז המידע הישראלי לזכויות האדם בשטחים",
    "中国人权捍卫者",
    "日本の市民社会ネットワーク",
    "한국 인권 연대",
)


def sign(
    letter: Letter,
    names: Sequence[str],
    *,
    revision_number: int | None = None,
    kind: SignatoryKind = SignatoryKind.NGO,
    country: str | None = None,
    approved_at: datetime | None = None,
    **details: object,
) -> list[Signature]:
    """Approvals (as imports) of the head, or of revision ``revision_number``."""
    revision = letter.head()
    if revision_number is not None:
        revision = next(r for r in _revisions(letter) if r.number == revision_number)
    signatures = []
    for index, name in enumerate(names):
        signatures.append(
            approve(
                letter,
                revision,
                SignatoryDetails(name=name, kind=kind, country=country, **details),  # type: ignore[arg-type]
                email=None,
                source=SignatureSource.IMPORT,
                require_current=False,
                approved_at=(approved_at or utcnow()) + timedelta(seconds=index),
            )
        )
    return signatures


def sign_individuals(letter: Letter, names: Sequence[str]) -> list[Signature]:
    """Individuals printed “Name, Professor of Law, University of Nairobi (for
    identification only)”."""
    return sign(
        letter,
        names,
        kind=SignatoryKind.INDIVIDUAL,
        representative_title="Professor of Law",
        affiliation="University of Nairobi",
    )


def _revisions(letter: Letter) -> list[Revision]:
    return list(db.session.scalars(select(Revision).where(Revision.letter_id == letter.id)))


def demo_letter(coordinator: User | None = None) -> Letter:
    """The demo statement (its real text) with its eleven signatories' approvals, given in
    the original's order (the export must sort them)."""
    bundle = load_bundle()
    coordinator = coordinator or make_user()
    letter = make_letter(
        coordinator,
        title=bundle["title"],
        body=bundle["body_markdown"],
        addressee=bundle["addressee"],
        language=bundle["language"],
    )
    names = [s["name"] for s in bundle["signatories"]]
    # approve in reverse so that the database order is not the printed order
    sign(letter, list(reversed(names)))
    return letter


def many_names(count: int) -> list[str]:
    """``count`` distinct names, one in four in a non-Latin script."""
    names = []
    for index in range(count):
        sample = SCRIPT_SAMPLES[index % len(SCRIPT_SAMPLES)] if index % 4 == 0 else None
        names.append(f"{sample} {index}" if sample else f"Organisation Société {index:05d}")
    return names


def set_export_settings(
    letter: Letter,
    *,
    layout: Layout = Layout.LETTER,
    page_size: PageSize = PageSize.A4,
    audit_page: bool = True,
    **options: object,
) -> ExportSettings:
    settings = ExportSettings(
        letter_id=letter.id,
        layout=layout,
        page_size=page_size,
        audit_page=audit_page,
        options=dict(options),
    )
    db.session.add(settings)
    db.session.flush()
    return settings


def set_list_groups(
    letter: Letter,
    *,
    grouping: str = "none",
    first_tier: Sequence[int] = (),
    new_since: date | None = None,
    count_individuals: bool = False,
) -> None:
    """Group the letter's list (through the audited operation every output follows)."""
    arrangement = replace(
        stored_arrangement(letter),
        grouping=grouping,
        first_tier=frozenset(first_tier),
        new_since=new_since,
        count_individuals=count_individuals,
    )
    set_list_arrangement(letter, make_user(), arrangement)


def drafting_organisation(letter: Letter, name: str) -> None:
    add_team_member(
        letter, role=TeamRole.VIEWER, organisation=make_organisation(name), drafting=True
    )
