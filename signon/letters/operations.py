"""Everything that changes letters, their team and their text. Add and flush; never commit."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slugify import slugify
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from signon.accounts import mail_allowance
from signon.accounts.models import Organisation, User
from signon.audit.operations import record_event
from signon.core.forms import body_length_problem
from signon.core.locks import lock_row, on_postgresql
from signon.core.notices import Delivery
from signon.core.permissions import Action, TeamRole
from signon.core.signals import email_confirmed, letter_access_changed, revision_saved
from signon.db import utcnow
from signon.extensions import db
from signon.letters import notifications
from signon.letters.audit_records import REVISION_CREATED, REVISION_SAVED, record_revision
from signon.letters.models import (
    Letter,
    LetterNotificationChoice,
    LetterStatus,
    Revision,
    TeamInvitation,
    TeamMember,
    UnresolvedDraft,
)
from signon.letters.text import three_way_merge

#: How often a save retries when other saves keep landing first.
MAX_SAVE_ATTEMPTS = 8


class LetterError(Exception):
    """A rule of the domain was broken; the message is meant for the user."""


def normalise_text(text: str) -> str:
    """One form for every stored text: LF line ends and a single final newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.rstrip() + "\n" if text.strip() else ""


def unique_slug(title: str) -> str:
    base = slugify(title, max_length=80, word_boundary=True) or "letter"
    taken = set(
        db.session.scalars(
            select(Letter.slug).where((Letter.slug == base) | Letter.slug.like(f"{base}-%"))
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def create_letter(
    creator: User,
    *,
    title: str,
    addressee: str = "",
    language: str = "en",
    deadline: datetime | None = None,
    body: str = "",
    drafting_organisation: Organisation | None = None,
    slug: str | None = None,
) -> Letter:
    """A new letter in drafting, its creator as coordinator, and revision 1."""
    letter = Letter(
        slug=slug or unique_slug(title),
        title=title,
        addressee=addressee,
        language=language,
        deadline=deadline,
        status=LetterStatus.DRAFTING,
        created_by=creator,
    )
    db.session.add(letter)
    db.session.add(
        TeamMember(letter=letter, user=creator, role=TeamRole.COORDINATOR, added_by=creator)
    )
    if drafting_organisation is not None:
        db.session.add(
            TeamMember(
                letter=letter,
                organisation=drafting_organisation,
                role=TeamRole.DRAFTER,
                is_drafting_organisation=True,
                added_by=creator,
            )
        )
    db.session.flush()
    record_event("letter.created", letter_id=letter.id, actor=creator, slug=letter.slug)
    _insert_revision(
        letter,
        number=1,
        parent=None,
        base=None,
        author=creator,
        title=title,
        body=normalise_text(body),
        note="First draft",
        action=REVISION_CREATED,
    )
    return letter


def update_letter_details(
    letter: Letter,
    *,
    addressee: str,
    language: str,
    deadline: datetime | None,
    actor: User | None = None,
) -> None:
    # exclusive: public sign-ons read the deadline and the language (their sort keys)
    # under the letter's shared lock (signon.core.locks.share_row) and must not interleave
    lock_row(Letter, letter.id)
    letter.addressee = addressee
    letter.language = language
    letter.deadline = deadline
    letter.last_activity_at = utcnow()
    record_event(
        "letter.details_changed",
        letter_id=letter.id,
        actor=actor,
        addressee=addressee,
        language=language,
        deadline=deadline.isoformat() if deadline else None,
    )
    db.session.flush()


# --- The drafting team ---------------------------------------------------------------


def add_team_member(
    letter: Letter,
    *,
    role: TeamRole,
    added_by: User,
    user: User | None = None,
    organisation: Organisation | None = None,
    drafting: bool = False,
) -> TeamMember:
    if (user is None) == (organisation is None):
        raise ValueError("a team member is a user or an organisation")
    member = TeamMember(
        letter=letter,
        user=user,
        organisation=organisation,
        role=role,
        is_drafting_organisation=drafting and organisation is not None,
        added_by=added_by,
    )
    db.session.add(member)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise LetterError(f"{member.display_name} is already on the team.") from exc
    record_event(
        "team.added",
        letter_id=letter.id,
        actor=added_by,
        member=member.display_name,
        role=role.value,
    )
    return member


def _coordinator_count(letter: Letter) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(TeamMember)
            .where(TeamMember.letter_id == letter.id, TeamMember.role == TeamRole.COORDINATOR)
        )
        or 0
    )


