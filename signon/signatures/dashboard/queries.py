"""Read-only lookups for the coordinators' dashboard, each a fixed number of queries.

The dashboard shows one row per organisation: a signature (with its invitation, if
it came through one), or an invitation that has no signature yet. The rows are
read as plain column tuples (no ORM objects, no lazy loading) and turned into
:class:`SignatoryRow` dataclasses; the state of each row is derived in Python by
:func:`signon.signatures.state.state_of`, so counts, filters and sorting by state
run over those rows. Whatever the number of organisations, a dashboard page costs:
the letter, the role check, :func:`revision_facts`, the two queries of
:func:`signatory_rows` and, for the chart, :func:`approval_events`.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import and_, case, exists, func, literal, or_, select, union_all
from sqlalchemy import cast as cast_
from sqlalchemy import null as null_

from signon.core.paging import PageOf, page_count
from signon.db import casefold, quarter_hour, utcnow
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, Revision
from signon.signatures import listing
from signon.signatures.collation import stored_name_order
from signon.signatures.listing import RevisionChain, verdict
from signon.signatures.models import (
    ApprovalSlot,
    Invitation,
    InvitationStatus,
    LetterCounts,
    Moderation,
    SignatoryKind,
    Signature,
    SignatureEvent,
    SignatureSource,
    SignatureStatus,
)
from signon.signatures.state import Coverage, SignatoryState, coverage, state_of

#: Rows per dashboard page. Counts and the CSV export always cover every row.
PER_PAGE = 100

#: The order of states on the dashboard: the signed first, then those still to
#: answer, then the ones who said no or are out.
STATE_ORDER: tuple[SignatoryState, ...] = (
    SignatoryState.APPROVED_CURRENT,
    SignatoryState.APPROVED_EARLIER,
    SignatoryState.PENDING_MODERATION,
    SignatoryState.OPENED,
    SignatoryState.INVITED,
    SignatoryState.NO_RESPONSE,
    SignatoryState.SEND_FAILED,
    SignatoryState.DECLINED,
    SignatoryState.WITHDRAWN,
    SignatoryState.REVOKED,
    SignatoryState.REJECTED,
)
_STATE_RANK = {state: rank for rank, state in enumerate(STATE_ORDER)}

#: Badge style per state (CSS classes in static/css/signon.css).
STATE_BADGES: dict[SignatoryState, str] = {
    SignatoryState.APPROVED_CURRENT: "badge-ok",
    SignatoryState.APPROVED_EARLIER: "badge-warn",
    SignatoryState.PENDING_MODERATION: "badge-warn",
    SignatoryState.OPENED: "badge-info",
    SignatoryState.INVITED: "badge-info",
    SignatoryState.NO_RESPONSE: "",
    SignatoryState.SEND_FAILED: "badge-danger",
    SignatoryState.DECLINED: "badge-danger",
    SignatoryState.WITHDRAWN: "badge-danger",
    SignatoryState.REVOKED: "",
    SignatoryState.REJECTED: "",
}

#: Signature events the approvals chart reads: up with an approval, down with the others.
APPROVED, IMPORTED = "approved", "imported"
CHART_ACTIONS = (APPROVED, "withdrawn", "declined")
#: Public sign-ons count in the chart once a coordinator accepted them.
_COUNTED_MODERATION = (Moderation.NOT_NEEDED, Moderation.ACCEPTED)


class Verification(enum.StrEnum):
    """Whether the person who approved showed an address of the organisation's domain."""

    VERIFIED = "verified"
    CHECK = "check"
    NONE = "none"

    @property
    def label(self) -> str:
        return {
            Verification.VERIFIED: "Domain verified",
            Verification.CHECK: "Check this",
            Verification.NONE: "—",
        }[self]


class SortOrder(enum.StrEnum):
    NAME = "name"
    STATE = "state"
    ACTIVITY = "activity"

    @property
    def label(self) -> str:
        return {
            SortOrder.NAME: "Name (A–Z)",
            SortOrder.STATE: "State",
            SortOrder.ACTIVITY: "Last activity (newest first)",
        }[self]


@dataclass(frozen=True)
class RevisionFacts:
    """The columns of a revision that the dashboard needs (and :func:`coverage` reads)."""

    id: int
    number: int
    change_kind: ChangeKind | None
    content_sha256: str


class _SignatureFacts(NamedTuple):
    """What :func:`state_of` reads of a signature."""

    status: SignatureStatus
    moderation: Moderation
    approved_sha256: str | None


class _InvitationFacts(NamedTuple):
    """What :func:`state_of` reads of an invitation."""

    status: InvitationStatus
    expires_at: datetime


