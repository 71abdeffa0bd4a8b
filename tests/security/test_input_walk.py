"""No input gives a 5xx: a walk over every route of the URL map with hostile values.

The world is the one of ``test_idor.py`` (a letter with revisions, a draft, a team,
an invitation and its signature with a logo, a public signature, an export record,
an API token, an organisation with a membership and an invitation, an undelivered
mail), made public so that the public forms show. Its coordinator reads the site
in Asia/Tokyo, the time zone in which an extreme deadline overflowed.

Three walks, each as an anonymous visitor and as that coordinator:

- **path segments**: every argument of every rule (``<int:...>``, slugs, tokens,
  paths) replaced in turn by each hostile value, the others real, with every method
  the rule accepts;
- **query strings**: every GET route with every known query parameter (found in the
  source: ``request.args.get("...")``, the API's number arguments, and the fields of
  the forms built from ``request.args``) set to each hostile value;
- **form fields**: every form of every page (found by GETting the page and parsing its
  ``<form>`` inputs), sent back with one field at a time replaced by each hostile
  value (a file input gets a CSV line holding it).

Every answer must be below 500; an exception in the view (the test app propagates
them) counts as a 5xx. The failures are collected and reported together.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.routing import Rule
from wtforms.fields.core import UnboundField

from signon.accounts.models import User
from signon.core.transaction import commit
from signon.exports.lists.views import ListQueryForm
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.dashboard.forms import DashboardFilterForm
from signon.signatures.invitations.links import invitation_token
from signon.signatures.models import Invitation
from tests.conftest import login
from tests.security.test_idor import World, _build

#: The values every path segment, query parameter and form field gets in turn.
HOSTILE = {
    "2^31": str(2**31),
    "2^63": str(2**63),
    "10^30": str(10**30),
    "negative": "-1",
    "non-numeric": "abc",
    "NUL": "a\x00b",
    "over-long": "9" * 10_000,
}
#: Dates out of any sensible range, for date fields (and every other field: cheap).
DATES = {
    "year 9999": "9999-12-31T23:59",
    "year 1": "0001-01-01T00:00",
    "day 9999": "9999-12-31",
    "day 1": "0001-01-01",
}
FIELD_VALUES = {**HOSTILE, **DATES}

SOURCE = Path(__file__).resolve().parents[2] / "signon"
#: Routes that log the walker out or otherwise end its visit: their own tests cover them.
SKIP_FORM_ACTIONS = ("/logout",)


# --------------------------------------------------------------------------- the world


@dataclass
class Walk:
    """The real value of every URL argument, and who walks."""

    coordinator: User
    values: dict[str, Any]
    failures: list[str] = field(default_factory=list)
    requests: int = 0


def _world() -> Walk:
    world: World = _build()
    zed = db.session.scalar(select(User).where(User.email == "zed@zulu.example.org"))
    letter = db.session.scalar(select(Letter).where(Letter.slug == world.b_slug))
    invitation = db.session.get(Invitation, world.b["invitation_id"])
    assert zed is not None and letter is not None and invitation is not None
    zed.timezone = "Asia/Tokyo"
    letter.is_public = True
    commit()
    b = world.b
    return Walk(
        coordinator=zed,
        values={
            "slug": world.b_slug,
            "number": b["number"],
            "member_id": b["member_id"],
            "draft_id": b["draft_id"],
            "invitation_id": b["invitation_id"],
            "signature_id": b["signature_id"],
            "record_id": b["record_id"],
            "token_id": b["token_id"],
            "org_id": b["org_id"],
            "membership_id": b["membership_id"],
            "message_id": b["message_id"],
            "job_id": b["job_id"],
            "thread_id": b["thread_id"],
            "suggestion_id": b["suggestion_id"],
            "token": b["public_token"],
            "public_token": b["public_token"],
            "invitee_token": invitation_token(invitation),
            "path": "letters",
            "filename": "css/site.css",
        },
    )


def _fill(rule: Rule, values: dict[str, Any]) -> str:
    """The rule's URL with these values; ``/sign/<token>`` takes the invitee's token."""
    if rule.rule.startswith("/sign/") and values["token"] == values["public_token"]:
        values = {**values, "token": values["invitee_token"]}

    def one(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        return quote(str(value), safe="/" if match.group(1) in ("path", "filename") else "")

    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", one, rule.rule)


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def _send(client: FlaskClient, walk: Walk, what: str, method: str, url: str, **kw: Any) -> None:
    walk.requests += 1
    try:
        response = client.open(url, method=method, **kw)
    except Exception as exc:  # the test app propagates what would be a 500
        first_line = (str(exc).splitlines() or [""])[0][:200]
        walk.failures.append(
            f"{what}: {method} {url[:120]} raised {type(exc).__name__}: {first_line}"
        )
        db.session.rollback()
        return
    if response.status_code >= 500:
        walk.failures.append(f"{what}: {method} {url[:120]} -> {response.status_code}")
    response.close()  # a streamed download keeps its request context until closed


def _as(client: FlaskClient, walk: Walk, who: str) -> None:
    if who == "coordinator":
        login(client, walk.coordinator)
    else:
        client.delete_cookie("session")


WHO = ["anonymous", "coordinator"]


@pytest.fixture
def walk(app: Flask) -> Iterator[Walk]:
    with app.test_request_context():
        yield _world()


# --------------------------------------------------------------------------- path segments


@pytest.mark.parametrize("who", WHO)
def test_no_path_segment_gives_a_5xx(app: Flask, client: FlaskClient, walk: Walk, who: str) -> None:
    walked: set[str] = set()
    for rule in app.url_map.iter_rules():
        for argument in sorted(rule.arguments):
            walked.add(f"{rule.rule} {argument}")
            for label, value in HOSTILE.items():
                url = _fill(rule, {**walk.values, argument: value})
                for method in _methods(rule):
                    _as(client, walk, who)
                    _send(client, walk, f"{argument}={label}", method, url)
    assert "/p/<slug>/logos/<int:signature_id> signature_id" in walked
    assert walk.failures == [], f"{len(walk.failures)} of {walk.requests}:\n" + "\n".join(
        walk.failures
    )


# --------------------------------------------------------------------------- query strings


def known_query_parameters() -> set[str]:
    """Every query parameter the code reads, found in the source."""
    names: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"request\.args(?:\.get|\.getlist)?[\(\[]\s*\"(\w+)\"", text))
        names |= set(re.findall(r"_number_arg\(\s*\"(\w+)\"", text))
        assert not re.search(r"\w+Form\(request\.args", text) or path.name in (
            "views.py",
            "dashboard.py",
        ), f"{path}: add its query form to known_query_parameters()"
    for form in (ListQueryForm, DashboardFilterForm):
        names |= {n for n in dir(form) if isinstance(getattr(form, n), UnboundField)}
    return names


def test_the_query_parameters_are_found() -> None:
    assert {"to", "from", "page", "per_page", "revision", "q", "next", "email"} <= (
        known_query_parameters()
    )


@pytest.mark.parametrize("who", WHO)
def test_no_query_string_gives_a_5xx(app: Flask, client: FlaskClient, walk: Walk, who: str) -> None:
    names = sorted(known_query_parameters())
    for rule in app.url_map.iter_rules():
        if "GET" not in _methods(rule) or rule.endpoint == "static":
            continue
        url = _fill(rule, walk.values)
        for label, value in {**HOSTILE, **DATES}.items():
            _as(client, walk, who)
            _send(client, walk, f"?*={label}", "GET", url, query_string=dict.fromkeys(names, value))
            # one at a time as well where the page reads numbers (a refusal of one
            # parameter must not hide another's crash)
            if label == "2^63":
                for name in names:
                    _as(client, walk, who)
                    _send(client, walk, f"?{name}={label}", "GET", url, query_string={name: value})
    assert walk.failures == [], f"{len(walk.failures)} of {walk.requests}:\n" + "\n".join(
        walk.failures
    )


# --------------------------------------------------------------------------- form fields


def known_form_fields() -> set[str]:
    """The name of every field of every form class (without prefixes), for the routes
    whose form no page shows (``/sign/<token>/seen`` is posted by a script)."""
    import signon.api.admin  # noqa: F401  (the form classes, registered as subclasses)

    names: set[str] = set()
    pending: list[type] = [FlaskForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        names |= {n for n in dir(cls) if isinstance(getattr(cls, n, None), UnboundField)}
    return names


@pytest.mark.parametrize("who", WHO)
def test_no_posted_field_gives_a_5xx(app: Flask, client: FlaskClient, walk: Walk, who: str) -> None:
    """Every POST route, every field name any form knows, all set to one hostile value."""
    names = sorted(known_form_fields())
    assert {"revision", "base_revision", "draft", "deadline", "title"} <= set(names)
    for rule in app.url_map.iter_rules():
        if "POST" not in _methods(rule) or rule.endpoint == "accounts.logout":
            continue
        url = _fill(rule, walk.values)
        for label, value in FIELD_VALUES.items():
            _as(client, walk, who)
            _send(
                client, walk, f"all fields={label}", "POST", url, data=dict.fromkeys(names, value)
            )
    assert walk.failures == [], f"{len(walk.failures)} of {walk.requests}:\n" + "\n".join(
        walk.failures
    )


@dataclass
class FoundForm:
    action: str
    method: str
    fields: dict[str, str]
    files: set[str]
    dates: set[str] = field(default_factory=set)


class _FormParser(HTMLParser):
    """The forms of a page: action, method, and every named input with its value."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[FoundForm] = []
        self._current: FoundForm | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = a.get("action") or self.page
            self._current = FoundForm(action, a.get("method", "get").upper(), {}, set())
            self.forms.append(self._current)
            return
        form = self._current
        name = a.get("name")
        if form is None or not name:
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("date", "datetime-local"):
                form.dates.add(name)
            if kind == "file":
                form.files.add(name)
            elif kind in ("checkbox", "radio"):
                if "checked" in a or name not in form.fields:
                    form.fields[name] = a.get("value", "y")
            else:
                form.fields[name] = a.get("value", "")
        elif tag == "button" and a.get("value"):
            form.fields[name] = a["value"]
        elif tag == "textarea":
            form.fields[name] = ""
            self._textarea = name
        elif tag == "select":
            self._select = name
        elif (
            tag == "option"
            and self._select
            and ("selected" in a or self._select not in form.fields)
        ):
            form.fields[self._select] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._current is not None and self._textarea:
            self._current.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _forms_of_every_page(
    app: Flask, client: FlaskClient, walk: Walk, relogin: Callable[[], None]
) -> list[FoundForm]:
    seen: dict[tuple[str, str, tuple[str, ...]], FoundForm] = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in _methods(rule) or rule.endpoint in ("static", "accounts.logout"):
            continue
        url = _fill(rule, walk.values)
        relogin()
        response = client.get(url)
        if response.mimetype != "text/html" or response.status_code != 200:
            response.close()  # a streamed download keeps its request context until closed
            continue
        parser = _FormParser(url)
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            action = urlsplit(form.action).path
            if action.endswith(SKIP_FORM_ACTIONS):
                continue
            key = (form.method, action, tuple(sorted({*form.fields, *form.files})))
            seen.setdefault(
                key, FoundForm(action, form.method, form.fields, form.files, form.dates)
            )
    return list(seen.values())


