"""E-mail: every message has a plain-text and an HTML part, both from ``templates/emails/``.

Messages go through the outbox (:class:`signon.core.outbox.OutboxMessage`):
:func:`queue_mail` renders the message and writes it as a row of the current unit of
work, so that it is committed (or rolled back) with the change that caused it. Once
the commit has succeeded (:mod:`signon.core.transaction`) and, in a request, the
response has been sent (``SIGNON_MAIL_AFTER_RESPONSE``, see :func:`send_soon`), it is
sent; the outcome (sent, or the server's answer and when to try again) is written in a
short transaction of its own, since the request's transaction is already committed.
``flask --app signon send-mail`` (:func:`send_due`) sends what is still unsent, with
back-off. A sender first *claims* a message (an UPDATE that only succeeds when nobody
else holds it), so two senders never send the same message.

Delivery is at-least-once only in one case: a process that dies after the SMTP server
accepted a message but before the outcome was written (a batch is marked sent in one
statement once it has been sent, so this is the batch under way; ``flask worker`` lets
its mail thread finish the batch before it exits); the claim expires after
:data:`CLAIM_SECONDS` and the message is sent again. Everything else is exactly once.

Without an SMTP server configured, Flask-Mailman's file backend writes the messages
to the outbox folder, and we print them to the console.
"""

from __future__ import annotations

import atexit
import logging
import secrets
import smtplib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, has_request_context, render_template
from flask_mailman import EmailMultiAlternatives
from redis.exceptions import RedisError
from sqlalchemy import Connection, Engine, Table, Update, and_, bindparam, or_, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from signon.core import jobs, metrics
from signon.core.oneline import one_line_text
from signon.core.outbox import OutboxMessage
from signon.core.signals import mail_failed
from signon.core.transaction import after_commit, after_response
from signon.db import utcnow
from signon.extensions import db, mail

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: A claim older than this is considered abandoned (the sender died): others may send.
CLAIM_SECONDS = 600
#: After this many failed attempts, ``send-mail`` stops trying on its own; the message
#: stays visible to the coordinators, who can still press "retry now".
MAX_AUTOMATIC_ATTEMPTS = 10
#: Back-off after the n-th failure: 1, 2, 4, 8... minutes, at most this many.
MAX_BACKOFF_MINUTES = 6 * 60


def build_message(to: str, subject: str, template: str, **context: Any) -> EmailMultiAlternatives:
    """Render ``templates/emails/<template>.txt`` and ``.html`` into one message."""
    context.setdefault("subject", subject)
    text = render_template(f"emails/{template}.txt", **context)
    html = render_template(f"emails/{template}.html", **context)
    return _message(to, subject, text, html)


def header(value: str) -> str:
    """A mail header's value (Subject, From's display name, To, Reply-To) on one line.

    Every header is built through here: a title stored with ``\r\nBcc: ...`` (or any
    control character) must neither add a header nor make the message fail to send.
    """
    return one_line_text(value)


def _message(to: str, subject: str, text: str, html: str) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=header(subject),
        body=text,
        from_email=header(current_app.config["MAIL_DEFAULT_SENDER"]),
        to=[header(to)],
    )
    message.attach_alternative(html, "text/html")
    return message


def _print_if_file_backend(message: EmailMultiAlternatives) -> None:
    if current_app.config.get("MAIL_BACKEND") == "file" and not current_app.testing:
        print(
            f"\n--- e-mail to {', '.join(message.to)}: {message.subject}\n"
            f"{message.body}\n--- (saved in {current_app.config['MAIL_FILE_PATH']})\n",
            flush=True,
        )


def send_now(message: EmailMultiAlternatives) -> None:
    message.send()
    _print_if_file_backend(message)


def _letter_id(context: dict[str, Any]) -> int | None:
    letter = context.get("letter")
    letter_id = getattr(letter, "id", None)
    return letter_id if isinstance(letter_id, int) else None


def queue_mail(
    to: str, subject: str, template: str, *, letter_id: int | None = None, **context: Any
) -> OutboxMessage:
    """Render now (while the request context is there), record in the outbox, send after
    the commit. ``letter_id`` defaults to the id of ``context["letter"]``.

    The row is INSERTed with the unit of work's next flush (the commit's at the latest),
    not flushed here: a flush of its own per mail cost a public sign-on's POSTs a pass of
    the unit of work each. Its id is known once committed (its identity, read without a
    query after the commit expired it)."""
    message = outbox_message(
        to,
        subject,
        template,
        letter_id=letter_id if letter_id is not None else _letter_id(context),
        **context,
    )
    db.session.add(message)
    after_commit(lambda: _send_if_committed(message))
    return message


