"""Every output lists the same signatories, in the same order, with the same count.

Hypothesis builds random histories through the real operations: invitations approved
(of the current text or an earlier one) and declined, withdrawals, editorial,
substantive and unclassified revisions, public sign-ons accepted, rejected or merged,
imports, and the coordinators' reorderings. A small model of the rules, written here
independently of :mod:`signon.signatures.listing`, says who must be listed; then the
public page (and its counter), the embed, the API (every page), the CSV and JSON
lists, the export pages, the dashboard's count and (on some examples) the PDF, read
back with pypdf, must all show exactly that list in
:func:`~signon.signatures.listing.signatory_list`'s order.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import cast

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signon.accounts.models import User
from signon.core import transaction
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, Revision
from signon.signatures.approvals import operations
from signon.signatures.invitations.links import assign_new_link
from signon.signatures.listing import (
    GROUPINGS,
    Arrangement,
    Entry,
    GroupKind,
    PrintedEntry,
    SignatoryList,
    listed,
    set_list_arrangement,
    set_list_order,
    signatory_list,
    stored_arrangement,
)
from signon.signatures.models import (
    Invitation,
    Moderation,
    OrderMode,
    SignatoryKind,
    Signature,
    SignatureSource,
    SignatureStatus,
)
from signon.signatures.public_signon import operations as public_operations
from tests.conftest import RequestIsolatingClient, login
from tests.factories import add_revision, make_letter, make_user
from tests.signatures import listing_outputs as outputs

pytestmark = pytest.mark.usefixtures("app_context")

WORDS = ("Alpha", "the Beta", "Gamma", "Delta", "Échelle", "Zeta", "Omega", "Kappa")
COUNTRIES = (None, "Kenya", "Austria", "Égypte", "Egypt", "Chile")
KINDS = (SignatoryKind.NGO, SignatoryKind.NETWORK, SignatoryKind.UNION, SignatoryKind.INDIVIDUAL)


Step = tuple[object, ...]

signing = st.tuples(
    st.just("sign"),
    st.sampled_from(["invitation", "invitation", "import", "public"]),
    st.sampled_from([0, 0, 0, 1, 2]),  # how many revisions before the head the approved text is
    st.integers(0, len(COUNTRIES) - 1),
    st.integers(0, len(KINDS) - 1),
)
moderating = st.tuples(
    st.just("moderate"),
    st.integers(0, 50),
    st.sampled_from(["accept", "accept", "reject", "merge"]),
)
#: Signing and moderating are drawn more often than the rest, so that lists are long.
steps = st.one_of(
    signing,
    signing,
    signing,
    signing,
    st.tuples(
        st.just("revise"),
        st.sampled_from(["editorial", "editorial", "substantive", "unclassified"]),
    ),
    st.tuples(st.just("withdraw"), st.integers(0, 50)),
    st.tuples(st.just("decline")),
    moderating,
    moderating,
    st.tuples(st.just("order"), st.sampled_from(list(OrderMode)), st.integers(0, 1000)),
    st.tuples(
        st.just("group"),
        st.sampled_from(GROUPINGS),
        st.sampled_from([None, 0, 1]),  # "new since": none, today, tomorrow (days from now)
        st.booleans(),  # individuals last (counted in the PDF)
        st.integers(0, 1000),
    ),
)


@dataclass
class Model:
    """Who approved which revision number, and how the revisions were classified."""

    letter: Letter
    coordinator: User
    revisions: list[Revision]
    kinds: dict[int, ChangeKind | None] = field(default_factory=lambda: {1: None})
    approved: dict[int, int] = field(default_factory=dict)  # signature id -> revision number
    signatures: list[Signature] = field(default_factory=list)
    counter: int = 0

    @property
    def head(self) -> int:
        return max(self.kinds)

    def covers(self, number: int) -> bool:
        """An approval of ``number`` holds for the head: only editorial revisions since."""
        later = [n for n in self.kinds if number < n <= self.head]
        return all(self.kinds[n] == ChangeKind.EDITORIAL for n in later)

    def expected(self) -> set[int]:
        return {
            s.id
            for s in self.signatures
            if s.status == SignatureStatus.APPROVED
            and s.moderation in (Moderation.NOT_NEEDED, Moderation.ACCEPTED)
            and self.covers(self.approved[s.id])
        }

    def name(self) -> str:
        self.counter += 1
        return f"{WORDS[self.counter % len(WORDS)]} Org {self.counter:02d}"


def _sign(model: Model, source: str, earlier: int, country: int, kind: int) -> None:
    letter = model.letter
    revisions = model.revisions
    revision = revisions[max(0, len(revisions) - 1 - earlier)]
    details = operations.SignatoryDetails(
        name=model.name(), country=COUNTRIES[country], kind=KINDS[kind]
    )
    signature = operations.approve(
        letter,
        revision,
        details,
        email=f"org{model.counter}@example.org" if source != "import" else None,
        source=SignatureSource(source),
        moderation=Moderation.PENDING if source == "public" else Moderation.NOT_NEEDED,
        require_current=False,
    )
    model.signatures.append(signature)
    model.approved[signature.id] = revision.number


def _decline(model: Model) -> None:
    invitation = Invitation(
        letter_id=model.letter.id,
        organisation_name=model.name(),
        email=f"no{model.counter}@example.org",
        expires_at=utcnow() + timedelta(days=3),
    )
    assign_new_link(invitation)
    db.session.add(invitation)
    db.session.flush()
    signature = operations.decline(model.letter, invitation, reason="No", email=invitation.email)
    model.signatures.append(signature)


def _revise(model: Model, kind: str) -> None:
    revision = add_revision(model.letter, model.coordinator, f"Text {model.head + 1}.\n")
    revision.change_kind = None if kind == "unclassified" else ChangeKind(kind)
    db.session.flush()
    model.kinds[revision.number] = revision.change_kind
    model.revisions.append(revision)


def _withdraw(model: Model, pick: int) -> None:
    approved = [s for s in model.signatures if s.status == SignatureStatus.APPROVED]
    if approved:
        operations.withdraw(approved[pick % len(approved)], reason=None, email=None)


def _moderate(model: Model, pick: int, outcome: str) -> None:
    pending = [
        s
        for s in model.signatures
        if s.moderation == Moderation.PENDING and s.status == SignatureStatus.APPROVED
    ]
    if not pending:
        return
    signature = pending[pick % len(pending)]
    if outcome == "accept":
        public_operations.accept_signature(signature, moderator=model.coordinator)
    elif outcome == "reject":
        public_operations.reject_signature(signature, moderator=model.coordinator, reason="No")
    else:
        targets = [
            s
            for s in model.signatures
            if s.id != signature.id and s.moderation != Moderation.REJECTED
        ]
        if targets:
            target = targets[pick % len(targets)]
            public_operations.merge_signature(
                signature, target, moderator=model.coordinator, take_details=False
            )


def _order(model: Model, mode: OrderMode, seed: int) -> None:
    ids = [s.id for s in model.signatures]
    random.Random(seed).shuffle(ids)
    set_list_order(
        model.letter, model.coordinator, mode=mode, custom_order=ids[: len(ids) // 2 + 1]
    )


def _group(model: Model, grouping: str, since: int | None, individuals: bool, seed: int) -> None:
    ids = [s.id for s in model.signatures]
    random.Random(seed).shuffle(ids)
    arrangement = replace(
        stored_arrangement(model.letter),
        grouping=grouping,
        first_tier=frozenset(ids[: len(ids) // 3]),
        new_since=None if since is None else (utcnow() + timedelta(days=since)).date(),
        count_individuals=individuals,
    )
    set_list_arrangement(model.letter, model.coordinator, arrangement)


def play(model: Model, history: list[Step]) -> None:
    for step in history:
        match step:
            case ("sign", str(source), int(earlier), int(country), int(kind)):
                _sign(model, source, earlier, country, kind)
            case ("revise", str(kind)):
                _revise(model, kind)
            case ("withdraw", int(pick)):
                _withdraw(model, pick)
            case ("decline",):
                _decline(model)
            case ("moderate", int(pick), str(outcome)):
                _moderate(model, pick, outcome)
            case ("order", OrderMode() as mode, int(seed)):
                _order(model, mode, seed)
            case ("group", str(grouping), since, bool(individuals), int(seed)):
                _group(model, grouping, cast("int | None", since), individuals, seed)
    transaction.commit()


def check_outputs(client: RequestIsolatingClient, model: Model, *, with_pdf: bool) -> None:
    letter = model.letter
    listing = signatory_list(letter)
    assert {s.id for s in listing.signatures} == model.expected()
    check_sql_pages(listing)
    for revision in model.revisions[:-1]:  # the list under an earlier text, in another order
        for mode in (None, OrderMode.COUNTRY):
            earlier = signatory_list(letter, revision, mode=mode)
            read = listed(letter, revision, mode=mode)
            assert _seen_in_sql(read.entries(0, 1000)) == _seen_in_sql(earlier.entries)
            assert read.left_out_count() == len(earlier.left_out)
    expected = listing.names
    slug = letter.slug
    seen = {
        "public page": outputs.public_page(client, slug),
        "embed": outputs.embed(client, slug),
        "api": outputs.api(client, slug),
        "api, 2 per page": outputs.api(client, slug, per_page=2),
        "csv": outputs.csv_list(client, slug),
        "json": outputs.json_list(client, slug),
        "export preview": outputs.export_preview(client, slug),
    }
    # The PDF whenever its order can be wrong (two names or more), else one time in three.
    if expected and (with_pdf or len(expected) >= 2):
        outputs.audit_page_on(letter)
        seen["pdf"] = outputs.pdf(outputs.pdf_text(client, slug), _named_in_pdf(listing))
    assert {k: v.names for k, v in seen.items()} == dict.fromkeys(seen, expected) | (
        {"pdf": _named_in_pdf(listing)} if "pdf" in seen else {}
    )
    assert {k: v.count for k, v in seen.items()} == dict.fromkeys(seen, len(expected))
    assert outputs.dashboard_count(client, slug) == len(expected)
    check_groups(client, listing)


def _seen_in_sql(
    entries: Sequence[Entry | PrintedEntry],
) -> list[tuple[int, int, str, int, str | None, str]]:
    return [
        (e.position, e.signature.id, e.name, e.approved_number, e.group, e.group_kind.value)
        for e in entries
    ]


def check_sql_pages(listing: SignatoryList) -> None:
    """The list read in SQL pages (stored sort keys, the verdict as a WHERE) is the list."""
    read = listed(listing.revision.letter)
    assert read.count() == listing.count
    assert read.awaiting_reconfirmation() == listing.awaiting_reconfirmation
    whole = _seen_in_sql(listing.entries)
    assert _seen_in_sql(read.entries(0, 1000)) == whole
    in_threes = [e for batch in read.batches(3) for e in batch]
    assert _seen_in_sql(in_threes) == whole
    left_out = [(item.signature.id, item.code, item.reason) for item in listing.left_out]
    assert read.left_out_count() == len(left_out)
    assert read.count_with_left_out() == (listing.count, len(left_out))
    assert [(i.signature.id, i.code, i.reason) for i in read.left_out(0, 1000)] == left_out
    middle = read.page(1, 2)
    assert _seen_in_sql(middle.entries) == whole[1:3]
    assert middle.count == listing.count


def _named_in_pdf(listing: SignatoryList) -> list[str]:
    """The PDF names every listed signatory but counted individuals (a count instead)."""
    counted = listing.arrangement.count_individuals
    return [
        entry.name
        for group in listing.groups
        if not (counted and group.kind == GroupKind.INDIVIDUALS)
        for entry in group.entries
    ]


def check_groups(client: RequestIsolatingClient, listing: SignatoryList) -> None:
    """Every output puts each signatory in the list's group, group after group."""
    slug = listing.revision.letter.slug
    expected = [entry.group for entry in listing.entries]
    runs = [g for i, g in enumerate(expected) if i == 0 or expected[i - 1] != g]
    assert len(runs) == len(set(runs))  # a group is never split
    grouped = listing.arrangement != replace(
        Arrangement(), mode=listing.mode, custom_order=listing.arrangement.custom_order
    )
    if not grouped:  # individual signatories are always listed apart
        assert set(expected) <= {None, "Individual signatories"}
    seen = {
        "public page": outputs.page_groups(client, f"/p/{slug}"),
        "embed": outputs.page_groups(client, f"/p/{slug}/embed"),
        "api": outputs.api_groups(client, slug),
        "csv": outputs.csv_groups(client, slug),
        "json": outputs.json_groups(client, slug),
    }
    assert seen == dict.fromkeys(seen, expected)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=st.lists(steps, min_size=3, max_size=16), with_pdf=st.sampled_from([0, 0, 1]))
def test_every_output_lists_the_same_signatories(
    app: Flask, history: list[Step], with_pdf: int
) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, body="Text 1.\n", is_public=True)
    head = letter.head()
    assert head is not None
    model = Model(letter, coordinator, [head])
    play(model, history)
    app.test_client_class = RequestIsolatingClient
    client = login(app.test_client(), coordinator)
    assert isinstance(client, RequestIsolatingClient)
    check_outputs(client, model, with_pdf=bool(with_pdf))
