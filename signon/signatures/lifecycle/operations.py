"""A letter's life after drafting: classifying revisions, re-confirmation, freezing, deadline.

Operations here add and flush, write audit events and queue mail; they never commit.

* **Classification.** Every revision after the first is classified by a coordinator as
  editorial (approvals carry forward) or substantive. Only the classification of
  revisions saved *after* a held approval matters to anyone
  (:func:`pending_classification`); earlier ones may be classified too. A proposal
  from the diff (:mod:`signon.signatures.lifecycle.proposal`) is the default; going against it
  needs a reason, audited and mailed to the organisations concerned.
* **Carried forward.** When an editorial classification carries an approval over a
  revision, the organisation is mailed the change (rendered) and a one-click link to
  withdraw, once per revision (a ``carried_forward_notified`` :class:`SignatureEvent`).
* **Re-confirmation.** When an approval is definitively overtaken (a substantive
  revision came after the revision the organisation approved), the organisation is
  mailed what changed since *its* revision and its link, once per head revision
  (a ``reconfirm_requested`` :class:`SignatureEvent` records it).
* **Status.** Freeze (drafting -> open for signature), unfreeze (open -> drafting, with
  a reason), close signing (open -> closed) and reopen (closed -> open); each is an
  audit event ``letter.*`` that the status page lists.
* **Deadline.** Extending it moves the invitations that expired with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from signon.accounts.models import User
from signon.audit.models import AuditEvent
from signon.audit.operations import record_event
from signon.core.locks import lock_row
from signon.core.mail import queue_mail
from signon.core.notices import NoticeKind
from signon.core.signals import letter_access_changed, revision_saved, text_freezing
from signon.db import utcnow
from signon.extensions import db
from signon.letters import notices
from signon.letters.models import ChangeKind, Letter, LetterStatus, Revision
from signon.letters.rendered_diff import before_and_after, for_mail, marked_revisions, readable_diff
from signon.letters.text import DiffSegment, DiffStats, diff_stats, word_diff
from signon.signatures.invitations import allowance
from signon.signatures.invitations.links import invitation_url, withdraw_url
from signon.signatures.invitations.zones import invitee_time
from signon.signatures.lifecycle.proposal import Proposal, propose
from signon.signatures.models import (
    Invitation,
    Moderation,
    Signature,
    SignatureEvent,
    SignatureStatus,
)
from signon.signatures.state import coverage

#: The SignatureEvent that records "asked to re-confirm"; its revision is the head mailed.
RECONFIRM_EVENT = "reconfirm_requested"
#: The SignatureEvent that records "told that its approval carries over this editorial
#: revision"; its revision is the one classified.
CARRIED_EVENT = "carried_forward_notified"

#: Audit actions of this module (the status page lists every ``letter.*`` event).
FROZEN = "letter.frozen"
UNFROZEN = "letter.unfrozen"
SIGNING_CLOSED = "letter.signing_closed"
SIGNING_REOPENED = "letter.signing_reopened"
DEADLINE_EXTENDED = "letter.deadline_extended"
REVISION_CLASSIFIED = "letter.revision_classified"
RECONFIRMATION_REQUESTED = "letter.reconfirmation_requested"
CARRIED_FORWARD_NOTIFIED = "letter.carried_forward_notified"


class LifecycleError(Exception):
    """A rule was broken; the message is meant for the coordinator."""


class ReasonRequiredError(LifecycleError):
    """Classifying against the proposal (:mod:`signon.signatures.lifecycle.proposal`) needs a
    reason.
    """


# --- Which approvals are held ----------------------------------------------------------


def _held_approvals() -> tuple[ColumnElement[bool], ...]:
    """WHERE clauses: an approval that still counts (not withdrawn, not rejected)."""
    return (
        Signature.status == SignatureStatus.APPROVED,
        Signature.moderation != Moderation.REJECTED,
        Signature.revision_id.is_not(None),
    )


def _invited_approvals(letter: Letter) -> list[Signature]:
    """Approvals that still count and came through an invitation with an address to write to
    (the organisations told when the text changes), with their invitations loaded."""
    return list(
        db.session.scalars(
            select(Signature)
            .where(
                Signature.letter_id == letter.id,
                *_held_approvals(),
                Signature.email.is_not(None),
                Signature.invitation_id.is_not(None),
            )
            .order_by(Signature.id)
            .options(selectinload(Signature.invitation))
        )
    )


def held_approval_numbers(letter: Letter) -> list[int]:
    """The revision number each held approval of this letter approved (one per signature)."""
    return list(
        db.session.scalars(
            select(Revision.number)
            .join(Signature, Signature.revision_id == Revision.id)
            .where(Signature.letter_id == letter.id, *_held_approvals())
        )
    )


def pending_classification(letter: Letter) -> list[Revision]:
    """Unclassified revisions saved after a held approval, oldest first.

    Their classification decides whether those approvals still hold, so coordinators
    must classify them (and must before freezing the text). Revisions saved before
    anyone approved concern no one and are not listed here.
    """
    earliest = (
        select(func.min(Revision.number))
        .join(Signature, Signature.revision_id == Revision.id)
        .where(Signature.letter_id == letter.id, *_held_approvals())
        .scalar_subquery()
    )
    return list(
        db.session.scalars(
            select(Revision)
            .where(
                Revision.letter_id == letter.id,
                Revision.number > 1,
                Revision.change_kind.is_(None),
                Revision.number > earliest,
            )
            .order_by(Revision.number)
            .options(selectinload(Revision.author))
        )
    )


@revision_saved.connect
def _notice_change_waiting(sender: Revision, **_extra: object) -> None:
    """A save after an approval leaves a change to classify, which blocks the freeze."""
    held = held_approval_numbers(sender.letter)
    if not held or sender.number <= min(held):
        return
    author = sender.author.display_name if sender.author is not None else "someone"
    notices.notify(
        sender.letter,
        NoticeKind.CHANGE_WAITING,
        f"Revision {sender.number} by {author} was saved after organisations approved: "
        "classify it (editorial or substantive) before the text can be frozen",
    )


def coverage_note(revisions: Sequence[Revision], approved_number: int) -> str:
    """E.g. "approved revision 3; revisions 4–5 editorial" (for pages and mails).

    Describes the editorial revisions that an approval carries forward over, up to
    the head or the first revision that was not classified editorial.
    """
    carried: list[int] = []
    for revision in sorted(revisions, key=lambda r: r.number):
        if revision.number <= approved_number:
            continue
        if revision.change_kind != ChangeKind.EDITORIAL:
            break
        carried.append(revision.number)
    note = f"approved revision {approved_number}"
    if len(carried) == 1:
        return f"{note}; revision {carried[0]} editorial"
    if carried:
        return f"{note}; revisions {carried[0]}–{carried[-1]} editorial"
    return note


# --- Readable diffs for mails ------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    """A paragraph that changed, as diff pieces without line breaks, one list per line."""

    lines: tuple[tuple[DiffSegment, ...], ...]
    #: Unchanged paragraphs were left out before this one.
    skipped_before: bool


@dataclass(frozen=True)
class ChangeSummary:
    """What changed between the revision an organisation approved and the head."""

    old: Revision
    new: Revision
    title: tuple[DiffSegment, ...] | None
    passages: tuple[Passage, ...]
    #: Unchanged paragraphs follow the last passage.
    skipped_after: bool
    stats: DiffStats
    #: The changed paragraphs formatted, changes marked inside them (sanitised HTML,
    #: styled inline for mail clients).
    html: Markup


def _split_lines(segments: Sequence[DiffSegment]) -> list[tuple[list[DiffSegment], bool]]:
    """The diff cut into lines: (pieces, touched).

    A line is touched when it holds a change, or when the line break that ends it
    was removed or added (two paragraphs joined or split).
    """
    lines: list[tuple[list[DiffSegment], bool]] = [([], False)]
    for segment in segments:
        changed = segment.kind != "equal"
        for index, part in enumerate(segment.text.split("\n")):
            if index > 0:
                lines[-1] = (lines[-1][0], lines[-1][1] or changed)
                lines.append(([], False))
            if part:
                pieces, touched = lines[-1]
                pieces.append(DiffSegment(segment.kind, part))
                lines[-1] = (pieces, touched or changed)
    return lines


def changed_passages(segments: Sequence[DiffSegment]) -> tuple[tuple[Passage, ...], bool]:
    """The paragraphs (runs of non-blank lines) that changed, and whether some came after.

    Unchanged paragraphs are left out: a mail shows each change with its paragraph
    as context, not the whole letter again.
    """
    blocks: list[tuple[list[tuple[DiffSegment, ...]], bool]] = []
    in_block = False
    for pieces, touched in _split_lines(segments):
        if not "".join(p.text for p in pieces).strip():
            if touched and blocks and in_block:
                blocks[-1] = (blocks[-1][0], True)
            in_block = False
            continue
        if not in_block:
            blocks.append(([], False))
            in_block = True
        lines, block_touched = blocks[-1]
        lines.append(tuple(pieces))
        blocks[-1] = (lines, block_touched or touched)
    passages: list[Passage] = []
    skipped = False
    for lines, touched in blocks:
        if touched:
            passages.append(Passage(tuple(lines), skipped_before=skipped))
            skipped = False
        else:
            skipped = True
    return tuple(passages), skipped


def changes_as_text(changes: ChangeSummary) -> str:
    """The plain-text part of a mail: each changed paragraph before and after, as read.

    ``[…]`` stands where unchanged paragraphs were left out.
    """
    blocks: list[str] = []
    if changes.title is not None:
        before, after = before_and_after(changes.title)
        blocks.append(f"Title before: {before}\nTitle after:  {after}")
    for passage in changes.passages:
        if passage.skipped_before:
            blocks.append("[…]")
        flat = [piece for line in _joined_lines(passage) for piece in line]
        before, after = before_and_after(flat)
        blocks.append(
            f"Before:\n{before.strip() or '(nothing)'}\n\nAfter:\n{after.strip() or '(nothing)'}"
        )
    if changes.passages and changes.skipped_after:
        blocks.append("[…]")
    if not blocks:
        blocks.append("(Only formatting, spacing or line breaks changed.)")
    return "\n\n".join(blocks)


def _joined_lines(passage: Passage) -> list[tuple[DiffSegment, ...]]:
    """The passage's lines with their line breaks put back (unchanged)."""
    out: list[tuple[DiffSegment, ...]] = []
    for index, line in enumerate(passage.lines):
        out.append(line if index == 0 else (DiffSegment("equal", "\n"), *line))
    return out


