"""The moderation queue and public-page settings, through the test client."""

from __future__ import annotations

import html as html_lib

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from signon.audit.models import AuditEvent
from signon.extensions import db
from signon.signatures.models import Moderation, Signature, SignatureSource
from tests.conftest import login
from tests.factories import make_user
from tests.signatures.factories import (
    ask_and_confirm,
    commit,
    make_public_letter,
    make_signature,
)
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")


def _setup(client: FlaskClient, **letter_fields: object):
    coordinator = make_user()
    letter = make_public_letter(coordinator, **letter_fields)
    login(client, coordinator)
    return coordinator, letter


def _moderation(signature: Signature) -> Moderation:
    """The current value (a function call, so that type checkers do not narrow it)."""
    return signature.moderation


def test_the_queue_shows_details_verification_and_duplicates(client: FlaskClient) -> None:
    _, letter = _setup(client)
    make_signature(
        letter, "Friends of the Court", email="x@elsewhere.example", website="friends.example.org"
    )
    verified = ask_and_confirm(letter, "Friends of the Court (Nairobi)")
    unverified = ask_and_confirm(
        letter, "Lone Voice", email="lone@gmail.com", website="https://lone.example.org"
    )
    html = client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    assert "Awaiting moderation" in html
    for signature in (verified, unverified):
        assert signature.name in html
        assert signature.email in html
    assert "Amina Otieno, Director" in html
    assert "Domain verified" in html and "Check this" in html
    assert "Possible duplicate" in html and "same website" in html
    assert 'optgroup label="Possible duplicates"' in html
    assert f"/letters/{letter.slug}/moderation/{verified.id}/accept" in html
    assert 'data-confirm="Reject' in html and 'data-confirm="Merge' in html


def test_the_embed_snippet_is_escaped_with_the_absolute_url(client: FlaskClient) -> None:
    _, letter = _setup(client, title='Quotes " and <tags>')
    html = client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    textarea = html.split('id="embed-snippet"')[1].split("</textarea>")[0]
    assert "<iframe" not in textarea  # shown as text, not as an element
    snippet = html_lib.unescape(textarea.split(">", 1)[1])
    assert snippet.startswith(f'<iframe src="http://localhost/p/{letter.slug}/embed"')
    assert 'title="Signatories: Quotes &#34; and &lt;tags&gt;"' in snippet
    assert "<tags>" not in snippet


def test_an_empty_queue_says_so(client: FlaskClient) -> None:
    _, letter = _setup(client, is_public=False)
    html = client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    assert "No signature awaits moderation." in html
    assert "The public page is off" in html
    assert 'id="embed-snippet"' not in html


def test_switching_the_public_page_on_and_off(client: FlaskClient) -> None:
    _, letter = _setup(client, is_public=False)
    commit()
    assert client.get(f"/p/{letter.slug}").status_code == 404
    response = client.post(f"/letters/{letter.slug}/moderation/public", data={"is_public": "y"})
    assert response.status_code == 302
    follow = client.get(response.location).get_data(as_text=True)
    assert "The public page is on: anyone with its address" in follow
    assert "Who may sign: organisations only." in follow
    assert letter.is_public
    assert client.get(f"/p/{letter.slug}").status_code == 200

    response = client.post(f"/letters/{letter.slug}/moderation/public", data={})
    follow = client.get(response.location).get_data(as_text=True)
    assert "The public page is off: its address, its embed and its links do not work." in follow
    assert not letter.is_public
    assert client.get(f"/p/{letter.slug}").status_code == 404
    # Changing who may sign while the page is off says so, not that it was just switched off.
    response = client.post(
        f"/letters/{letter.slug}/moderation/public", data={"signatories": "both"}
    )
    follow = client.get(response.location).get_data(as_text=True)
    assert letter.public_signatories.value == "both" and not letter.is_public
    assert "Who may sign: organisations and individuals. (applies once the page is on)" in follow
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.letter_id == letter.id)
    ).all()
    assert "letter.public_page_enabled" in actions and "letter.public_page_disabled" in actions