@dataclass(slots=True)
class SignatoryRow:
    """One organisation on the dashboard: plain values, ready for a template or a CSV.

    (Not frozen: a frozen dataclass is several times slower to build, and the
    dashboard builds thousands of these per request. Treat it as read-only.)
    """

    key: str  # "s<signature id>" or "i<invitation id>": unique on the page
    signature_id: int | None
    invitation_id: int | None
    name: str
    sort_name: str | None
    state: SignatoryState
    #: The explanation next to the state ("approved rev 3 (later changes editorial)").
    note: str
    approved_number: int | None
    approved_sha256: str | None
    #: The stored hash differs from the approved revision's content hash.
    hash_mismatch: bool
    verification: Verification
    country: str | None
    kind: SignatoryKind | None
    source: SignatureSource | None
    email: str | None
    last_activity_at: datetime
    #: The name's stored collation key (:func:`signon.signatures.collation.stored_name_order`:
    #: the public list's order, leading articles skipped).
    sort_key: bytes = field(repr=False)
    search_text: str = field(repr=False)

    @property
    def short_sha(self) -> str:
        return (self.approved_sha256 or "")[:8]

    @property
    def badge(self) -> str:
        return STATE_BADGES[self.state]


@dataclass(frozen=True)
class DashboardData:
    """Every row of a letter's dashboard (unfiltered), and what they were judged against."""

    head: RevisionFacts | None
    cover: Coverage
    rows: list[SignatoryRow]
    #: How many are listed under the current text (:func:`signon.signatures.listing.verdict`).
    listed: int = 0

    @property
    def counts(self) -> dict[SignatoryState, int]:
        return count_states(self.rows)


@dataclass(frozen=True)
class Filters:
    states: frozenset[SignatoryState] = frozenset()
    search: str = ""
    sort: SortOrder = SortOrder.NAME
    page: int = 1


@dataclass(frozen=True)
class Page(PageOf[SignatoryRow]):
    """A page of the dashboard's rows, with what its pager shows."""

    per_page: int

    @property
    def first_index(self) -> int:
        """1-based position of the first row shown (0 when there is none)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1 if self.items else 0

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last, and those near the current one;
        ``None`` where numbers are left out."""
        wanted = {1, self.pages} | set(range(self.number - around, self.number + around + 1))
        numbers = sorted(n for n in wanted if 1 <= n <= self.pages)
        shown: list[int | None] = []
        for n in numbers:
            if shown and shown[-1] is not None and n - shown[-1] > 1:
                shown.append(None)
            shown.append(n)
        return shown


# --- Queries ---------------------------------------------------------------------------


def revision_facts(letter: Letter) -> list[RevisionFacts]:
    """The letter's revisions, oldest first, without their texts (one query)."""
    return [
        RevisionFacts(
            id=row.id,
            number=row.number,
            change_kind=row.change_kind,
            content_sha256=row.content_sha256,
        )
        for row in db.session.execute(
            select(Revision.id, Revision.number, Revision.change_kind, Revision.content_sha256)
            .where(Revision.letter_id == letter.id)
            .order_by(Revision.number)
        )
    ]


def coverage_of(revisions: Sequence[RevisionFacts]) -> Coverage:
    """:func:`signon.signatures.state.coverage` over the revision columns only.

    ``coverage`` reads nothing but ``number`` and ``change_kind``, which
    :class:`RevisionFacts` has; loading whole revisions (with their texts) would be
    wasteful.
    """
    return coverage(cast("Sequence[Revision]", revisions))


def _note(state: SignatoryState, approved: int | None, revisions: Sequence[RevisionFacts]) -> str:
    """The explanation shown under an approval's state."""
    if approved is None or not revisions:
        return ""
    head = revisions[-1].number
    if state == SignatoryState.APPROVED_CURRENT and approved < head:
        return f"Approved rev {approved} (later changes editorial)"
    if state == SignatoryState.APPROVED_EARLIER:
        later = [r for r in revisions if approved < r.number <= head]
        if not any(r.change_kind == ChangeKind.SUBSTANTIVE for r in later):
            waiting = ", ".join(str(r.number) for r in later if r.change_kind is None)
            return (
                f"Approved rev {approved}; rev {waiting} not yet classified as editorial "
                "or substantive"
            )
        return (
            f"Approved rev {approved}; the current text (rev {head}) awaits their re-confirmation"
        )
    if state == SignatoryState.WITHDRAWN:
        return f"Had approved rev {approved}"
    return ""


def _search_text(*values: str | None) -> str:
    return "\n".join(filter(None, values)).casefold()