def _keep_a_coordinator(member: TeamMember, new_role: TeamRole | None, actor: User | None) -> None:
    """The one check of every change that can take a coordinator away (``new_role`` is
    ``None`` for a removal): a letter always keeps at least one coordinator.

    It runs under the letter's row lock, so two coordinators demoting or removing each
    other at the same instant take turns: the second one sees the first one's change and
    is refused. The member and the actor's own role are read again under the lock, since
    either may have changed while the request waited for it.

    Removing a person from an organisation never takes a coordinator away: an
    organisation on the team keeps its role, and it always keeps an admin (see
    ``accounts.operations._refuse_if_last_admin``).
    """
    letter = member.letter
    _lock_letter(letter)
    current = db.session.scalar(
        select(TeamMember)
        .where(TeamMember.id == member.id)
        .execution_options(populate_existing=True)
    )
    if current is None:
        raise LetterError("This member is no longer on the team: someone removed them meanwhile.")
    if actor is not None and not letter.can(actor, Action.LETTER_MANAGE_TEAM):
        raise LetterError("Only coordinators manage the team, and you are no longer one.")
    if (
        current.role == TeamRole.COORDINATOR
        and new_role != TeamRole.COORDINATOR
        and _coordinator_count(letter) <= 1
    ):
        raise LetterError("A letter needs at least one coordinator: appoint another one first.")


def change_team_role(member: TeamMember, role: TeamRole, actor: User | None = None) -> None:
    _keep_a_coordinator(member, role, actor)
    old_role = member.role
    member.role = role
    record_event(
        "team.role_changed",
        letter_id=member.letter_id,
        actor=actor,
        member=member.display_name,
        old=old_role.value,
        new=role.value,
    )
    db.session.flush()
    letter_access_changed.send(member.letter)


def remove_team_member(member: TeamMember, actor: User | None = None) -> None:
    _keep_a_coordinator(member, None, actor)
    record_event(
        "team.removed", letter_id=member.letter_id, actor=actor, member=member.display_name
    )
    letter = member.letter
    db.session.delete(member)
    db.session.flush()
    letter_access_changed.send(letter)


# --- Inviting people to the team by address -------------------------------------------
#
# Adding a person by e-mail works the same for every address: it always makes a pending
# invitation and mails it, so neither the answer nor the team page tells the coordinator
# whether an account uses the address. An account takes the role when it confirms the
# address (the ``email_confirmed`` signal, in the confirmation's own transaction), or,
# if it confirmed it already, when its owner accepts the invitation.

#: How long a team invitation waits for its address.
TEAM_INVITATION_DAYS = 30
INVITATION_GONE = "This invitation was taken or revoked meanwhile."


def choose_letter_notifications(letter: Letter, user: User, delivery: Delivery | None) -> None:
    """How ``user`` hears of ``letter``'s notices from now on: ``delivery`` for every kind,
    or (``None``) the choices of their account page again."""
    existing = db.session.scalar(
        select(LetterNotificationChoice).where(
            LetterNotificationChoice.letter_id == letter.id,
            LetterNotificationChoice.user_id == user.id,
        )
    )
    if delivery is None:
        if existing is not None:
            db.session.delete(existing)
    elif existing is not None:
        existing.delivery = delivery
    else:
        db.session.add(
            LetterNotificationChoice(letter_id=letter.id, user_id=user.id, delivery=delivery)
        )
    db.session.flush()


def _direct_member_with_email(letter: Letter, email: str) -> TeamMember | None:
    return db.session.scalar(
        select(TeamMember)
        .join(User, TeamMember.user_id == User.id)
        .where(TeamMember.letter_id == letter.id, User.email == email)
    )


def invite_to_team(
    letter: Letter, *, email: str, role: TeamRole, invited_by: User
) -> TeamInvitation:
    """Invite whoever owns ``email`` to the team with ``role`` and mail them the invitation.

    An address already invited gets it again (the role asked now, a new expiry). Someone
    already on the team in person is refused: the team page shows their address anyway.
    """
    email = User.normalise_email(email)
    _lock_letter(letter)
    if _direct_member_with_email(letter, email) is not None:
        raise LetterError(f"{email} is already on the team.")
    try:
        mail_allowance.take(invited_by, letter, 1, kind=mail_allowance.MailKind.TEAM_INVITATION)
    except mail_allowance.AllowanceExceededError as error:
        raise LetterError(str(error)) from error
    invitation = db.session.scalar(
        select(TeamInvitation).where(
            TeamInvitation.letter_id == letter.id, TeamInvitation.email == email
        )
    )
    if invitation is None:
        invitation = TeamInvitation(letter=letter, email=email)
        db.session.add(invitation)
    invitation.role = role
    invitation.invited_by = invited_by
    invitation.created_at = utcnow()
    invitation.expires_at = utcnow() + timedelta(days=TEAM_INVITATION_DAYS)
    db.session.flush()
    record_event(
        "team.invited", letter_id=letter.id, actor=invited_by, email=email, role=role.value
    )
    notifications.mail_team_invitation(invitation, TEAM_INVITATION_DAYS)
    return invitation


