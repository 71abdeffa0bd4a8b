"""Times are stored in UTC and shown in the reader's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask_login import current_user
from markupsafe import Markup, escape


def reader_zone() -> ZoneInfo:
    name = getattr(current_user, "timezone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_valid_timezone(name: str) -> bool:
    return name in available_timezones()


def from_local(value: datetime) -> datetime | None:
    """A naive date and time typed in the reader's zone, in UTC; ``None`` when that falls
    outside the years 1..9999 (0001-01-01 00:00 in Tokyo is still year 0 in UTC)."""
    try:
        return value.replace(tzinfo=reader_zone()).astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _in_zone(value: datetime) -> datetime:
    """``value`` in the reader's zone, or in UTC if that zone's date would be out of range:
    whatever is stored (9999-12-31 23:59 UTC is already year 10000 in Tokyo) is shown."""
    try:
        return value.astimezone(reader_zone())
    except (OverflowError, ValueError):
        return value.astimezone(UTC)


def local(value: datetime | None) -> datetime | None:
    return _in_zone(value) if value is not None else None


def format_datetime(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> Markup:
    """A ``<time>`` element in the reader's zone, with the UTC instant as machine value."""
    if value is None:
        return Markup("")
    shown = _in_zone(value)
    label = f"{shown.strftime(fmt)} {shown.tzname()}"
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), escape(label))


def format_date(value: datetime | None) -> Markup:
    return format_datetime(value, "%d %b %Y") if value else Markup("")