def signatory_rows(letter: Letter, now: datetime | None = None) -> DashboardData:
    """Every organisation of the letter, one row each (three queries).

    Reads every row: the page and the CSV read theirs a page at a time
    (:func:`overview`, :func:`page_of_rows`, :func:`row_batches`); this whole-letter
    reading is what tests hold those to.
    """
    now = now or utcnow()
    revisions = revision_facts(letter)
    head = revisions[-1] if revisions else None
    cover = coverage_of(revisions)
    chain = RevisionChain.of(revisions, head.number) if head is not None else None
    reader = _RowReader(letter.language, revisions, cover, now)
    rows = reader.signature_rows(letter.id, None)
    listed = 0
    if chain is not None:
        by_id = {r.id: r.number for r in revisions}
        for row in rows:
            facts = _SignatureFacts(row.status, row.moderation, row.approved_sha256)
            approved = by_id.get(row.revision_id) if row.revision_id is not None else None
            listed += verdict(facts, approved, chain).listed
    rows.extend(reader.invitation_rows(letter.id, None))
    return DashboardData(head=head, cover=cover, rows=[r.row for r in rows], listed=listed)


@dataclass(slots=True)
class _ReadRow:
    """A dashboard row with the signature's columns :func:`verdict` reads."""

    row: SignatoryRow
    status: SignatureStatus
    moderation: Moderation
    revision_id: int | None
    approved_sha256: str | None


class _RowReader:
    """Builds :class:`SignatoryRow` values from the signature and invitation columns."""

    def __init__(
        self,
        language: str,
        revisions: Sequence[RevisionFacts],
        cover: Coverage,
        now: datetime,
    ) -> None:
        self.language = language
        self.revisions = revisions
        self.by_id = {r.id: r for r in revisions}
        self.cover = cover
        self.now = now
        self.notes: dict[tuple[SignatoryState, int | None], str] = {}

    def note_for(self, state: SignatoryState, approved: int | None) -> str:
        """Notes depend on the state and the approved revision only: worked out once each."""
        key = (state, approved)
        if key not in self.notes:
            self.notes[key] = _note(state, approved, self.revisions)
        return self.notes[key]

    def signature_rows(self, letter_id: int, ids: Sequence[int] | None) -> list[_ReadRow]:
        """The letter's signatures (those in ``ids`` if given) as rows (one query)."""
        # Core columns of the tables (not the mapped attributes): the rows skip the ORM's
        # entity machinery, which costs more than the query itself at thousands of rows.
        sig = Signature.__table__
        inv = Invitation.__table__
        query = (
            select(*_signature_columns(sig, inv))
            .select_from(sig)
            .outerjoin(inv, inv.c.id == sig.c.invitation_id)
            .where(sig.c.letter_id == letter_id)
        )
        if ids is not None:
            query = query.where(sig.c.id.in_(list(ids)))
        return [self.signature_row(values) for values in db.session.execute(query).tuples()]

    def signature_row(self, values: Sequence[Any]) -> _ReadRow:
        """A signature's row from the values of :func:`_signature_columns`."""
        (
            signature_id,
            invitation_id,
            name,
            sort_name,
            status,
            moderation,
            source,
            country,
            kind,
            signature_email,
            domain_verified,
            revision_id,
            approved_sha256,
            activity,
            invitation_email,
        ) = values
        revision = self.by_id.get(revision_id) if revision_id is not None else None
        approved = revision.number if revision is not None else None
        signature_facts = _SignatureFacts(status, moderation, approved_sha256)
        state = state_of(cast(Signature, signature_facts), None, approved, self.cover, self.now)
        if status == SignatureStatus.APPROVED and signature_email:
            verification = Verification.VERIFIED if domain_verified else Verification.CHECK
        else:
            verification = Verification.NONE
        # a decline without an approval before it gave no details (the type is a placeholder)
        gave_details = status != SignatureStatus.DECLINED or revision_id is not None
        row = SignatoryRow(
            key=f"s{signature_id}",
            signature_id=signature_id,
            invitation_id=invitation_id,
            name=name,
            sort_name=sort_name,
            state=state,
            note=self.note_for(state, approved),
            approved_number=approved,
            approved_sha256=approved_sha256,
            hash_mismatch=(
                approved_sha256 is not None
                and revision is not None
                and approved_sha256 != revision.content_sha256
            ),
            verification=verification,
            country=country,
            kind=kind if gave_details else None,
            source=source,
            email=signature_email or invitation_email,
            last_activity_at=activity,
            sort_key=stored_name_order(name, sort_name, self.language),
            search_text=_search_text(name, sort_name, signature_email, invitation_email, country),
        )
        return _ReadRow(row, status, moderation, revision_id, approved_sha256)

    def invitation_rows(self, letter_id: int, ids: Sequence[int] | None) -> list[_ReadRow]:
        """The letter's invitations without a signature (those in ``ids``: a page's keys,
        already found unanswered in this transaction, so not asked again: on SQLite that
        read every answered invitation of the letter for a page of 100) as rows."""
        inv = Invitation.__table__
        query = select(*_invitation_columns(inv)).where(inv.c.letter_id == letter_id)
        if ids is None:
            query = query.where(_unanswered(letter_id))
        else:
            query = query.where(inv.c.id.in_(list(ids)))
        return [self.invitation_row(values) for values in db.session.execute(query).tuples()]

    def invitation_row(self, values: Sequence[Any]) -> _ReadRow:
        """An invitation's row (one without a signature) from :func:`_invitation_columns`."""
        invitation_id, name, email, status, expires_at, activity = values
        invitation_facts = _InvitationFacts(status, expires_at)
        state = state_of(None, cast(Invitation, invitation_facts), None, self.cover, self.now)
        row = SignatoryRow(
            key=f"i{invitation_id}",
            signature_id=None,
            invitation_id=invitation_id,
            name=name,
            sort_name=None,
            state=state,
            note="",
            approved_number=None,
            approved_sha256=None,
            hash_mismatch=False,
            verification=Verification.NONE,
            country=None,
            kind=None,
            source=None,
            email=email,
            last_activity_at=activity,
            sort_key=stored_name_order(name, None, self.language),
            search_text=_search_text(name, email),
        )
        # an invitation's verdict is never asked: these placeholders are not read
        return _ReadRow(row, SignatureStatus.DECLINED, Moderation.NOT_NEEDED, None, None)