def _send_if_committed(message: OutboxMessage) -> None:
    """Send a message queued in a unit of work now committed, its id read from its
    identity (no SELECT to refresh it). A message without one was never committed: a
    savepoint that held it was rolled back and the request went on; nothing to send."""
    identity = sa_inspect(message).identity
    if identity is not None:
        send_soon([int(identity[0])])


def outbox_message(
    to: str, subject: str, template: str, *, letter_id: int | None, **context: Any
) -> OutboxMessage:
    """The message rendered as an outbox row, not added to any session yet."""
    context.setdefault("subject", subject)
    return OutboxMessage(
        letter_id=letter_id,
        recipient=to,
        subject=header(subject),
        text=render_template(f"emails/{template}.txt", **context),
        html=render_template(f"emails/{template}.html", **context),
        attempts=0,
        created_at=utcnow(),
    )


def send_soon(ids: Sequence[int]) -> None:
    """Send these committed messages: in a request, once its response has been sent
    (``mail_after_response``), all of the request's messages over one connection;
    elsewhere (CLI, jobs, or with the setting off) at once.

    Sending after the response keeps the response time the same whether or not a mail
    went out: ``/forgot-password`` and ``/register`` must not tell by their timing
    whether an address has an account. Whatever happens to the sending then (a refusal,
    an unreachable server, the process stopping) the messages are in the outbox and
    ``flask send-mail`` sends them.

    With Redis (``SIGNON_REDIS_URL``, production) a request does not send at all: it
    hands the ids to ``flask worker`` (:func:`hand_to_worker`), whose mail thread sends
    them in batches, so a web worker is free again as soon as its response is written.
    """
    settings = current_app.config["SIGNON"]
    if not has_request_context():
        send_outbox(ids)
        return
    deliver = hand_to_worker if settings.redis_url else send_outbox
    if not settings.mail_after_response:
        deliver(ids)
        return
    pending: list[int] | None = g.get("_mail_after_response")
    if pending is None:
        pending = g._mail_after_response = []
        batch = pending
        after_response(lambda: deliver(batch))
    pending.extend(ids)


# --- Handing mail to the worker (with Redis) -----------------------------------------


#: Ids handed over at most per batch the worker's mail thread sends.
MAIL_BATCH = 100


def handed_over_key() -> str:
    """The Redis list of outbox ids waiting for the worker: ``<SIGNON_JOB_QUEUE>:mail``."""
    return f"{current_app.config['SIGNON'].job_queue}:mail"


def hand_to_worker(ids: Sequence[int]) -> None:
    """Let ``flask worker`` send these committed messages (one RPUSH). If Redis cannot
    be reached, send them here and now instead; they are in the outbox either way."""
    if not ids:
        return
    try:
        jobs.redis_connection().rpush(handed_over_key(), *ids)
    except RedisError as error:
        log.warning("mail %s not handed to the worker (%s): sending it here", list(ids), error)
        send_outbox(ids)


def send_handed_over(
    *, wait_seconds: float = 1.0, smtp: Any | None = None, database: Connection | None = None
) -> SendReport:
    """One round of the worker's mail thread: wait up to ``wait_seconds`` for ids handed
    over, then send them and those waiting behind them (up to :data:`MAIL_BATCH`) over
    one connection (``smtp``, a mail backend the caller keeps open, or a new one; and
    ``database``, see :func:`send_outbox`). An id
    whose message is sent already (or is being sent) is skipped by the claim, so an id
    handed over twice is still mailed once."""
    key = handed_over_key()
    # One round trip: Redis runs the LPOP once the BLPOP has its first id or timed out
    # (ids pushed in between are taken by the LPOP: they are sent too, not dropped).
    pipe = jobs.redis_connection().pipeline(transaction=False)
    pipe.blpop([key], timeout=wait_seconds)
    pipe.lpop(key, MAIL_BATCH - 1)
    first, more = pipe.execute()
    taken = ([first[1]] if first else []) + list(more or [])
    if not taken:
        return SendReport()
    ids = sorted({int(value) for value in taken})
    return send_outbox(ids, smtp=smtp, database=database)