def _locked_invitation(invitation: TeamInvitation) -> TeamInvitation | None:
    """The invitation read again under its letter's lock, or ``None`` when someone took,
    declined or revoked it while this request waited."""
    _lock_letter(invitation.letter)
    return db.session.scalar(
        select(TeamInvitation)
        .where(TeamInvitation.id == invitation.id)
        .execution_options(populate_existing=True)
    )


def revoke_team_invitation(invitation: TeamInvitation, actor: User | None = None) -> None:
    if _locked_invitation(invitation) is None:
        raise LetterError(INVITATION_GONE)
    record_event(
        "team.invitation_revoked",
        letter_id=invitation.letter_id,
        actor=actor,
        email=invitation.email,
        role=invitation.role.value,
    )
    db.session.delete(invitation)
    db.session.flush()


def _take_invitation(invitation: TeamInvitation, user: User) -> TeamMember | None:
    """Put ``user`` on the team with the invitation's role and use the invitation up;
    ``None`` if it is gone meanwhile.

    Someone on the team in person already keeps the stronger of the two roles (never a
    demotion, so this never takes a coordinator away).
    """
    if _locked_invitation(invitation) is None:
        return None
    letter = invitation.letter
    member = db.session.scalar(
        select(TeamMember).where(TeamMember.letter_id == letter.id, TeamMember.user_id == user.id)
    )
    if member is None:
        member = TeamMember(
            letter=letter, user=user, role=invitation.role, added_by=invitation.invited_by
        )
        db.session.add(member)
    elif invitation.role.rank > member.role.rank:
        member.role = invitation.role
    record_event(
        "team.invitation_claimed",
        letter_id=letter.id,
        actor=user,
        email=invitation.email,
        role=member.role.value,
    )
    db.session.delete(invitation)
    db.session.flush()
    return member


def _claimable(user: User, invitation: TeamInvitation) -> bool:
    return (
        user.is_confirmed
        and invitation.email == User.normalise_email(user.email)
        and not invitation.is_expired
    )


def accept_team_invitation(invitation: TeamInvitation, user: User) -> TeamMember:
    """The owner of a confirmed address takes the role waiting for it."""
    if not _claimable(user, invitation):
        raise LetterError("This invitation is not for your confirmed address, or it expired.")
    member = _take_invitation(invitation, user)
    if member is None:
        raise LetterError(INVITATION_GONE)
    return member


def decline_team_invitation(invitation: TeamInvitation, user: User) -> None:
    if not _claimable(user, invitation):
        raise LetterError("This invitation is not for your confirmed address, or it expired.")
    if _locked_invitation(invitation) is None:
        raise LetterError(INVITATION_GONE)
    record_event(
        "team.invitation_declined",
        letter_id=invitation.letter_id,
        actor=user,
        email=invitation.email,
    )
    db.session.delete(invitation)
    db.session.flush()


def claim_team_invitations(user: User) -> list[TeamMember]:
    """Every role waiting for the user's address, taken now that they confirmed it."""
    if not user.is_confirmed:
        return []
    waiting = db.session.scalars(
        select(TeamInvitation)
        .where(
            TeamInvitation.email == User.normalise_email(user.email),
            TeamInvitation.expires_at > utcnow(),
        )
        .order_by(TeamInvitation.id)
    ).all()
    taken = (_take_invitation(invitation, user) for invitation in waiting)
    return [member for member in taken if member is not None]


@email_confirmed.connect
def _claim_on_confirmation(sender: User, **_extra: object) -> None:
    claim_team_invitations(sender)


# --- Saving the text -----------------------------------------------------------------


class SaveStatus(enum.StrEnum):
    SAVED = "saved"
    MERGED = "merged"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"


@dataclass
class SaveResult:
    status: SaveStatus
    revision: Revision | None = None
    draft: UnresolvedDraft | None = None
    #: Revisions that others saved between the author's base and this save.
    concurrent: list[Revision] = field(default_factory=list)


def _insert_revision(
    letter: Letter,
    *,
    number: int,
    parent: Revision | None,
    base: Revision | None,
    author: User,
    title: str,
    body: str,
    note: str,
    merged: bool = False,
    action: str = REVISION_SAVED,
) -> Revision:
    """Insert the revision and the audit event that vouches for its SHA-256."""
    problem = body_length_problem(body)
    if problem:
        raise LetterError(problem)
    revision = Revision(
        letter=letter,
        number=number,
        parent_id=parent.id if parent else None,
        base_id=base.id if base else None,
        author=author,
        title=title,
        body_markdown=body,
        content_sha256=Revision.hash_content(title, body),
        change_note=note,
        merged=merged,
    )
    db.session.add(revision)
    db.session.flush()
    record_revision(revision, action, actor=author, merged=merged or None)
    return revision