def test_accepting_publishes_and_mails(client: FlaskClient, outbox: MailCatcher) -> None:
    _, letter = _setup(client)
    signature = ask_and_confirm(letter)
    commit()
    outbox.clear()
    assert "Friends of the Court" not in client.get(f"/p/{letter.slug}/embed").get_data(
        as_text=True
    )
    response = client.post(f"/letters/{letter.slug}/moderation/{signature.id}/accept")
    assert response.status_code == 302
    assert signature.moderation == Moderation.ACCEPTED
    assert "accepted and now listed publicly" in client.get(response.location).get_data(
        as_text=True
    )
    for path in (f"/p/{letter.slug}", f"/p/{letter.slug}/embed"):
        assert "Friends of the Court" in client.get(path).get_data(as_text=True)
    assert "accepted" in MailCatcher.text_of(outbox.to(signature.email)[-1])

    # deciding twice is refused with a message
    again = client.post(f"/letters/{letter.slug}/moderation/{signature.id}/accept")
    assert again.status_code == 302
    assert "already been moderated" in client.get(again.location).get_data(as_text=True)


def test_rejecting_with_a_reason(client: FlaskClient, outbox: MailCatcher) -> None:
    _, letter = _setup(client)
    signature = ask_and_confirm(letter)
    commit()
    outbox.clear()
    prefix = f"reject-{signature.id}-"
    too_long = client.post(
        f"/letters/{letter.slug}/moderation/{signature.id}/reject",
        data={prefix + "reason": "x" * 1001},
    )
    assert too_long.status_code == 422
    assert "Field cannot be longer than 1000 characters." in too_long.get_data(as_text=True)
    assert _moderation(signature) == Moderation.PENDING

    response = client.post(
        f"/letters/{letter.slug}/moderation/{signature.id}/reject",
        data={prefix + "reason": "Spam"},
    )
    assert response.status_code == 302
    assert _moderation(signature) == Moderation.REJECTED
    html = client.get(response.location).get_data(as_text=True)
    assert "No signature awaits moderation." in html
    assert "Rejected" in html and "Spam" in html  # recent decisions
    assert "Friends of the Court" not in client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert len(outbox) == 0


def test_merging_into_an_existing_signatory(client: FlaskClient) -> None:
    _, letter = _setup(client)
    existing = make_signature(letter, "FotC", website="https://friends.example.org")
    duplicate = ask_and_confirm(letter)
    commit()
    prefix = f"merge-{duplicate.id}-"
    response = client.post(
        f"/letters/{letter.slug}/moderation/{duplicate.id}/merge",
        data={prefix + "target": str(existing.id), prefix + "take_details": "y"},
    )
    assert response.status_code == 302
    assert duplicate.moderation == Moderation.REJECTED
    assert existing.name == "Friends of the Court"
    html = client.get(response.location).get_data(as_text=True)
    assert "is merged into “FotC”, which took over the newer details" in html
    assert "Merged" in html and "into “FotC”" in html
    public = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    assert public.count("Friends of the Court") == 1


def test_merge_targets_must_be_in_the_letter(client: FlaskClient) -> None:
    _, letter = _setup(client)
    duplicate = ask_and_confirm(letter)
    make_signature(letter, "A target")
    elsewhere = make_signature(make_public_letter(), "Elsewhere")
    rejected = make_signature(
        letter, "Rejected", source=SignatureSource.PUBLIC, moderation=Moderation.REJECTED
    )
    commit()
    prefix = f"merge-{duplicate.id}-"
    for target in (elsewhere.id, rejected.id, duplicate.id, 0):
        response = client.post(
            f"/letters/{letter.slug}/moderation/{duplicate.id}/merge",
            data={prefix + "target": str(target)},
        )
        assert response.status_code == 422, target
        assert "Not a valid choice" in response.get_data(as_text=True)
    assert duplicate.moderation == Moderation.PENDING


def test_a_signature_of_another_letter_is_not_found(client: FlaskClient) -> None:
    _, letter = _setup(client)
    foreign = ask_and_confirm(make_public_letter())
    commit()
    for action in ("accept", "reject", "merge"):
        response = client.post(f"/letters/{letter.slug}/moderation/{foreign.id}/{action}")
        assert response.status_code == 404, action
    assert db.session.get(Signature, foreign.id).moderation == Moderation.PENDING
