"""E-mails of the invitations: the invitation itself, and receipts for the invitee's answers.

Invitation mail is rendered during the request (while the request context is there)
and sent by an :func:`signon.core.transaction.after_commit` callback: no link is ever
mailed for an invitation that was then rolled back, and no transaction stays open while
an SMTP server takes its time. All the invitations of one request share one SMTP
connection. The outcome (SENT, or FAILED with the server's answer, and one more
attempt either way) is written by :func:`record_send_outcomes` in a short unit of work
of its own: the request's transaction has already been committed when the mail goes
out, so the outcome cannot be part of it, and a separate session writes it without
touching anything the request's session still holds. Up to :data:`SEND_IN_REQUEST`
messages are sent before the response goes back; a longer list is a background job
(:func:`send_invitation_batch`, ``signon/core/jobs.py``: ``flask worker`` with Redis,
retried with back-off). Outcomes are written every :data:`OUTCOME_CHUNK` messages, so
that a list of 2,000 does not lose every outcome if the worker stops half-way; a retry
sends only what no earlier attempt sent.

Receipts (approval, withdrawal) need no outcome and go through
:func:`signon.core.mail.queue_mail`.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from flask_mailman import EmailMultiAlternatives
from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session, selectinload

from signon.accounts.models import User
from signon.core import jobs
from signon.core.mail import (
    added_to_outbox,
    build_message,
    describe_send_error,
    queue_mail,
    send_outbox,
)
from signon.core.notices import NoticeKind
from signon.core.transaction import after_commit
from signon.db import utcnow
from signon.extensions import db, mail
from signon.letters import notices
from signon.letters.models import Letter, Revision, TeamMember
from signon.signatures.invitations import links, zones
from signon.signatures.models import Invitation, InvitationStatus, Signature

log = logging.getLogger(__name__)

#: Outcomes of sending are written after every this many messages.
OUTCOME_CHUNK = 50
#: Up to this many invitation mails are sent before the response; more, in the background.
SEND_IN_REQUEST = 20


def forwarding_note(who: str) -> str:
    """The one sentence every mail carrying an answering link says about forwarding it.

    A plain string, not a template include: the HTML mails autoescape it (a .txt
    partial included from an HTML template is compiled without autoescaping, which let
    an organisation name such as <script> through) and the text mails print it as is.
    """
    return (
        f"You may forward this message to colleagues at {who} (your director, say) so that "
        f"the right person answers: the link answers for {who} only, so please do not share "
        f"it outside {who}."
    )


def describe_moment(moment: datetime, now: datetime | None = None, *, email: str) -> str:
    """A time in plain words, for a mail to ``email``: "13 March 2026, 17:00 UTC (in 12
    days)", in the zone that address's browser sent (:func:`zones.invitee_zone`), else UTC.
    """
    now = now or utcnow()
    when = zones.invitee_time(moment, email)
    remaining = moment - now
    if remaining.total_seconds() <= 0:
        return when
    days = remaining.days
    if days >= 2:
        relative = f"in {days} days"
    elif days == 1:
        relative = "in 1 day"
    else:
        hours = max(1, int(remaining.total_seconds() // 3600))
        relative = "in 1 hour" if hours == 1 else f"in {hours} hours"
    return f"{when} ({relative})"


def drafting_organisations(letter: Letter) -> list[str]:
    """The names on the letterhead: team organisations marked as drafting organisations."""
    members = db.session.scalars(
        select(TeamMember)
        .where(
            TeamMember.letter_id == letter.id,
            TeamMember.is_drafting_organisation.is_(True),
            TeamMember.organisation_id.is_not(None),
        )
        .options(selectinload(TeamMember.organisation))
        .order_by(TeamMember.id)
    )
    return [member.display_name for member in members]


def _mail_context(letter: Letter, inviter: User | None) -> dict[str, Any]:
    return {
        "letter": letter,
        "inviter_name": inviter.display_name if inviter else None,
        "drafting": drafting_organisations(letter),
    }


def _invitation_message(invitation: Invitation, context: dict[str, Any]) -> EmailMultiAlternatives:
    letter: Letter = context["letter"]
    return build_message(
        invitation.email,
        f"Invitation to sign: {letter.title}",
        "signatures/invitation",
        invitation=invitation,
        organisation=invitation.organisation_name,
        link=links.invitation_url(invitation),
        expires_words=describe_moment(invitation.expires_at, email=invitation.email),
        deadline_words=(
            describe_moment(letter.deadline, email=invitation.email) if letter.deadline else None
        ),
        **context,
    )


def queue_invitation_mails(
    letter: Letter, invitations: Sequence[Invitation], inviter: User | None
) -> None:
    """Send the invitations' mails after the commit, then record the outcomes.

    A few (up to :data:`SEND_IN_REQUEST`) are rendered now and sent before the response,
    so a coordinator inviting one organisation sees "Sent" (or the server's refusal) at
    once. A longer list is a background job (:data:`INVITATION_JOB`): sending 2,000 would
    keep a web worker busy for minutes. The invitations page shows them going from
    "Sending" to "Sent" or "Failed to send", and the job's progress.
    """
    if len(invitations) > SEND_IN_REQUEST:
        jobs.enqueue(
            INVITATION_JOB,
            letter_id=letter.id,
            started_by_id=inviter.id if inviter else None,
            invitation_ids=[invitation.id for invitation in invitations],
            inviter_id=inviter.id if inviter else None,
        )
        return
    context = _mail_context(letter, inviter)
    outgoing = [(inv.id, _invitation_message(inv, context)) for inv in invitations]
    after_commit(lambda: send_invitation_mails(outgoing))


Outgoing = Sequence[tuple[int, EmailMultiAlternatives]]
INVITATION_JOB = "invitations.send"


@jobs.job(INVITATION_JOB, label="Sending invitations")
def send_invitation_batch(
    running: jobs.RunningJob, *, invitation_ids: Sequence[int], inviter_id: int | None
) -> None:
    """The job of a long list: render each mail, send them over one connection, record
    every outcome (every :data:`OUTCOME_CHUNK`) and the progress.

    A retry (after a crash or a killed worker) does not mail again an invitation an
    earlier attempt sent (``sent_at`` after the job was queued), nor a revoked one.
    """
    row = db.session.get(jobs.BackgroundJob, running.id)
    queued_at = row.queued_at if row is not None else utcnow()
    invitations = list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.id.in_(list(invitation_ids)),
                Invitation.status != InvitationStatus.REVOKED,
                or_(Invitation.sent_at.is_(None), Invitation.sent_at < queued_at),
            )
            .order_by(Invitation.id)
        )
    )
    if not invitations:
        return
    letter = invitations[0].letter
    inviter = db.session.get(User, inviter_id) if inviter_id else None
    context = _mail_context(letter, inviter)
    outgoing = [(inv.id, _invitation_message(inv, context)) for inv in invitations]
    db.session.commit()  # nothing changed; end the read (SQLite: its lock) before sending
    total = len(outgoing)

    def chunk_sent(done: int) -> None:
        running.progress(int(100 * done / total))

    send_invitation_mails(outgoing, after_chunk=chunk_sent)


def wait_for_background_sends(timeout: float = 120) -> None:
    """Wait until the job threads started by this process (no Redis) have finished."""
    jobs.wait_for_threads(timeout)


_T = TypeVar("_T")


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _deliver(connection: Any, message: EmailMultiAlternatives) -> None:
    """Send on the shared connection; reconnect once if the server dropped it."""
    try:
        connection.open()
        connection.send_messages([message])
    except smtplib.SMTPServerDisconnected:
        connection.close()
        connection.open()
        connection.send_messages([message])


def send_invitation_mails(
    outgoing: Outgoing, *, after_chunk: Callable[[int], None] | None = None
) -> None:
    """Send (after the commit) over one connection; record each outcome in its own
    transaction, every :data:`OUTCOME_CHUNK` messages (then ``after_chunk(how many so far)``)."""
    connection = mail.get_connection()
    done = 0
    try:
        for chunk in _chunks(outgoing, OUTCOME_CHUNK):
            sent: list[int] = []
            failed: dict[int, str] = {}
            for invitation_id, message in chunk:
                try:
                    _deliver(connection, message)
                except Exception as exc:  # every failure is recorded, none stops the others
                    log.warning("invitation %s not sent: %s", invitation_id, exc)
                    failed[invitation_id] = describe_send_error(exc)
                else:
                    sent.append(invitation_id)
            # the coordinators hear of the failures as promptly as of anything else
            send_outbox(record_send_outcomes(sent, failed), smtp=connection)
            done += len(chunk)
            if after_chunk is not None:
                after_chunk(done)
    finally:
        try:
            connection.close()
        except Exception:  # pragma: no cover - closing a broken connection
            log.exception("closing the mail connection failed")


def record_send_outcomes(sent: Sequence[int], failed: dict[int, str]) -> list[int]:
    """Write SENT / FAILED in a short transaction of its own (see the module's docstring);
    return the ids of the outbox messages its notice of failures queued (the
    coordinators' immediate mail), committed with it, for the caller to send now.

    The session is bound to what the request's session is bound to: the engine in
    production (a new connection and transaction), and in the tests the test's
    connection (the outcome joins the test's rolled-back transaction).
    An invitee who already opened or answered keeps that status; only the sending
    facts (time, attempts, error) change.
    """
    if not sent and not failed:
        return []
    now = utcnow()
    queued: list[int] = []
    with Session(bind=db.session.get_bind()) as session, session.begin():
        if sent:
            session.execute(
                update(Invitation)
                .where(Invitation.id.in_(list(sent)))
                .values(
                    sent_at=now,
                    send_attempts=Invitation.send_attempts + 1,
                    last_error=None,
                    status=case(
                        (
                            Invitation.status.in_(
                                [InvitationStatus.QUEUED, InvitationStatus.FAILED]
                            ),
                            InvitationStatus.SENT.value,
                        ),
                        else_=Invitation.status,
                    ),
                )
                .execution_options(synchronize_session=False)
            )
        if failed:
            _notice_failures(session, failed)
            messages = added_to_outbox(session)
            session.flush()
            queued = [message.id for message in messages]
        for invitation_id, error in failed.items():
            session.execute(
                update(Invitation)
                .where(Invitation.id == invitation_id)
                .values(
                    send_attempts=Invitation.send_attempts + 1,
                    last_error=error,
                    status=case(
                        (
                            Invitation.status.in_([InvitationStatus.QUEUED, InvitationStatus.SENT]),
                            InvitationStatus.FAILED.value,
                        ),
                        else_=Invitation.status,
                    ),
                )
                .execution_options(synchronize_session=False)
            )
    return queued


#: A notice of failed invitations names this many addresses, then a count.
NAMED_FAILURES = 5


def _notice_failures(session: Session, failed: dict[int, str]) -> None:
    """One notice per letter for the invitations that fail now and had not (in the session
    that records the failures, so with them)."""
    rows = session.execute(
        select(Invitation.letter_id, Invitation.email)
        .where(
            Invitation.id.in_(list(failed)),
            Invitation.status.in_([InvitationStatus.QUEUED, InvitationStatus.SENT]),
        )
        .order_by(Invitation.letter_id, Invitation.id)
    ).all()
    by_letter: dict[int, list[str]] = {}
    for letter_id, email in rows:
        by_letter.setdefault(letter_id, []).append(email)
    for letter_id, emails in by_letter.items():
        letter = session.get(Letter, letter_id)
        if letter is None:
            continue
        named = ", ".join(emails[:NAMED_FAILURES])
        more = f" and {len(emails) - NAMED_FAILURES} more" if len(emails) > NAMED_FAILURES else ""
        noun = "invitation" if len(emails) == 1 else "invitations"
        notices.notify(
            letter,
            NoticeKind.MAIL_FAILED,
            f"{len(emails)} {noun} could not be delivered ({named}{more}): "
            "see the letter's Invitations page",
            session=session,
        )


def mail_approval_receipt(invitation: Invitation, signature: Signature, revision: Revision) -> None:
    """To the confirming address: what was recorded, and the private link to come back."""
    letter = invitation.letter
    queue_mail(
        invitation.email,
        f"You approved: {letter.title}",
        "signatures/inv_approved",
        letter=letter,
        signature=signature,
        revision=revision,
        approved_words=describe_moment(signature.approved_at or utcnow(), email=invitation.email),
        link=links.invitation_url(invitation),
    )


def mail_withdrawal_receipt(invitation: Invitation, signature: Signature) -> None:
    queue_mail(
        invitation.email,
        f"You withdrew your approval: {invitation.letter.title}",
        "signatures/inv_withdrawn",
        letter=invitation.letter,
        signature=signature,
        link=links.invitation_url(invitation),
    )
