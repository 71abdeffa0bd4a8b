"""Who is listed under a letter (or one of its revisions), in which groups and order,
and why every other signature is not. The one place that decides it.

:func:`signatory_list` is called by every output: the public page, its counter and
embed, the API, the CSV and JSON lists, the PDF, the export preview and the
dashboard's "listed" count. :func:`verdict` decides one signature:

- declined and withdrawn signatures are not listed;
- a public sign-on is listed only once a coordinator accepted it (pending and
  rejected ones are not);
- an approval counts only for the exact revision it approved, or a later one
  reached through editorial revisions only (:class:`signon.signatures.state.Coverage`),
  and only while its recorded SHA-256 is that revision's.

The listed signatures are then put in the coordinators' chosen order
(:func:`sort_signatories`) and groups (:func:`arrange`). Names are collated and
printed by :mod:`signon.signatures.collation`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, Protocol, TypeVar, cast

from sqlalchemy import Select, and_, case, false, func, literal_column, not_, or_, select
from sqlalchemy.orm.attributes import set_committed_value

from signon.accounts.models import Organisation, User
from signon.audit.operations import record_event
from signon.core import names
from signon.core.timefmt import date_text
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, Revision, TeamMember
from signon.signatures.collation import name_key, printed_name, text_key
from signon.signatures.models import (
    LIST_GROUP_RANK_SQL,
    Moderation,
    OrderMode,
    SignatoryKind,
    SignatoryOrder,
    Signature,
    SignatureStatus,
)
from signon.signatures.state import Coverage, coverage

# --- Who is listed: one verdict per signature -----------------------------------------


class LeftOutCode(enum.StrEnum):
    """Why a signature is not listed under the revision."""

    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    AWAITING_MODERATION = "awaiting_moderation"
    REJECTED = "rejected"
    REMOVED = "removed"
    NO_REVISION = "no_revision"
    HASH_MISMATCH = "hash_mismatch"
    SUBSTANTIVE_CHANGE = "substantive_change"
    UNCLASSIFIED = "unclassified"
    LATER_REVISION = "later_revision"

    @property
    def is_approval(self) -> bool:
        """An approval that does not count here (rather than a "no")."""
        return self not in (LeftOutCode.DECLINED, LeftOutCode.WITHDRAWN)

    @property
    def awaits_reconfirmation(self) -> bool:
        """The approval will count again once the organisation approves the new text."""
        return self in (LeftOutCode.SUBSTANTIVE_CHANGE, LeftOutCode.UNCLASSIFIED)


@dataclass(frozen=True)
class Verdict:
    """Listed (``code is None``), or not, with a code and a reason for people."""

    code: LeftOutCode | None = None
    reason: str = ""

    @property
    def listed(self) -> bool:
        return self.code is None


LISTED = Verdict()


@dataclass(frozen=True)
class LeftOut:
    signature: Signature
    reason: str
    code: LeftOutCode


class Judged(Protocol):
    """What :func:`verdict` reads of a signature (a :class:`Signature` or a row like it)."""

    @property
    def status(self) -> SignatureStatus: ...

    @property
    def moderation(self) -> Moderation: ...

    @property
    def approved_sha256(self) -> str | None: ...


class RevisionLike(Protocol):
    """What :class:`RevisionChain` reads of a revision (a :class:`Revision` or its columns)."""

    @property
    def number(self) -> int: ...

    @property
    def change_kind(self) -> ChangeKind | None: ...

    @property
    def content_sha256(self) -> str: ...


@dataclass(frozen=True)
class RevisionChain:
    """What :func:`verdict` needs to know about the letter's revisions."""

    target: int
    cover: Coverage
    kinds: Mapping[int, ChangeKind | None]
    hashes: Mapping[int, str]

    @classmethod
    def of(cls, revisions: Sequence[RevisionLike], target: int) -> RevisionChain:
        return cls(
            target,
            coverage(cast("Sequence[Revision]", revisions), target),
            {r.number: r.change_kind for r in revisions},
            {r.number: r.content_sha256 for r in revisions},
        )


def _plural(numbers: Sequence[int]) -> str:
    if len(numbers) == 1:
        return f"revision {numbers[0]}"
    listed = ", ".join(str(n) for n in numbers[:-1])
    return f"revisions {listed} and {numbers[-1]}"


def _not_covered(approved: int, chain: RevisionChain) -> Verdict:
    """Why an approval of revision ``approved`` does not cover the chain's target."""
    target = chain.target
    if approved > target:
        return Verdict(
            LeftOutCode.LATER_REVISION,
            f"approved revision {approved}, a later text than revision {target}",
        )
    since = [n for n in sorted(chain.kinds) if approved < n <= target]
    substantive = [n for n in since if chain.kinds[n] == ChangeKind.SUBSTANTIVE]
    if substantive:
        return Verdict(
            LeftOutCode.SUBSTANTIVE_CHANGE,
            f"approved revision {approved}; {_plural(substantive)} changed the text substantively",
        )
    unclassified = [n for n in since if chain.kinds[n] is None]
    verb = "is" if len(unclassified) == 1 else "are"
    return Verdict(
        LeftOutCode.UNCLASSIFIED,
        f"approved revision {approved}; {_plural(unclassified)} {verb} not classified yet",
    )


