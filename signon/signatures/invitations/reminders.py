"""Reminders before a letter's deadline: ``flask --app signon send-reminders``.

Safe to run from cron every few minutes, even when two runs overlap:

* A *point* is a number of hours before the deadline (``Settings.reminder_hours``); it
  is due for a letter when ``deadline - hours <= now < deadline``.
* Each invitation whose organisation has not approved the current text (invited,
  opened, or approved an earlier text) gets at most one mail per run, for the most
  urgent due point, and every due point is recorded as done in :class:`ReminderSent`
  (unique per invitation and point). The row is inserted in a SAVEPOINT before the
  mail is queued; if the insert fails, another run recorded it first and this run
  sends nothing for it. Mail goes out only after the commit.
* Points that had already passed when the invitation was sent are recorded without
  a mail: an organisation invited a day before the deadline is not "reminded" minutes
  after its invitation arrived.
* Declined, withdrawn, revoked, expired invitations, invitations not delivered
  (failed) or not sent yet (queued), and organisations that approved the current
  text (or an earlier one with only editorial changes since) are never reminded,
  not even through a second invitation to the same organisation (same name).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from signon.audit.operations import record_event
from signon.core.mail import queue_mail
from signon.core.notices import NoticeKind
from signon.db import utcnow
from signon.extensions import db
from signon.letters import notices
from signon.letters.models import Letter, LetterStatus, Revision
from signon.signatures.invitations.links import invitation_url
from signon.signatures.invitations.zones import invitee_time
from signon.signatures.lifecycle.operations import changes_as_text, summarise_changes
from signon.signatures.models import (
    LIVE_INVITATION_STATES,
    Invitation,
    InvitationStatus,
    Moderation,
    ReminderSent,
    Signature,
    SignatureStatus,
)
from signon.signatures.state import Coverage, SignatoryState, coverage, state_of

#: Organisations in these states have not approved the current text and can still act.
REMIND_STATES = frozenset(
    {SignatoryState.INVITED, SignatoryState.OPENED, SignatoryState.APPROVED_EARLIER}
)
#: Invitations that never reached the organisation are not reminded.
UNDELIVERED = frozenset({InvitationStatus.QUEUED, InvitationStatus.FAILED})

REMINDERS_SENT = "letter.reminders_sent"


@dataclass
class ReminderSummary:
    dry_run: bool = False
    letters_scanned: int = 0
    #: Mails (sent, or that would be sent) by their point, in hours before the deadline.
    sent: Counter[int] = field(default_factory=Counter)
    #: Points recorded as done without a mail (passed before the invitation was sent,
    #: or a more urgent point was already mailed).
    recorded_silently: int = 0

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def lines(self, points: tuple[int, ...]) -> list[str]:
        verb = "Reminders that would be sent" if self.dry_run else "Reminders sent"
        per_point = ", ".join(f"{h} h before: {self.sent.get(h, 0)}" for h in points)
        lines = [f"Letters scanned: {self.letters_scanned}", f"{verb}: {self.total} ({per_point})"]
        if self.recorded_silently:
            lines.append(
                f"Points recorded without a mail (passed before the invitation was sent, "
                f"or a later one was already mailed): {self.recorded_silently}"
            )
        if self.dry_run:
            lines.append("Dry run: nothing was recorded or sent.")
        return lines


def reminder_points() -> tuple[int, ...]:
    """The configured points, most distant first, without duplicates or nonsense."""
    hours: tuple[int, ...] = current_app.config["SIGNON"].reminder_hours
    return tuple(sorted({h for h in hours if h > 0}, reverse=True))


def due_points(deadline: datetime, now: datetime, points: tuple[int, ...]) -> list[int]:
    """Points whose time has come and the deadline not yet passed."""
    if now >= deadline:
        return []
    return [h for h in points if deadline - timedelta(hours=h) <= now]


def in_words(remaining: timedelta) -> str:
    """ "in 7 days", "in 12 hours", "in 40 minutes"."""
    hours = remaining.total_seconds() / 3600
    if hours >= 36:
        days = round(hours / 24)
        return f"in {days} days"
    if hours >= 1.5:
        return f"in {round(hours)} hours"
    minutes = max(1, round(hours * 60))
    return f"in {minutes} minute{'s' if minutes != 1 else ''}"


def _record(invitation: Invitation, hours: int) -> bool:
    """Record the point as done; False if another run did it first."""
    try:
        with db.session.begin_nested():
            db.session.add(ReminderSent(invitation_id=invitation.id, hours_before=hours))
            db.session.flush()
    except IntegrityError:
        return False
    return True


def send_reminders(now: datetime | None = None, *, dry_run: bool = False) -> ReminderSummary:
    """Queue the reminders due at ``now``; flushes only (the caller commits)."""
    now = now or utcnow()
    summary = ReminderSummary(dry_run=dry_run)
    points = reminder_points()
    if not points:
        return summary
    letters = db.session.scalars(
        select(Letter)
        .where(
            Letter.status.in_((LetterStatus.DRAFTING, LetterStatus.OPEN)),
            Letter.deadline.is_not(None),
            Letter.deadline > now,
            Letter.deadline <= now + timedelta(hours=max(points)),
        )
        .order_by(Letter.id)
    ).all()
    for letter in letters:
        summary.letters_scanned += 1
        _remind_letter(letter, now, points, summary)
    return summary


def _names_that_approved_the_current_text(
    letter: Letter, by_id: dict[int, Revision], cover: Coverage
) -> set[str]:
    rows = db.session.execute(
        select(Signature.name_key, Signature.revision_id).where(
            Signature.letter_id == letter.id,
            Signature.status == SignatureStatus.APPROVED,
            Signature.moderation.in_((Moderation.NOT_NEEDED, Moderation.ACCEPTED)),
        )
    )
    return {
        key
        for key, revision_id in rows
        if revision_id in by_id and cover.covers(by_id[revision_id].number)
    }


def _notice_deadline(letter: Letter, deadline: datetime, now: datetime, hours: int) -> None:
    """Tell the team once per point (a run that finds it again records nothing)."""
    notices.notify(
        letter,
        NoticeKind.DEADLINE_NEAR,
        # no date in the stored words: each reader's mail and page write the deadline in
        # their own zone (templates/emails/letters/notice.*, digest.*; the letter's header)
        f"Signing closes {in_words(deadline - now)}",
        dedup_key=f"deadline:{deadline.isoformat()}:{hours}",
    )


def _remind_letter(
    letter: Letter, now: datetime, points: tuple[int, ...], summary: ReminderSummary
) -> None:
    deadline = letter.deadline
    assert deadline is not None
    due = due_points(deadline, now, points)
    if not due:
        return
    if not summary.dry_run:
        _notice_deadline(letter, deadline, now, min(due))
    revisions = list(db.session.scalars(select(Revision).where(Revision.letter_id == letter.id)))
    head = max(revisions, key=lambda r: r.number)
    cover = coverage(revisions)
    by_id = {r.id: r for r in revisions}
    invitations = db.session.scalars(
        select(Invitation)
        .where(
            Invitation.letter_id == letter.id,
            Invitation.status.in_(LIVE_INVITATION_STATES - UNDELIVERED),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .order_by(Invitation.id)
        .options(selectinload(Invitation.signature))
    ).all()
    if not invitations:
        return
    done: set[tuple[int, int]] = {
        (row.invitation_id, row.hours_before)
        for row in db.session.execute(
            select(ReminderSent.invitation_id, ReminderSent.hours_before).where(
                ReminderSent.invitation_id.in_([i.id for i in invitations])
            )
        )
    }
    signed = _names_that_approved_the_current_text(letter, by_id, cover)
    mailed: Counter[int] = Counter()
    for invitation in invitations:
        signature = invitation.signature
        approved = by_id.get(signature.revision_id or 0) if signature is not None else None
        state = state_of(
            signature, invitation, approved.number if approved else None, cover, now=now
        )
        if state not in REMIND_STATES:
            continue
        if signature is None and Signature.key_for(invitation.organisation_name) in signed:
            continue  # the organisation approved through another invitation or publicly
        new = [h for h in due if (invitation.id, h) not in done]
        if not new:
            continue
        urgent = min(due)
        sent_at = invitation.sent_at or invitation.created_at
        # Mail only for the most urgent point, if it is new and came after the invitation.
        mail = urgent in new and sent_at < deadline - timedelta(hours=urgent)
        if summary.dry_run:
            if mail:
                summary.sent[urgent] += 1
            summary.recorded_silently += len(new) - (1 if mail else 0)
            continue
        recorded = [h for h in new if _record(invitation, h)]
        if not recorded:
            continue  # an overlapping run recorded these points: it sends the mail
        if not (mail and urgent in recorded):
            summary.recorded_silently += len(recorded)
            continue
        summary.recorded_silently += len(recorded) - 1
        summary.sent[urgent] += 1
        mailed[urgent] += 1
        changes = (
            summarise_changes(approved, head)
            if state == SignatoryState.APPROVED_EARLIER and approved is not None
            else None
        )
        queue_mail(
            invitation.email,
            f"Reminder: signing “{head.title}” closes {in_words(deadline - now)}",
            "signatures/reminder",
            letter=letter,
            head=head,
            invitation=invitation,
            name=signature.name if signature is not None else invitation.organisation_name,
            in_words=in_words(deadline - now),
            deadline_text=invitee_time(deadline, invitation.email),
            changes=changes,
            changes_text=changes_as_text(changes) if changes is not None else "",
            link=invitation_url(invitation),
        )
    if mailed:
        record_event(
            REMINDERS_SENT,
            letter_id=letter.id,
            actor_label="system",
            reminders=sum(mailed.values()),
            points={str(h): n for h, n in sorted(mailed.items(), reverse=True)},
        )
    db.session.flush()