def _signature_columns(sig: Any, inv: Any) -> list[Any]:
    """What :meth:`_RowReader.signature_row` reads, of a signature (``sig``, a table or an
    alias) and its invitation (``inv``, outer-joined)."""
    return [
        sig.c.id,
        sig.c.invitation_id,
        sig.c.name,
        sig.c.sort_name,
        sig.c.status,
        sig.c.moderation,
        sig.c.source,
        sig.c.country,
        sig.c.kind,
        sig.c.email,
        sig.c.domain_verified,
        sig.c.revision_id,
        sig.c.approved_sha256,
        _activity(sig, inv).label("last_activity_at"),
        inv.c.email.label("invitation_email"),
    ]


def _invitation_columns(inv: Any) -> list[Any]:
    """What :meth:`_RowReader.invitation_row` reads, of an invitation without a signature."""
    return [
        inv.c.id,
        inv.c.organisation_name,
        inv.c.email,
        inv.c.status,
        inv.c.expires_at,
        inv.c.last_activity_at,
    ]


def _activity(sig: Any = Signature.__table__, inv: Any = Invitation.__table__) -> Any:
    """A signature's last activity: its own or its invitation's, whichever is later."""
    return case(
        (inv.c.last_activity_at > sig.c.last_activity_at, inv.c.last_activity_at),
        else_=sig.c.last_activity_at,
    )


def _unanswered(letter_id: int) -> Any:
    """An invitation of the letter that has no signature yet (it is a row of its own).

    The letter's answered invitations are read once (a hashed subplan over the letter's
    signatures, by its index): a correlated NOT EXISTS was planned either as a hash of every
    letter's signatures (tests/core/test_hot_path_plans.py) or, with its letter named too, as
    a nested loop over the letter's signatures per invitation on freshly filled tables (5,000
    organisations: the dashboard 64 -> 800 ms on PostgreSQL)."""
    sig = Signature.__table__.c
    inv = Invitation.__table__.c
    answered = select(sig.invitation_id).where(
        sig.letter_id == letter_id, sig.invitation_id.is_not(None)
    )
    return inv.id.not_in(answered)


def _chart_action() -> Any:
    """The event's action, an import of an approved signature reading as "approved"."""
    event = SignatureEvent.__table__.c
    return case(
        (
            and_(
                event.action == IMPORTED,
                event.details["status"].as_string() == SignatureStatus.APPROVED.value,
            ),
            literal(APPROVED),
        ),
        else_=event.action,
    )


def approval_events(letter: Letter) -> list[tuple[int, str, datetime]]:
    """(signature id, action, time) of the events the chart needs, oldest first (one query).

    Signatures awaiting moderation or rejected are left out: they are not signatories.
    A signature restored from a letter bundle without its history has one "imported"
    event; it reads as "approved" when the signature was imported approved.
    """
    event = SignatureEvent.__table__.c
    sig = Signature.__table__.c
    action = _chart_action()
    return list(
        db.session.execute(
            select(event.signature_id, action, event.created_at)
            .select_from(SignatureEvent.__table__)
            .join(Signature.__table__, sig.id == event.signature_id)
            .where(
                sig.letter_id == letter.id,
                sig.moderation.in_(_COUNTED_MODERATION),
                event.action.in_((*CHART_ACTIONS, IMPORTED)),
            )
            .order_by(event.created_at, event.id)
        ).tuples()
    )