def mail_rounds(app: Flask, stop: threading.Event, *, rounds: int | None = None) -> None:
    """The worker's mail thread: :func:`send_handed_over` round after round until ``stop``
    is set (or ``rounds`` rounds, for the benchmark); never ends on an error, since what
    is not sent stays in the outbox.

    One SMTP connection serves round after round while mail keeps coming: in a burst
    of sign-ons the ids arrive one or two at a time, and a connection per round cost a
    connect, EHLO and QUIT per mail or two. It is closed after a round that sent nothing
    (so it does not sit idle until the server drops it), after an error, and when the
    thread stops; a connection the server dropped meanwhile is reopened (``_deliver``).
    The thread's database connection is kept likewise (:func:`own_connection`), and
    taken in the first round that can: a database that is down when the worker starts
    is one more error to retry, not a thread that never runs.
    """
    done = 0
    with app.app_context():
        smtp = mail.get_connection()
    database: Connection | None = None
    try:
        while not stop.is_set() and (rounds is None or done < rounds):
            done += 1
            with app.app_context():
                try:
                    database = database or own_connection()
                    report = send_handed_over(smtp=smtp, database=database)
                except Exception:
                    _close(smtp)
                    log.exception("the mail thread failed; trying again in a second")
                    stop.wait(1)
                else:
                    if not (report.sent or report.failed):
                        _close(smtp)
    finally:
        _close(smtp)
        if database is not None:
            database.close()


#: ``flask worker``'s mail thread and the event that stops it (at most one per process).
_mail_thread: tuple[threading.Thread, threading.Event] | None = None
#: How long the worker's exit waits for the mail thread to finish its round.
STOP_SECONDS = 30.0


def _start_mail_thread() -> None:
    """``flask worker``'s mail thread (with Redis): sends what requests hand over.

    When the worker exits (a warm shutdown on SIGTERM, as at every deploy) the thread
    is asked to stop and given :data:`STOP_SECONDS` to finish its round: a batch is
    marked sent once it has been sent (:func:`send_outbox`), and a thread killed in the
    middle of one would leave its messages to be sent again after their claim expires.
    """
    global _mail_thread
    if not current_app.config["SIGNON"].redis_url or _mail_thread is not None:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()
    thread = threading.Thread(target=mail_rounds, args=(app, stop), name="signon-mail", daemon=True)
    thread.start()
    _mail_thread = (thread, stop)
    atexit.register(stop_mail_thread)


def stop_mail_thread(timeout: float = STOP_SECONDS) -> None:
    """Stop ``flask worker``'s mail thread after its current round (at the worker's exit)."""
    global _mail_thread
    if _mail_thread is None:
        return
    thread, stop = _mail_thread
    stop.set()
    thread.join(timeout)
    _mail_thread = None


jobs.at_worker_start(_start_mail_thread)


# --- Sending ------------------------------------------------------------------------


def describe_send_error(exc: BaseException) -> str:
    """The mail server's answer, short enough for the ``last_error`` column."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = [
            f"{code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for code, msg in exc.recipients.values()
        ]
        text = "Refused by the mail server: " + "; ".join(answers)
    elif isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        detail = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        text = f"Refused by the mail server: {exc.smtp_code} {detail}"
    elif isinstance(exc, OSError):
        text = f"Could not reach the mail server: {exc}"
    else:
        text = f"Could not send: {exc}"
    return text[:500]


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), MAX_BACKOFF_MINUTES))


def _session() -> Session:
    """A short unit of work of its own, bound to what the request's session is bound to:
    the engine in production, and in the tests the test's connection."""
    return Session(bind=db.session.get_bind(), expire_on_commit=False)


#: The outbox table, for the sender's statements: plain SQL expressions (no ORM objects
#: to build, no session to synchronise) in the loop that runs once a mail.
_OUTBOX = cast(Table, OutboxMessage.__table__)


@dataclass(frozen=True)
class Claimed:
    """A message taken for sending: what the SMTP server gets, and its id."""

    id: int
    recipient: str
    subject: str
    text: str
    html: str


def _statements() -> tuple[Update, Update]:
    """The claim and the mark, built once with parameters: built again for every round
    they cost as much CPU as their round trips (construction and cache key)."""
    table = _OUTBOX
    ids = table.c.id.in_(bindparam("ids", expanding=True))
    claim = (
        update(table)
        .where(
            ids,
            table.c.sent_at.is_(None),
            or_(table.c.claimed_at.is_(None), table.c.claimed_at < bindparam("stale")),
        )
        .values(claimed_at=bindparam("claim_at"), claim_token=bindparam("token"))
        .returning(table.c.id, table.c.recipient, table.c.subject, table.c.text, table.c.html)
    )
    mark = (
        update(table)
        .where(ids, table.c.claim_token == bindparam("token"))
        .values(
            attempts=table.c.attempts + 1,
            claimed_at=None,
            claim_token=None,
            sent_at=bindparam("sent"),
            last_error=None,
            next_attempt_at=None,
        )
    )
    return claim, mark


