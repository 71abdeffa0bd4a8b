"""The date the Letter layout prints (issue 12 item 8): the exporter's day, in their
account's time zone, in the letter's language; the PDF reused only for the same day."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from docx import Document
from pypdf import PdfReader

from signon.accounts.models import User
from signon.exports.models import Layout
from signon.exports.pdf import operations as pdf_operations
from signon.letters.models import Letter
from tests.exports.factories import set_export_settings, sign
from tests.factories import make_letter, make_user

pytestmark = pytest.mark.usefixtures("app_context")

#: 23:30 UTC on 5 December: already 08:30 on the 6th in Tokyo, 15:30 on the 5th in LA.
NEAR_MIDNIGHT = datetime(2026, 12, 5, 23, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _near_midnight(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_operations, "utcnow", lambda: NEAR_MIDNIGHT)


def _letter(coordinator: User, typed: str = "") -> Letter:
    """A Letter layout letter with two signatories (``typed``: the date the coordinator typed)."""
    letter = make_letter(coordinator, title="Dated letter")
    sign(letter, ["Alpha Network", "Beta Forum"])
    set_export_settings(letter, layout=Layout.LETTER, audit_page=False, date_text=typed)
    return letter


def _pdf_text(user: User | None, letter: Letter) -> tuple[int, bool, str]:
    result = pdf_operations.export_pdf(letter, user, background=False)
    data = pdf_operations.stored_pdf(result.record)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return result.record.id, result.reused, text


def _docx_text(user: User, letter: Letter) -> str:
    _record, data = pdf_operations.export_word(letter, user)
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


def test_the_pdf_is_dated_the_exporters_day_and_not_reused_across_a_day_boundary() -> None:
    tokyo = make_user(timezone="Asia/Tokyo")
    los_angeles = make_user(timezone="America/Los_Angeles")
    letter = _letter(tokyo)
    first, reused, text = _pdf_text(tokyo, letter)
    assert not reused
    assert "6 December 2026" in text and "5 December 2026" not in text
    again, reused, _ = _pdf_text(tokyo, letter)
    assert reused and again == first  # the same day: the same file
    other, reused, text = _pdf_text(los_angeles, letter)
    assert not reused and other != first  # another day: a new file with its date
    assert "5 December 2026" in text and "6 December 2026" not in text


def test_the_word_file_is_dated_the_exporters_day_in_the_letters_language() -> None:
    tokyo = make_user(timezone="Asia/Tokyo")
    letter = _letter(tokyo)
    letter.language = "fr"
    text = _docx_text(tokyo, letter)
    assert "6 décembre 2026" in text and "5 décembre 2026" not in text
    assert "5 décembre 2026" in _docx_text(make_user(timezone="America/Los_Angeles"), letter)


def test_a_typed_date_stays_as_typed_whatever_the_exporters_zone() -> None:
    tokyo = make_user(timezone="Asia/Tokyo")
    letter = _letter(tokyo, typed="1 December 2026, Geneva")
    first, _, text = _pdf_text(tokyo, letter)
    assert "1 December 2026, Geneva" in text and "6 December 2026" not in text
    same, reused, _ = _pdf_text(make_user(timezone="America/Los_Angeles"), letter)
    assert reused and same == first  # the printed date is the same: so is the file
    assert "6 December" not in _docx_text(tokyo, letter)


def test_the_command_line_dates_in_utc() -> None:
    letter = _letter(make_user(timezone="Asia/Tokyo"))
    assert pdf_operations.export_day(None, NEAR_MIDNIGHT).isoformat() == "2026-12-05"
    _, _, text = _pdf_text(None, letter)
    assert "5 December 2026" in text