def summarise_changes(old: Revision, new: Revision) -> ChangeSummary:
    """The changes as readers see them: the rendered text, not its Markdown."""
    segments = readable_diff(old.body_markdown, new.body_markdown)
    passages, skipped_after = changed_passages(segments)
    title = tuple(word_diff(old.title, new.title)) if old.title != new.title else None
    html = for_mail(marked_revisions(old, new, changed_only=True).html)
    return ChangeSummary(old, new, title, passages, skipped_after, diff_stats(segments), html)


# --- Classification and re-confirmation -------------------------------------------------


@dataclass(frozen=True)
class ClassifyResult:
    changed: bool
    previous: ChangeKind | None
    #: Organisations mailed to re-confirm.
    reconfirmations: int
    #: Re-confirmation was due for some but signing is closed: nobody was mailed.
    signing_closed: bool = False
    #: Organisations told that their approval carries over this editorial revision.
    carried_forward: int = 0


def proposal_for(revision: Revision) -> Proposal:
    """The proposed classification of ``revision`` (compared with the one before it)."""
    parent = db.session.scalar(
        select(Revision).where(
            Revision.letter_id == revision.letter_id, Revision.number == revision.number - 1
        )
    )
    if parent is None:
        raise LifecycleError("The first revision is the starting text: it has nothing to classify.")
    return propose(parent.title, parent.body_markdown, revision.title, revision.body_markdown)