_CLAIM, _MARK_SENT = _statements()


def _claim(
    ids: Sequence[int], now: datetime, database: Connection | None = None
) -> tuple[str, list[Claimed]]:
    """Take the unsent, unclaimed (or abandoned) messages among ``ids``; return them.

    One statement (``UPDATE … RETURNING``, PostgreSQL and SQLite alike) in a short
    transaction of its own: the claim and the rows claimed come back together.
    """
    token = secrets.token_hex(16)
    values = {
        "ids": list(ids),
        "stale": now - timedelta(seconds=CLAIM_SECONDS),
        "claim_at": now,
        "token": token,
    }
    rows = _run(database, lambda connection: connection.execute(_CLAIM, values).all())
    return token, sorted((Claimed(*row) for row in rows), key=lambda message: message.id)


def _record_sent(ids: Sequence[int], token: str, database: Connection | None = None) -> None:
    """Mark these messages, claimed under ``token`` and accepted by the server, as sent:
    one statement for the whole batch."""
    if not ids:
        return
    values = {"ids": list(ids), "token": token, "sent": utcnow()}
    _run(database, lambda connection: connection.execute(_MARK_SENT, values))


def _run(database: Connection | None, work: Callable[[Connection], _T]) -> _T:
    """One of the sender's single statements: on the mail thread's own connection when
    it has one (autocommit: the statement is its own transaction), else in a short unit
    of work of its own (:func:`_session`).

    The thread's connection is not pinged before each use as the pool's are: if it
    turns out to be dead (the database restarted), it is replaced and the statement
    run once more (both statements may run twice: a claim that did commit leaves its
    messages to its expiry, a mark sets the same values again)."""
    if database is None:
        with _session() as session, session.begin():
            return work(session.connection())
    try:
        return _autocommitted(database, work)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        return _autocommitted(database, work)


def _autocommitted(database: Connection, work: Callable[[Connection], _T]) -> _T:
    try:
        result = work(database)
    except BaseException:
        database.rollback()  # ends SQLAlchemy's record of the statement; a dead one reconnects
        raise
    database.commit()  # nothing to commit (autocommit): closes SQLAlchemy's record
    return result


def own_connection() -> Connection | None:
    """The mail thread's database connection, kept from round to round (autocommit):
    checking a connection out of the pool, pinging it and committing cost three round
    trips per statement, twice a round. PostgreSQL only (SQLite's transactions take the
    write lock at their BEGIN, :func:`signon.db.tune_sqlite`); ``None`` too when the
    sessions are bound to a connection already (the tests' rolled-back one): the
    statements then use short units of work as elsewhere."""
    bind = db.session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "postgresql":
        return None
    return bind.connect().execution_options(isolation_level="AUTOCOMMIT")


def added_to_outbox(session: Session) -> list[OutboxMessage]:
    """The messages added to ``session`` and not flushed yet: those a short unit of work
    of its own queued, to be sent once it has committed (:func:`send_outbox`), as
    promptly as the request's after its commit, instead of waiting for ``send-mail``."""
    return [row for row in session.new if isinstance(row, OutboxMessage)]


def _record_failure(message_id: int, token: str, error: str) -> list[int]:
    """Record a failed attempt (the server's answer, when to try again) at once, and
    tell the letter's coordinators about the first one; return the ids of the messages
    that telling queued (immediate notices), committed with the failure."""
    now = utcnow()
    queued: list[OutboxMessage] = []
    with _session() as session, session.begin():
        row = session.execute(
            select(
                OutboxMessage.attempts,
                OutboxMessage.letter_id,
                OutboxMessage.recipient,
                OutboxMessage.subject,
            ).where(OutboxMessage.id == message_id)
        ).first()
        attempts = row.attempts if row is not None else 0
        if row is not None and attempts == 0 and row.letter_id is not None:
            mail_failed.send(
                session,
                letter_id=row.letter_id,
                recipient=row.recipient,
                subject=row.subject,
                error=error,
            )
            queued = added_to_outbox(session)
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.claim_token == token)
            .values(
                attempts=OutboxMessage.attempts + 1,
                claimed_at=None,
                claim_token=None,
                last_error=error,
                next_attempt_at=now + backoff(attempts + 1),
            )
            .execution_options(synchronize_session=False)
        )
    return [row.id for row in queued]


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    #: Messages queued by the failures' notices (committed), for the same sender to send.
    follow_up: list[int] = field(default_factory=list)


