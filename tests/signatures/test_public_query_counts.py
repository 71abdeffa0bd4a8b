"""The public page, its embed and the moderation queue send a fixed number of SQL queries."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from signon.signatures.models import Moderation, SignatureSource, SignatureStatus
from tests.conftest import RequestIsolatingClient, login
from tests.factories import add_revision, make_user
from tests.querycount import count_queries
from tests.signatures.factories import (
    ask,
    ask_and_confirm,
    make_public_letter,
    make_signature,
)

pytestmark = pytest.mark.usefixtures("app_context")


def _counts(client: FlaskClient, size: int) -> dict[str, int]:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    for i in range(size):
        make_signature(letter, f"Invited {i}", logo_filename=f"logo{i}.png" if i % 2 else None)
        make_signature(
            letter,
            f"Accepted {i}",
            source=SignatureSource.PUBLIC,
            moderation=Moderation.ACCEPTED,
        )
        make_signature(letter, f"Withdrawn {i}", status=SignatureStatus.WITHDRAWN)
        if i % 3 == 0:
            add_revision(letter, None, f"Version {i}.\n")
    for i in range(max(size // 10, 1)):
        ask_and_confirm(letter, f"Pending {i}", email=f"p{i}@pending{i}.example.org")
        ask(letter, f"Unconfirmed {i}", email=f"u{i}@example.org")
    counts = {}
    for name, path in [
        # the first view finds no kept counts: it counts and keeps them (signatures.counts)
        ("first view", f"/p/{letter.slug}"),
        ("page", f"/p/{letter.slug}"),
        ("embed", f"/p/{letter.slug}/embed"),
        ("check", f"/p/{letter.slug}/check-email"),
    ]:
        with count_queries() as counter:
            response = client.get(path)
            assert response.status_code == 200, path
        counts[name] = counter.count
    page = client.get(f"/p/{letter.slug}").get_data(as_text=True)
    # Only approvals made after the last (unclassified) revision are listed.
    since_last_revision = size - 1 - 3 * ((size - 1) // 3)
    assert page.count('class="signatory-name"') == 2 * since_last_revision
    login(client, coordinator)
    with count_queries() as counter:
        response = client.get(f"/letters/{letter.slug}/moderation")
        assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="card moderation-item"') == max(
        size // 10, 1
    )
    counts["moderation"] = counter.count
    return counts


def test_query_counts_do_not_grow_with_the_number_of_signatories(app: Flask) -> None:
    app.test_client_class = RequestIsolatingClient
    small = _counts(app.test_client(), 3)
    large = _counts(app.test_client(), 60)  # a new client: anonymous again
    assert small == large
    assert small["page"] <= 8, small


#: Statements of asking to sign and of confirming (the mail sent at the commit included:
#: the tests send it there; its claim and its record are 2), on each database. SQLite
#: takes no row locks but counts its BEGIN IMMEDIATEs. They do not grow with the
#: letter: the same at 5 and at 60 signatures. The confirmation's signature and private
#: invitation get their stored sort keys from the letter already read (no read of its
#: language per INSERT). Each POST reads the letter with what it needs in one statement
#: (asking: the revisions' ids and numbers; confirming: the request of the link's token),
#: on PostgreSQL under the letter's shared lock (no second read by the operation), and
#: takes its advisory keys in one statement; neither touches the audit chain (a pending
#: event, one INSERT). The confirmation reads the head once (no separate read of the
#: chosen revision), reserves the new private invitation's id with the look-up of the
#: address (its link, whose HMAC names the id, and its approved state go into its INSERT:
#: no UPDATE after, no read of its signature), and records a notice for the team (its
#: INSERT, and one SELECT of who on the team wants it mailed at once;
#: ``letters.notices.recipients``), flushed with the signature's history (its two events
#: in one INSERT) at the savepoint's end. Opening the mailed link (the GET of the
#: confirmation page) reads the letter, the request of the token and the head in one.
SIGN_ON_STATEMENTS = {
    "postgresql": {"ask": 9, "open": 1, "confirm": 16},
    "sqlite": {"ask": 8, "open": 1, "confirm": 18},
}


def _sign_on_counts(client: FlaskClient, size: int) -> dict[str, int]:
    letter = make_public_letter(make_user())
    for i in range(size):
        make_signature(letter, f"Invited {i}")
    head_id = letter.head().id
    with count_queries() as asking:
        response = client.post(
            f"/p/{letter.slug}/sign",
            data={
                "name": f"Newcomers {size}",
                "country": "Kenya",
                "kind": "ngo",
                "representative_name": "Amina Otieno",
                "email": f"amina{size}@newcomers.example.org",
                "authority": "y",
                "revision_id": str(head_id),
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)
    request = ask(letter, f"Confirming {size}", email=f"c{size}@example.org")
    assert request.token is not None
    link = f"/p/{letter.slug}/confirm/{request.token}"  # read before the requests commit
    with count_queries() as opening:
        response = client.get(link)
        assert response.status_code == 200 and f"Confirming {size}" in response.get_data(
            as_text=True
        )
    with count_queries() as confirming:
        response = client.post(link, data={"revision_id": str(head_id)})
        assert response.status_code == 302, response.get_data(as_text=True)
    return {"ask": asking.count, "open": opening.count, "confirm": confirming.count}


def test_asking_to_sign_and_confirming_send_a_fixed_small_number_of_statements(
    app: Flask, client: FlaskClient
) -> None:
    """The sign-on hot path (benchmarks/load/): revisions read once, the head not read
    again after the check under the letter's lock, no second lock of the letter for the
    audit chain, the new private invitation neither locked nor read again."""
    dialect = app.extensions["sqlalchemy"].engine.dialect.name
    small, large = _sign_on_counts(client, 5), _sign_on_counts(client, 60)
    assert small == large == SIGN_ON_STATEMENTS[dialect], (small, large)