def verdict(signature: Judged, approved_number: int | None, chain: RevisionChain) -> Verdict:
    """Whether ``signature`` (which approved revision ``approved_number``, if any) is
    listed under the chain's target revision; if not, why."""
    if signature.status == SignatureStatus.DECLINED:
        return Verdict(LeftOutCode.DECLINED, "declined")
    if signature.status == SignatureStatus.WITHDRAWN:
        return Verdict(LeftOutCode.WITHDRAWN, "withdrew their approval")
    if signature.moderation == Moderation.PENDING:
        return Verdict(LeftOutCode.AWAITING_MODERATION, "awaiting moderation")
    if signature.moderation == Moderation.REJECTED:
        return Verdict(LeftOutCode.REJECTED, "rejected in moderation")
    if signature.moderation not in (Moderation.NOT_NEEDED, Moderation.ACCEPTED):
        return Verdict(LeftOutCode.REMOVED, "removed from the list by the coordinators")
    if approved_number is None or approved_number not in chain.hashes:
        return Verdict(LeftOutCode.NO_REVISION, "no approved revision is recorded")
    if signature.approved_sha256 not in (None, chain.hashes[approved_number]):
        return Verdict(
            LeftOutCode.HASH_MISMATCH,
            f"the fingerprint they approved does not match revision {approved_number}'s text",
        )
    if chain.cover.covers(approved_number):
        return LISTED
    return _not_covered(approved_number, chain)


# --- Order ------------------------------------------------------------------------------


class Listable(Protocol):
    """What ordering needs from a signature (a :class:`Signature` or any row like it)."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...

    @property
    def sort_name(self) -> str | None: ...

    @property
    def country(self) -> str | None: ...

    @property
    def kind(self) -> SignatoryKind: ...


S = TypeVar("S", bound=Listable)

_KIND_RANK = {kind: rank for rank, kind in enumerate(SignatoryKind)}


def _alphabetical_key(language: str) -> Any:
    def key(item: Listable) -> Any:
        return name_key(item.name, item.sort_name, language, item.id)

    return key


def _name_folded(name: str) -> str:
    return " ".join(name.split()).casefold()


def _country_key(country: str | None, language: str) -> tuple[int, bytes, str]:
    """Countries collated ("Egypte" and "Égypte" are one place), no country last."""
    place = (country or "").strip()
    return (1, b"", "") if not place else (0, text_key(place, language), place)


def sort_signatories(
    signatures: Sequence[S],
    *,
    language: str,
    mode: OrderMode = OrderMode.ALPHABETICAL,
    drafting_names: Sequence[str] = (),
    custom_order: Sequence[int] = (),
) -> list[S]:
    """The signatures in the chosen order.

    - ``ALPHABETICAL``: by :func:`~signon.signatures.collation.name_key`.
    - ``COUNTRY``: countries collated, signatories without a country last; then names.
    - ``KIND``: in :class:`SignatoryKind` order; then names.
    - ``DRAFTERS_FIRST``: names in ``drafting_names`` (compared case- and
      space-insensitively) first, alphabetically; then the rest, alphabetically.
    - ``CUSTOM``: the signature ids in ``custom_order`` first, in that order; any
      other signature after them, alphabetically.
    """
    alphabetical = _alphabetical_key(language)
    if mode == OrderMode.COUNTRY:
        return sorted(
            signatures,
            key=lambda item: (_country_key(item.country, language)[:2], alphabetical(item)),
        )
    if mode == OrderMode.KIND:
        return sorted(
            signatures, key=lambda item: (_KIND_RANK.get(item.kind, 99), alphabetical(item))
        )
    if mode == OrderMode.DRAFTERS_FIRST:
        drafting = {_name_folded(name) for name in drafting_names}
        return sorted(
            signatures,
            key=lambda item: (_name_folded(item.name) not in drafting, alphabetical(item)),
        )
    if mode == OrderMode.CUSTOM:
        position: dict[int, int] = {}
        for index, ident in enumerate(custom_order):
            position.setdefault(ident, index)
        unplaced = len(position)
        return sorted(
            signatures,
            key=lambda item: (position.get(item.id, unplaced), alphabetical(item)),
        )
    return sorted(signatures, key=alphabetical)


# --- Groups -----------------------------------------------------------------------------


class GroupKind(enum.StrEnum):
    """What a group of the list is; outputs that print headings word them."""

    ALL = "all"
    COUNTRY = "country"
    KIND = "kind"
    FIRST_TIER = "first_tier"
    SECOND_TIER = "second_tier"
    NEW_SINCE = "new_since"
    #: Individual signatories: always listed apart, after the organisations (sorted by
    #: family name: :func:`signon.signatures.collation.family_name`); the PDF may count
    #: them instead of naming them (``Arrangement.count_individuals``).
    INDIVIDUALS = "individuals"


@dataclass(frozen=True)
class Arrangement:
    """The coordinators' choice of order and groups (stored per letter)."""

    mode: OrderMode = OrderMode.ALPHABETICAL
    custom_order: tuple[int, ...] = ()
    grouping: str = "none"  # none | country | kind | tier
    first_tier: frozenset[int] = frozenset()
    new_since: date | None = None
    count_individuals: bool = False