def approval_changes(
    letter: Letter, kept_since: datetime | None = None
) -> list[tuple[datetime, int, int]]:
    """(start of a 15-minute slot, organisations counted in, taken out) for each slot
    in which the chart's count changed, oldest first (one query, a row per slot).

    With ``kept_since``, the slots kept with the letter's counts
    (:class:`~signon.signatures.models.ApprovalSlot`, :mod:`signon.signatures.counts`)
    when its counts row was refreshed since then, counted otherwise: the same single
    statement either way, the count's scan skipped (its letter id is NULL) when the kept
    slots are fresh.
    """
    if kept_since is None:
        query = slot_changes(letter.id)
    else:
        fresh = exists(
            select(LetterCounts.letter_id).where(
                LetterCounts.letter_id == letter.id, LetterCounts.refreshed_at >= kept_since
            )
        )
        kept = select(ApprovalSlot.slot, ApprovalSlot.counted_in, ApprovalSlot.taken_out).where(
            ApprovalSlot.letter_id == letter.id, fresh
        )
        counted = slot_changes(select(literal(letter.id)).where(~fresh).scalar_subquery())
        rows = union_all(kept, counted).subquery("slots")
        query = select(*rows.c).order_by(rows.c[0])
    return [
        (datetime.fromtimestamp(int(number) * 900, UTC), int(came), int(left))
        for number, came, left in db.session.execute(query).tuples()
    ]


def slot_changes(letter_id: Any) -> Any:
    """The query of (slot number, counted in, taken out) per 15-minute slot in which the
    chart's count changed, of the letter ``letter_id`` (a value or a SQL expression).

    What :func:`signon.signatures.dashboard.chart.approvals_per_day` works out from
    :func:`approval_events`, in SQL: an approval counts if the organisation's previous
    approval, withdrawal or decline (``LAG``) was not an approval; a withdrawal or a
    decline counts if it was.
    """
    event = SignatureEvent.__table__.c
    sig = Signature.__table__.c
    action = _chart_action()
    steps = (
        select(
            action.label("action"),
            event.created_at.label("at"),
            func.lag(action)
            .over(partition_by=event.signature_id, order_by=(event.created_at, event.id))
            .label("before"),
        )
        .select_from(SignatureEvent.__table__)
        .join(Signature.__table__, sig.id == event.signature_id)
        .where(
            sig.letter_id == letter_id,
            sig.moderation.in_(_COUNTED_MODERATION),
            event.action.in_((*CHART_ACTIONS, IMPORTED)),
            action.in_(CHART_ACTIONS),
        )
        .subquery("steps")
    )
    counted_in = and_(
        steps.c.action == APPROVED, or_(steps.c.before.is_(None), steps.c.before != APPROVED)
    )
    taken_out = and_(steps.c.action != APPROVED, steps.c.before == APPROVED)
    slot = quarter_hour(steps.c.at)
    return (
        select(
            slot.label("slot"),
            func.sum(case((counted_in, 1), else_=0)).label("counted_in"),
            func.sum(case((taken_out, 1), else_=0)).label("taken_out"),
        )
        .where(or_(counted_in, taken_out))
        .group_by(slot)
    )


# --- Counting, filtering, sorting, paging (in Python, over the rows) ------------------------


def count_states(rows: Iterable[SignatoryRow]) -> dict[SignatoryState, int]:
    """How many rows are in each state, every state listed (zeros included), in display order."""
    counted = Counter(row.state for row in rows)
    return {state: counted.get(state, 0) for state in STATE_ORDER}


def apply_filters(rows: Sequence[SignatoryRow], filters: Filters) -> list[SignatoryRow]:
    """The rows in the chosen states that match the search, in the chosen order.

    The search is a case-insensitive substring match (``str.casefold``, right for
    every script, unlike SQLite's ASCII-only ``lower``) on the name, sort name,
    e-mail addresses and country.
    """
    needle = " ".join(filters.search.split()).casefold()
    shown = [
        row
        for row in rows
        if (not filters.states or row.state in filters.states)
        and (not needle or needle in row.search_text)
    ]
    if filters.sort == SortOrder.STATE:
        shown.sort(key=lambda r: (_STATE_RANK[r.state], r.sort_key, *_tie(r)))
    elif filters.sort == SortOrder.ACTIVITY:
        shown.sort(key=lambda r: (r.last_activity_at, *_tie(r)), reverse=True)
    else:
        shown.sort(key=lambda r: (r.sort_key, *_tie(r)))
    return shown


def _tie(row: SignatoryRow) -> tuple[str, int]:
    """Rows of one name: invitations first, then by id (as :func:`_ordered` in SQL)."""
    return row.key[0], int(row.key[1:])


def paginate(rows: Sequence[SignatoryRow], page: int, per_page: int = PER_PAGE) -> Page:
    """One page of rows; a page number past the end shows the last page."""
    pages = page_count(len(rows), per_page)
    number = min(max(1, page), pages)
    start = (number - 1) * per_page
    return Page(
        items=list(rows[start : start + per_page]),
        number=number,
        pages=pages,
        total=len(rows),
        per_page=per_page,
    )