def classify_revision(
    revision: Revision, kind: ChangeKind, user: User, reason: str | None = None
) -> ClassifyResult:
    """Mark ``revision`` editorial or substantive (again, if it was classified before).

    Going against the proposal (:func:`proposal_for`) needs a ``reason``: it is audited
    and mailed to the organisations concerned. A substantive classification mails every
    organisation whose approval it overtakes (see :func:`request_reconfirmations`); an
    editorial one tells every organisation whose approval it carries forward (see
    :func:`notify_carried_forward`).
    """
    letter = revision.letter
    if revision.number <= 1:
        raise LifecycleError("The first revision is the starting text: it has nothing to classify.")
    reason = _clean(reason)
    _lock_letter(letter)
    if letter.status == LetterStatus.PUBLISHED:
        raise LifecycleError("The letter is published: its record can no longer change.")
    proposal = proposal_for(revision)
    if kind != proposal.kind and reason is None:
        raise ReasonRequiredError(
            f"The change looks {proposal.kind.value} ({'; '.join(proposal.reasons)}). "
            f"To mark it {kind.value}, give a reason: it is logged and mailed to the "
            "organisations concerned."
        )
    db.session.refresh(revision)
    previous = revision.change_kind
    if previous == kind:
        return ClassifyResult(changed=False, previous=previous, reconfirmations=0)
    revision.change_kind = kind
    revision.classified_by = user
    revision.classified_at = utcnow()
    db.session.flush()
    record_event(
        REVISION_CLASSIFIED,
        letter_id=letter.id,
        actor=user,
        revision=revision.number,
        kind=kind.value,
        previous=previous.value if previous else None,
        proposed=proposal.kind.value,
        reason=reason,
    )
    if kind == ChangeKind.EDITORIAL:
        told = notify_carried_forward(letter, actor=user, reason=reason)
        return ClassifyResult(
            changed=True, previous=previous, reconfirmations=0, carried_forward=told
        )
    sent = 0
    closed = False
    due = reconfirmations_due(letter)
    if due and not letter.accepts_signatures:
        closed = True
    else:
        sent = request_reconfirmations(letter, actor=user, reason=reason)
    return ClassifyResult(
        changed=True, previous=previous, reconfirmations=sent, signing_closed=closed
    )


