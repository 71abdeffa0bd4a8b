"""The small field rules of ``signon/core``: one-line fields, ids, dates, CSV cells, headers.

- Every form derives from :class:`BaseForm`, and every one-line field of every form
  (found by walking the form classes, not listed by hand) carries the one-line rule.
- The ``\\r\\nBcc:`` injection through a title is refused on the form; a title stored
  with it before the rule still sends mail, with a clean subject and no extra header.
- Deadlines and expiry days far from now are refused with a clear message, and pages
  show whatever is already stored, in a reader's zone where it would overflow.
- CSV cells are neutralised after NFKC (fullwidth ``＝``) and leading blanks.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import sys
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from sqlalchemy import func, select, update
from wtforms import Form

import signon
from signon.accounts.models import User
from signon.core import fields
from signon.core.forms import BaseForm, is_one_line_field, one_line
from signon.core.mail import header
from signon.core.oneline import NOT_ON_ONE_LINE, has_control_characters, one_line_text
from signon.core.spreadsheet import neutralise_cell
from signon.core.timefmt import format_datetime
from signon.core.transaction import commit
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.models import Invitation
from tests.conftest import login
from tests.factories import make_letter, make_user
from tests.smtp import MailCatcher

BCC_TITLE = "Our letter\r\nBcc: everyone@attacker.example"


def _all_form_classes() -> list[type[Form]]:
    for module in pkgutil.walk_packages(signon.__path__, "signon."):
        importlib.import_module(module.name)
    found: list[type[Form]] = []
    pending: list[type[Form]] = [Form]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("signon."):
                found.append(sub)
            pending.append(sub)
    return found


FORMS = _all_form_classes()


def test_the_walk_finds_the_forms_of_every_feature() -> None:
    modules = {cls.__module__.split(".")[1] for cls in FORMS}
    assert {"accounts", "letters", "signatures", "exports", "api", "core"} <= modules
    assert len(FORMS) > 30


@pytest.mark.parametrize("form_class", FORMS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}")
def test_every_one_line_field_of_every_form_refuses_control_characters(
    app: Flask, form_class: type[Form]
) -> None:
    """Bound as the app binds it (through the form's Meta), each one-line field has the rule."""
    if issubclass(form_class, FlaskForm):
        assert issubclass(form_class, BaseForm), f"{form_class.__name__} must derive from BaseForm"
    probe_class: Any = type(
        "Probe",
        (form_class,),
        {"__init__": lambda self: Form.__init__(self, formdata=None)},
    )
    with app.test_request_context():
        form = probe_class()
        one_line_fields = [f for f in form if is_one_line_field(type(f))]
        for field in one_line_fields:
            assert one_line in field.validators, f"{form_class.__name__}.{field.name}"
        if not issubclass(form_class, FlaskForm):
            assert one_line_fields == [], f"{form_class.__name__}: derive from BaseForm"


@pytest.mark.parametrize(
    "text",
    [
        "a\rb",
        "a\nb",
        "a\r\nBcc: x@example.org",
        "a\x00b",
        "a\tb",
        "a\x1bb",
        "a\x7fb",
        "a\x85b",
        "a\u2028b",
        "a\u2029b",
        *[
            f"invoice\\u{c:04x}gpj.exe".encode().decode("unicode_escape")
            for c in range(0x202A, 0x202F)
        ],
        *[f"a\\u{c:04x}b".encode().decode("unicode_escape") for c in range(0x2066, 0x206A)],
    ],
)
def test_control_characters_are_refused_and_cleaned(text: str) -> None:
    assert has_control_characters(text)
    cleaned = one_line_text(text)
    assert not has_control_characters(cleaned)
    assert cleaned == header(text)


def test_the_one_line_rule_is_every_control_character_and_the_listed_ones() -> None:
    """The rule is a regular expression (it runs on every public sign-on's fields); it must
    refuse exactly category Cc and the line-breaking and reordering characters, for every
    code point, and clean each of them to a space (runs collapsed)."""
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        refused = unicodedata.category(char) == "Cc" or char in NOT_ON_ONE_LINE
        assert has_control_characters(f"a{char}b") is refused, hex(code)
        cleaned = "a b" if refused or char.isspace() else f"a {char} b"
        assert one_line_text(f"a {char} b") == cleaned


@pytest.mark.parametrize(
    "text",
    ["Amnesty International", "Мемориал", "بتسيلم", "क्‍ष", "Family 👨‍👩‍👧", "a\u200eb", "Ünïcödé"],
)
def test_ordinary_names_in_any_script_pass(text: str) -> None:
    assert not has_control_characters(text)
    assert one_line_text(text) == text


def test_a_title_with_a_bcc_header_is_refused_on_the_form(client: FlaskClient) -> None:
    user = make_user()
    commit()
    login(client, user)
    before = db.session.scalar(select(func.count()).select_from(Letter))
    response = client.post("/letters/new", data={"title": BCC_TITLE, "language": "en"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Title must be on one line and cannot contain control characters." in html
    assert "Bcc: everyone@attacker.example" in html  # what they typed is kept
    assert db.session.scalar(select(func.count()).select_from(Letter)) == before


def test_an_edit_with_a_bcc_title_is_refused(client: FlaskClient) -> None:
    user = make_user()
    letter = make_letter(user, title="Clean title")
    commit()
    login(client, user)
    head = letter.head()
    assert head is not None
    response = client.post(
        f"/letters/{letter.slug}/edit",
        data={"title": BCC_TITLE, "body": "Text.", "base_revision": str(head.id)},
    )
    assert response.status_code == 200
    assert "must be on one line" in response.get_data(as_text=True)
    db.session.expire_all()
    assert letter.title == "Clean title" and letter.head() == head


def test_a_stored_bad_title_still_sends_mail_with_a_clean_subject(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    user = make_user()
    letter = make_letter(user, title="Clean title")
    commit()
    # stored before the rule (or by a path without a form)
    db.session.execute(update(Letter).where(Letter.id == letter.id).values(title=BCC_TITLE))
    commit()
    login(client, user)
    response = client.post(
        f"/letters/{letter.slug}/invitations",
        data={"one-organisation_name": "Invited NGO", "one-email": "ngo@invited.example.org"},
    )
    assert response.status_code == 302
    invitation = db.session.scalar(select(Invitation).where(Invitation.letter_id == letter.id))
    assert (
        invitation is not None and invitation.send_attempts == 1 and invitation.last_error is None
    )
    (message,) = outbox.to("ngo@invited.example.org")
    subject = str(message["Subject"])
    assert "\r" not in subject and "\n" not in subject
    assert "Our letter Bcc: everyone@attacker.example" in subject
    assert message["Bcc"] is None
    assert outbox.to("everyone@attacker.example") == []


# --------------------------------------------------------------------------- dates


@pytest.fixture
def tokyo_coordinator(client: FlaskClient) -> Iterator[tuple[Any, Letter]]:
    user = make_user(timezone="Asia/Tokyo")
    letter = make_letter(user, title="Deadline letter", is_public=True)
    commit()
    login(client, user)
    yield user, letter


@pytest.mark.parametrize("typed", ["9999-12-31T23:59", "0001-01-01T00:00", "2200-01-01T00:00"])
def test_a_deadline_far_away_is_refused_with_a_message(
    client: FlaskClient, tokyo_coordinator: tuple[Any, Letter], typed: str
) -> None:
    _, letter = tokyo_coordinator
    response = client.post(
        f"/letters/{letter.slug}/settings",
        data={"addressee": "", "language": "en", "deadline": typed},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Choose a deadline within ten years from now." in html
    assert typed in html
    db.session.expire_all()
    assert letter.deadline is None
    response = client.post(
        f"/letters/{letter.slug}/status/deadline", data={"deadline-deadline": typed}
    )
    assert response.status_code in (200, 302)
    db.session.expire_all()
    assert letter.deadline is None


@pytest.mark.parametrize("typed", ["9999-12-31", "0001-01-01"])
def test_an_invitation_expiry_far_away_is_refused(
    client: FlaskClient, tokyo_coordinator: tuple[Any, Letter], typed: str
) -> None:
    _, letter = tokyo_coordinator
    response = client.post(
        f"/letters/{letter.slug}/invitations",
        data={
            "one-organisation_name": "NGO",
            "one-email": "ngo@example.org",
            "one-expires_on": typed,
        },
    )
    assert response.status_code == 200
    assert "Choose a date within ten years from now." in response.get_data(as_text=True)
    assert db.session.scalar(select(Invitation).where(Invitation.letter_id == letter.id)) is None


@pytest.mark.parametrize(
    "stored",
    [datetime(9999, 12, 31, 23, 59, tzinfo=UTC), datetime(1, 1, 1, 0, 0, tzinfo=UTC)],
)
def test_pages_show_whatever_deadline_is_stored_in_every_zone(
    client: FlaskClient, tokyo_coordinator: tuple[Any, Letter], stored: datetime
) -> None:
    user, letter = tokyo_coordinator
    letter.deadline = stored
    commit()
    for url in (
        "/letters/",
        f"/letters/{letter.slug}/",
        f"/letters/{letter.slug}/settings",
        f"/letters/{letter.slug}/revisions",
        f"/letters/{letter.slug}/status",
        f"/p/{letter.slug}",
    ):
        for zone in ("Asia/Tokyo", "America/Los_Angeles", "Pacific/Kiritimati"):
            user.timezone = zone
            commit()
            response = client.get(url)
            assert response.status_code == 200, (url, zone)
    assert str(stored.year) in format_datetime(stored)


# --------------------------------------------------------------------------- CSV cells


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        '\uff1dHYPERLINK("https://evil.example")',  # fullwidth =
        "\uff0b1+1",  # fullwidth +
        "\uff0d2+3",  # fullwidth -
        "\uff20SUM(A1)",  # fullwidth @
        "\ufe66cmd|' /C calc'!A0",  # small =
        "\ufe62",  # small +
        " =1+1",
        "\u3000=1+1",  # ideographic space
        "\u200b=1+1",  # zero-width space
        "\ufeff=1+1",  # BOM
        "\n=1+1",
        "\t=1+1",
        "\r=1+1",
        "\u00a0+44 20",
    ],
)
def test_csv_formulas_in_any_form_are_neutralised(value: str) -> None:
    assert neutralise_cell(value) == "'" + value


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("Amnesty = good", "Amnesty = good"),
        ("Ｆｕｌｌ", "Ｆｕｌｌ"),
        (None, ""),
        (3, "3"),
        ("", ""),
    ],
)
def test_ordinary_cells_are_kept(value: object, cell: str) -> None:
    assert neutralise_cell(value) == cell


def test_a_nul_in_a_bulk_csv_is_refused_cleanly(
    client: FlaskClient, tokyo_coordinator: tuple[Any, Letter]
) -> None:
    _, letter = tokyo_coordinator
    upload = io.BytesIO(b"organisation,email\r\nOrg A,a\x00b@example.org\r\n")
    response = client.post(
        f"/letters/{letter.slug}/invitations/bulk",
        data={"many-csv_file": (upload, "list.csv")},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "1 line was not used" in html and "null character" in html
    assert db.session.scalar(select(Invitation).where(Invitation.letter_id == letter.id)) is None


def test_a_nul_in_a_form_or_query_is_refused_before_any_view(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": "a\x00@example.org", "password": "x"})
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    assert client.get("/letters/", query_string={"q": "a\x00"}).status_code == 400


# --------------------------------------------------------------------------- signon/core/fields.py


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  example.org ", "https://example.org"),
        ("example.org:8080/path", "https://example.org:8080/path"),
        ("http://example.org", "http://example.org"),
        ("HTTPS://Example.org/x", "HTTPS://Example.org/x"),
        # a scheme is never hidden behind "https://": the validator must see and refuse it
        ("javascript:alert(1)", "javascript:alert(1)"),
        ("JavaScript:alert(1)", "JavaScript:alert(1)"),
        ("data:text/html,hi", "data:text/html,hi"),
        ("mailto:someone@example.org", "mailto:someone@example.org"),
        ("   ", None),
        ("", None),
    ],
)
def test_the_website_filter_adds_https_to_a_bare_domain_only(typed: str, kept: str | None) -> None:
    assert fields.website(typed) == kept


@pytest.mark.parametrize(
    "address",
    [
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://example.org",
        "mailto:someone@example.org",
        "https://localhost",  # no dot: not a public web address
        "https://example.org:port",
        "https://exa mple.org",
        "https://example.org/\tpath",
        "https://",
    ],
)
def test_addresses_that_are_not_http_web_addresses_are_refused(address: str) -> None:
    assert fields.web_address_problem(address) == fields.WEB_ADDRESS_MESSAGE


@pytest.mark.parametrize(
    "address",
    ["https://example.org", "http://sub.example.org:8080/a?b=c#d", "https://xn--bcher-kva.ch"],
)
def test_web_addresses_pass(address: str) -> None:
    assert fields.web_address_problem(address) is None


def _website_fields() -> list[tuple[str, Any]]:
    found = []
    for form_class in _all_form_classes():
        for name in dir(form_class):
            unbound = getattr(form_class, name, None)
            if name == "website" and hasattr(unbound, "field_class"):
                found.append((form_class.__qualname__, unbound))
    return found


def test_every_website_field_uses_the_one_rule() -> None:
    """Profile, signatory details, public sign-on: the same filter and the same validator."""
    website_fields = _website_fields()
    assert len(website_fields) >= 3
    for form_name, unbound in website_fields:
        assert fields.website in unbound.kwargs.get("filters", ()), form_name
        assert fields.http_url in unbound.kwargs.get("validators", ()), form_name


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (" Ada@Example.ORG ", "ada@example.org"),
        ("ADA@EXAMPLE.ORG\n", "ada@example.org"),
        # decomposed (e + U+0301, as some macOS and paste paths give it) -> composed
        ("Jose\u0301@Example.org", "jos\u00e9@example.org"),
        ("jos\u00e9@caf\u00e9.example", "jos\u00e9@caf\u00e9.example"),
        ("JOSE\u0301@CAFE\u0301.EXAMPLE", "jos\u00e9@caf\u00e9.example"),
    ],
)
def test_addresses_are_stored_in_one_form(raw: str, clean: str) -> None:
    assert fields.normalise_email(raw) == clean
    assert fields.email(raw) == clean
    assert User.normalise_email(raw) == clean


def test_one_line_filters_collapse_white_space() -> None:
    assert fields.squash("  Ada \t\n Lovelace ") == "Ada Lovelace"
    assert fields.squash_or_none("  \n ") is None
    assert fields.squash_or_none(" Red  Cross ") == "Red Cross"
    assert fields.trim("  two\nlines  ") == "two\nlines"
    assert fields.squash(None) is None


def test_row_locks_go_through_lock_row(project_root: Path) -> None:
    """A row lock is ``core.locks.lock_row``; only selects that read a whole row under its
    lock (a token, an invitation being accepted) call ``with_for_update`` themselves."""
    allowed = {"signon/core/locks.py": 2, "signon/accounts/operations.py": 2}
    found = {}
    for path in sorted((project_root / "signon").rglob("*.py")):
        count = path.read_text(encoding="utf-8").count(".with_for_update(")
        if count:
            found[str(path.relative_to(project_root))] = count
    assert found == allowed