# --- In SQL: counts by state, the filtered rows a page at a time ---------------------------
#
# The state of a row (:func:`signon.signatures.state.state_of`) depends on a few columns
# only: a signature's moderation, status and approved revision (covered or not), an
# invitation's status and expiry. Written as a CASE on those columns, it lets SQL count,
# filter and sort by state; the rows of one page are then read and judged in Python as
# before (:class:`_RowReader`), so a page reads 100 rows whatever the letter's size.
# tests/signatures/test_dashboard_sql.py holds these to the whole-letter reading above.


@dataclass(frozen=True)
class Overview:
    """The letter's dashboard without its rows: the current text, counts per state."""

    letter_id: int
    language: str
    revisions: tuple[RevisionFacts, ...]
    cover: Coverage
    #: How many organisations are in each state (every state, in display order).
    counts: dict[SignatoryState, int]
    #: How many are listed under the current text (:func:`signon.signatures.listing.listed`).
    listed: int
    now: datetime

    @property
    def head(self) -> RevisionFacts | None:
        return self.revisions[-1] if self.revisions else None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def covered_ids(self) -> list[int]:
        """The revisions whose approval counts as approving the current text."""
        return [r.id for r in self.revisions if self.cover.covers(r.number)]


def _rank(state: SignatoryState) -> int:
    return _STATE_RANK[state]


def signature_state_rank(covered_ids: Sequence[int]) -> Any:
    """:func:`state_of` for a signature, in SQL: its state's place in :data:`STATE_ORDER`."""
    sig = Signature.__table__.c
    return case(
        (sig.moderation == Moderation.PENDING, _rank(SignatoryState.PENDING_MODERATION)),
        (sig.moderation == Moderation.REJECTED, _rank(SignatoryState.REJECTED)),
        (
            and_(sig.status == SignatureStatus.APPROVED, sig.revision_id.in_(list(covered_ids))),
            _rank(SignatoryState.APPROVED_CURRENT),
        ),
        (sig.status == SignatureStatus.APPROVED, _rank(SignatoryState.APPROVED_EARLIER)),
        (sig.status == SignatureStatus.DECLINED, _rank(SignatoryState.DECLINED)),
        else_=_rank(SignatoryState.WITHDRAWN),
    )


def invitation_state_rank(now: datetime) -> Any:
    """:func:`state_of` for an invitation without a signature, in SQL (its rank)."""
    inv = Invitation.__table__.c
    return case(
        (inv.status == InvitationStatus.REVOKED, _rank(SignatoryState.REVOKED)),
        (inv.status == InvitationStatus.FAILED, _rank(SignatoryState.SEND_FAILED)),
        (inv.expires_at <= now, _rank(SignatoryState.NO_RESPONSE)),
        (inv.status == InvitationStatus.OPENED, _rank(SignatoryState.OPENED)),
        else_=_rank(SignatoryState.INVITED),
    )


def state_counts(letter_id: int, covered_ids: Sequence[int], now: datetime) -> Any:
    """(state rank, how many) of the letter's signatures and unanswered invitations, in one
    statement: the two GROUP BYs (each on the columns that decide the state) in a UNION
    ALL; a rank may come twice (once per kind), the caller adds them up."""
    sig = Signature.__table__.c
    inv = Invitation.__table__.c
    signature_rank = signature_state_rank(covered_ids)
    invitation_rank = invitation_state_rank(now)
    return union_all(
        select(signature_rank, func.count())
        .where(sig.letter_id == letter_id)
        .group_by(signature_rank),
        select(invitation_rank, func.count())
        .where(inv.letter_id == letter_id, _unanswered(letter_id))
        .group_by(invitation_rank),
    )


def overview(
    letter: Letter,
    now: datetime | None = None,
    listed_count: Callable[[listing.Listed], int] = listing.Listed.count,
) -> Overview:
    """Counts per state (one query, :func:`state_counts`) and the listed count (listing.py's, or
    ``listed_count``'s: the page takes the maintained one), with the revisions they were
    judged against: three queries whatever the letter's size."""
    now = now or utcnow()
    revisions = tuple(revision_facts(letter))
    cover = coverage_of(revisions)
    covered = [r.id for r in revisions if cover.covers(r.number)]
    counted: Counter[int] = Counter()
    for rank, number in db.session.execute(state_counts(letter.id, covered, now)).tuples():
        counted[rank] += number
    counts = {state: counted.get(_rank(state), 0) for state in STATE_ORDER}
    listed = listed_count(listing.listed(letter)) if revisions else 0
    return Overview(letter.id, letter.language, revisions, cover, counts, listed, now)


def _matching(needle: str, *columns: Any) -> Any:
    """Any of the columns contains ``needle`` (already case-folded), case-insensitively."""
    return or_(*(casefold(column).contains(needle, autoescape=True) for column in columns))


