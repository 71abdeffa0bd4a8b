"""One date format per locale, in the reader's time zone (signon/core/timefmt.py)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from signon.core import timefmt
from signon.core.timefmt import date_text, datetime_text, locale_for, reader_zone

MOMENT = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)


def test_one_long_format_per_locale() -> None:
    assert date_text(date(2026, 12, 4)) == "4 December 2026"
    assert datetime_text(MOMENT, zone=UTC) == "4 December 2026, 23:30 UTC"
    assert datetime_text(MOMENT, zone=ZoneInfo("Europe/Paris")) == "5 December 2026, 00:30 CET"
    assert date_text(date(2026, 12, 4), locale_for("fr")) == "4 décembre 2026"
    assert date_text(date(2026, 12, 4), locale_for("de")) == "4. Dezember 2026"
    assert datetime_text(MOMENT, locale_for("fr"), zone=UTC).startswith("4 décembre 2026, 23:30")


def test_chart_axes_use_the_locales_short_forms() -> None:
    assert timefmt.axis_label(date(2026, 12, 4), with_year=False) == "4 Dec"
    assert timefmt.axis_label(date(2026, 12, 4), with_year=True) == "Dec 2026"


def test_english_letters_date_like_the_app_and_unknown_languages_fall_back() -> None:
    assert locale_for("en") == locale_for("en-US") == locale_for(None) == timefmt.UI_LOCALE
    assert locale_for("pt-BR") == "pt_BR"
    assert locale_for("xx-nonsense") == timefmt.UI_LOCALE


def test_the_reader_zone_comes_from_the_browser_cookie_with_utc_as_fallback(app: Flask) -> None:
    with app.test_request_context(headers={"Cookie": "signon_tz=Asia/Tokyo"}):
        assert reader_zone() == ZoneInfo("Asia/Tokyo")
        assert "5 December 2026, 08:30 JST" in timefmt.format_datetime(MOMENT)
        with timefmt.shared_page():  # a copy shared by readers in every zone
            assert reader_zone() == ZoneInfo("UTC")
        assert reader_zone() == ZoneInfo("Asia/Tokyo")
    for cookie in ("signon_tz=Mars/Olympus", "signon_tz=", ""):
        with app.test_request_context(headers={"Cookie": cookie} if cookie else {}):
            assert reader_zone() == ZoneInfo("UTC")
            assert "4 December 2026, 23:30 UTC" in timefmt.format_datetime(MOMENT)
    with app.app_context():
        assert reader_zone() == ZoneInfo("UTC")  # outside a request (mail, PDF, CLI)


def test_a_date_element_carries_the_machine_value(app: Flask) -> None:
    with app.test_request_context(headers={"Cookie": "signon_tz=UTC"}):
        assert str(timefmt.format_date(MOMENT)) == (
            '<time datetime="2026-12-04T23:30:00+00:00">4 December 2026</time>'
        )
        assert str(timefmt.format_date(date(2026, 1, 2))) == (
            '<time datetime="2026-01-02">2 January 2026</time>'
        )
        assert timefmt.format_date(None) == "" and timefmt.format_datetime(None) == ""


def test_times_shown_in_utc_for_want_of_the_readers_zone_are_marked_for_the_browser(
    app: Flask,
) -> None:
    """No cookie yet (an invitee's first page) or a copy shared by every zone (cached public
    pages): the UTC text is a fallback that static/js/signon.js rewrites in the browser."""
    marked_time = (
        '<time datetime="2026-12-04T23:30:00+00:00" data-localise="datetime">'
        "4 December 2026, 23:30 UTC</time>"
    )
    with app.test_request_context():
        assert not timefmt.reader_zone_known()
        assert str(timefmt.format_datetime(MOMENT)) == marked_time
        assert 'data-localise="date">4 December 2026<' in timefmt.format_date(MOMENT)
        assert "data-localise" not in timefmt.format_date(date(2026, 12, 4))  # a day, no zone
    with app.test_request_context(headers={"Cookie": "signon_tz=Asia/Tokyo"}):
        assert timefmt.reader_zone_known()
        assert "data-localise" not in timefmt.format_datetime(MOMENT)
        with timefmt.shared_page():
            assert not timefmt.reader_zone_known()
            assert str(timefmt.format_datetime(MOMENT)) == marked_time
        tokyo = datetime(2026, 12, 5, 8, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
        with timefmt.shared_page():  # the machine value is the UTC instant
            assert 'datetime="2026-12-04T23:30:00+00:00"' in timefmt.format_datetime(tokyo)


def test_the_zone_database_is_read_once_not_for_every_time_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading it walks its folder (about 30 ms): once per date shown made a page of 50
    signatories 1.5 s."""
    reads: list[int] = []
    real = zoneinfo.available_timezones

    def counted() -> set[str]:
        reads.append(1)
        return real()

    timefmt._known_zones.cache_clear()
    monkeypatch.setattr(timefmt, "available_timezones", counted)
    try:
        assert all(timefmt.is_valid_timezone("Asia/Tokyo") for _ in range(50))
        assert not timefmt.is_valid_timezone("Mars/Olympus_Mons")
    finally:
        timefmt._known_zones.cache_clear()
    assert reads == [1]