@dataclass(frozen=True)
class CarriedForward:
    """An organisation to tell: its approval now carries from ``told`` up to ``reached``."""

    signature: Signature
    invitation: Invitation
    approved: Revision
    #: The last revision it was told about (or approved): the diff starts there.
    told: Revision
    #: The furthest revision its approval now reaches through editorial changes.
    reached: Revision


def carried_forward_due(letter: Letter) -> list[CarriedForward]:
    """Held approvals that now reach further, through editorial revisions, than anyone told.

    Only organisations with an e-mail and an invitation (their link) can be told. The
    link need not be usable any more: withdrawing works with revoked or expired links.
    """
    revisions = sorted(
        db.session.scalars(select(Revision).where(Revision.letter_id == letter.id)),
        key=lambda r: r.number,
    )
    by_id = {r.id: r for r in revisions}
    by_number = {r.number: r for r in revisions}
    signatures = _invited_approvals(letter)
    told_up_to: dict[int, int] = {}
    for signature_id, number in db.session.execute(
        select(SignatureEvent.signature_id, func.max(Revision.number))
        .join(Revision, Revision.id == SignatureEvent.revision_id)
        .where(
            SignatureEvent.signature_id.in_([s.id for s in signatures]),
            SignatureEvent.action == CARRIED_EVENT,
        )
        .group_by(SignatureEvent.signature_id)
    ):
        told_up_to[signature_id] = number
    due: list[CarriedForward] = []
    for signature in signatures:
        approved = by_id.get(signature.revision_id or 0)
        if approved is None or signature.invitation is None:
            continue
        reached = approved.number
        while (
            reached + 1 in by_number and by_number[reached + 1].change_kind == ChangeKind.EDITORIAL
        ):
            reached += 1
        told = max(approved.number, told_up_to.get(signature.id, 0))
        if reached > told:
            due.append(
                CarriedForward(
                    signature,
                    signature.invitation,
                    approved,
                    by_number[told],
                    by_number[reached],
                )
            )
    return due