def _filtered_rows(view: Overview, filters: Filters, *, with_rows: bool = False) -> Any:
    """(kind "s" or "i", id, name order, state rank, activity) of every row the filters
    keep, as a subquery: the signatures, then the invitations without one. ``with_rows``
    adds what :meth:`_RowReader.signature_row` (columns ``s_0``...) and
    :meth:`_RowReader.invitation_row` (``i_0``...) read, NULL on the other kind's rows."""
    sig = Signature.__table__.c
    inv = Invitation.__table__.c
    needle = " ".join(filters.search.split()).casefold()
    ranks = [_rank(state) for state in STATE_ORDER if state in filters.states]
    signature_rank = signature_state_rank(view.covered_ids)
    # the signature's invitation is joined only when its activity or address is asked for
    joined = bool(needle) or filters.sort == SortOrder.ACTIVITY or with_rows
    signature_columns, invitation_columns = [], []
    if with_rows:
        signature_columns = _signature_columns(Signature.__table__, Invitation.__table__)
        invitation_columns = _invitation_columns(Invitation.__table__)

    def padded(columns: list[Any], prefix: str, null: bool) -> list[Any]:
        return [
            (cast_(null_(), column.type) if null else column).label(f"{prefix}{index}")
            for index, column in enumerate(columns)
        ]

    signatures = select(
        literal("s").label("kind"),
        sig.id.label("id"),
        sig.name_order.label("name_order"),
        signature_rank.label("rank"),
        (_activity() if joined else sig.last_activity_at).label("activity"),
        *padded(signature_columns, "s_", False),
        *padded(invitation_columns, "i_", True),
    ).where(sig.letter_id == view.letter_id)
    if joined:
        signatures = signatures.select_from(Signature.__table__).outerjoin(
            # on the letter too: its invitations by index, not every letter's hashed
            Invitation.__table__,
            and_(inv.letter_id == view.letter_id, inv.id == sig.invitation_id),
        )
    invitation_rank = invitation_state_rank(view.now)
    invitations = select(
        literal("i").label("kind"),
        inv.id.label("id"),
        inv.name_order.label("name_order"),
        invitation_rank.label("rank"),
        inv.last_activity_at.label("activity"),
        *padded(signature_columns, "s_", True),
        *padded(invitation_columns, "i_", False),
    ).where(inv.letter_id == view.letter_id, _unanswered(view.letter_id))
    if ranks:
        signatures = signatures.where(signature_rank.in_(ranks))
        invitations = invitations.where(invitation_rank.in_(ranks))
    if needle:
        signatures = signatures.where(
            _matching(needle, sig.name, sig.sort_name, sig.email, inv.email, sig.country)
        )
        invitations = invitations.where(_matching(needle, inv.organisation_name, inv.email))
    return union_all(signatures, invitations).subquery("dashboard_rows")


def _ordered(rows: Any, sort: SortOrder) -> list[Any]:
    """ORDER BY for the chosen sort (the name on the stored collation key, as the list)."""
    by_name = [rows.c.name_order, rows.c.kind, rows.c.id]
    if sort == SortOrder.STATE:
        return [rows.c.rank, *by_name]
    if sort == SortOrder.ACTIVITY:
        return [rows.c.activity.desc(), rows.c.kind.desc(), rows.c.id.desc()]
    return by_name


def _read(view: Overview, keys: Sequence[tuple[str, int]]) -> list[SignatoryRow]:
    """The rows of these (kind, id) keys, in that order (two queries)."""
    reader = _RowReader(view.language, view.revisions, view.cover, view.now)
    signature_ids = [ident for kind, ident in keys if kind == "s"]
    invitation_ids = [ident for kind, ident in keys if kind == "i"]
    found = {
        read.row.key: read.row
        for read in (
            reader.signature_rows(view.letter_id, signature_ids)
            + reader.invitation_rows(view.letter_id, invitation_ids)
        )
    }
    return [found[f"{kind}{ident}"] for kind, ident in keys if f"{kind}{ident}" in found]


def _keys(view: Overview, filters: Filters, offset: int, limit: int) -> list[tuple[str, int]]:
    if filters.sort == SortOrder.NAME and not filters.states and not filters.search:
        return _keys_by_name(view, offset, limit)
    rows = _filtered_rows(view, filters)
    return [
        (str(kind), int(ident))
        for kind, ident in db.session.execute(
            select(rows.c.kind, rows.c.id)
            .order_by(*_ordered(rows, filters.sort))
            .offset(offset)
            .limit(limit)
        ).tuples()
    ]


