"""Public sign-on by individuals (issue 12 item 6): the letter's choice of who may sign,
the individuals' form, and the name rule that holds for organisations only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from signon.audit.models import AuditEvent
from signon.core import transaction
from signon.extensions import db
from signon.letters.models import Letter, PublicSignatories
from signon.signatures import listing
from signon.signatures.approvals.operations import SignatureError
from signon.signatures.collation import family_name
from signon.signatures.models import OrderMode, PublicSignRequest, SignatoryKind
from signon.signatures.public_signon import operations as ops
from tests.exports.factories import sign
from tests.permissions import ROLES, LetterWorld, log_in_as
from tests.signatures.factories import ask, ask_and_confirm, make_public_letter, make_signature
from tests.signatures.test_permissions_public import build_world

pytestmark = pytest.mark.usefixtures("app_context")

PERSON: dict[str, Any] = {
    "kind": SignatoryKind.INDIVIDUAL,
    "country": "",
    "representative_name": "",
    "representative_title": "Professor of Law",
    "website": None,
    "authority_confirmed": False,
    "affiliation": "University of Nairobi",
}


def person_form(letter: Letter, **overrides: str) -> dict[str, str]:
    data = {
        "person-name": "Amina Otieno",
        "person-sort_name": "",
        "person-representative_title": "Professor of Law",
        "person-affiliation": "University of Nairobi",
        "person-email": "amina@example.org",
        "person-revision_id": str(letter.head().id),
    }
    data.update(overrides)
    return data


def _last_request() -> PublicSignRequest:
    found = db.session.scalars(select(PublicSignRequest).order_by(PublicSignRequest.id.desc()))
    return found.first()  # type: ignore[return-value]


# --- The letter's choice -------------------------------------------------------------------------


def test_a_letter_takes_organisations_only_until_the_coordinator_chooses() -> None:
    letter = make_public_letter()
    db.session.flush()
    db.session.refresh(letter)
    assert letter.public_signatories is PublicSignatories.ORGANISATIONS
    with pytest.raises(SignatureError, match="organisations only"):
        ask(letter, "Amina Otieno", **PERSON)


def test_an_individuals_only_letter_refuses_organisations() -> None:
    letter = make_public_letter(public_signatories=PublicSignatories.INDIVIDUALS)
    with pytest.raises(SignatureError, match="individuals only"):
        ask(letter, "Friends of the Court")
    assert ask(letter, "Amina Otieno", **PERSON).request is not None


def _choose(
    client: FlaskClient, role: str, signatories: str
) -> tuple[TestResponse, Letter, LetterWorld]:
    """``role`` posts the public page's settings with ``signatories``; the letter after."""
    world = build_world()
    log_in_as(client, world.users, role)
    response = client.post(
        f"/letters/{world.ids['slug']}/moderation/public",
        data={"is_public": "y", "signatories": signatories},
    )
    letter = db.session.get(Letter, world.letter.id)
    assert letter is not None
    db.session.refresh(letter)
    return response, letter, world


def test_the_setting_is_changed_on_the_moderation_page_and_audited(
    client: FlaskClient, app: Flask
) -> None:
    with app.test_request_context():
        response, letter, world = _choose(client, "coordinator", "both")
        assert response.status_code == 302
        assert letter.public_signatories is PublicSignatories.BOTH
        assert letter.is_public
        page = client.get(f"/letters/{world.ids['slug']}/moderation").get_data(as_text=True)
        assert re.search(r'<input checked [^>]*value="both"', page)
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.letter_id == letter.id)
        ).all()
        assert "letter.public_signatories_changed" in actions


@pytest.mark.parametrize("role", ROLES)
def test_only_the_coordinator_may_change_who_signs(
    client: FlaskClient, app: Flask, role: str
) -> None:
    with app.test_request_context():
        response, letter, _ = _choose(client, role, "individuals")
        expected = {"coordinator": 302, "drafter": 403, "viewer": 403, "outsider": 404}
        assert response.status_code == expected.get(role, 302)
        if role == "anonymous":
            assert "/login" in response.location
        wanted = "individuals" if role == "coordinator" else "organisations"
        assert letter.public_signatories.value == wanted