def notify_carried_forward(letter: Letter, *, actor: User, reason: str | None) -> int:
    """Tell each organisation whose approval now carries over editorial revisions.

    Consent is the organisation's: each gets the changes as they read (rendered, from
    the last text it was told about or approved to the one its approval now reaches),
    the coordinator's reason if one was given, and a one-click link to withdraw. Each
    revision is told once per organisation; counted in the coordinator's mail
    allowance but never refused (like re-confirmations).
    """
    due = carried_forward_due(letter)
    if not due:
        return 0
    summaries: dict[tuple[int, int], ChangeSummary] = {}
    for item in due:
        key = (item.told.id, item.reached.id)
        if key not in summaries:
            summaries[key] = summarise_changes(item.told, item.reached)
        summary = summaries[key]
        email = item.signature.email
        assert email is not None
        db.session.add(
            SignatureEvent(
                signature=item.signature,
                action=CARRIED_EVENT,
                revision_id=item.reached.id,
                email=email,
                details={"from_revision": item.told.number, "reason": reason},
            )
        )
        queue_mail(
            email,
            f"A change to “{item.reached.title}”: your approval carries over",
            "signatures/carried_forward",
            letter=letter,
            signature=item.signature,
            changes=summary,
            changes_text=changes_as_text(summary),
            reason=reason,
            approved_number=item.approved.number,
            link=invitation_url(item.invitation),
            withdraw_link=withdraw_url(item.invitation),
        )
    allowance.record(actor, letter, len(due), allowance.MailKind.CARRIED_FORWARD)
    record_event(
        CARRIED_FORWARD_NOTIFIED,
        letter_id=letter.id,
        actor=actor,
        revisions=sorted({item.reached.number for item in due}),
        organisations=len(due),
    )
    db.session.flush()
    return len(due)


@dataclass(frozen=True)
class ReconfirmationDue:
    """An organisation to ask: its held approval, its link, the revision it approved."""

    signature: Signature
    invitation: Invitation
    approved: Revision


def reconfirmations_due(letter: Letter) -> list[ReconfirmationDue]:
    """Held approvals overtaken by a substantive revision, not yet asked for this head.

    Only organisations with an e-mail and a usable invitation (their link) are asked.
    An approval that is only uncovered because a revision is not classified yet is
    not asked: the coordinator may still call that revision editorial.
    """
    revisions = list(db.session.scalars(select(Revision).where(Revision.letter_id == letter.id)))
    if not revisions:
        return []
    head = max(revisions, key=lambda r: r.number)
    cover = coverage(revisions)
    by_id = {r.id: r for r in revisions}
    substantive = sorted(r.number for r in revisions if r.change_kind == ChangeKind.SUBSTANTIVE)
    signatures = _invited_approvals(letter)
    if not signatures:
        return []
    asked = set(
        db.session.scalars(
            select(SignatureEvent.signature_id).where(
                SignatureEvent.signature_id.in_([s.id for s in signatures]),
                SignatureEvent.action == RECONFIRM_EVENT,
                SignatureEvent.revision_id == head.id,
            )
        )
    )
    due: list[ReconfirmationDue] = []
    for signature in signatures:
        approved = by_id.get(signature.revision_id or 0)
        invitation = signature.invitation
        if approved is None or invitation is None or signature.id in asked:
            continue
        if cover.covers(approved.number):
            continue
        if not any(approved.number < n <= head.number for n in substantive):
            continue
        if not invitation.is_usable:
            continue
        due.append(ReconfirmationDue(signature, invitation, approved))
    return due


