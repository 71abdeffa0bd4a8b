"""The time zone of mail to an invitee: the one their browser sent when their page was shown.

Invitees have no account, so no zone setting; the invitation page's script reports the
browser's zone with "seen" (:func:`signon.signatures.invitations.operations.record_seen`),
and it is kept on the invitation. Mail to that address (the receipt, reminders,
re-confirmation, a later letter's invitation) then shows its times in it; UTC until the
address's first page view, as before.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from signon.core.timefmt import datetime_text, zone_named
from signon.extensions import db
from signon.signatures.models import Invitation


def invitee_zone(email: str | None) -> ZoneInfo:
    """The zone last sent by a browser that opened an invitation to ``email``, else UTC."""
    if not email:
        return zone_named(None)
    name = db.session.scalar(
        select(Invitation.timezone)
        .where(Invitation.email == email, Invitation.timezone.is_not(None))
        .order_by(Invitation.last_activity_at.desc(), Invitation.id.desc())
        .limit(1)
    )
    return zone_named(name)


def invitee_time(value: datetime | None, email: str | None) -> str:
    """A time for a mail to ``email``, in its zone: "31 January 2030, 19:00 CET"."""
    if value is None:
        return ""
    return datetime_text(value, zone=invitee_zone(email))