@dataclass(frozen=True)
class Entry:
    """One listed signatory: its place (from 1), its printed name, what it approved,
    and the heading of its group (``None`` when the list is not grouped)."""

    position: int
    signature: Signature
    name: str
    approved_number: int
    group: str | None = None
    group_kind: GroupKind = GroupKind.ALL


class Printable(Listable, Protocol):
    """What a download prints of a listed signature, and what :func:`group_of` reads: a
    :class:`Signature`, or these columns alone (a row, no ORM object); what ordering
    needs (:class:`Listable`) and the printed columns."""

    @property
    def representative_name(self) -> str | None: ...

    @property
    def representative_title(self) -> str | None: ...

    @property
    def affiliation(self) -> str | None: ...

    @property
    def website(self) -> str | None: ...

    @property
    def revision_id(self) -> int | None: ...

    @property
    def approved_sha256(self) -> str | None: ...

    @property
    def approved_at(self) -> datetime | None: ...


#: The columns of :class:`Printable`, as a download reads them.
PRINTED_COLUMNS = (
    Signature.id,
    Signature.name,
    Signature.sort_name,
    Signature.country,
    Signature.kind,
    Signature.representative_name,
    Signature.representative_title,
    Signature.affiliation,
    Signature.website,
    Signature.revision_id,
    Signature.approved_sha256,
    Signature.approved_at,
)


class PrintedEntry(NamedTuple):
    """An :class:`Entry` of a download: the same fields, the signature's printed columns
    instead of the ORM object (building 20,000 ORM objects was most of a download's CPU)."""

    position: int
    signature: Printable
    name: str
    approved_number: int
    group: str | None = None
    group_kind: GroupKind = GroupKind.ALL


@dataclass(frozen=True)
class Group:
    kind: GroupKind
    #: The country, or the type of signatory's label (for those kinds).
    label: str | None
    entries: tuple[Entry, ...]
    #: The heading the web page, API, CSV and JSON show (the PDF words its own, in the
    #: letter's language); ``None`` for an ungrouped list.
    heading: str | None = None


def group_heading(kind: GroupKind, label: str | None, arrangement: Arrangement) -> str | None:
    """A group's heading in plain English (``None`` for the one group of an ungrouped list)."""
    if kind == GroupKind.COUNTRY:
        return label or "No country given"
    if kind == GroupKind.KIND:
        return label
    if kind == GroupKind.NEW_SINCE and arrangement.new_since is not None:
        return f"New signatories since {date_text(arrangement.new_since)}"
    return {
        GroupKind.FIRST_TIER: "Initiated by",
        GroupKind.SECOND_TIER: "Endorsed by",
        GroupKind.INDIVIDUALS: "Individual signatories",
    }.get(kind)


def _split_groups(
    ordered: Sequence[Signature], arrangement: Arrangement, language: str
) -> list[tuple[GroupKind, str | None, list[Signature]]]:
    rest = list(ordered)
    # individuals by (family) name whatever the chosen order: it places organisations
    individuals = sorted(
        (s for s in rest if s.kind == SignatoryKind.INDIVIDUAL), key=_alphabetical_key(language)
    )
    rest = [s for s in rest if s.kind != SignatoryKind.INDIVIDUAL]
    newer: list[Signature] = []
    if arrangement.new_since is not None:
        since = arrangement.new_since
        cut = datetime(since.year, since.month, since.day, tzinfo=UTC)
        newer = [s for s in rest if s.approved_at is not None and s.approved_at >= cut]
        rest = [s for s in rest if not (s.approved_at is not None and s.approved_at >= cut)]
    groups: list[tuple[GroupKind, str | None, list[Signature]]] = []
    if arrangement.grouping == "country":
        by_country: dict[str, list[Signature]] = {}
        for s in rest:
            by_country.setdefault((s.country or "").strip(), []).append(s)
        for country in sorted(by_country, key=lambda c: _country_key(c, language)):
            groups.append((GroupKind.COUNTRY, country, by_country[country]))
    elif arrangement.grouping == "kind":
        by_kind: dict[SignatoryKind, list[Signature]] = {}
        for s in rest:
            by_kind.setdefault(s.kind, []).append(s)
        groups.extend(
            (GroupKind.KIND, kind.label, by_kind[kind]) for kind in SignatoryKind if kind in by_kind
        )
    elif arrangement.grouping == "tier":
        first = [s for s in rest if s.id in arrangement.first_tier]
        second = [s for s in rest if s.id not in arrangement.first_tier]
        groups.append((GroupKind.FIRST_TIER, None, first))
        groups.append((GroupKind.SECOND_TIER, None, second))
    else:
        groups.append((GroupKind.ALL, None, rest))
    groups.append((GroupKind.NEW_SINCE, None, newer))
    groups.append((GroupKind.INDIVIDUALS, None, individuals))
    return [group for group in groups if group[2]]


