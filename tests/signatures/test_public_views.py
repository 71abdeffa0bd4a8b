"""The public page, asking to sign, the mailed confirmation link, the embed and logos (HTTP)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from signon.core.headers import CSP
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus
from signon.signatures.models import (
    Invitation,
    Moderation,
    PublicSignRequest,
    Signature,
    SignatureSource,
    SignatureStatus,
)
from signon.signatures.public_signon import operations as ops
from tests.factories import add_revision, make_user
from tests.signatures.factories import (
    ask,
    commit,
    link_matching,
    make_public_letter,
    make_signature,
    path_of,
)
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")

EMAIL = "amina@friends.example.org"


def form_data(letter: Letter, **overrides: Any) -> dict[str, str]:
    data = {
        "name": "Friends of the Court",
        "sort_name": "",
        "country": "Kenya",
        "kind": "ngo",
        "representative_name": "Amina Otieno",
        "representative_title": "Director",
        "website": "friends.example.org",
        "email": EMAIL,
        "authority": "y",
        "revision_id": str(letter.head().id),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _requests() -> int:
    return int(db.session.scalar(select(func.count(PublicSignRequest.id))) or 0)


def _signatures() -> int:
    return int(db.session.scalar(select(func.count(Signature.id))) or 0)


# --- The page ------------------------------------------------------------------------------------


def test_the_public_page_shows_the_letter_its_published_signatories_and_a_form(
    client: FlaskClient,
) -> None:
    deadline = utcnow() + timedelta(days=10)
    letter = make_public_letter(
        title="Justice for all", body="We **urge** the Assembly.\n", deadline=deadline
    )
    make_signature(letter, "Published Org", country="Peru", email="hidden@published.example")
    html = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert "<h1" in html and "Justice for all" in html
    assert "The Assembly of States Parties" in html
    assert "<strong>urge</strong>" in html
    assert "Published Org" in html and "Peru" in html
    assert re.search(r"Signatories <span[^>]*>1</span>", html)
    assert "Open for signature until" in html and f"{deadline.day} {deadline:%B %Y}" in html
    assert "Sign this letter" in html and 'name="email"' in html
    # private details of signatories are never on the public page
    assert "hidden@published.example" not in html
    assert "Person " not in html  # representative names


def test_the_public_page_never_lists_unpublished_signatures(client: FlaskClient) -> None:
    letter = make_public_letter()
    make_signature(letter, "Visible Invited Org")
    make_signature(
        letter,
        "Visible Accepted Org",
        source=SignatureSource.PUBLIC,
        moderation=Moderation.ACCEPTED,
    )
    hidden = {
        "Pending Public Org": dict(source=SignatureSource.PUBLIC, moderation=Moderation.PENDING),
        "Rejected Public Org": dict(source=SignatureSource.PUBLIC, moderation=Moderation.REJECTED),
        "Declined Org": dict(status=SignatureStatus.DECLINED),
        "Withdrawn Org": dict(status=SignatureStatus.WITHDRAWN),
    }
    for name, fields in hidden.items():
        make_signature(letter, name, **fields)  # type: ignore[arg-type]
    for path in (f"/p/{letter.slug}", f"/p/{letter.slug}/embed"):
        html = client.get(path).get_data(as_text=True)
        assert "Visible Invited Org" in html and "Visible Accepted Org" in html
        for name in hidden:
            assert name not in html, f"{name} shown on {path}"
        assert re.search(r"data-count>2<", html)


def test_an_empty_list_says_so(client: FlaskClient) -> None:
    letter = make_public_letter()
    html = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert "No signatories are listed yet" in html


def test_every_public_route_answers_404_when_the_page_is_off(client: FlaskClient) -> None:
    letter = make_public_letter(is_public=False)
    result_letter = make_public_letter()
    token = ask(result_letter).token
    result_letter.is_public = False
    signature = make_signature(letter, "Listed")
    commit()
    for method, path in [
        ("GET", f"/p/{letter.slug}"),
        ("POST", f"/p/{letter.slug}/sign"),
        ("GET", f"/p/{letter.slug}/check-email"),
        ("GET", f"/p/{letter.slug}/embed"),
        ("GET", f"/p/{letter.slug}/logos/{signature.id}"),
        ("GET", f"/p/{result_letter.slug}/confirm/{token}"),
        ("POST", f"/p/{result_letter.slug}/confirm/{token}"),
        ("GET", "/p/no-such-letter"),
    ]:
        response = client.open(path, method=method, data=form_data(letter))
        assert response.status_code == 404, (method, path)
    assert _signatures() == 1 and _requests() == 1


# --- Asking to sign ---------------------------------------------------------------------------


def test_signing_publicly_end_to_end_through_the_mailed_link(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    response = client.post(f"/p/{letter.slug}/sign", data=form_data(letter))
    assert response.status_code == 302
    assert response.location == f"/p/{letter.slug}/check-email"
    assert "Check your e-mail" in client.get(response.location).get_data(as_text=True)
    request = db.session.scalar(select(PublicSignRequest))
    assert request.email == EMAIL and request.client_ip == "127.0.0.1"
    assert request.data["website"] == "https://friends.example.org"
    assert _signatures() == 0

    link = link_matching(outbox, EMAIL, "/confirm/")
    page = client.get(path_of(link))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Confirm your signature" in html and "Friends of the Court" in html
    assert "Confirm and sign" in html
    db.session.refresh(request)
    assert request.confirmed_at is None  # a GET changes nothing
    assert _signatures() == 0

    confirmed = client.post(path_of(link), data={"revision_id": str(letter.head().id)})
    assert confirmed.status_code == 302
    assert confirmed.location == f"/p/{letter.slug}"
    signature = db.session.scalar(select(Signature))
    assert signature.moderation == Moderation.PENDING
    assert signature.source == SignatureSource.PUBLIC
    after = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert "your e-mail address is confirmed" in after
    assert "Friends of the Court" not in after.split('id="signatories"')[1].split('id="sign"')[0]

    # the private link arrived; the confirmation link is now used
    assert "/sign/" in MailCatcher.text_of(outbox.to(EMAIL)[-1])
    again = client.get(path_of(link))
    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)
    assert "reviewing" in again.get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": ""}, "Enter the name of the organisation."),
        ({"country": " "}, "Enter the country."),
        ({"representative_name": ""}, "Enter the name of the person signing."),
        ({"email": ""}, "Enter your e-mail address"),
        ({"email": "not-an-address"}, "Enter a valid e-mail address"),
        ({"website": "javascript:alert(1)"}, "Enter a web address"),
        ({"authority": None}, "Please confirm that this person may sign"),
        ({"kind": "spaceship"}, "Not a valid choice"),
        ({"revision_id": "999999"}, "The page was out of date"),
        ({"revision_id": "abc"}, "The page was out of date"),
        ({"name": "x" * 301}, "Field cannot be longer than 300 characters."),
    ],
)
def test_bad_input_is_explained_and_what_was_typed_is_kept(
    client: FlaskClient, outbox: MailCatcher, overrides: dict[str, Any], message: str
) -> None:
    letter = make_public_letter()
    data = form_data(letter, **overrides)
    data.setdefault("representative_title", "Director")
    response = client.post(f"/p/{letter.slug}/sign", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert "nothing has been lost" in html
    for field in ("country", "representative_title"):
        if data.get(field, "").strip():
            assert f'value="{data[field]}"' in html
    assert _requests() == 0
    commit()
    assert len(outbox) == 0


def test_a_name_already_listed_is_refused_on_the_form(client: FlaskClient) -> None:
    letter = make_public_letter()
    make_signature(letter, "Friends of the Court")
    response = client.post(
        f"/p/{letter.slug}/sign", data=form_data(letter, name="friends of the  court")
    )
    assert response.status_code == 200
    assert "is already listed among the signatories" in response.get_data(as_text=True)
    assert _requests() == 0


def test_an_unpublished_name_gets_the_same_answer_as_a_new_one(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    """Nothing on the page tells a visitor that a name is pending, rejected or withdrawn."""
    letter = make_public_letter()
    make_signature(letter, "Quiet Org", status=SignatureStatus.WITHDRAWN)
    response = client.post(f"/p/{letter.slug}/sign", data=form_data(letter, name="Quiet Org"))
    assert response.status_code == 302
    assert response.location == f"/p/{letter.slug}/check-email"
    assert _requests() == 0
    assert "already recorded" in MailCatcher.text_of(outbox.to(EMAIL)[-1])


def test_submitting_twice_resends_a_link_instead_of_duplicating(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    letter = make_public_letter()
    client.post(f"/p/{letter.slug}/sign", data=form_data(letter))
    first = link_matching(outbox, EMAIL, "/confirm/")
    client.post(f"/p/{letter.slug}/sign", data=form_data(letter, country="Tanzania"))
    second = link_matching(outbox, EMAIL, "/confirm/")
    assert first != second
    assert _requests() == 1
    assert client.get(path_of(first)).status_code == 404
    assert "Tanzania" in client.get(path_of(second)).get_data(as_text=True)


def test_a_closed_letter_has_no_form_and_refuses_posts(client: FlaskClient) -> None:
    letter = make_public_letter(status=LetterStatus.CLOSED)
    make_signature(letter, "Still Listed")
    html = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert "Still Listed" in html
    assert "Signing is closed" in html
    assert 'name="email"' not in html
    commit()
    response = client.post(f"/p/{letter.slug}/sign", data=form_data(letter))
    assert response.status_code == 410
    assert "your request was not sent" in response.get_data(as_text=True)
    assert _requests() == 0


def test_past_the_deadline_signing_is_closed(client: FlaskClient) -> None:
    letter = make_public_letter(deadline=utcnow() - timedelta(minutes=5))
    html = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert 'name="email"' not in html and "the deadline was" in html
    commit()
    assert client.post(f"/p/{letter.slug}/sign", data=form_data(letter)).status_code == 410


# --- The confirmation link ---------------------------------------------------------------------


def test_expired_used_tampered_and_foreign_tokens_get_clear_pages(client: FlaskClient) -> None:
    letter, other = make_public_letter(), make_public_letter()
    expired = ask(letter, "Expired Org")
    expired.request.expires_at = utcnow() - timedelta(minutes=1)
    used = ask(letter, "Used Org")
    ops.confirm_public_request(used.request, letter.head())
    fresh = ask(letter, "Fresh Org")
    commit()
    cases = [
        (f"/p/{letter.slug}/confirm/{expired.token}", 410, "has expired"),
        (f"/p/{letter.slug}/confirm/{used.token}", 410, "already been used"),
        (f"/p/{letter.slug}/confirm/{fresh.token[:-2]}xx", 404, "not valid"),
        (f"/p/{other.slug}/confirm/{fresh.token}", 404, "not valid"),
    ]
    for path, status, text in cases:
        for method in ("GET", "POST"):
            response = client.open(path, method=method, data={"revision_id": str(letter.head().id)})
            assert response.status_code == status, (method, path)
            assert text in response.get_data(as_text=True)
            assert "Nothing has been changed" in response.get_data(as_text=True) or (
                "already been used" in text
            )
    assert _signatures() == 1  # only the one confirmed above


def test_when_the_text_changed_the_confirmation_shows_the_diff(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    letter = make_public_letter(body="We welcome the report.\n")
    shown = letter.head()
    result = ask(letter)
    newer = add_revision(letter, None, "We warmly welcome the report.\n")
    commit()
    path = f"/p/{letter.slug}/confirm/{result.token}"
    html = client.get(path).get_data(as_text=True)
    assert "The text has changed since you asked to sign" in html
    assert "<ins>warmly </ins>" in html or "<ins>warmly</ins>" in html
    assert f'name="revision_id" type="hidden" value="{newer.id}"' in html
    assert "I approve the current text" in html

    # approving the old text is refused, and the diff is shown again
    stale = client.post(path, data={"revision_id": str(shown.id)})
    assert stale.status_code == 409
    assert "The text has changed" in stale.get_data(as_text=True)
    assert _signatures() == 0

    ok = client.post(path, data={"revision_id": str(newer.id)})
    assert ok.status_code == 302
    signature = db.session.scalar(select(Signature))
    assert signature.revision_id == newer.id


def test_confirming_while_the_text_changes_under_the_page(client: FlaskClient) -> None:
    letter = make_public_letter()
    result = ask(letter)
    shown = letter.head()
    commit()
    path = f"/p/{letter.slug}/confirm/{result.token}"
    assert "Confirm and sign" in client.get(path).get_data(as_text=True)
    add_revision(letter, None, "Changed while they were reading.\n")
    commit()
    response = client.post(path, data={"revision_id": str(shown.id)})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Please read the changes" in html
    assert "Changed while they were reading" in html
    assert _signatures() == 0


def test_a_foreign_or_missing_revision_id_is_not_confirmed(client: FlaskClient) -> None:
    letter, other = make_public_letter(), make_public_letter()
    result = ask(letter)
    commit()
    path = f"/p/{letter.slug}/confirm/{result.token}"
    assert client.post(path, data={"revision_id": str(other.head().id)}).status_code == 409
    assert client.post(path, data={"revision_id": "x"}).status_code == 409
    assert client.post(path, data={}).status_code == 200  # the form again, nothing done
    assert _signatures() == 0


def test_confirming_after_the_letter_closed_is_refused(client: FlaskClient) -> None:
    letter = make_public_letter()
    result = ask(letter)
    letter.status = LetterStatus.CLOSED
    commit()
    path = f"/p/{letter.slug}/confirm/{result.token}"
    for method in ("GET", "POST"):
        response = client.open(path, method=method, data={"revision_id": str(letter.head().id)})
        assert response.status_code == 410
        assert "Signing is closed" in response.get_data(as_text=True)
    assert _signatures() == 0


def test_a_name_taken_meanwhile_is_explained_at_confirmation(client: FlaskClient) -> None:
    letter = make_public_letter()
    result = ask(letter, "Friends of the Court")
    make_signature(letter, "Friends of the Court")
    commit()
    response = client.post(
        f"/p/{letter.slug}/confirm/{result.token}", data={"revision_id": str(letter.head().id)}
    )
    assert response.status_code == 409
    assert "already listed" in response.get_data(as_text=True)
    assert _signatures() == 1
    assert db.session.scalar(select(Invitation)) is None


# --- Embed and headers ---------------------------------------------------------------------


def test_only_the_embed_may_be_framed(client: FlaskClient) -> None:
    letter = make_public_letter()
    make_signature(letter, "Framed Org")
    embed = client.get(f"/p/{letter.slug}/embed")
    assert embed.status_code == 200
    csp = embed.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in csp and "frame-ancestors 'none'" not in csp
    assert "X-Frame-Options" not in embed.headers
    # everything else as strict as elsewhere
    assert csp.replace("frame-ancestors *", "frame-ancestors 'none'") == CSP
    assert embed.headers["X-Content-Type-Options"] == "nosniff"
    html = embed.get_data(as_text=True)
    assert "Framed Org" in html
    assert f'href="http://localhost/p/{letter.slug}#sign" target="_blank" rel="noopener"' in html
    assert "<script" not in html

    for path in (f"/p/{letter.slug}", f"/p/{letter.slug}/check-email", "/login"):
        page = client.get(path)
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"], path
        assert page.headers["X-Frame-Options"] == "DENY", path


def test_a_404_embed_keeps_the_strict_headers(client: FlaskClient) -> None:
    letter = make_public_letter(is_public=False)
    commit()
    response = client.get(f"/p/{letter.slug}/embed")
    assert response.status_code == 404
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_embed_of_a_closed_letter_links_to_read_it(client: FlaskClient) -> None:
    letter = make_public_letter(status=LetterStatus.CLOSED)
    html = client.get(f"/p/{letter.slug}/embed").get_data(as_text=True)
    assert "Signing is closed" in html and "Sign this letter" not in html


# --- Logos ---------------------------------------------------------------------------------

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def test_logos_are_served_only_for_published_signatories(
    app: Flask, client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SIGNON", app.config["SIGNON"].with_(storage_dir=str(tmp_path)))
    (tmp_path / "logos").mkdir()
    (tmp_path / "logos" / "a1.png").write_bytes(PNG)
    (tmp_path / "logos" / "b2.png").write_bytes(PNG)
    letter = make_public_letter()
    shown = make_signature(letter, "Shown", logo_filename="a1.png")
    pending = make_signature(
        letter,
        "Pending",
        logo_filename="b2.png",
        source=SignatureSource.PUBLIC,
        moderation=Moderation.PENDING,
    )
    missing = make_signature(letter, "Missing", logo_filename="gone.png")
    no_logo = make_signature(letter, "No logo")
    page = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert f'src="/p/{letter.slug}/logos/{shown.id}"' in page
    assert f"/logos/{pending.id}" not in page

    response = client.get(f"/p/{letter.slug}/logos/{shown.id}")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == PNG
    response.close()
    commit()
    for signature in (pending, missing, no_logo):
        assert client.get(f"/p/{letter.slug}/logos/{signature.id}").status_code == 404
    other = make_public_letter()
    commit()
    assert client.get(f"/p/{other.slug}/logos/{shown.id}").status_code == 404


def test_a_french_letters_page_is_english_around_the_french_letter(client: FlaskClient) -> None:
    """The page's own words and dates are the app's (English, "5 December 2026"): the
    page says so (lang="en"), and only the letter's title, addressee and text are marked
    French; the whole page claimed French before, so a screen reader read the English
    form and dates with a French voice."""
    deadline = (utcnow() + timedelta(days=20)).replace(microsecond=0)
    letter = make_public_letter(language="fr", addressee="Aux ministres", deadline=deadline)
    page = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert '<html lang="en">' in page
    title = letter.head().title  # type: ignore[union-attr]
    assert f'<h1 lang="fr" dir="ltr">{title}</h1>' in page
    assert '<span lang="fr" dir="ltr">Aux ministres</span>' in page
    assert '<article class="letter-text card" lang="fr"' in page
    assert f"{deadline.day} {deadline:%B %Y}" in page  # the app's one date format
