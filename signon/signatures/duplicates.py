"""Signatures whose names collide: the same name, or one that looks the same.

Colliding signatures are all kept (each has its own owner); this module finds them.
The public sign-on path refuses a look-alike of an existing signature
(:func:`look_alikes`); everywhere else the coordinators see the pairs as possible
duplicates (:func:`possible_duplicates`) and may merge them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select, union
from sqlalchemy.orm import InstrumentedAttribute

from signon.core import names
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.models import Moderation, Signature, SignatureEvent, SignatureStatus


def _counts() -> ColumnElement[bool]:
    """A signature that can collide: not rejected (merged away, removed) nor declined."""
    return (Signature.moderation != Moderation.REJECTED) & (
        Signature.status != SignatureStatus.DECLINED
    )


def look_alikes(letter: Letter, name: str, *, except_id: int | None = None) -> list[Signature]:
    """The letter's signatures whose name equals ``name`` or looks like it (by id)."""
    params = {"letter_id": letter.id, "key": names.name_key(name), "skeleton": names.skeleton(name)}
    if except_id is not None:
        params["except_id"] = except_id
    return list(
        db.session.scalars(_look_alikes_statement(except_one=except_id is not None), params)
    )


@cache
def _look_alikes_statement(*, except_one: bool) -> Select[tuple[Signature]]:
    """:func:`look_alikes`' statement, built once with bind parameters: every public
    sign-on asks it twice, and building it (and its cache key) anew cost about as much
    CPU as running it."""
    query = select(Signature).where(
        Signature.letter_id == bindparam("letter_id"),
        _counts(),
        or_(
            Signature.name_key == bindparam("key"),
            Signature.name_skeleton == bindparam("skeleton"),
        ),
    )
    if except_one:
        query = query.where(Signature.id != bindparam("except_id"))
    return query.order_by(Signature.id)


def collide(one: Signature, other: Signature) -> bool:
    """The two names are the same (case and spacing aside) or look the same."""
    return one.name_key == other.name_key or one.name_skeleton == other.name_skeleton


@dataclass(frozen=True)
class DuplicateGroup:
    """Signatures that may be the same organisation, oldest first."""

    signatures: tuple[Signature, ...]
    #: True when the names differ only by case or spacing; False for look-alikes.
    same_name: bool


def _groups(signatures: Iterable[Signature]) -> list[list[Signature]]:
    """Connected groups: two signatures meet if their name keys or skeletons are equal."""
    parent: dict[int, int] = {}

    def root(sid: int) -> int:
        while parent[sid] != sid:
            parent[sid] = parent[parent[sid]]
            sid = parent[sid]
        return sid

    by_id = {s.id: s for s in signatures}
    first_by: dict[tuple[str, str], int] = {}
    for signature in by_id.values():
        parent[signature.id] = signature.id
        for key in (("key", signature.name_key), ("skeleton", signature.name_skeleton)):
            if key in first_by:
                parent[root(signature.id)] = root(first_by[key])
            else:
                first_by[key] = signature.id
    grouped: dict[int, list[Signature]] = defaultdict(list)
    for sid in sorted(by_id):
        grouped[root(sid)].append(by_id[sid])
    return [group for group in grouped.values() if len(group) > 1]


def _colliding(column: InstrumentedAttribute[str], letter: Letter) -> Select[tuple[str]]:
    """The values of ``column`` that two or more of the letter's signatures share."""
    return (
        select(column)
        .where(Signature.letter_id == letter.id, _counts())
        .group_by(column)
        .having(func.count(Signature.id) > 1)
    )


def possible_duplicates(letter: Letter) -> list[DuplicateGroup]:
    """Every group of the letter's signatures whose names collide, for the coordinators.

    Only the signatures that share a name key or a skeleton with another are loaded (the
    database finds the shared values, from the indexes on the letter's keys and states,
    without reading its rows): the groups are the same as over every signature, whose other
    members would be alone."""
    colliding = union(
        *(
            select(Signature.id).where(
                Signature.letter_id == letter.id, column.in_(_colliding(column, letter))
            )
            for column in (Signature.name_key, Signature.name_skeleton)
        )
    )
    signatures = db.session.scalars(
        select(Signature).where(Signature.id.in_(colliding), _counts()).order_by(Signature.id)
    )
    return [
        DuplicateGroup(tuple(group), same_name=len({s.name_key for s in group}) == 1)
        for group in _groups(signatures)
    ]


def merged_away(letter: Letter) -> list[tuple[Signature, SignatureEvent]]:
    """Signatures merged into another one (and not taken back), with the merge, newest first."""
    latest: dict[int, SignatureEvent] = {}
    for event in db.session.scalars(
        select(SignatureEvent)
        .join(Signature, Signature.id == SignatureEvent.signature_id)
        .where(
            Signature.letter_id == letter.id,
            Signature.moderation == Moderation.REJECTED,
            SignatureEvent.action.in_(("merged", "merge_undone")),
        )
        .order_by(SignatureEvent.id)
    ):
        latest[event.signature_id] = event
    merges = [e for e in latest.values() if e.action == "merged"]
    return [(e.signature, e) for e in sorted(merges, key=lambda e: e.id, reverse=True)]
