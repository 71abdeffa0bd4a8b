"""Times are stored in UTC and shown in the reader's time zone."""

from __future__ import annotations

from datetime import datetime
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


def local(value: datetime | None) -> datetime | None:
    return value.astimezone(reader_zone()) if value is not None else None


def format_datetime(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> Markup:
    """A ``<time>`` element in the reader's zone, with the UTC instant as machine value."""
    if value is None:
        return Markup("")
    shown = value.astimezone(reader_zone())
    label = f"{shown.strftime(fmt)} {shown.tzname()}"
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), escape(label))


def format_date(value: datetime | None) -> Markup:
    return format_datetime(value, "%d %b %Y") if value else Markup("")
