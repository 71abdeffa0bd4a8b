"""Property-based fuzzing of the main forms through the Flask test client: no 500s.

Each form starts from values that would be accepted; Hypothesis replaces any subset
of its fields with hostile text: arbitrary Unicode (control characters, NUL, RTL and
zero-width marks, combining characters; surrogates excluded, as a browser cannot
send them), very long strings, numbers where text is expected and the reverse.
Every response must be below 500. A response of 200 to a POST (the form shown
again) must carry an error message (a field error, the form's error summary or an
error flash); acceptance is a redirect.

Forms: register, login, create letter, edit text (with random base revisions),
team add (person), invitations (single and bulk paste), the invitee's approve and
decline forms, the public sign-on form, the export settings form.

Reproducible: ``derandomize=True`` (the same examples on every run and in CI);
``max_examples`` is bounded so that the file runs well under 60 seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signon.core.transaction import commit
from signon.signatures.invitations import operations as invitation_ops
from signon.signatures.invitations.links import invitation_token
from tests.conftest import login
from tests.factories import make_letter, make_organisation, make_user

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ERROR_MARKERS = ('class="errors"', 'class="form-errors"', "flash-error", "flash-warning")

SPECIAL = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202e\u200f\u200b\ufeff",
    "\u202eevil.exe\u202c",
    "\r\n\r\n",
    "\t",
    "'; DROP TABLE letters; --",
    "%s%n%x",
    "{{7*7}}",
    "<script>alert(1)</script>",
    "0",
    "-1",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "x" * 100_000,
    "é" * 5_000,
    "\U0001f600" * 2_000,
    "a@b",
    "@",
    "user@[127.0.0.1]",
    "mailto:x@example.org",
    "https://[oops",
    "javascript:alert(1)",
    "2024-02-30",
    "9999-12-31T23:59",
]
hostile = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=300),
    st.text(alphabet=st.characters(max_codepoint=0x20), max_size=20),
    st.sampled_from(SPECIAL),
    st.integers().map(str),
    st.tuples(st.text(max_size=20), st.text(max_size=20)).map(lambda t: f"Valid {t[0]}\x00{t[1]}"),
)


def _fuzz_form(
    client: FlaskClient,
    path: str | Callable[[], str],
    base: dict[str, str],
    *,
    extra_fields: tuple[str, ...] = (),
) -> None:
    """POST ``base`` with random fields replaced; never a 500, refusals say why."""
    fields = sorted({*base, *extra_fields})

    @FUZZ
    @given(changes=st.dictionaries(st.sampled_from(fields), hostile, min_size=1))
    def run(changes: dict[str, str]) -> None:
        target = path() if callable(path) else path
        data = {**base, **changes}
        response = client.post(target, data=data)
        status = response.status_code
        assert status < 500, f"{target}: {status} for {changes!r}"
        if status == 200 and response.mimetype == "text/html":
            html = response.get_data(as_text=True)
            # the bulk paste answers 200 with its report (a flash) even when it worked
            markers = (*ERROR_MARKERS, "flash-") if "/invitations/bulk" in target else ERROR_MARKERS
            assert any(m in html for m in markers), (
                f"{target}: 200 without an error message for {changes!r}"
            )

    run()


# --------------------------------------------------------------------------- the forms

Target = tuple["str | Callable[[], str]", dict[str, str], tuple[str, ...]]


def _register(client: FlaskClient) -> Target:
    base = {
        "email": "new.person@example.org",
        "display_name": "New Person",
        "password": "correct horse battery staple 42",
        "password_confirm": "correct horse battery staple 42",
        "timezone": "Europe/Berlin",
    }
    return "/register", base, ()


def _login(client: FlaskClient) -> Target:
    make_user(email="someone@example.org")
    commit()
    return "/login", {"email": "someone@example.org", "password": "wrong password 1"}, ()


def _coordinator_letter(client: FlaskClient, **fields: Any) -> Any:
    user = make_user()
    letter = make_letter(user, **fields)
    commit()
    login(client, user)
    return user, letter


def _create_letter(client: FlaskClient) -> Target:
    user = make_user()
    organisation = make_organisation(admin=user)
    commit()
    login(client, user)
    base = {
        "title": "A letter",
        "addressee": "The Assembly",
        "language": "en",
        "deadline": "",
        "drafting_organisation": str(organisation.id),
        "body": "Text.",
    }
    return "/letters/new", base, ()


def _edit_text(client: FlaskClient) -> Target:
    """The base revision is fuzzed too: numbers of no revision, of this one, text."""
    _, letter = _coordinator_letter(client)
    head = letter.head()
    assert head is not None
    base = {
        "title": "A letter",
        "body": "Text, changed.",
        "change_note": "note",
        "base_revision": str(head.number),
        "draft": "",
    }
    return f"/letters/{letter.slug}/edit", base, ()


def _team_add_user(client: FlaskClient) -> Target:
    make_user(email="drafter@example.org")
    _, letter = _coordinator_letter(client)
    return (
        f"/letters/{letter.slug}/team/users",
        {"user-email": "drafter@example.org", "user-role": "drafter"},
        (),
    )


def _invite_one(client: FlaskClient) -> Target:
    _, letter = _coordinator_letter(client)
    base = {
        "one-organisation_name": "Invited NGO",
        "one-email": "invited@ngo.example.org",
        "one-expires_on": "",
    }
    return f"/letters/{letter.slug}/invitations", base, ()


def _invite_bulk(client: FlaskClient) -> Target:
    _, letter = _coordinator_letter(client)
    base = {"many-lines": "Org A, a@a.example.org\nOrg B; b@b.example.org", "many-expires_on": ""}
    return f"/letters/{letter.slug}/invitations/bulk", base, ()


def _invitee(suffix: str) -> Callable[[FlaskClient], tuple[Callable[[], str], str]]:
    def setup(client: FlaskClient) -> tuple[Callable[[], str], str]:
        """A fresh invitation per request (an answered one only says "already answered")."""
        coordinator = make_user()
        letter = make_letter(coordinator)
        head = letter.head()
        assert head is not None
        commit()
        count = iter(range(10**6))

        def new_path() -> str:
            n = next(count)
            invitation = invitation_ops.invite_organisation(
                letter,
                organisation_name=f"Invitee {n}",
                email=f"invitee{n}@ngo{n}.example.org",
                invited_by=coordinator,
            )
            commit()
            return f"/sign/{invitation_token(invitation)}{suffix}"

        return new_path, str(head.id)

    return setup


def _invitee_approve(client: FlaskClient) -> Target:
    new_path, revision = _invitee("/approve")(client)
    base = {
        "approve-revision": revision,
        "approve-name": "Invitee NGO",
        "approve-sort_name": "",
        "approve-country": "Chile",
        "approve-kind": "ngo",
        "approve-representative_name": "Ana",
        "approve-representative_title": "Director",
        "approve-website": "ngo.example.org",
        "approve-authority": "y",
    }
    return new_path, base, ()


def _invitee_decline(client: FlaskClient) -> Target:
    new_path, _ = _invitee("/decline")(client)
    return new_path, {"decline-reason": "We do not sign."}, ()


def _public_sign(client: FlaskClient) -> Target:
    letter = make_letter(make_user(), is_public=True)
    head = letter.head()
    assert head is not None
    commit()
    base = {
        "name": "Friends of the Court",
        "sort_name": "",
        "country": "Kenya",
        "kind": "ngo",
        "representative_name": "Amina",
        "representative_title": "Director",
        "website": "friends.example.org",
        "email": "amina@friends.example.org",
        "authority": "y",
        "revision_id": str(head.id),
    }
    return f"/p/{letter.slug}/sign", base, ()


def _export_settings(client: FlaskClient) -> Target:
    _, letter = _coordinator_letter(client)
    base = {
        "layout": "letter",
        "page_size": "A4",
        "audit_page": "y",
        "variant": "standard",
        "order": "alphabetical",
        "custom_order": "",
        "addressees": "The Assembly",
        "cc": "",
        "date_text": "",
        "grouping": "none",
        "first_tier": "",
        "first_tier_heading": "",
        "second_tier_heading": "",
        "numbered": "y",
        "columns": "2",
        "new_since": "",
        "individuals": "list",
        "descriptions": "",
    }
    return f"/letters/{letter.slug}/export", base, ("tag_long_lists",)


FORMS: dict[str, Callable[[FlaskClient], Target]] = {
    "register": _register,
    "login": _login,
    "create letter": _create_letter,
    "edit text": _edit_text,
    "team add user": _team_add_user,
    "invite one": _invite_one,
    "invite bulk paste": _invite_bulk,
    "invitee approve": _invitee_approve,
    "invitee decline": _invitee_decline,
    "public sign-on": _public_sign,
    "export settings": _export_settings,
}


@pytest.mark.usefixtures("app_context")
@pytest.mark.parametrize("form", FORMS)
def test_fuzzed_form_never_fails(client: FlaskClient, form: str) -> None:
    path, base, extra = FORMS[form](client)
    _fuzz_form(client, path, base, extra_fields=extra)


@pytest.mark.usefixtures("app_context")
@pytest.mark.parametrize("form", FORMS)
def test_nul_byte_in_every_text_field(client: FlaskClient, form: str) -> None:
    """Each field in turn gets a NUL inside an otherwise valid value: never a 500."""
    path, base, _ = FORMS[form](client)
    for name, value in base.items():
        target = path() if callable(path) else path
        data = {**base, name: f"{value[:1]}\x00{value[1:]}"}
        response = client.post(target, data=data)
        assert response.status_code == 400, f"{form}: NUL in {name} -> {response.status_code}"