def arrange(
    ordered: Sequence[Signature],
    arrangement: Arrangement,
    language: str,
    numbers: Mapping[int, int],
) -> tuple[Group, ...]:
    """The ordered signatures in their groups, numbered from 1 in that order."""
    groups: list[Group] = []
    position = 0
    for kind, label, members in _split_groups(ordered, arrangement, language):
        heading = group_heading(kind, label, arrangement)
        entries = []
        for signature in members:
            position += 1
            name = printed_name(signature.name)
            entries.append(Entry(position, signature, name, numbers[signature.id], heading, kind))
        groups.append(Group(kind, label, tuple(entries), heading))
    return tuple(groups)


# --- The stored arrangement ------------------------------------------------------------


GROUPINGS = ("none", "country", "kind", "tier")


def stored_arrangement(letter: Letter) -> Arrangement:
    """The order and groups the coordinators chose for ``letter`` (alphabetical, no
    groups, until they choose)."""
    chosen = db.session.scalar(select(SignatoryOrder).where(SignatoryOrder.letter_id == letter.id))
    if chosen is None:
        return Arrangement()
    return Arrangement(
        chosen.mode,
        tuple(chosen.custom_order or ()),
        chosen.grouping if chosen.grouping in GROUPINGS else "none",
        frozenset(chosen.first_tier or ()),
        chosen.new_since,
        bool(chosen.count_individuals),
    )


def _own_ids(letter: Letter, ids: Sequence[int]) -> list[int]:
    """``ids`` without repeats and without ids that are not the letter's signatures."""
    own = set(
        db.session.scalars(
            select(Signature.id).where(
                Signature.letter_id == letter.id, Signature.id.in_(list(ids))
            )
        )
    )
    return list(dict.fromkeys(i for i in ids if i in own))


def set_list_arrangement(letter: Letter, user: User, arrangement: Arrangement) -> bool:
    """Choose the order and groups of the letter's list (every output follows them).
    Audited. Returns whether anything changed.

    ``custom_order`` is kept for ``CUSTOM`` only and ``first_tier`` for the ``tier``
    grouping only; ids that are not the letter's are dropped.
    """
    if arrangement.grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {arrangement.grouping!r}")
    custom = _own_ids(letter, arrangement.custom_order)
    if arrangement.mode != OrderMode.CUSTOM:
        custom = []
    tier = _own_ids(letter, sorted(arrangement.first_tier))
    if arrangement.grouping != "tier":
        tier = []
    wanted = replace(arrangement, custom_order=tuple(custom), first_tier=frozenset(tier))
    chosen = db.session.scalar(select(SignatoryOrder).where(SignatoryOrder.letter_id == letter.id))
    if wanted == stored_arrangement(letter):
        return False
    if chosen is None:
        chosen = SignatoryOrder(letter_id=letter.id)
        db.session.add(chosen)
    chosen.mode = wanted.mode
    chosen.custom_order = custom
    chosen.grouping = wanted.grouping
    chosen.first_tier = tier
    chosen.new_since = wanted.new_since
    chosen.count_individuals = wanted.count_individuals
    chosen.updated_by_id = user.id
    db.session.flush()
    record_event(
        "signatures.list_order_changed",
        letter_id=letter.id,
        actor=user,
        order=wanted.mode.value,
        custom_order=custom,
        grouping=wanted.grouping,
        first_tier=tier,
        new_since=wanted.new_since.isoformat() if wanted.new_since else None,
        count_individuals=wanted.count_individuals,
    )
    return True


def set_list_order(
    letter: Letter, user: User, *, mode: OrderMode, custom_order: Sequence[int] = ()
) -> bool:
    """Choose the order of the letter's list, keeping its groups (see
    :func:`set_list_arrangement`)."""
    current = stored_arrangement(letter)
    return set_list_arrangement(
        letter, user, replace(current, mode=mode, custom_order=tuple(custom_order))
    )


