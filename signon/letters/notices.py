"""Notices to a letter's team: record them, mail them at once or in the daily digest,
and list them as the letter's feed.

:func:`notify` writes the notice in the transaction of the change it describes and, in
the same transaction, queues through the outbox an immediate mail to each person whose
choice for that letter (its page), else for that kind (their account page), else their
role's default is "immediately" (one rule: ``core.notices.delivery_for``);
the outbox sends it after the commit. :func:`send_digests` (``flask send-digests``, run
hourly by ``flask scheduler``) mails each person, at most once a day of their own (the
day in their account's time zone), every notice since their last digest that they take
as a digest. Nobody is ever told, nor shown, a
notice their role on the letter may not see (``NoticeKind.action``).

Notification mails carry no ``letter_id`` in the outbox: a notice about a failed mail
must not itself become a failed mail of the letter, or a down mail server would feed
an endless chain of them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, scoped_session

from signon.accounts.models import Membership, NotificationPreference, User
from signon.core.mail import outbox_message, queue_mail
from signon.core.notices import Delivery, NoticeKind, delivery_for, visible_kinds
from signon.core.oneline import one_line_text
from signon.core.paging import PageOf, page_count
from signon.core.permissions import TeamRole
from signon.core.signals import mail_failed
from signon.core.timefmt import zone_named
from signon.core.urls import canonical_url
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import (
    Letter,
    LetterNotificationChoice,
    Notice,
    NoticeDigest,
    TeamMember,
)

log = logging.getLogger(__name__)

#: The request's unit of work, or a short one of its own (a mail failure's record).
AnySession = Session | scoped_session[Any]

#: Notices shown per page of a letter's feed, newest first.
FEED_PER_PAGE = 20
#: A person's first digest covers this much of the past.
FIRST_DIGEST_COVERS = timedelta(days=1)

_mail_muted: ContextVar[bool] = ContextVar("signon_notice_mail_muted", default=False)


@contextmanager
def mail_muted() -> Iterator[None]:
    """Record notices without mailing them at once, for history being loaded rather than
    happening (``flask seed-demo``): the feed and the digest still show them, but nobody
    is told "changes waiting for classification" about a demo written seconds ago."""
    token = _mail_muted.set(True)
    try:
        yield
    finally:
        _mail_muted.reset(token)


def notify(
    letter: Letter,
    kind: NoticeKind,
    summary: str,
    *,
    dedup_key: str | None = None,
    session: Session | None = None,
    to: User | None = None,
) -> Notice | None:
    """Record that ``summary`` happened on ``letter`` and queue its immediate mails.

    ``dedup_key``: the occasion, for what a periodic run may find twice; a second
    notice with the same key is not recorded (``None`` is returned). ``session``: the
    unit of work to write in (default: the request's); outside the request's session
    the mails are only added to it: its owner sends them once it has committed
    (``core.mail.added_to_outbox``, as the mail senders do), else ``send-mail`` will.
    ``to``: a notice for this one person on the team (a mention), told by their own
    choice for ``kind``.
    """
    unit: AnySession = session if session is not None else db.session
    notice = Notice(
        letter_id=letter.id,
        kind=kind,
        summary=one_line_text(summary)[:500],
        dedup_key=dedup_key,
        created_at=utcnow(),
        for_user_id=to.id if to is not None else None,
    )
    if dedup_key is None:
        unit.add(notice)  # INSERTed with the caller's next flush (one for its rows and this)
    else:  # a SAVEPOINT only where the unique (letter, dedup_key) may refuse it
        try:
            with unit.begin_nested():
                unit.add(notice)
                unit.flush()
        except IntegrityError:
            return None
    if _mail_muted.get():
        return notice
    with unit.no_autoflush:  # who is on the team does not depend on this unit's changes
        wanted = recipients(letter, kind, Delivery.IMMEDIATE, session=unit, to=to)
    for user in wanted:
        _queue_immediate(user, letter, notice, session)
    return notice


def recipients(
    letter: Letter,
    kind: NoticeKind,
    delivery: Delivery,
    *,
    session: AnySession | None = None,
    to: User | None = None,
) -> list[User]:
    """The confirmed people on the letter's team (in person or through an organisation)
    who get notices of ``kind`` this way (``to``: only that person, if on the team). One
    statement: a notice is recorded on hot paths (a public sign-on's confirmation)."""
    unit: AnySession = session if session is not None else db.session
    params: dict[str, Any] = {"letter_id": letter.id, "kind": kind}
    if to is not None:
        params["user_id"] = to.id
    rows = unit.execute(_team_statement(only_one=to is not None), params).tuples()
    strongest: dict[int, tuple[User, TeamRole, Delivery | None, Delivery | None]] = {}
    for user, role, chosen, for_letter in rows:
        known = strongest.get(user.id)
        if known is None or role.rank > known[1].rank:
            strongest[user.id] = (user, role, chosen, for_letter)
    return [
        user
        for user, role, chosen, for_letter in strongest.values()
        if delivery_for(kind, role, chosen, for_letter) == delivery
    ]


@cache
def _team_statement(*, only_one: bool) -> Select[Any]:
    """:func:`recipients`' statement, built once with bind parameters (``letter_id``,
    ``kind``, and ``user_id`` for ``only_one``): building it and computing its cache key
    anew on every confirmed public sign-on cost about as much CPU as running it."""
    only = (User.id == bindparam("user_id"),) if only_one else ()
    return (
        select(
            User,
            TeamMember.role,
            NotificationPreference.delivery,
            LetterNotificationChoice.delivery,
        )
        .select_from(TeamMember)
        .outerjoin(Membership, Membership.organisation_id == TeamMember.organisation_id)
        .join(User, User.id == func.coalesce(TeamMember.user_id, Membership.user_id))
        .outerjoin(
            NotificationPreference,
            (NotificationPreference.user_id == User.id)
            & (NotificationPreference.kind == bindparam("kind")),
        )
        .outerjoin(
            LetterNotificationChoice,
            (LetterNotificationChoice.user_id == User.id)
            & (LetterNotificationChoice.letter_id == bindparam("letter_id")),
        )
        .where(
            TeamMember.letter_id == bindparam("letter_id"),
            User.email_confirmed_at.is_not(None),
            *only,
        )
        .order_by(User.id)
    )


def letter_choice(letter: Letter, user: User) -> Delivery | None:
    """The person's choice for every notice on ``letter`` (None: their account's)."""
    return db.session.scalar(
        select(LetterNotificationChoice.delivery).where(
            LetterNotificationChoice.letter_id == letter.id,
            LetterNotificationChoice.user_id == user.id,
        )
    )


def _letter_link(letter: Letter) -> str:
    return canonical_url("letters.show", slug=letter.slug) + "#activity"


def _comments_link(letter: Letter) -> str:
    """Where a notice addressed to one person (a mention in a comment) is read."""
    return canonical_url("letters.show", slug=letter.slug) + "#comments"


def _settings_link() -> str:
    return canonical_url("accounts.settings") + "#notifications"


def _queue_immediate(user: User, letter: Letter, notice: Notice, session: Session | None) -> None:
    """In the request's unit of work, sent after its commit; in another (``session``),
    added to it for its owner to send after its commit (:func:`notify`)."""
    subject = f"{notice.kind.label}: {notice.summary} (“{letter.title}”)"
    context: dict[str, Any] = {
        "notice_letter": letter,
        "notice": notice,
        "link": _comments_link(letter) if notice.for_user_id else _letter_link(letter),
        "settings_link": _settings_link(),
        "zone": user.timezone,
    }
    if session is None:
        queue_mail(user.email, subject, "letters/notice", **context)
    else:
        session.add(
            outbox_message(user.email, subject, "letters/notice", letter_id=None, **context)
        )


@mail_failed.connect
def _on_mail_failed(
    session: Session, *, letter_id: int, recipient: str, subject: str, error: str
) -> None:
    """A message about a letter failed for the first time: tell its coordinators."""
    letter = session.get(Letter, letter_id)
    if letter is None:
        return
    notify(
        letter,
        NoticeKind.MAIL_FAILED,
        f"Mail to {recipient} (“{subject}”) could not be delivered: {error}",
        session=session,
    )


# --- The daily digest ----------------------------------------------------------------


@dataclass(frozen=True)
class DigestSection:
    letter: Letter
    link: str
    notices: list[Notice]


def send_digests(now: datetime | None = None) -> int:
    """Mail each person their digest of today, if due and not empty; return how many.
    "Today" is the person's: the date in their account's time zone, so that a digest
    covers their day rather than UTC's (:func:`digest_day`).

    Idempotent: a person's digest is claimed (their ``NoticeDigest`` row moved to today,
    by an UPDATE that only one run can win, or its first INSERT) in the transaction that
    queues it, so a second run, or two at once, send nothing more that day.

    Nothing is skipped: a digest covers the notices up to a :func:`watermark` below which
    every notice is committed, so one written by a transaction still open when the digest
    runs (its id taken before a later one that committed first) waits for the next.
    """
    now = now or utcnow()
    through = watermark()
    if through is None:
        return 0
    people = db.session.scalars(
        select(User)
        .where(User.id.in_(_team_user_ids()), User.email_confirmed_at.is_not(None))
        .order_by(User.id)
    ).all()
    return sum(1 for user in people if _send_digest(user, now, through))


#: How long the digest waits for the transactions writing notices to end (PostgreSQL);
#: longer, and this run sends nothing (the next hour's does).
WATERMARK_WAIT_MS = 5000


def watermark() -> int | None:
    """The highest notice id such that no notice with a lower id can still appear: 0 for
    none; ``None`` when it cannot be known now.

    On PostgreSQL a notice's id is taken when it is INSERTed, not when its transaction
    commits: a digest cut at the highest id it sees could pass over a lower one committed
    a moment later, and never send it. ``LOCK TABLE … IN SHARE MODE``, in a short
    transaction of its own, waits until every transaction that wrote a notice has ended
    (new writers wait the few milliseconds until it is released), so every id up to the
    maximum read under it is committed or rolled back. SQLite has one writer at a time:
    a notice not committed yet has a higher id than every committed one.
    """
    with Session(bind=db.session.get_bind(), expire_on_commit=False) as session:
        try:
            with session.begin():
                if session.get_bind().dialect.name == "postgresql":
                    session.execute(text(f"SET LOCAL lock_timeout = '{WATERMARK_WAIT_MS}ms'"))
                    session.execute(text(f"LOCK TABLE {Notice.__tablename__} IN SHARE MODE"))
                return session.scalar(select(func.coalesce(func.max(Notice.id), 0)))
        except DBAPIError as error:
            log.warning("digests not sent this time: notices still being written (%s)", error)
            return None


def _team_user_ids() -> list[int]:
    direct = select(TeamMember.user_id).where(TeamMember.user_id.is_not(None))
    through = select(Membership.user_id).join(
        TeamMember, TeamMember.organisation_id == Membership.organisation_id
    )
    return [user_id for user_id in db.session.scalars(direct.union(through)) if user_id]


def digest_day(user: User, now: datetime) -> date:
    """The day ``now`` is for ``user``: in their account's time zone (UTC if none)."""
    return now.astimezone(zone_named(user.timezone)).date()


def _send_digest(user: User, now: datetime, through: int) -> bool:
    today = digest_day(user, now)
    state = db.session.get(NoticeDigest, user.id)
    if state is not None and state.sent_on >= today:
        return False
    query = (
        select(Notice)
        .join(Letter, Letter.id == Notice.letter_id)
        .where(Letter.visible_to(user.id), Notice.shown_to(user.id), Notice.id <= through)
        .order_by(Notice.letter_id, Notice.id)
    )
    if state is None:
        query = query.where(Notice.created_at > now - FIRST_DIGEST_COVERS)
    else:
        query = query.where(Notice.id > state.last_notice_id)
    found = db.session.scalars(query).all()
    if not found:
        return False
    sections = _digest_sections(user, found)
    if not sections:
        return False
    if not _claim_digest(user, state, today, through):
        return False
    count = sum(len(s.notices) for s in sections)
    queue_mail(
        user.email,
        f"Signon: {count} {'notice' if count == 1 else 'notices'} on your letters",
        "letters/digest",
        user=user,
        sections=sections,
        settings_link=_settings_link(),
    )
    return True


def _by_key(query: Select[tuple[Any, Delivery]]) -> dict[Any, Delivery]:
    """A person's choices, by what they are for (a kind of notice, a letter)."""
    return dict(db.session.execute(query).tuples().all())


def _digest_sections(user: User, found: Sequence[Notice]) -> list[DigestSection]:
    """The notices this person takes as a digest, letter by letter."""
    chosen: dict[NoticeKind, Delivery] = _by_key(
        select(NotificationPreference.kind, NotificationPreference.delivery).where(
            NotificationPreference.user_id == user.id
        )
    )
    for_letters: dict[int, Delivery] = _by_key(
        select(LetterNotificationChoice.letter_id, LetterNotificationChoice.delivery).where(
            LetterNotificationChoice.user_id == user.id
        )
    )
    sections: list[DigestSection] = []
    for notice in found:
        if not sections or sections[-1].letter.id != notice.letter_id:
            letter = notice.letter
            sections.append(DigestSection(letter, _letter_link(letter), []))
        role = sections[-1].letter.role_of(user)
        delivery = delivery_for(
            notice.kind, role, chosen.get(notice.kind), for_letters.get(notice.letter_id)
        )
        if delivery == Delivery.DIGEST:
            sections[-1].notices.append(notice)
    return [section for section in sections if section.notices]


def _claim_digest(user: User, state: NoticeDigest | None, today: date, through: int) -> bool:
    """Move the person's digest to today; False if another run did it first."""
    if state is None:
        try:
            with db.session.begin_nested():
                db.session.add(NoticeDigest(user_id=user.id, sent_on=today, last_notice_id=through))
                db.session.flush()
        except IntegrityError:
            return False
        return True
    result = db.session.execute(
        update(NoticeDigest)
        .where(NoticeDigest.user_id == user.id, NoticeDigest.sent_on < today)
        .values(sent_on=today, last_notice_id=through)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


# --- The feed on the letter's page ----------------------------------------------------


def feed_page(
    letter: Letter, role: TeamRole | None, number: int, *, reader_id: int | None = None
) -> PageOf[Notice]:
    """The page ``number`` (from 1) of the notices that ``role`` may see, newest first,
    with those addressed to the reader (``reader_id``) and no other person: two
    statements (a count and the page), whatever the page."""
    kinds = visible_kinds(role)
    where = (Notice.letter_id == letter.id, Notice.kind.in_(kinds), Notice.shown_to(reader_id))
    total = db.session.scalar(select(func.count()).select_from(Notice).where(*where)) or 0
    pages = page_count(total, FEED_PER_PAGE)
    number = min(max(number, 1), pages)
    notices = db.session.scalars(
        select(Notice)
        .where(*where)
        .order_by(Notice.id.desc())
        .offset((number - 1) * FEED_PER_PAGE)
        .limit(FEED_PER_PAGE)
    ).all()
    return PageOf(list(notices), number, pages, total)