def send_outbox(
    ids: Sequence[int], *, smtp: Any | None = None, database: Connection | None = None
) -> SendReport:
    """Send these messages (those nobody else is sending and not sent yet) over one
    connection: ``smtp``, a mail backend the caller keeps (and closes), or a new one
    closed afterwards; the claim and the mark on ``database`` (:func:`own_connection`)
    when the caller keeps one.

    A failure is recorded as soon as it is known; the messages the server accepted
    are marked sent together once the batch is through (one statement, not one
    transaction per message), also when the batch stops on an error. Only a process
    that dies in the middle of a batch leaves accepted messages unmarked: they are sent
    again once their claim expires (:data:`CLAIM_SECONDS`), SMTP's own at-least-once.

    The immediate notices that a first failure queues ("mail could not be delivered",
    to the letter's coordinators) are sent after the batch over the same connection, as
    promptly as any other immediate mail. They carry no letter, so their own failure
    queues nothing more: this goes one level deep at most.
    """
    if not ids:
        return SendReport()
    token, claimed = _claim(ids, utcnow(), database)
    if not claimed:
        return SendReport()
    connection = smtp if smtp is not None else mail.get_connection()
    try:
        report = _send_claimed(connection, claimed, token, database)
        if report.follow_up:
            more = send_outbox(report.follow_up, smtp=connection, database=database)
            report.sent += more.sent
            report.failed += more.failed
    finally:
        if smtp is None:
            _close(connection)
    return report


def _send_claimed(
    connection: Any, claimed: Sequence[Claimed], token: str, database: Connection | None
) -> SendReport:
    report = SendReport()
    sent: list[int] = []
    try:
        for row in claimed:
            if _send_one(connection, row, token, report.follow_up):
                sent.append(row.id)
            else:
                report.failed += 1
    finally:
        _record_sent(sent, token, database)
    report.sent = len(sent)
    metrics.MAIL_SENT.inc(len(sent))
    return report


def _send_one(connection: Any, row: Claimed, token: str, follow_up: list[int]) -> bool:
    """Send one claimed message; a failure is recorded (and counted) here and now, and
    the messages its record queued are added to ``follow_up``."""
    message = _message(row.recipient, row.subject, row.text, row.html)
    message.connection = connection
    try:
        _deliver(connection, message)
    except Exception as exc:  # every failure is recorded, none stops the others
        log.warning("mail %s to %s not sent: %s", row.id, row.recipient, exc)
        follow_up.extend(_record_failure(row.id, token, describe_send_error(exc)))
        metrics.MAIL_FAILED.inc()
        return False
    _print_if_file_backend(message)
    return True


def _close(connection: Any) -> None:
    """Close a mail connection (a no-op when it is not open); a broken one is dropped."""
    try:
        connection.close()
    except Exception:  # pragma: no cover - closing a broken connection
        log.exception("closing the mail connection failed")


def _deliver(connection: Any, message: EmailMultiAlternatives) -> None:
    """Send on the shared connection; reconnect once if the server dropped it."""
    try:
        connection.open()
        sent = connection.send_messages([message])
    except smtplib.SMTPServerDisconnected:
        connection.close()
        connection.open()
        sent = connection.send_messages([message])
    if not sent:  # a backend that swallowed an error (fail_silently) reports 0
        raise RuntimeError("the mail backend did not send the message")


def due_ids(now: datetime | None = None, *, limit: int = 500) -> list[int]:
    """Unsent messages whose back-off has passed (and not given up on)."""
    now = now or utcnow()
    # A short session of its own: on SQLite every transaction takes the write lock
    # (BEGIN IMMEDIATE), which the claims that follow need.
    with _session() as session:
        return list(
            session.scalars(
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.attempts < MAX_AUTOMATIC_ATTEMPTS,
                    or_(
                        OutboxMessage.next_attempt_at.is_(None),
                        OutboxMessage.next_attempt_at <= now,
                    ),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
        )


def send_due(now: datetime | None = None) -> SendReport:
    """What ``flask send-mail`` does: send every message that is due."""
    return send_outbox(due_ids(now))


def failed_messages(letter_id: int) -> list[OutboxMessage]:
    """The letter's messages that were tried and not sent yet, newest first."""
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(
                and_(
                    OutboxMessage.letter_id == letter_id,
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.attempts > 0,
                )
            )
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        )
    )


def retry_message(message: OutboxMessage) -> None:
    """A coordinator's "retry now": due at once, and sent after the commit."""
    message.next_attempt_at = utcnow()
    db.session.flush()
    message_id = message.id
    after_commit(lambda: send_outbox([message_id]))