def drafting_organisation_names(letter: Letter) -> list[str]:
    """Names of the letter's drafting organisations, in the order they joined (one query)."""
    return list(
        db.session.scalars(
            select(Organisation.name)
            .join(TeamMember, TeamMember.organisation_id == Organisation.id)
            .where(TeamMember.letter_id == letter.id, TeamMember.is_drafting_organisation)
            .order_by(TeamMember.id)
        )
    )


# --- The list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatoryList:
    """Who is listed under ``revision``, in groups and order, and why the others are not."""

    revision: Revision
    arrangement: Arrangement
    groups: tuple[Group, ...]
    #: Every signature not listed, with its reason (collated by name).
    excluded: tuple[LeftOut, ...] = field(default=())

    @property
    def mode(self) -> OrderMode:
        return self.arrangement.mode

    @property
    def entries(self) -> list[Entry]:
        """Every listed signatory in the printed order (groups one after the other)."""
        return [entry for group in self.groups for entry in group.entries]

    @property
    def signatures(self) -> list[Signature]:
        return [entry.signature for entry in self.entries]

    @property
    def names(self) -> list[str]:
        return [entry.name for entry in self.entries]

    @property
    def count(self) -> int:
        return sum(len(group.entries) for group in self.groups)

    @property
    def left_out(self) -> list[LeftOut]:
        """The approvals that do not count here (declines and withdrawals aside)."""
        return [item for item in self.excluded if item.code.is_approval]

    @property
    def awaiting_reconfirmation(self) -> int:
        return sum(1 for item in self.excluded if item.code.awaits_reconfirmation)

    @property
    def approved_numbers(self) -> dict[int, int]:
        return {entry.signature.id: entry.approved_number for entry in self.entries}


def _load(letter: Letter) -> tuple[list[Revision], list[Signature]]:
    """The letter's revisions and signatures, each approved revision linked (two queries)."""
    revisions = list(db.session.scalars(select(Revision).where(Revision.letter_id == letter.id)))
    by_id = {r.id: r for r in revisions}
    signatures = list(
        db.session.scalars(
            select(Signature).where(Signature.letter_id == letter.id).order_by(Signature.id)
        )
    )
    for signature in signatures:
        approved = by_id.get(signature.revision_id) if signature.revision_id else None
        # the approved revision is already loaded: link it, no query per signature
        set_committed_value(signature, "revision", approved)
    return revisions, signatures


def signatory_list(
    letter: Letter,
    revision: Revision | None = None,
    *,
    arrangement: Arrangement | None = None,
    mode: OrderMode | None = None,
) -> SignatoryList:
    """Who is listed under ``revision`` (default: the current text), in the stored
    arrangement (or ``arrangement``; ``mode`` overrides its order, for a preview), and
    why the others are not.

    A fixed number of queries (at most four), whatever the number of signatures.
    """
    revisions, signatures = _load(letter)
    target = revision or max(revisions, key=lambda r: r.number)
    chain = RevisionChain.of(revisions, target.number)
    listed: list[Signature] = []
    numbers: dict[int, int] = {}
    excluded: list[LeftOut] = []
    for signature in signatures:
        number = signature.revision.number if signature.revision is not None else None
        found = verdict(signature, number, chain)
        if found.code is None:
            assert number is not None
            listed.append(signature)
            numbers[signature.id] = number
        else:
            excluded.append(LeftOut(signature, found.reason, found.code))
    arrangement = arrangement or stored_arrangement(letter)
    if mode is not None:
        arrangement = replace(arrangement, mode=mode)
    drafting = (
        drafting_organisation_names(letter) if arrangement.mode == OrderMode.DRAFTERS_FIRST else ()
    )
    ordered = sort_signatories(
        listed,
        language=letter.language,
        mode=arrangement.mode,
        drafting_names=drafting,
        custom_order=arrangement.custom_order,
    )
    collate = _alphabetical_key(letter.language)
    excluded.sort(key=lambda item: collate(item.signature))
    groups = arrange(ordered, arrangement, letter.language, numbers)
    return SignatoryList(target, arrangement, groups, tuple(excluded))


def is_listed(signature: Signature) -> bool:
    """Whether ``signature`` is listed under its letter's current text (one query)."""
    revisions = list(
        db.session.scalars(select(Revision).where(Revision.letter_id == signature.letter_id))
    )
    if not revisions:
        return False
    numbers = {r.id: r.number for r in revisions}
    chain = RevisionChain.of(revisions, max(numbers.values()))
    return verdict(signature, numbers.get(signature.revision_id or -1), chain).listed