def request_reconfirmations(
    letter: Letter, *, actor: User | None = None, reason: str | None = None
) -> int:
    """Mail each organisation whose approval a substantive change overtook; once per head.

    Idempotent: an organisation asked for the current head is not asked again. Does
    nothing while the letter does not accept signatures (the link could not be used);
    reopening or extending the deadline calls it again. Returns how many were mailed.
    """
    if not letter.accepts_signatures:
        return 0
    due = reconfirmations_due(letter)
    if not due:
        return 0
    head = letter.head()
    assert head is not None
    summaries: dict[int, ChangeSummary] = {}
    for item in due:
        if item.approved.id not in summaries:
            summaries[item.approved.id] = summarise_changes(item.approved, head)
        summary = summaries[item.approved.id]
        email = item.signature.email
        assert email is not None
        db.session.add(
            SignatureEvent(
                signature=item.signature,
                action=RECONFIRM_EVENT,
                revision_id=head.id,
                email=email,
                details={"approved_revision": item.approved.number, "head": head.number},
            )
        )
        queue_mail(
            email,
            f"Please re-confirm your signature: “{head.title}” has changed",
            "signatures/reconfirm",
            letter=letter,
            signature=item.signature,
            changes=summary,
            changes_text=changes_as_text(summary),
            approved_on=invitee_time(item.signature.approved_at, email),
            deadline_text=invitee_time(letter.deadline, email),
            link=invitation_url(item.invitation),
            withdraw_link=withdraw_url(item.invitation),
            reason=reason,
        )
    allowance.record(actor, letter, len(due), allowance.MailKind.RECONFIRMATION)
    record_event(
        RECONFIRMATION_REQUESTED,
        letter_id=letter.id,
        actor=actor,
        revision=head.number,
        organisations=len(due),
    )
    db.session.flush()
    return len(due)


# --- Status ----------------------------------------------------------------------------


def _lock_letter(letter: Letter) -> None:
    """Serialise changes of one letter's status (PostgreSQL row lock; SQLite locks at BEGIN).

    Pending changes are flushed first, then the letter is read again under the lock.
    """
    db.session.flush()
    lock_row(Letter, letter.id)
    db.session.refresh(letter)


def _clean(reason: str | None) -> str | None:
    reason = (reason or "").strip()
    return reason or None


def freeze_text(letter: Letter, user: User) -> None:
    """Drafting -> open for signature: the text can no longer be edited.

    Refused while revisions saved after an approval are not classified: whether
    those approvals hold must be settled before signing starts in earnest. What is still
    being typed becomes a revision first (``core.signals.text_freezing``: the live text),
    so the text frozen is the one the editors saw.
    """
    _lock_letter(letter)
    if letter.status != LetterStatus.DRAFTING:
        raise LifecycleError(
            f"The text can only be frozen while drafting; the letter is “{letter.status.label}”."
        )
    for _receiver, problem in text_freezing.send(letter, user=user):
        if problem:
            raise LifecycleError(str(problem))
    pending = pending_classification(letter)
    if pending:
        numbers = ", ".join(str(r.number) for r in pending)
        noun = "revision" if len(pending) == 1 else "revisions"
        raise LifecycleError(
            f"Classify every change first: {noun} {numbers} "
            f"{'was' if len(pending) == 1 else 'were'} saved after organisations approved "
            "and must be marked editorial or substantive before the text is frozen."
        )
    head = letter.head()
    assert head is not None
    letter.status = LetterStatus.OPEN
    letter.last_activity_at = utcnow()
    record_event(
        FROZEN, letter_id=letter.id, actor=user, revision=head.number, sha256=head.content_sha256
    )
    db.session.flush()
    letter_access_changed.send(letter)


def unfreeze_text(letter: Letter, user: User, reason: str) -> None:
    """Open for signature -> drafting (editing again). A reason is required and logged."""
    cleaned = _clean(reason)
    if cleaned is None:
        raise LifecycleError("Give a reason for unfreezing the text: the team and the log show it.")
    _lock_letter(letter)
    if letter.status != LetterStatus.OPEN:
        raise LifecycleError(
            f"Only a frozen text (open for signature) can be unfrozen; "
            f"the letter is “{letter.status.label}”."
        )
    letter.status = LetterStatus.DRAFTING
    letter.last_activity_at = utcnow()
    record_event(UNFROZEN, letter_id=letter.id, actor=user, reason=cleaned)
    db.session.flush()


