"""Deciding on a selection of pending sign-ons at once (issue 12 item 6): the operation and the
route, through the test client. Permissions: tests/signatures/test_permissions_public.py; the
browser (ticking, select all, the confirmation): tests/e2e/test_journey_moderation_selection.py.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from signon.audit.models import AuditEvent
from signon.core.permissions import TeamRole
from signon.extensions import db
from signon.letters.models import Letter
from signon.signatures.models import Moderation, Signature, SignatureStatus
from signon.signatures.public_signon import operations as ops
from signon.signatures.public_signon.forms import SELECTION_LIMIT
from tests.conftest import login
from tests.factories import add_team_member, make_user
from tests.signatures.factories import ask_and_confirm, commit, make_public_letter
from tests.smtp import MailCatcher

pytestmark = pytest.mark.usefixtures("app_context")


def _moderation(signature: Signature) -> Moderation:
    db.session.refresh(signature)
    return signature.moderation


def _pending(letter: Letter, count: int) -> list[Signature]:
    return [
        ask_and_confirm(letter, f"Pending Org {i}", email=f"contact@pending{i}.example.org")
        for i in range(count)
    ]


def _audited(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_accepting_a_selection_decides_each_as_one_accept_would() -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    signatures = _pending(letter, 3)
    chosen, left = signatures[:2], signatures[2]
    outcome = ops.moderate_selection(
        letter, [s.id for s in chosen], accept=True, moderator=coordinator
    )
    assert outcome == ops.SelectionOutcome(decided=2, skipped=0)
    assert [_moderation(s) for s in chosen] == [Moderation.ACCEPTED] * 2
    assert _moderation(left) == Moderation.PENDING
    accepted = _audited("signature.moderation_accepted")
    assert sorted(e.details["signature"] for e in accepted) == ["Pending Org 0", "Pending Org 1"]


def test_rejecting_a_selection_keeps_the_reason_and_skips_what_no_longer_applies() -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    first, decided, withdrawn = _pending(letter, 3)
    ops.accept_signature(decided, moderator=coordinator)  # by someone else, meanwhile
    withdrawn.status = SignatureStatus.WITHDRAWN
    foreign = ask_and_confirm(make_public_letter(), "Another Letter's Org")
    outcome = ops.moderate_selection(
        letter,
        [first.id, decided.id, withdrawn.id, foreign.id],
        accept=False,
        moderator=coordinator,
        reason="Spam wave",
    )
    # rejecting a withdrawn pending sign-on still applies (it is never shown); the accepted
    # one and the other letter's are left alone
    assert outcome == ops.SelectionOutcome(decided=2, skipped=2)
    assert _moderation(first) == _moderation(withdrawn) == Moderation.REJECTED
    assert _moderation(decided) == Moderation.ACCEPTED
    assert _moderation(foreign) == Moderation.PENDING
    assert {e.details["reason"] for e in _audited("signature.moderation_rejected")} == {"Spam wave"}


def _post(client: FlaskClient, slug: str, data: Mapping[str, object]) -> TestResponse:
    return client.post(f"/letters/{slug}/moderation/selection", data=data)


def test_the_route_accepts_the_ticked_ones_mails_them_and_flashes_the_counts(
    client: FlaskClient, mail_catcher: MailCatcher
) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    signatures = _pending(letter, 3)
    ops.reject_signature(signatures[2], moderator=coordinator, reason=None)
    commit()
    mail_catcher.clear()
    login(client, coordinator)
    ids = [str(s.id) for s in signatures]
    response = _post(client, letter.slug, {"selection-selected": ids, "selection-accept": "y"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/letters/{letter.slug}/moderation#queue-heading")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 signatures accepted and now listed publicly." in page
    assert "1 other was left unchanged: decided meanwhile" in page
    assert [_moderation(s) for s in signatures] == [
        Moderation.ACCEPTED,
        Moderation.ACCEPTED,
        Moderation.REJECTED,
    ]
    assert len(mail_catcher.to("contact@pending0.example.org")) == 1
    assert len(mail_catcher.to("contact@pending1.example.org")) == 1


def test_the_route_rejects_the_ticked_ones_with_the_reason(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    rejected, kept = _pending(letter, 2)
    commit()
    login(client, coordinator)
    response = _post(
        client,
        letter.slug,
        {
            "selection-selected": [str(rejected.id)],
            "selection-reject": "y",
            "selection-reason": "Not an organisation",
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 signature rejected: never shown publicly." in page
    assert _moderation(rejected) == Moderation.REJECTED
    assert _moderation(kept) == Moderation.PENDING
    (event,) = _audited("signature.moderation_rejected")
    assert event.details["reason"] == "Not an organisation"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"selection-accept": "y"}, "Tick the signatures to decide on first."),
        ({"selection-selected": ["{id}"]}, "Choose to accept or to reject"),
        (
            {"selection-selected": ["{id}"], "selection-accept": "y", "selection-reject": "y"},
            "Choose to accept or to reject",
        ),
        ({"selection-selected": ["{id}", "x1"], "selection-accept": "y"}, "Invalid choice"),
        (
            {
                "selection-selected": [str(n) for n in range(1, SELECTION_LIMIT + 2)],
                "selection-accept": "y",
            },
            f"Choose at most {SELECTION_LIMIT} signatures",
        ),
    ],
    ids=["nothing ticked", "no decision", "both decisions", "not an id", "too many"],
)
def test_a_selection_that_does_not_validate_decides_nothing(
    client: FlaskClient, data: dict[str, object], error: str
) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    (pending,) = _pending(letter, 1)
    commit()
    login(client, coordinator)
    posted = {
        key: [v.format(id=pending.id) for v in value] if isinstance(value, list) else value
        for key, value in data.items()
    }
    response = _post(client, letter.slug, posted)
    assert response.status_code == 422
    assert error in response.get_data(as_text=True)
    assert _moderation(pending) == Moderation.PENDING


def test_the_page_offers_a_checkbox_per_pending_sign_on_and_the_two_decisions(
    client: FlaskClient,
) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    signatures = _pending(letter, 2)
    login(client, coordinator)
    html = client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    assert f'action="/letters/{letter.slug}/moderation/selection"' in html
    for signature in signatures:
        assert (
            f'name="selection-selected" value="{signature.id}" form="moderation-selection"'
        ) in html
    assert 'data-select-all="selection-selected"' in html
    assert 'data-confirm="Reject the {count} selected? They will never be shown."' in html


def test_an_empty_queue_offers_no_selection(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator)
    login(client, coordinator)
    html = client.get(f"/letters/{letter.slug}/moderation").get_data(as_text=True)
    assert "moderation-selection" not in html


def test_a_drafter_cannot_decide_a_selection(client: FlaskClient) -> None:
    coordinator, drafter = make_user(), make_user()
    letter = make_public_letter(coordinator)
    add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
    (pending,) = _pending(letter, 1)
    commit()
    login(client, drafter)
    data = {"selection-selected": [str(pending.id)], "selection-accept": "y"}
    assert _post(client, letter.slug, data).status_code == 403
    assert _moderation(pending) == Moderation.PENDING