def listed_signature(letter: Letter, signature_id: int) -> Signature | None:
    """One signature of ``letter`` if it is listed under the current text (for its logo)."""
    signature = db.session.scalar(
        select(Signature).where(Signature.letter_id == letter.id, Signature.id == signature_id)
    )
    return signature if signature is not None and is_listed(signature) else None


# --- The list in SQL: one page at a time ------------------------------------------------
#
# The same verdict and order as :func:`signatory_list`, as a WHERE and an ORDER BY on the
# stored sort keys (:mod:`signon.signatures.collation` ``stored_*``, kept by
# :mod:`signon.signatures.models`), so a page reads only its own rows. A test holds the
# two to the same answer (tests/signatures/test_listing_outputs.py).

_LISTED_MODERATION = (Moderation.NOT_NEEDED, Moderation.ACCEPTED)


def _kind_rank() -> Any:
    return case({kind: rank for kind, rank in _KIND_RANK.items()}, value=Signature.kind, else_=99)


def _new_since_cut(arrangement: Arrangement) -> datetime | None:
    since = arrangement.new_since
    return None if since is None else datetime(since.year, since.month, since.day, tzinfo=UTC)


def group_of(signature: Printable, arrangement: Arrangement) -> tuple[GroupKind, str | None]:
    """The group ``signature`` is listed in (what :func:`_split_groups` decides for a list)."""
    if signature.kind == SignatoryKind.INDIVIDUAL:
        return GroupKind.INDIVIDUALS, None
    cut = _new_since_cut(arrangement)
    if cut is not None and signature.approved_at is not None and signature.approved_at >= cut:
        return GroupKind.NEW_SINCE, None
    if arrangement.grouping == "country":
        return GroupKind.COUNTRY, (signature.country or "").strip()
    if arrangement.grouping == "kind":
        return GroupKind.KIND, signature.kind.label
    if arrangement.grouping == "tier":
        first = signature.id in arrangement.first_tier
        return (GroupKind.FIRST_TIER if first else GroupKind.SECOND_TIER), None
    return GroupKind.ALL, None


def _drafter_ids(letter: Letter) -> tuple[int, ...]:
    """The letter's signatures named like a drafting organisation (DRAFTERS_FIRST)."""
    drafting = {_name_folded(name) for name in drafting_organisation_names(letter)}
    if not drafting:
        return ()
    candidates = {names.name_key(name) for name in drafting} | drafting
    rows = db.session.execute(
        select(Signature.id, Signature.name).where(
            Signature.letter_id == letter.id, Signature.name_key.in_(sorted(candidates))
        )
    )
    return tuple(row.id for row in rows if _name_folded(row.name) in drafting)


def _order_by(arrangement: Arrangement, drafter_ids: Sequence[int]) -> list[Any]:
    """ORDER BY for the arrangement: group, then the chosen order, then the name and id."""
    order: list[Any] = []
    cut = _new_since_cut(arrangement)
    rank: Any
    if cut is None:  # the index's own expression: a page is read along the index
        rank = literal_column(LIST_GROUP_RANK_SQL.replace("kind", "signatures.kind", 1))
    else:
        new_since = and_(Signature.approved_at.is_not(None), Signature.approved_at >= cut)
        rank = case((Signature.kind == SignatoryKind.INDIVIDUAL, 2), (new_since, 1), else_=0)
    order.append(rank)

    def in_main_groups(expression: Any) -> Any:
        """Only the grouping's groups are split by it (not "new since", "individuals")."""
        return expression if rank is None else case((rank == 0, expression), else_=None)

    if arrangement.grouping == "country":
        order += [in_main_groups(Signature.country_order), in_main_groups(Signature.country_place)]
    elif arrangement.grouping == "kind":
        order.append(in_main_groups(_kind_rank()))
    elif arrangement.grouping == "tier":
        first = sorted(arrangement.first_tier)
        order.append(in_main_groups(case((Signature.id.in_(first), 0), else_=1)))

    def for_organisations(expression: Any) -> Any:
        """The chosen order places organisations; individuals go by (family) name."""
        return case((Signature.kind == SignatoryKind.INDIVIDUAL, None), else_=expression)

    if arrangement.mode == OrderMode.COUNTRY:
        order.append(for_organisations(Signature.country_order))
    elif arrangement.mode == OrderMode.KIND:
        order.append(for_organisations(_kind_rank()))
    elif arrangement.mode == OrderMode.DRAFTERS_FIRST:
        order.append(for_organisations(case((Signature.id.in_(list(drafter_ids)), 0), else_=1)))
    elif arrangement.mode == OrderMode.CUSTOM and arrangement.custom_order:
        position: dict[int, int] = {}
        for index, ident in enumerate(arrangement.custom_order):
            position.setdefault(ident, index)
        order.append(for_organisations(case(position, value=Signature.id, else_=len(position))))
    return [*order, Signature.name_order, Signature.id]