def _keys_by_name(view: Overview, offset: int, limit: int) -> list[tuple[str, int]]:
    """The unfiltered page in name order, read along the stored sort keys' indexes.

    Sorting the whole union of signatures and invitations for each page cost most of a
    page at 20,000 organisations. Each side instead reads its first ``offset + limit``
    keys in index order (``ix_*_letter_name_order``: letter, name order, id), and only
    those are merged; a page in the second half reads from the end, in reverse, so the
    last page is as cheap as the first. The order is :func:`_ordered`'s (name order,
    kind, id; reversed exactly, NULLs included, on both databases).
    """
    end = min(offset + limit, view.total)
    from_end = view.total - offset < end
    if from_end:  # the same rows, counted from the last one
        offset, limit = view.total - end, end - offset
    sig = Signature.__table__.c
    inv = Invitation.__table__.c
    wanted = offset + limit

    def side(kind: str, table: Any, *where: Any) -> Any:
        order = [table.name_order, table.id]
        first = (
            select(literal(kind).label("kind"), table.id, table.name_order)
            .where(*where)
            .order_by(*(column.desc() if from_end else column for column in order))
            .limit(wanted)
            .subquery()
        )
        return select(first.c.kind, first.c.id, first.c.name_order)

    rows = union_all(
        side("s", sig, sig.letter_id == view.letter_id),
        side("i", inv, inv.letter_id == view.letter_id, _unanswered(view.letter_id)),
    ).subquery("dashboard_keys")
    order = [rows.c.name_order, rows.c.kind, rows.c.id]
    found = [
        (str(kind), int(ident))
        for kind, ident in db.session.execute(
            select(rows.c.kind, rows.c.id)
            .order_by(*(column.desc() if from_end else column for column in order))
            .offset(offset)
            .limit(limit)
        ).tuples()
    ]
    return found[::-1] if from_end else found


def page_of_rows(view: Overview, filters: Filters, per_page: int = PER_PAGE) -> Page:
    """The page of rows the filters ask for, sorted and cut in SQL (three queries: a
    filter's total comes with the page's keys); a page number past the end shows the
    last page (two more queries, when filtered)."""
    number = max(1, filters.page)
    if filters.states or filters.search:
        keys, total = _keys_and_total(view, filters, (number - 1) * per_page, per_page)
        if not keys and number > 1:  # past the end: count, then read the last page
            rows = _filtered_rows(view, filters)
            total = int(db.session.scalar(select(func.count()).select_from(rows)) or 0)
            number = page_count(total, per_page)
            keys = _keys(view, filters, (number - 1) * per_page, per_page)
    else:
        total = view.total
        number = min(number, page_count(total, per_page))
        keys = _keys(view, filters, (number - 1) * per_page, per_page)
    pages = page_count(total, per_page)
    return Page(items=_read(view, keys), number=number, pages=pages, total=total, per_page=per_page)


def _keys_and_total(
    view: Overview, filters: Filters, offset: int, limit: int
) -> tuple[list[tuple[str, int]], int]:
    """:func:`_keys` of a filtered page with how many rows the filters keep, in one pass
    over them (a window count: the filter, a substring search over five columns, was
    evaluated twice, once for the total and once for the page). The total is 0 when the
    page is empty."""
    rows = _filtered_rows(view, filters)
    found = db.session.execute(
        select(rows.c.kind, rows.c.id, func.count().over())
        .order_by(*_ordered(rows, filters.sort))
        .offset(offset)
        .limit(limit)
    ).all()
    total = int(found[0][2]) if found else 0
    return [(str(kind), int(ident)) for kind, ident, _total in found], total


def row_batches(view: Overview, filters: Filters, size: int = 1000) -> Iterator[list[SignatoryRow]]:
    """Every row the filters keep, in their order, ``size`` at a time (the CSV streams them).

    One query, whatever the number of rows: the filtered rows (:func:`_filtered_rows`)
    with every column a row shows (not joined back to their tables by key: PostgreSQL
    planned that join as a nested loop that took 30 s at 20,000), sorted once and read as
    they come (``yield_per``: a server-side cursor on PostgreSQL), so memory stays that of
    a batch. (Reading a batch at a time by keyset cost three statements per thousand rows.)
    """
    rows = _filtered_rows(view, filters, with_rows=True)
    signature_columns = [c for c in rows.c if c.name.startswith("s_")]
    invitation_columns = [c for c in rows.c if c.name.startswith("i_")]
    query = (
        select(rows.c.kind, *signature_columns, *invitation_columns)
        .order_by(*_ordered(rows, filters.sort))
        .execution_options(yield_per=size)
    )
    reader = _RowReader(view.language, view.revisions, view.cover, view.now)
    split = 1 + len(signature_columns)
    for partition in db.session.execute(query).tuples().partitions():
        yield [
            (
                reader.signature_row(values[1:split])
                if values[0] == "s"
                else reader.invitation_row(values[split:])
            ).row
            for values in partition
        ]