def test_an_unknown_choice_changes_nothing(client: FlaskClient, app: Flask) -> None:
    with app.test_request_context():
        response, letter, _ = _choose(client, "coordinator", "robots")
        assert response.status_code == 400
        assert letter.public_signatories is PublicSignatories.ORGANISATIONS


# --- The forms -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signatories", "organisations", "individuals"),
    [("organisations", True, False), ("individuals", False, True), ("both", True, True)],
)
def test_the_page_shows_the_forms_the_letter_takes(
    client: FlaskClient, signatories: str, organisations: bool, individuals: bool
) -> None:
    letter = make_public_letter(public_signatories=PublicSignatories(signatories))
    transaction.commit()
    html = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert ('name="authority"' in html) is organisations
    assert ('name="country"' in html) is organisations
    assert ('name="person-affiliation"' in html) is individuals
    assert ("/sign?as=individual" in html) is individuals
    assert ("As an individual" in html) is (signatories == "both")


def test_an_individual_signs_with_name_title_and_affiliation(client: FlaskClient) -> None:
    letter = make_public_letter(public_signatories=PublicSignatories.INDIVIDUALS)
    transaction.commit()
    response = client.post(f"/p/{letter.slug}/sign?as=individual", data=person_form(letter))
    assert response.status_code == 302, response.get_data(as_text=True)
    data = ops.PublicRequestData.from_json(_last_request().data)
    assert data.kind is SignatoryKind.INDIVIDUAL
    assert (data.name, data.representative_title, data.affiliation) == (
        "Amina Otieno",
        "Professor of Law",
        "University of Nairobi",
    )
    assert not data.authority_confirmed and not data.country
    signature = ops.confirm_public_request(_last_request(), letter.head())
    assert signature.kind is SignatoryKind.INDIVIDUAL
    assert signature.affiliation == "University of Nairobi"
    assert signature.representative_title == "Professor of Law"


def test_an_individual_needs_a_name_and_an_address_only(client: FlaskClient) -> None:
    letter = make_public_letter(public_signatories=PublicSignatories.INDIVIDUALS)
    transaction.commit()
    empty = person_form(
        letter,
        **{
            "person-name": "",
            "person-email": "",
            "person-affiliation": "",
            "person-representative_title": "",
        },
    )
    html = client.post(f"/p/{letter.slug}/sign?as=individual", data=empty).get_data(as_text=True)
    assert "Enter your name." in html and "Enter your e-mail address" in html
    assert "Please confirm that this person may sign" not in html
    assert "Enter the country." not in html
    bare = person_form(letter, **{"person-affiliation": "", "person-representative_title": ""})
    response = client.post(f"/p/{letter.slug}/sign?as=individual", data=bare)
    assert response.status_code == 302


def test_the_organisations_form_is_unchanged_on_a_letter_for_both(client: FlaskClient) -> None:
    letter = make_public_letter(public_signatories=PublicSignatories.BOTH)
    transaction.commit()
    html = client.post(
        f"/p/{letter.slug}/sign", data={"name": "Friends", "revision_id": str(letter.head().id)}
    ).get_data(as_text=True)
    assert "Enter the country." in html
    assert "Please confirm that this person may sign for the organisation." in html
    # the organisations' type list does not offer "Individual": people use their own form
    assert 'value="individual"' not in html


# --- Names ---------------------------------------------------------------------------------------


def _both_letter() -> Letter:
    return make_public_letter(public_signatories=PublicSignatories.BOTH)


def test_two_individuals_of_the_same_name_are_both_accepted_and_shown_as_possible_duplicates() -> (
    None
):
    letter = _both_letter()
    first = ask_and_confirm(letter, "John Smith", "john@one.example", **PERSON)
    second = ask_and_confirm(letter, "John Smith", "john@two.example", **PERSON)
    assert first.id != second.id
    assert {first.kind, second.kind} == {SignatoryKind.INDIVIDUAL}
    ops.accept_signature(first, moderator=letter.created_by)  # type: ignore[arg-type]
    # a third may still ask while one of the name is published
    assert ask(letter, "John Smith", "john@three.example", **PERSON).request is not None
    queue = ops.moderation_queue(letter)
    (item,) = queue.items
    assert item.signature == second
    assert [d.signature for d in item.duplicates] == [first]