@dataclass(frozen=True)
class ListPage:
    """One page of the listed signatories (the public page, embed, API, downloads)."""

    #: How many are listed in all (not only on this page).
    count: int
    entries: tuple[Entry, ...]
    offset: int
    limit: int

    @property
    def groups(self) -> tuple[Group, ...]:
        """This page's entries in their groups (a group may go on over the next page)."""
        runs: list[list[Entry]] = []
        for entry in self.entries:
            if runs and (runs[-1][0].group_kind, runs[-1][0].group) == (
                entry.group_kind,
                entry.group,
            ):
                runs[-1].append(entry)
            else:
                runs.append([entry])
        return tuple(Group(run[0].group_kind, None, tuple(run), run[0].group) for run in runs)

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.entries) < self.count


class RevisionRow(RevisionLike, Protocol):
    """A revision's columns as :func:`listed` reads them: what the chain reads, and its id."""

    @property
    def id(self) -> int: ...


@dataclass(frozen=True)
class Listed:
    """Who is listed under a revision of a letter, read from SQL page by page
    (:func:`listed`): the same answer as :func:`signatory_list`, without loading the list."""

    #: The letter's id (not the letter: a streamed download reads on after the request's
    #: commit, when the letter's row is no longer loaded).
    letter_id: int
    arrangement: Arrangement
    chain: RevisionChain
    revisions: tuple[RevisionRow, ...]
    #: The signatures named like a drafting organisation (``DRAFTERS_FIRST`` only).
    drafter_ids: tuple[int, ...] = ()

    @property
    def head_number(self) -> int:
        return self.chain.target

    def _numbers(self) -> dict[int, int]:
        return {r.id: r.number for r in self.revisions}

    def _approved_in(self, revision_ids: Sequence[int]) -> Any:
        """Approvals (not declined, withdrawn, pending or rejected) of these revisions,
        whose fingerprint is the revision's: what :func:`verdict` asks, in SQL."""
        hashes = {r.id: r.content_sha256 for r in self.revisions}
        matching = [
            and_(
                Signature.revision_id == ident,
                or_(
                    Signature.approved_sha256.is_(None), Signature.approved_sha256 == hashes[ident]
                ),
            )
            for ident in revision_ids
        ]
        return and_(
            Signature.letter_id == self.letter_id,
            Signature.status == SignatureStatus.APPROVED,
            Signature.moderation.in_(_LISTED_MODERATION),
            or_(false(), *matching),
        )

    def _listed_clause(self) -> Any:
        covered = [r.id for r in self.revisions if self.chain.cover.covers(r.number)]
        return self._approved_in(covered)

    @property
    def is_current(self) -> bool:
        """Whether this is the list under the letter's current text."""
        return self.chain.target == max((r.number for r in self.revisions), default=0)

    def count_query(self) -> Select[tuple[int]]:
        """How many are listed: one COUNT on the letter's index."""
        return select(func.count(Signature.id)).where(self._listed_clause())

    def count(self) -> int:
        """How many are listed (exact; the public pages read ``signatures.counts``)."""
        return int(db.session.scalar(self.count_query()) or 0)

    def awaiting_query(self) -> Select[tuple[int]] | None:
        """How many approvals of an earlier text will count again once re-confirmed
        (None: no earlier text's approvals can)."""
        target = self.chain.target
        waiting = [
            r.id
            for r in self.revisions
            if r.number < target and not self.chain.cover.covers(r.number)
        ]
        if not waiting:
            return None
        return select(func.count(Signature.id)).where(self._approved_in(waiting))

    def awaiting_reconfirmation(self) -> int:
        """Approvals of an earlier text that will count again once re-confirmed."""
        query = self.awaiting_query()
        return 0 if query is None else int(db.session.scalar(query) or 0)

    def _ordered(self) -> Select[tuple[Signature]]:
        """The listed signatures in the list's order."""
        return (
            select(Signature)
            .where(self._listed_clause())
            .order_by(*_order_by(self.arrangement, self.drafter_ids))
        )

    def _entries(self, signatures: Sequence[Signature], offset: int) -> list[Entry]:
        """``signatures`` (from position ``offset + 1`` of the list on) as entries."""
        numbers = self._numbers()
        found = []
        for index, signature in enumerate(signatures):
            kind, label = group_of(signature, self.arrangement)
            heading = group_heading(kind, label, self.arrangement)
            assert signature.revision_id is not None
            name = printed_name(signature.name)
            number = numbers[signature.revision_id]
            found.append(Entry(offset + index + 1, signature, name, number, heading, kind))
        return found

    def entries(self, offset: int, limit: int) -> list[Entry]:
        """Entries ``offset`` to ``offset + limit`` of the list (positions from 1)."""
        if limit <= 0:
            return []
        signatures = db.session.scalars(self._ordered().offset(offset).limit(limit)).all()
        return self._entries(signatures, offset)

    def _left_out_clause(self) -> Any:
        """Approvals not listed: the listed clause negated row by row (it is never NULL once
        the revision is known), not ``id NOT IN`` the listed ids, which SQLite read whole
        (20,000 ids) for a page of 50 left out."""
        return and_(
            Signature.letter_id == self.letter_id,
            Signature.status == SignatureStatus.APPROVED,
            or_(Signature.revision_id.is_(None), not_(self._listed_clause())),
        )

    def count_with_left_out(self) -> tuple[int, int]:
        """How many are listed and how many approvals are left out (:meth:`count` and
        :meth:`left_out_count`), in one pass over the letter's approvals."""
        listed = func.count(case((self._listed_clause(), Signature.id)))
        row = db.session.execute(
            select(listed, func.count(Signature.id)).where(
                Signature.letter_id == self.letter_id,
                Signature.status == SignatureStatus.APPROVED,
            )
        ).one()
        return int(row[0]), int(row[1]) - int(row[0])

    def left_out_count(self) -> int:
        """How many approvals do not count here (what :attr:`SignatoryList.left_out` holds)."""
        found = db.session.scalar(select(func.count(Signature.id)).where(self._left_out_clause()))
        return int(found or 0)

    def left_out(self, offset: int, limit: int) -> list[LeftOut]:
        """Approvals that do not count here, with the reason (:func:`verdict`'s), by name."""
        signatures = db.session.scalars(
            select(Signature)
            .where(self._left_out_clause())
            .order_by(Signature.name_order, Signature.id)
            .offset(offset)
            .limit(limit)
        ).all()
        numbers = self._numbers()
        found = []
        for signature in signatures:
            number = numbers.get(signature.revision_id) if signature.revision_id else None
            judged = verdict(signature, number, self.chain)
            assert judged.code is not None
            found.append(LeftOut(signature, judged.reason, judged.code))
        return found

    def page(self, offset: int, limit: int, *, count: int | None = None) -> ListPage:
        """A page of the list with the total count."""
        total = self.count() if count is None else count
        return ListPage(total, tuple(self.entries(offset, limit)), offset, limit)

    def batches(self, size: int = 1000) -> Iterator[list[PrintedEntry]]:
        """Every entry, ``size`` at a time (downloads stream them), from one sorted query
        read as it is consumed (``yield_per``: a server-side cursor on PostgreSQL, SQLite's
        own stepping): the first batch comes as soon as the database has sorted, memory
        stays that of a batch, and no batch sorts the list again (OFFSET pages did, each).
        Only the printed columns are read, as plain rows (:data:`PRINTED_COLUMNS`)."""
        query = (
            select(*PRINTED_COLUMNS)
            .where(self._listed_clause())
            .order_by(*_order_by(self.arrangement, self.drafter_ids))
            .execution_options(yield_per=size)
        )
        numbers = self._numbers()
        headings: dict[tuple[GroupKind, str | None], str | None] = {}
        position = 0
        for partition in db.session.execute(query).partitions():
            batch = []
            for row in partition:
                signature = cast(Printable, row)
                group = group_of(signature, self.arrangement)
                if group not in headings:
                    headings[group] = group_heading(*group, self.arrangement)
                position += 1
                assert signature.revision_id is not None
                batch.append(
                    PrintedEntry(
                        position,
                        signature,
                        printed_name(signature.name),
                        numbers[signature.revision_id],
                        headings[group],
                        group[0],
                    )
                )
            yield batch


