"""Times are stored in UTC and shown in the reader's time zone, in one format per locale.

Every date a person reads (pages, PDF, mail) is written by :func:`date_text` or
:func:`datetime_text`, with Babel's long date of the locale: "4 December 2026",
"4 décembre 2026"; a time adds the locale's short time and the zone: "4 December
2026, 18:05 CET". The app's own words are English and date the British way
(:data:`UI_LOCALE`); a letter's PDF dates in the letter's language, English ones
the same way as the app.

The reader's zone: a signed-in user's own (their account's); anyone else's browser
zone, which a small script (static/js/signon.js) sends in the ``signon_tz`` cookie;
UTC when neither is known, and on pages shared by many readers (cached public pages).
Where the server shows UTC only because it does not know the reader's zone (an invitee's
first page, before the cookie is set; a shared public page), every ``<time>`` carries
``data-localise`` and the same script rewrites it in the browser's zone, in the same
format: the page reads right at once, and the UTC text stays for readers without scripts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_date
from babel.dates import format_skeleton
from babel.dates import format_time as babel_time
from flask import g, has_request_context, request
from flask_login import current_user
from markupsafe import Markup, escape

#: The locale of the app's pages and mails.
UI_LOCALE = "en_GB"
#: The cookie in which the browser tells its time zone (set by static/js/signon.js).
ZONE_COOKIE = "signon_tz"


def _zone(name: str | None) -> ZoneInfo | None:
    if not name or not is_valid_timezone(name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_named(name: str | None) -> ZoneInfo:
    """The zone called ``name`` (an account's setting, say), or UTC if there is none such."""
    return _zone(name) or ZoneInfo("UTC")


def reader_zone() -> ZoneInfo:
    """The zone to show times in to whoever this request is for (see the module doc)."""
    if not has_request_context() or g.get("shared_page"):
        return ZoneInfo("UTC")
    if current_user and current_user.is_authenticated:
        return _zone(getattr(current_user, "timezone", None)) or ZoneInfo("UTC")
    return _zone(request.cookies.get(ZONE_COOKIE)) or ZoneInfo("UTC")


def reader_zone_known() -> bool:
    """Whether :func:`reader_zone` is this reader's own zone, not UTC for want of one."""
    if not has_request_context() or g.get("shared_page"):
        return False
    if current_user and current_user.is_authenticated:
        return True
    return _zone(request.cookies.get(ZONE_COOKIE)) is not None


def known_reader_zone() -> str | None:
    """The reader's zone's name when it is theirs (for the page's scripts to write times
    in it: static/js/timefmt.js), ``None`` when the browser's own should be used."""
    return reader_zone().key if reader_zone_known() else None


@contextmanager
def shared_page() -> Iterator[None]:
    """Render a page that many readers get the same copy of: its times in UTC."""
    before = g.get("shared_page", False)
    g.shared_page = True
    try:
        yield
    finally:
        g.shared_page = before


@cache
def _known_zones() -> frozenset[str]:
    """The zone names of the system's database, read once per process: reading them walks
    its folder (about 30 ms), and every time shown asks (:func:`reader_zone`)."""
    return frozenset(available_timezones())


def is_valid_timezone(name: str) -> bool:
    return name in _known_zones()


def from_local(value: datetime) -> datetime | None:
    """A naive date and time typed in the reader's zone, in UTC; ``None`` when that falls
    outside the years 1..9999 (0001-01-01 00:00 in Tokyo is still year 0 in UTC)."""
    try:
        return value.replace(tzinfo=reader_zone()).astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _in_zone(value: datetime, zone: tzinfo | None = None) -> datetime:
    """``value`` in ``zone`` (the reader's by default), or in UTC if that zone's date would be
    out of range: whatever is stored (9999-12-31 23:59 UTC is already year 10000 in Tokyo)
    is shown."""
    try:
        return value.astimezone(zone or reader_zone())
    except (OverflowError, ValueError):
        return value.astimezone(UTC)


def local(value: datetime | None) -> datetime | None:
    return _in_zone(value) if value is not None else None


def locale_for(language: str | None) -> str:
    """The locale that dates a text in ``language`` ("fr", "pt-BR"); English as the app does."""
    tag = (language or "").replace("-", "_")
    if not tag or tag.split("_")[0].lower() == "en":
        return UI_LOCALE
    try:
        return str(Locale.parse(tag))
    except (UnknownLocaleError, ValueError):
        return UI_LOCALE


def date_text(value: date, locale: str = UI_LOCALE, zone: tzinfo | None = None) -> str:
    """A long date: "4 December 2026"; a ``datetime``'s day in ``zone`` (the reader's)."""
    day = _in_zone(value, zone).date() if isinstance(value, datetime) else value
    return babel_date(day, "long", locale=locale)


def datetime_text(value: datetime, locale: str = UI_LOCALE, zone: tzinfo | None = None) -> str:
    """A long date, the time and the zone: "4 December 2026, 18:05 CET" (``zone``: the
    reader's by default; mails to people whose zone is unknown pass UTC)."""
    shown = _in_zone(value, zone)
    clock = babel_time(shown.replace(tzinfo=None), "short", locale=locale)
    return f"{babel_date(shown.date(), 'long', locale=locale)}, {clock} {shown.tzname()}"


def axis_label(value: date, with_year: bool, locale: str = UI_LOCALE) -> str:
    """A short date for a chart's axis: "4 Dec", or the month "Dec 2026"."""
    return format_skeleton("yMMM" if with_year else "dMMM", value, locale=locale)


def datetime_in(value: datetime, zone_name: str | None) -> str:
    """:func:`datetime_text` in the zone called ``zone_name`` (a mail to a user: theirs)."""
    return datetime_text(value, zone=zone_named(zone_name))


def _time_element(value: date, label: str, localise: str) -> Markup:
    """``<time>`` with the instant as machine value; marked for the browser to rewrite in its
    own zone (static/js/signon.js) when the server wrote UTC for want of the reader's."""
    if isinstance(value, datetime) and not reader_zone_known():
        return Markup('<time datetime="{}" data-localise="{}">{}</time>').format(
            value.astimezone(UTC).isoformat(), localise, label
        )
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), label)


def format_datetime(value: datetime | None) -> Markup:
    """A ``<time>`` element in the reader's zone, with the UTC instant as machine value."""
    if value is None:
        return Markup("")
    return _time_element(value, escape(datetime_text(value)), "datetime")


def format_date(value: date | None) -> Markup:
    """A ``<time>`` element with the long date (of a ``datetime``: in the reader's zone)."""
    if value is None:
        return Markup("")
    return _time_element(value, escape(date_text(value)), "date")