def test_the_organisations_name_rule_is_unchanged() -> None:
    letter = _both_letter()
    make_signature(letter, "Friends of the Court")
    with pytest.raises(ops.AlreadyListedError):
        ask(letter, "Friends of the Court", "other@example.org")
    # an individual of an organisation's name is not refused either (people are not
    # organisations); the coordinators see the pair as possible duplicates
    assert ask(letter, "Friends of the Court", "p@example.org", **PERSON).request is not None


# --- Order and heading ---------------------------------------------------------------------------


def test_family_name_is_the_given_one_or_the_last_word() -> None:
    assert family_name("Amina J. Mohammed") == "Mohammed"
    assert family_name("Park Ji-sung", " Park ") == "Park"
    assert family_name("  ") == ""


def _sign_up(letter: Letter, *people: tuple[str, str]) -> None:
    coordinator = letter.created_by
    assert coordinator is not None
    for number, (name, given) in enumerate(people):
        details = {**PERSON, "sort_name": given or None}
        signature = ask_and_confirm(letter, name, f"p{number}@example.org", **details)
        ops.accept_signature(signature, moderator=coordinator)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "en",
            ["Émile Durand", "Amina J. Mohammed", "Park Ji-sung", "Carl Young", "Ольга Иванова"],
        ),
        # Russian collation puts Cyrillic first
        (
            "ru",
            ["Ольга Иванова", "Émile Durand", "Amina J. Mohammed", "Park Ji-sung", "Carl Young"],
        ),
    ],
)
def test_individuals_are_sorted_by_family_name_in_the_letters_collation(
    language: str, expected: list[str]
) -> None:
    letter = make_public_letter(public_signatories=PublicSignatories.INDIVIDUALS, language=language)
    _sign_up(
        letter,
        ("Carl Young", ""),
        ("Ольга Иванова", ""),
        ("Park Ji-sung", "Park"),
        ("Amina J. Mohammed", ""),
        ("Émile Durand", ""),
    )
    names = [entry.signature.name for entry in listing.page(letter, 0, 10).entries]
    assert names == expected
    in_python = [entry.signature.name for entry in listing.signatory_list(letter).entries]
    assert in_python == expected


def test_the_heading_uses_the_addressee_as_written(client: FlaskClient) -> None:
    letter = make_public_letter(addressee="To the President of the Assembly of States Parties")
    transaction.commit()
    html = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert ">To the President of the Assembly of States Parties<" in html
    assert "Open letter to" not in html


# --- Listed apart ---------------------------------------------------------------------------------


def test_individuals_are_listed_apart_after_the_organisations(client: FlaskClient) -> None:
    letter = _both_letter()
    make_signature(letter, "Zeta Network", country="Chile")
    _sign_up(letter, ("Ana Pérez", ""))
    make_signature(letter, "Alpha Coalition", country="Peru")
    transaction.commit()
    for path in (f"/p/{letter.slug}", f"/p/{letter.slug}/embed"):
        html = client.get(path).get_data(as_text=True)
        order = [html.index(text) for text in ("Alpha Coalition", "Zeta Network")]
        heading = html.index("Individual signatories")
        assert order[0] < order[1] < heading < html.index("Ana Pérez"), path
        assert "Professor of Law, University of Nairobi (for identification only)" in html


@pytest.mark.parametrize("mode", [OrderMode.COUNTRY, OrderMode.KIND, OrderMode.ALPHABETICAL])
def test_the_chosen_order_places_organisations_and_individuals_go_by_family_name(
    mode: OrderMode,
) -> None:
    letter = _both_letter()
    for name, family, country in (
        ("Carl Young", "Young", "Albania"),
        ("Émile Durand", "Durand", "Zambia"),
    ):
        sign(letter, [name], kind=SignatoryKind.INDIVIDUAL, sort_name=family, country=country)
    make_signature(letter, "Zeta Network", country="Albania")
    entries = listing.signatory_list(letter, mode=mode).entries
    assert [e.signature.name for e in entries] == ["Zeta Network", "Émile Durand", "Carl Young"]