def listed(
    letter: Letter, revision: Revision | None = None, *, mode: OrderMode | None = None
) -> Listed:
    """The letter's list under ``revision`` (default: the current text), in the stored
    arrangement (``mode`` overrides its order), for reading in pages (two queries)."""
    rows = cast(
        "tuple[RevisionRow, ...]",
        tuple(
            db.session.execute(
                select(
                    Revision.id, Revision.number, Revision.change_kind, Revision.content_sha256
                ).where(Revision.letter_id == letter.id)
            ).all()
        ),
    )
    head = max((r.number for r in rows), default=0)
    target = revision.number if revision is not None else head
    chain = RevisionChain.of(rows, target)
    arrangement = stored_arrangement(letter)
    if mode is not None:
        arrangement = replace(arrangement, mode=mode)
    drafters = _drafter_ids(letter) if arrangement.mode == OrderMode.DRAFTERS_FIRST else ()
    return Listed(letter.id, arrangement, chain, rows, drafters)


def page(letter: Letter, offset: int, limit: int) -> ListPage:
    """Entries ``offset`` to ``offset + limit`` of the letter's list, with its count."""
    return listed(letter).page(offset, limit)


def count(letter: Letter) -> int:
    """How many are listed under the letter's current text."""
    return listed(letter).count()
