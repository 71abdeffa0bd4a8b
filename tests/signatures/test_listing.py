"""Who is listed under a revision (and who is left out, and why), with real signatures."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.audit.models import AuditEvent
from signon.core.permissions import TeamRole
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, Revision
from signon.signatures.approvals.operations import SignatoryDetails, approve, withdraw
from signon.signatures.collation import join_names
from signon.signatures.listing import (
    Arrangement,
    LeftOutCode,
    set_list_arrangement,
    set_list_order,
    signatory_list,
    stored_arrangement,
)
from signon.signatures.models import (
    Moderation,
    OrderMode,
    SignatoryKind,
    Signature,
    SignatureSource,
    SignatureStatus,
)
from tests.factories import add_revision, add_team_member, make_letter, make_organisation, make_user
from tests.querycount import count_queries

pytestmark = pytest.mark.usefixtures("app_context")


def sign(
    letter: Letter,
    revision: Revision,
    name: str,
    *,
    moderation: Moderation = Moderation.NOT_NEEDED,
    **details: object,
) -> Signature:
    """``name`` approves exactly ``revision`` (through the real operation)."""
    return approve(
        letter,
        revision,
        SignatoryDetails(name=name, authority_confirmed=True, **details),  # type: ignore[arg-type]
        email=f"contact-{abs(hash(name)) % 10**8}@example.org",
        source=SignatureSource.INVITATION
        if moderation == Moderation.NOT_NEEDED
        else SignatureSource.PUBLIC,
        moderation=moderation,
        require_current=False,
    )


def revise(letter: Letter, kind: ChangeKind | None, body: str) -> Revision:
    revision = add_revision(letter, None, body)
    revision.change_kind = kind
    db.session.flush()
    return revision


@dataclass
class History:
    letter: Letter
    revisions: dict[int, Revision]
    signatures: dict[str, Signature]


def build_history() -> History:
    """Revisions 1..5: 2 editorial, 3 substantive, 4 not classified, 5 editorial."""
    letter = make_letter(make_user(), body="One.\n")
    revisions = {1: letter.head()}
    for number, kind in ((2, ChangeKind.EDITORIAL), (3, ChangeKind.SUBSTANTIVE), (4, None)):
        revisions[number] = revise(letter, kind, f"Text {number}.\n")
    revisions[5] = revise(letter, ChangeKind.EDITORIAL, "Text 5.\n")
    signatures = {
        "Approved Five": sign(letter, revisions[5], "Approved Five"),
        "Approved Four": sign(letter, revisions[4], "Approved Four"),
        "Approved Three": sign(letter, revisions[3], "Approved Three"),
        "Approved Two": sign(letter, revisions[2], "Approved Two"),
        "Approved One": sign(letter, revisions[1], "Approved One"),
        "Pending": sign(letter, revisions[5], "Pending", moderation=Moderation.PENDING),
        "Rejected": sign(letter, revisions[5], "Rejected", moderation=Moderation.PENDING),
        "Withdrawn": sign(letter, revisions[5], "Withdrawn"),
    }
    signatures["Rejected"].moderation = Moderation.REJECTED
    withdraw(signatures["Withdrawn"], reason="changed our mind", email="w@example.org")
    declined = Signature(
        letter=letter,
        source=SignatureSource.INVITATION,
        status=SignatureStatus.DECLINED,
        name="Declined",
        name_key="declined:1",
        kind=SignatoryKind.NGO,
    )
    db.session.add(declined)
    db.session.flush()
    signatures["Declined"] = declined
    return History(letter, revisions, signatures)


def test_only_approvals_covering_the_head_are_listed_and_the_others_say_why() -> None:
    history = build_history()
    result = signatory_list(history.letter, history.revisions[5])
    assert sorted(s.name for s in result.signatures) == ["Approved Five", "Approved Four"]
    reasons = {item.signature.name: item.reason for item in result.left_out}
    assert reasons == {
        "Approved Three": "approved revision 3; revision 4 is not classified yet",
        "Approved Two": "approved revision 2; revision 3 changed the text substantively",
        "Approved One": "approved revision 1; revision 3 changed the text substantively",
        "Pending": "awaiting moderation",
        "Rejected": "rejected in moderation",
    }
    codes = {item.signature.name: item.code for item in result.left_out}
    assert codes["Approved Three"] == LeftOutCode.UNCLASSIFIED
    assert codes["Approved One"] == LeftOutCode.SUBSTANTIVE_CHANGE
    assert codes["Pending"] == LeftOutCode.AWAITING_MODERATION
    # withdrawn and declined are not approvals left out, but they are excluded, with a reason
    excluded = {item.signature.name: item.code for item in result.excluded}
    assert excluded["Withdrawn"] == LeftOutCode.WITHDRAWN
    assert excluded["Declined"] == LeftOutCode.DECLINED
    assert set(excluded) == set(reasons) | {"Withdrawn", "Declined"}
    # left out in alphabetical order, so that the page and the PDF agree
    assert [i.signature.name for i in result.left_out] == [
        "Approved One",
        "Approved Three",
        "Approved Two",
        "Pending",
        "Rejected",
    ]
    assert result.approved_numbers[history.signatures["Approved Four"].id] == 4


def test_an_older_revision_lists_who_approved_it_or_an_editorial_predecessor() -> None:
    history = build_history()
    result = signatory_list(history.letter, history.revisions[2])
    assert sorted(s.name for s in result.signatures) == ["Approved One", "Approved Two"]
    reasons = {item.signature.name: item.reason for item in result.left_out}
    assert reasons["Approved Five"] == "approved revision 5, a later text than revision 2"
    assert reasons["Approved Three"] == "approved revision 3, a later text than revision 2"


def test_several_unclassified_revisions_are_named() -> None:
    letter = make_letter(make_user(), body="One.\n")
    first = letter.head()
    signature = sign(letter, first, "Early Bird")
    revise(letter, None, "Two.\n")
    head = revise(letter, None, "Three.\n")
    result = signatory_list(letter, head)
    assert result.signatures == []
    assert result.left_out[0].signature is signature
    assert (
        result.left_out[0].reason == "approved revision 1; revisions 2 and 3 are not classified yet"
    )


def test_classifying_a_revision_editorial_brings_the_approval_back() -> None:
    letter = make_letter(make_user(), body="One.\n")
    sign(letter, letter.head(), "Early Bird")
    head = revise(letter, None, "One, corrected.\n")
    assert signatory_list(letter, head).signatures == []
    head.change_kind = ChangeKind.EDITORIAL
    db.session.flush()
    assert [s.name for s in signatory_list(letter, head).signatures] == ["Early Bird"]


def test_eligibility_takes_a_fixed_number_of_queries() -> None:
    letter = make_letter(make_user(), body="One.\n")
    head = letter.head()
    for i in range(3):
        sign(letter, head, f"Small {i}")
    db.session.expire_all()
    assert letter.language == "en" and head.number == 1  # loaded before counting
    with count_queries() as small:
        result = signatory_list(letter, head)
        numbers = [s.revision.number for s in result.signatures]
    big = make_letter(make_user(), body="One.\n")
    big_head = big.head()
    for i in range(40):
        sign(big, big_head, f"Big {i}")
    big_head = revise(big, None, "Two.\n")
    db.session.expire_all()
    assert big.language == "en" and big_head.number == 2
    with count_queries() as large:
        result = signatory_list(big, big_head)
        reasons = [item.reason for item in result.left_out]
        names = [item.signature.revision.number for item in result.left_out]
    assert numbers == [1, 1, 1] and names == [1] * 40 and len(set(reasons)) == 1
    assert large.count == small.count == 3, large.statements


def test_signatory_list_follows_the_export_settings_and_can_be_overridden() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, body="One.\n")
    head = letter.head()
    sign(letter, head, "Zeta Kenya", country="Kenya")
    sign(letter, head, "Alpha Nowhere")
    sign(letter, head, "Beta Austria", country="Austria")
    assert signatory_list(letter, head).names == ["Alpha Nowhere", "Beta Austria", "Zeta Kenya"]
    assert set_list_order(letter, coordinator, mode=OrderMode.COUNTRY)
    listing = signatory_list(letter, head)
    assert listing.mode == OrderMode.COUNTRY
    assert listing.names == ["Beta Austria", "Zeta Kenya", "Alpha Nowhere"]
    assert signatory_list(letter, head, mode=OrderMode.ALPHABETICAL).names[0] == "Alpha Nowhere"


def test_signatory_list_custom_order_from_the_settings() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, body="One.\n")
    head = letter.head()
    a, b, c = (sign(letter, head, name) for name in ("Alpha", "Beta", "Gamma"))
    set_list_order(letter, coordinator, mode=OrderMode.CUSTOM, custom_order=[c.id, 999999, a.id])
    db.session.flush()
    assert signatory_list(letter, head).names == ["Gamma", "Alpha", "Beta"]
    chosen = Arrangement(OrderMode.CUSTOM, (b.id,))
    assert signatory_list(letter, head, arrangement=chosen).names == ["Beta", "Alpha", "Gamma"]


def test_drafting_organisations_first_uses_the_team() -> None:
    letter = make_letter(make_user(), body="One.\n")
    head = letter.head()
    add_team_member(
        letter,
        role=TeamRole.COORDINATOR,
        organisation=make_organisation("Zeta Drafters"),
        drafting=True,
    )
    add_team_member(letter, role=TeamRole.VIEWER, organisation=make_organisation("Alpha Viewer"))
    for name in ("Alpha Viewer", "Beta", "Zeta Drafters"):
        sign(letter, head, name)
    listing = signatory_list(letter, head, mode=OrderMode.DRAFTERS_FIRST)
    assert listing.names == ["Zeta Drafters", "Alpha Viewer", "Beta"]


def test_the_demo_signatories_as_approved_in_the_database(project_root) -> None:
    import json

    bundle = json.loads((project_root / "signon/demo/icc-cooperation-statement.json").read_text())
    letter = make_letter(make_user(), body=bundle["body_markdown"], language=bundle["language"])
    head = letter.head()
    for entry in reversed(bundle["signatories"]):
        sign(letter, head, entry["name"])
    listing = signatory_list(letter, head)
    assert join_names(listing.names, letter.language) == (
        "Al-Haq; Amnesty International; FIDH (International Federation of Human Rights); "
        "Human Rights Watch; Institute for Security Studies; International Justice Project; "
        "Kenyans for Peace with Truth and Justice; the Moroccan Coalition for the ICC; "
        "the Nigerian Coalition for the ICC; No Peace Without Justice; and REDRESS"
    )


def test_an_approval_whose_fingerprint_does_not_match_is_left_out() -> None:
    letter = make_letter(make_user(), body="One.\n")
    head = letter.head()
    honest = sign(letter, head, "Honest")
    tampered = sign(letter, head, "Tampered")
    tampered.approved_sha256 = "0" * 64
    db.session.flush()
    result = signatory_list(letter, head)
    assert result.signatures == [honest]
    assert [(i.signature.name, i.code) for i in result.left_out] == [
        ("Tampered", LeftOutCode.HASH_MISMATCH)
    ]
    assert "does not match revision 1" in result.left_out[0].reason


def test_choosing_the_order_is_audited_and_keeps_only_the_letters_own_signatures() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, body="One.\n")
    head = letter.head()
    a, b = sign(letter, head, "Alpha"), sign(letter, head, "Beta")
    other = make_letter(make_user(), body="Other.\n")
    stranger = sign(other, other.head(), "Stranger")
    assert not set_list_order(letter, coordinator, mode=OrderMode.ALPHABETICAL)  # the default
    assert set_list_order(
        letter, coordinator, mode=OrderMode.CUSTOM, custom_order=[b.id, stranger.id, b.id, a.id]
    )
    assert stored_arrangement(letter) == Arrangement(OrderMode.CUSTOM, (b.id, a.id))
    assert not set_list_order(letter, coordinator, mode=OrderMode.CUSTOM, custom_order=[b.id, a.id])
    assert set_list_order(letter, coordinator, mode=OrderMode.KIND, custom_order=[a.id])
    assert stored_arrangement(letter) == Arrangement(OrderMode.KIND, ())
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "signatures.list_order_changed")
        .order_by(AuditEvent.seq)
    ).all()
    no_groups = {"grouping": "none", "first_tier": [], "count_individuals": False}
    assert [(e.letter_id, e.actor_id, e.details) for e in events] == [
        (letter.id, coordinator.id, {"order": "custom", "custom_order": [b.id, a.id], **no_groups}),
        (letter.id, coordinator.id, {"order": "kind", "custom_order": [], **no_groups}),
    ]


def test_choosing_the_groups_is_audited_keeps_the_order_and_only_the_letters_own_tier() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, body="One.\n")
    head = letter.head()
    a, b = sign(letter, head, "Alpha"), sign(letter, head, "Beta")
    other = make_letter(make_user(), body="Other.\n")
    stranger = sign(other, other.head(), "Stranger")
    set_list_order(letter, coordinator, mode=OrderMode.KIND)
    tiered = Arrangement(
        OrderMode.KIND,
        grouping="tier",
        first_tier=frozenset({b.id, stranger.id}),
        new_since=date(2026, 1, 2),
        count_individuals=True,
    )
    assert set_list_arrangement(letter, coordinator, tiered)
    assert stored_arrangement(letter) == replace(tiered, first_tier=frozenset({b.id}))
    assert not set_list_arrangement(letter, coordinator, tiered)
    # a new order keeps the groups; a grouping other than "tier" drops the first tier
    assert set_list_order(letter, coordinator, mode=OrderMode.ALPHABETICAL)
    assert stored_arrangement(letter).grouping == "tier"
    assert set_list_arrangement(letter, coordinator, replace(tiered, grouping="country"))
    assert stored_arrangement(letter).first_tier == frozenset()
    with pytest.raises(ValueError, match="grouping"):
        set_list_arrangement(letter, coordinator, replace(tiered, grouping="colour"))
    details = db.session.scalars(
        select(AuditEvent.details)
        .where(AuditEvent.action == "signatures.list_order_changed")
        .order_by(AuditEvent.seq)
    ).all()
    assert details[1] == {
        "order": "kind",
        "custom_order": [],
        "grouping": "tier",
        "first_tier": [b.id],
        "new_since": "2026-01-02",
        "count_individuals": True,
    }
    assert [d["grouping"] for d in details] == ["none", "tier", "tier", "country"]
    assert a.id not in details[1]["first_tier"]


def test_the_new_signatories_heading_dates_as_every_page_does(client: FlaskClient) -> None:
    """The public page (and the CSV, JSON and API, which take the same heading) says
    "New signatories since 2 January 2026", the app's one date format, not "2026-01-02"."""
    coordinator = make_user()
    letter = make_letter(coordinator, body="One.\n", is_public=True)
    sign(letter, letter.head(), "Alpha")
    since = Arrangement(OrderMode.ALPHABETICAL, new_since=date(2026, 1, 2))
    assert set_list_arrangement(letter, coordinator, since)
    (entry,) = signatory_list(letter).entries
    assert entry.group == "New signatories since 2 January 2026"
    page = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert "New signatories since 2 January 2026" in page
    assert "2026-01-02" not in page
