"""The coordinators' invitations page through the test client: invite one or many, the
per-line report, revoke, re-send, the logo route, and the mail that arrives."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from signon.core.transaction import commit
from signon.db import utcnow
from signon.extensions import db
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations import notifications
from signon.signatures.invitations import operations as ops
from signon.signatures.models import Invitation, InvitationStatus
from signon.signatures.uploads import process_logo, save_logo
from tests.conftest import login
from tests.querycount import count_queries
from tests.signatures.factories import (
    approve_through,
    coordinated_letter,
    image_bytes,
    invited,
    link_in,
    refusing_mail_server,
    sign_path,
)
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")


def _count(letter_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Invitation).where(Invitation.letter_id == letter_id)
    )


def _textarea(page: str) -> str:
    found = re.search(r'<textarea[^>]*name="many-lines"[^>]*>(.*?)</textarea>', page, re.S)
    assert found is not None
    return html.unescape(found.group(1)).strip("\r\n")


def test_empty_page_explains_and_offers_both_forms(client: FlaskClient) -> None:
    coordinator, letter = coordinated_letter()
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/invitations").get_data(as_text=True)
    assert "Nobody is invited yet" in page
    assert "Invite one organisation" in page and "Invite many at once" in page
    assert 'enctype="multipart/form-data"' in page


def test_invite_one_sends_a_mail_whose_link_opens_the_letter(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator, letter = coordinated_letter(
        title="Statement on cooperation", deadline=utcnow() + timedelta(days=20)
    )
    login(client, coordinator)
    response = client.post(
        f"/letters/{letter.slug}/invitations",
        data={
            "one-organisation_name": "  Human   Rights Watch ",
            "one-email": "HRW@hrw.example.org",
        },
    )
    assert response.status_code == 302
    (invitation,) = db.session.scalars(select(Invitation).where(Invitation.letter_id == letter.id))
    assert (invitation.organisation_name, invitation.email) == (
        "Human Rights Watch",
        "hrw@hrw.example.org",
    )
    assert invitation.status == InvitationStatus.SENT and invitation.send_attempts == 1
    (message,) = outbox.to("hrw@hrw.example.org")
    link = link_in(message)
    assert "Statement on cooperation" in MailCatcher.text_of(message)
    assert "(in 19 days)" in MailCatcher.text_of(message) or "(in 20 days)" in MailCatcher.text_of(
        message
    )
    opened = client.get(link.split("localhost", 1)[1])
    assert opened.status_code == 200
    assert "Statement on cooperation" in opened.get_data(as_text=True)
    listing = client.get(f"/letters/{letter.slug}/invitations").get_data(as_text=True)
    assert "Human Rights Watch" in listing and ">Sent<" in listing


def test_invite_one_refuses_a_duplicate_and_a_bad_address(client: FlaskClient) -> None:
    coordinator, letter = coordinated_letter()
    invited(letter, coordinator, name="First", email="dup@ngo.example.org")
    login(client, coordinator)
    page = client.post(
        f"/letters/{letter.slug}/invitations",
        data={"one-organisation_name": "Second", "one-email": "Dup@NGO.example.org"},
    ).get_data(as_text=True)
    assert "already invited for First" in page
    page = client.post(
        f"/letters/{letter.slug}/invitations",
        data={"one-organisation_name": "Third", "one-email": "third@nowhere"},
    ).get_data(as_text=True)
    assert "It should have a period" in page
    assert 'value="Third"' in page  # what was typed is kept
    page = client.post(
        f"/letters/{letter.slug}/invitations",
        data={
            "one-organisation_name": "Past",
            "one-email": "p@p.example.org",
            "one-expires_on": "2001-01-01",
        },
    ).get_data(as_text=True)
    assert "Choose today or a later day" in page
    assert _count(letter.id) == 1


def test_bulk_paste_reports_every_line_and_gives_back_those_to_fix(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator, letter = coordinated_letter()
    invited(letter, coordinator, name="Already", email="already@ngo.example.org")
    commit()
    outbox.clear()
    login(client, coordinator)
    pasted = (
        "Alpha NGO, alpha@ngo.example.org\n"
        "Beta NGO <beta@ngo.example.org>\n"
        "\n"
        "Already Again, ALREADY@ngo.example.org\n"
        "Alpha Twice, alpha@ngo.example.org\n"
        "Gamma NGO, gamma-at-ngo\n"
        ", nameless@ngo.example.org\n"
        '"Delta, the NGO", delta@ngo.example.org\n'
    )
    response = client.post(
        f"/letters/{letter.slug}/invitations/bulk",
        data={"many-lines": pasted, "many-expires_on": ""},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "3 organisations are invited" in page
    assert "4 lines were not used" in page
    assert "already on line 1 of this list" in page
    assert "was already invited for Already" in page
    assert "Missing name" in page and "Bad e-mail address" in page
    # the two lines to correct are back in the box, exactly as typed; duplicates are not
    assert _textarea(page) == "Gamma NGO, gamma-at-ngo\n, nameless@ngo.example.org"
    assert _count(letter.id) == 4
    assert sorted(m["To"] for m in outbox.messages) == [
        "alpha@ngo.example.org",
        "beta@ngo.example.org",
        "delta@ngo.example.org",
    ]
    names = set(
        db.session.scalars(
            select(Invitation.organisation_name).where(Invitation.letter_id == letter.id)
        )
    )
    assert "Delta, the NGO" in names


def test_bulk_csv_upload_with_bom_header_and_broken_lines(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator, letter = coordinated_letter()
    login(client, coordinator)
    data = (
        "\ufeffOrganisation,Email\r\n"
        "Société Générale des Droits,sgd@ngo.example.org\r\n"
        '"Broken, line,broken@ngo.example.org\r\n'
        "Народная организация,narod@ngo.example.org\r\n"
    ).encode()
    response = client.post(
        f"/letters/{letter.slug}/invitations/bulk",
        data={"many-csv_file": (io.BytesIO(data), "list.csv", "text/csv")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 organisations are invited" in page
    assert "The quotes on this line do not match" in page
    assert _textarea(page) == '"Broken, line,broken@ngo.example.org'
    names = set(
        db.session.scalars(
            select(Invitation.organisation_name).where(Invitation.letter_id == letter.id)
        )
    )
    assert names == {"Société Générale des Droits", "Народная организация"}
    assert len(outbox) == 2


def test_bulk_refuses_bad_files_and_too_many_lines_keeping_the_text(client: FlaskClient) -> None:
    coordinator, letter = coordinated_letter()
    login(client, coordinator)
    latin1 = client.post(
        f"/letters/{letter.slug}/invitations/bulk",
        data={"many-csv_file": (io.BytesIO("Société,s@s.example.org".encode("latin-1")), "x.csv")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "not UTF-8" in latin1
    many = "\n".join(f"NGO {i}, n{i}@ngo.example.org" for i in range(ops.MAX_BULK_LINES + 5))
    page = client.post(
        f"/letters/{letter.slug}/invitations/bulk", data={"many-lines": many}
    ).get_data(as_text=True)
    assert "2,005 lines; at most 2,000" in page
    assert _textarea(page) == many  # nothing lost
    both = client.post(
        f"/letters/{letter.slug}/invitations/bulk",
        data={
            "many-lines": "A, a@a.example.org",
            "many-csv_file": (io.BytesIO(b"B,b@b.example.org"), "b.csv"),
        },
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "not both" in both and _textarea(both) == "A, a@a.example.org"
    empty = client.post(f"/letters/{letter.slug}/invitations/bulk", data={"many-lines": "  "})
    assert "Paste at least one line" in empty.get_data(as_text=True)
    assert _count(letter.id) == 0


def test_list_shows_status_times_errors_and_expired(client: FlaskClient, app: Flask) -> None:
    coordinator, letter = coordinated_letter()
    with refusing_mail_server(app):
        ops.create_invitations(
            letter,
            ops.parse_pasted("Refused Org, refuse@ngo.example.org\nLate Org, late@ngo.example.org"),
            invited_by=coordinator,
        )
        commit()
    late = db.session.scalar(select(Invitation).where(Invitation.email == "late@ngo.example.org"))
    late.expires_at = utcnow() - timedelta(hours=1)
    db.session.flush()
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/invitations").get_data(as_text=True)
    refused_row = page[page.index("Refused Org") :].split("</tr>", 1)[0]
    assert "Failed to send" in refused_row and "550" in refused_row
    late_row = page[page.index("Late Org") :].split("</tr>", 1)[0]
    assert ">Expired<" in late_row


def test_revoke_asks_first_and_kills_the_link_resend_gives_a_new_one(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator, name="Revoked Org")
    commit()
    old_path = sign_path(invitation)
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/invitations").get_data(as_text=True)
    assert 'data-confirm="Revoke the invitation of Revoked Org?' in page
    base = f"/letters/{letter.slug}/invitations/{invitation.id}"
    assert client.post(f"{base}/revoke").status_code == 302
    assert client.get(old_path).status_code == 410
    outbox.clear()
    assert client.post(f"{base}/resend").status_code == 302
    (message,) = outbox.to(invitation.email)
    new_link = link_in(message)
    assert not new_link.endswith(old_path)
    assert client.get(old_path).status_code == 404  # the old link is dead for good
    assert client.get(new_link.split("localhost", 1)[1]).status_code == 200


def test_re_send_is_offered_only_to_organisations_that_have_not_answered(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator, letter = coordinated_letter()
    invited(letter, coordinator, name="Waiting Org")
    approved = invited(letter, coordinator, name="Approving Org")
    declined = invited(letter, coordinator, name="Declining Org")
    approve_through(approved)
    ops.decline_invitation(declined, reason="Not our issue")
    commit()
    login(client, coordinator)
    page = client.get(f"/letters/{letter.slug}/invitations").get_data(as_text=True)

    def row(name: str) -> str:
        return page[page.index(name) :].split("</tr>", 1)[0]

    assert "/resend" in row("Waiting Org")
    assert "/resend" not in row("Approving Org") and "/resend" not in row("Declining Org")
    outbox.clear()
    response = client.post(
        f"/letters/{letter.slug}/invitations/{approved.id}/resend", follow_redirects=True
    )
    assert "Approving Org has already answered" in response.get_data(as_text=True)
    assert outbox.to(approved.email) == []


def test_resend_of_a_live_invitation_mails_the_same_link(
    client: FlaskClient, outbox: MailCatcher
) -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator)
    commit()
    (first,) = outbox.to(invitation.email)
    login(client, coordinator)
    client.post(f"/letters/{letter.slug}/invitations/{invitation.id}/resend")
    second = outbox.to(invitation.email)[-1]
    assert link_in(first) == link_in(second)
    db.session.refresh(invitation)
    assert invitation.send_attempts == 2


def test_another_letters_invitation_is_not_found_here(client: FlaskClient) -> None:
    coordinator, letter = coordinated_letter()
    other_coordinator, other = coordinated_letter()
    foreign = invited(other, other_coordinator)
    commit()
    login(client, coordinator)
    for action in ("revoke", "resend"):
        response = client.post(f"/letters/{letter.slug}/invitations/{foreign.id}/{action}")
        assert response.status_code == 404
    db.session.refresh(foreign)
    assert foreign.status != InvitationStatus.REVOKED


def test_logo_route_serves_the_stored_png_safely(client: FlaskClient, storage: Path) -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator)
    logo = process_logo(io.BytesIO(image_bytes(30, 30)))
    approval = ops.approve_invitation(
        invitation,
        letter.head(),
        SignatoryDetails(name="Logo NGO", authority_confirmed=True),
        logo=logo,
    )
    other_coordinator, other = coordinated_letter()
    commit()
    login(client, coordinator)
    url = f"/letters/{letter.slug}/signatures/{approval.signature.id}/logo"
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == "inline; filename=logo.png"
    assert response.data == logo.png
    page = client.get(f"/letters/{letter.slug}/invitations").get_data(as_text=True)
    assert url in page and "check this" in page
    # within another letter (its coordinator), the signature does not exist
    login(client, other_coordinator)
    assert (
        client.get(f"/letters/{other.slug}/signatures/{approval.signature.id}/logo").status_code
        == 404
    )


def test_logo_route_404_without_a_logo_or_with_a_missing_file(
    client: FlaskClient, storage: Path
) -> None:
    coordinator, letter = coordinated_letter()
    invitation = invited(letter, coordinator)
    approval = ops.approve_invitation(
        invitation, letter.head(), SignatoryDetails(name="No Logo", authority_confirmed=True)
    )
    commit()
    login(client, coordinator)
    url = f"/letters/{letter.slug}/signatures/{approval.signature.id}/logo"
    assert client.get(url).status_code == 404
    approval.signature.logo_filename = "../../etc/passwd"
    commit()
    assert client.get(url).status_code == 404
    save_logo(process_logo(io.BytesIO(image_bytes())))
    approval.signature.logo_filename = "f" * 32 + ".png"  # well-formed, no such file
    commit()
    assert client.get(url).status_code == 404


def _invitations_page_queries(client: FlaskClient, size: int) -> int:
    coordinator, letter = coordinated_letter()
    lines = "\n".join(f"NGO {i}, n{i}@ngo{i}.example.org" for i in range(size))
    report = ops.create_invitations(letter, ops.parse_pasted(lines), invited_by=coordinator)
    for line in report.created[: size // 2]:
        invitation = db.session.get(Invitation, line.invitation_id)
        ops.approve_invitation(
            invitation,
            letter.head(),
            SignatoryDetails(name=invitation.organisation_name, authority_confirmed=True),
        )
    db.session.flush()
    login(client, coordinator)
    with count_queries() as counter:
        assert client.get(f"/letters/{letter.slug}/invitations").status_code == 200
    return counter.count


def test_the_invitations_page_sends_a_fixed_number_of_queries(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no mail in this test: what is measured is the page
    monkeypatch.setattr(notifications, "queue_invitation_mails", lambda *args: None)
    assert _invitations_page_queries(client, 4) == _invitations_page_queries(client, 40)