def close_signing(letter: Letter, user: User, reason: str | None = None) -> None:
    """Open for signature -> closed: nobody can approve or decline any more."""
    _lock_letter(letter)
    if letter.status != LetterStatus.OPEN:
        raise LifecycleError(
            "Signing can only be closed while the letter is open for signature; "
            f"it is “{letter.status.label}”."
        )
    letter.status = LetterStatus.CLOSED
    letter.last_activity_at = utcnow()
    record_event(SIGNING_CLOSED, letter_id=letter.id, actor=user, reason=_clean(reason))
    db.session.flush()


def reopen_signing(letter: Letter, user: User, reason: str | None = None) -> int:
    """Closed -> open for signature. Returns how many organisations were asked to re-confirm.

    Re-confirmation requests that could not go out while signing was closed go out now.
    """
    _lock_letter(letter)
    if letter.status != LetterStatus.CLOSED:
        raise LifecycleError(
            f"Only a closed letter can be reopened; the letter is “{letter.status.label}”."
        )
    letter.status = LetterStatus.OPEN
    letter.last_activity_at = utcnow()
    record_event(SIGNING_REOPENED, letter_id=letter.id, actor=user, reason=_clean(reason))
    db.session.flush()
    return request_reconfirmations(letter, actor=user)


@dataclass(frozen=True)
class DeadlineResult:
    old: datetime | None
    new: datetime
    invitations_moved: int
    reconfirmations: int


def extend_deadline(
    letter: Letter, user: User, new_deadline: datetime, *, now: datetime | None = None
) -> DeadlineResult:
    """Move the deadline later (or set one). Invitations that expired with it move too.

    An invitation whose ``expires_at`` equals the old deadline was given the
    deadline as its expiry; it follows the new one. Invitations with an expiry of
    their own keep it.
    """
    now = now or utcnow()
    if new_deadline.tzinfo is None:
        raise ValueError("deadlines are aware datetimes (UTC)")
    new_deadline = new_deadline.replace(second=0, microsecond=0)
    if new_deadline <= now:
        raise LifecycleError("The new deadline must be in the future.")
    _lock_letter(letter)
    if letter.status not in (LetterStatus.DRAFTING, LetterStatus.OPEN, LetterStatus.CLOSED):
        raise LifecycleError(
            f"The deadline of a letter that is “{letter.status.label}” can no longer change."
        )
    old = letter.deadline
    if old is not None and new_deadline <= old:
        raise LifecycleError(
            "To extend the deadline, choose a time after the current one. "
            "(To bring it forward, change it in the letter's settings.)"
        )
    moved = 0
    if old is not None:
        result = db.session.execute(
            update(Invitation)
            .where(Invitation.letter_id == letter.id, Invitation.expires_at == old)
            .values(expires_at=new_deadline)
            .execution_options(synchronize_session="fetch")
        )
        moved = int(getattr(result, "rowcount", 0) or 0)
    letter.deadline = new_deadline
    letter.last_activity_at = utcnow()
    record_event(
        DEADLINE_EXTENDED,
        letter_id=letter.id,
        actor=user,
        old=old.isoformat() if old else None,
        new=new_deadline.isoformat(),
        invitations_moved=moved,
    )
    db.session.flush()
    sent = request_reconfirmations(letter, actor=user)
    return DeadlineResult(old, new_deadline, moved, sent)


# --- Reading the log ---------------------------------------------------------------------


def letter_history(letter: Letter, limit: int = 200) -> list[AuditEvent]:
    """The letter's ``letter.*`` audit events, newest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.letter_id == letter.id, AuditEvent.action.like("letter.%"))
            .order_by(AuditEvent.seq.desc())
            .limit(limit)
            .options(selectinload(AuditEvent.actor))
        )
    )
