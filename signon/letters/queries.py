"""Read-only lookups for the letters pages, each a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from flask import abort
from sqlalchemy import Select, and_, bindparam, false, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql.elements import ColumnElement

from signon.accounts.models import User
from signon.core.locks import load_shared
from signon.core.permissions import TeamRole
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter, Revision, TeamInvitation, TeamMember, UnresolvedDraft


@dataclass(frozen=True)
class LetterRow:
    letter: Letter
    role: TeamRole
    head: Revision


def letters_for(user: User) -> list[LetterRow]:
    """Every letter the user can see, newest activity first, with their role and head."""
    letters = db.session.scalars(
        select(Letter).where(Letter.visible_to(user.id)).order_by(Letter.last_activity_at.desc())
    ).all()
    if not letters:
        return []
    ids = [letter.id for letter in letters]
    roles: dict[int, TeamRole] = {}
    for letter_id, role in db.session.execute(
        select(TeamMember.letter_id, TeamMember.role).where(
            TeamMember.letter_id.in_(ids), TeamMember.reaches_user(user.id)
        )
    ):
        if letter_id not in roles or role.rank > roles[letter_id].rank:
            roles[letter_id] = role
    latest = (
        select(Revision.letter_id, db.func.max(Revision.number).label("number"))
        .where(Revision.letter_id.in_(ids))
        .group_by(Revision.letter_id)
        .subquery()
    )
    heads = {
        revision.letter_id: revision
        for revision in db.session.scalars(
            select(Revision)
            .join(
                latest,
                (Revision.letter_id == latest.c.letter_id) & (Revision.number == latest.c.number),
            )
            .options(selectinload(Revision.author))
        )
    }
    return [LetterRow(letter, roles[letter.id], heads[letter.id]) for letter in letters]


@cache
def by_slug() -> Select[tuple[Letter]]:
    """The ``select`` of the letter named by the bind parameter ``slug``
    (:func:`slug_parameter`). Built once, as the statements the public pages extend it
    into: every reader and every step of a public sign-on reads a letter by its slug, and
    building the statement (and its cache key) anew each time cost about as much CPU as
    running it."""
    return select(Letter).where(Letter.slug == bindparam("slug"))


def slug_parameter(slug: str) -> dict[str, str]:
    """:func:`by_slug`'s parameter; 404 at once for a slug no letter has (empty, too
    long, with NUL, which PostgreSQL refuses in text)."""
    if not slug or len(slug) > 120 or "\x00" in slug:
        abort(404)
    return {"slug": slug}


def letter_by_slug(slug: str, *, shared: bool = False) -> Letter:
    """The letter (404 if there is none). ``shared``: read under the letter's shared lock
    to the commit (:func:`signon.core.locks.load_shared`), for a request that takes it
    anyway (a public sign-on's POST): the operation's ``share_row`` then reads nothing."""
    params = slug_parameter(slug)
    letter = load_shared(by_slug(), params) if shared else db.session.scalar(by_slug(), params)
    if letter is None:
        abort(404)
    return letter


def revision_by_number(letter: Letter, number: int) -> Revision:
    revision = db.session.scalar(
        select(Revision)
        .where(Revision.letter_id == letter.id, Revision.number == number)
        .options(selectinload(Revision.author))
    )
    if revision is None:
        abort(404)
    return revision


def revision_in(letter: Letter, revision_id: int | None) -> Revision | None:
    """The revision with this id if it is one of the letter's (a form's base revision)."""
    if revision_id is None:
        return None
    return db.session.scalar(
        select(Revision).where(Revision.letter_id == letter.id, Revision.id == revision_id)
    )


def newest_revision(letter: Letter) -> Revision:
    """The letter's current revision with its author, in one query."""
    revision = db.session.scalar(
        select(Revision)
        .where(Revision.letter_id == letter.id)
        .order_by(Revision.number.desc())
        .limit(1)
        .options(joinedload(Revision.author))
    )
    assert revision is not None, "every letter has a first revision"
    return revision


def revisions_of(letter: Letter) -> list[Revision]:
    return list(
        db.session.scalars(
            select(Revision)
            .where(Revision.letter_id == letter.id)
            .order_by(Revision.number)
            .options(selectinload(Revision.author))
        )
    )


def team_of(letter: Letter) -> list[TeamMember]:
    return list(
        db.session.scalars(
            select(TeamMember)
            .where(TeamMember.letter_id == letter.id)
            .order_by(TeamMember.id)
            .options(selectinload(TeamMember.user), selectinload(TeamMember.organisation))
        )
    )


def team_member(letter: Letter, member_id: int) -> TeamMember:
    member = db.session.scalar(
        select(TeamMember).where(TeamMember.letter_id == letter.id, TeamMember.id == member_id)
    )
    if member is None:
        abort(404)
    return member


def open_drafts(letter: Letter, user: User) -> list[UnresolvedDraft]:
    return list(
        db.session.scalars(
            select(UnresolvedDraft)
            .where(
                UnresolvedDraft.letter_id == letter.id,
                UnresolvedDraft.author_id == user.id,
                UnresolvedDraft.resolved_at.is_(None),
            )
            .order_by(UnresolvedDraft.created_at.desc())
        )
    )


def draft_of(letter: Letter, user: User, draft_id: int) -> UnresolvedDraft:
    """A draft of this letter by this user; anyone else's draft does not exist for them."""
    draft = db.session.scalar(
        select(UnresolvedDraft).where(
            UnresolvedDraft.letter_id == letter.id,
            UnresolvedDraft.id == draft_id,
            UnresolvedDraft.author_id == user.id,
        )
    )
    if draft is None:
        abort(404)
    return draft


# --- Team invitations ----------------------------------------------------------------


def team_invitations_of(letter: Letter) -> list[TeamInvitation]:
    """The invitations still waiting for an address, oldest first (expired ones too)."""
    return list(
        db.session.scalars(
            select(TeamInvitation)
            .where(TeamInvitation.letter_id == letter.id)
            .order_by(TeamInvitation.id)
        )
    )


def team_invitation(letter: Letter, invitation_id: int) -> TeamInvitation:
    invitation = db.session.scalar(
        select(TeamInvitation).where(
            TeamInvitation.letter_id == letter.id, TeamInvitation.id == invitation_id
        )
    )
    if invitation is None:
        abort(404)
    return invitation


def _invitations_for_clause(user: User) -> ColumnElement[bool]:
    """Unexpired invitations to the user's address, once they confirmed it."""
    if not user.is_confirmed:
        return false()
    return and_(
        TeamInvitation.email == User.normalise_email(user.email),
        TeamInvitation.expires_at > utcnow(),
    )


def team_invitations_for(user: User) -> list[TeamInvitation]:
    """What waits for the user on drafting teams (only once they confirmed their address)."""
    return list(
        db.session.scalars(
            select(TeamInvitation)
            .where(_invitations_for_clause(user))
            .order_by(TeamInvitation.id)
            .options(selectinload(TeamInvitation.letter), selectinload(TeamInvitation.invited_by))
        )
    )


def team_invitation_for(user: User, invitation_id: int) -> TeamInvitation:
    """An invitation to the user's confirmed address; any other does not exist for them."""
    invitation = db.session.scalar(
        select(TeamInvitation).where(
            TeamInvitation.id == invitation_id, _invitations_for_clause(user)
        )
    )
    if invitation is None:
        abort(404)
    return invitation