def _file_with(value: str) -> tuple[io.BytesIO, str]:
    """A CSV with a header row, holding ``value`` as a name and inside an address."""
    text = f"organisation,email\r\n{value},a@example.org\r\nOrg B,b{value}@example.org\r\n"
    return io.BytesIO(text.encode("utf-8", "surrogatepass")), "upload.csv"


@pytest.mark.parametrize("who", WHO)
def test_no_form_field_gives_a_5xx(app: Flask, client: FlaskClient, walk: Walk, who: str) -> None:
    forms = _forms_of_every_page(app, client, walk, lambda: _as(client, walk, who))
    actions = {form.action for form in forms}
    if who == "coordinator":
        slug = walk.values["slug"]
        for expected in (f"/letters/{slug}/edit", f"/letters/{slug}/invitations/bulk"):
            assert expected in actions, f"the walk did not find {expected}: {sorted(actions)}"
    else:
        assert f"/p/{walk.values['slug']}/sign" in actions, sorted(actions)
    for form in forms:
        for name in sorted({*form.fields, *form.files}):
            values = FIELD_VALUES if name in form.dates else HOSTILE
            for label, value in values.items():
                _as(client, walk, who)
                data: dict[str, Any] = dict(form.fields)
                for file_field in form.files:
                    data[file_field] = _file_with(value if file_field == name else "Org A")
                if name in form.fields:
                    data[name] = value
                what = f"{form.method} {form.action} {name}={label}"
                if form.method == "GET":
                    _send(client, walk, what, "GET", form.action, query_string=data)
                else:
                    _send(client, walk, what, "POST", form.action, data=data)
    # whatever the walk managed to store, every page still renders for everyone
    for page_rule in app.url_map.iter_rules():
        if "GET" in _methods(page_rule) and page_rule.endpoint != "static":
            for reader in WHO:
                _as(client, walk, reader)
                _send(
                    client,
                    walk,
                    f"after the walk, as {reader}",
                    "GET",
                    _fill(page_rule, walk.values),
                )
    assert walk.failures == [], f"{len(walk.failures)} of {walk.requests}:\n" + "\n".join(
        walk.failures
    )