def _revisions_between(letter: Letter, base: Revision, head: Revision) -> list[Revision]:
    return list(
        db.session.scalars(
            select(Revision)
            .where(
                Revision.letter_id == letter.id,
                Revision.number > base.number,
                Revision.number <= head.number,
            )
            .order_by(Revision.number)
        )
    )


def _merge_title(base: str, ours: str, theirs: str) -> str | None:
    """The title merged like one token: ``None`` when both changed it differently."""
    if ours in (theirs, base):
        return theirs
    if theirs == base:
        return ours
    return None


def save_revision(
    letter: Letter,
    author: User,
    *,
    base: Revision,
    title: str,
    body: str,
    change_note: str = "",
    draft: UnresolvedDraft | None = None,
) -> SaveResult:
    """Save the author's text as the next revision, never losing anyone's edit.

    The save is made against ``base``, the revision the author was editing. If
    nobody saved since, the text becomes revision base+1. If someone did, the
    two edits are merged (three-way, word-level); when they overlap, the text is
    kept as an :class:`UnresolvedDraft` and nothing is overwritten. A concurrent
    save that wins the race for a number makes the unique constraint on
    (letter, number) fire: we then retry against the new head.
    """
    _lock_letter(letter)
    if letter.status != LetterStatus.DRAFTING:
        raise LetterError("The text is frozen: it can no longer be edited.")
    body = normalise_text(body)
    for _attempt in range(MAX_SAVE_ATTEMPTS):
        head = letter.head()
        assert head is not None, "every letter has a first revision"
        concurrent: list[Revision] = []
        if head.id == base.id:
            new_title, new_body, merged = title, body, False
        else:
            concurrent = _revisions_between(letter, base, head)
            merge = three_way_merge(base.body_markdown, body, head.body_markdown)
            merged_title = _merge_title(base.title, title, head.title)
            if not merge.clean or merged_title is None:
                return SaveResult(
                    SaveStatus.CONFLICT,
                    draft=_keep_draft(letter, author, base, head, title, body, change_note, draft),
                    concurrent=concurrent,
                )
            new_title, new_body, merged = merged_title, merge.text, True
        if new_title == head.title and new_body == head.body_markdown:
            _resolve(draft)
            return SaveResult(SaveStatus.UNCHANGED, revision=head, concurrent=concurrent)
        try:
            with db.session.begin_nested():
                revision = _insert_revision(
                    letter,
                    number=head.number + 1,
                    parent=head,
                    base=base,
                    author=author,
                    title=new_title,
                    body=new_body,
                    note=change_note,
                    merged=merged,
                )
        except IntegrityError:
            continue  # another save took this number first: merge with it and try again
        letter.title = new_title
        letter.last_activity_at = utcnow()
        _resolve(draft)
        db.session.flush()
        revision_saved.send(revision)
        status = SaveStatus.MERGED if merged else SaveStatus.SAVED
        return SaveResult(status, revision=revision, concurrent=concurrent)
    raise LetterError("The letter is being changed very often right now; please save again.")


def _lock_letter(letter: Letter) -> None:
    """Take the letter's row lock (PostgreSQL) so that a save and a freeze cannot interleave,
    nor two changes of the team.

    Saves of one letter then take turns, as they do on SQLite (BEGIN IMMEDIATE); the
    unique (letter, number) constraint stays as the guard of last resort.
    """
    if on_postgresql():
        lock_row(Letter, letter.id, key_share=True)
        db.session.refresh(letter, ["status"])


def _keep_draft(
    letter: Letter,
    author: User,
    base: Revision,
    head: Revision,
    title: str,
    body: str,
    change_note: str,
    previous: UnresolvedDraft | None,
) -> UnresolvedDraft:
    """Store the author's text so that a conflict never loses it."""
    _resolve(previous)
    draft = UnresolvedDraft(
        letter=letter,
        author=author,
        base_revision=base,
        conflicting_revision=head,
        title=title,
        body_markdown=body,
        change_note=change_note,
    )
    db.session.add(draft)
    db.session.flush()
    return draft


def _resolve(draft: UnresolvedDraft | None) -> None:
    if draft is not None and draft.resolved_at is None:
        draft.resolved_at = utcnow()


def discard_draft(draft: UnresolvedDraft) -> None:
    _resolve(draft)
    record_event("draft.discarded", letter_id=draft.letter_id, actor=draft.author, draft=draft.id)
    db.session.flush()
