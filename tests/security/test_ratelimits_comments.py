"""Abuse limits on comments (issue 13): the team's routes per account, an invited
organisation's (public, the link is the proof) per invitation link and per client address.

The limiter is switched on by the ``limited`` fixture of tests/conftest.py, which puts it
back afterwards (see tests/security/test_ratelimits_invitations_api.py).
"""

from __future__ import annotations

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from signon.drafting.comments import operations as ops
from signon.drafting.comments.views import COMMENT_LIMIT
from signon.extensions import db
from signon.signatures.invitations import links
from tests.conftest import AppFactory, login
from tests.drafting.comments.helpers import comment_on, open_to_invitees, team_letter

OFFICE = "203.0.113.41"  # the team works from one office address
HOME, CAFE = "198.51.100.21", "198.51.100.22"


def test_the_limit_is_the_one_documented() -> None:
    assert COMMENT_LIMIT == "30 per minute;300 per hour"


def test_the_31st_resolve_in_a_minute_is_refused_for_that_person_only(
    limited: AppFactory,
) -> None:
    app = limited()
    with app.test_request_context():
        team = team_letter()
        thread = comment_on(team, "public hearing")
        db.session.commit()
        path = f"/letters/{team.letter.slug}/comments/{thread.id}/resolve"

        drafter = login(app.test_client(), team.drafter)
        office = {"REMOTE_ADDR": OFFICE}
        statuses = [drafter.post(path, environ_base=office).status_code for _ in range(31)]
        assert statuses == [302] * 30 + [429]
        refused = drafter.post(path, environ_base=office)
        assert "Retry-After" in refused.headers
        # Another route has its own allowance; another person at the same address too.
        reopen = path.replace("/resolve", "/reopen")
        assert drafter.post(reopen, environ_base=office).status_code == 302
        coordinator = login(app.test_client(), team.coordinator)
        assert coordinator.post(path, environ_base=office).status_code == 302


def _reply(client: FlaskClient, token: str, thread_id: int, address: str) -> TestResponse:
    # An empty reply is refused by the form (flash, 302), and still counted.
    return client.post(
        f"/sign/{token}/comments/{thread_id}/replies",
        data={f"reply-{thread_id}-body": ""},
        environ_base={"REMOTE_ADDR": address},
    )


def test_an_invitation_link_is_limited_per_link_and_per_client_address(
    limited: AppFactory,
) -> None:
    app = limited()
    with app.test_request_context():
        team = team_letter()
        open_to_invitees(team)
        head = team.letter.head()
        own = ops.start_thread(
            team.letter, head, quote="river basin", body="?", invitation=team.invitation
        )
        other = ops.start_thread(
            team.letter, head, quote="three cities", body="?", invitation=team.other_invitation
        )
        db.session.commit()
        token = links.invitation_token(team.invitation)
        other_token = links.invitation_token(team.other_invitation)
        client = app.test_client()

        statuses = [_reply(client, token, own.id, HOME).status_code for _ in range(31)]
        assert statuses == [302] * 30 + [429]
        # The same link from elsewhere: the link's allowance is spent.
        assert _reply(client, token, own.id, CAFE).status_code == 429
        # Another link from the same address: the address's allowance is spent.
        assert _reply(client, other_token, other.id, HOME).status_code == 429
        # Another link from another address: untouched.
        assert _reply(client, other_token, other.id, CAFE).status_code == 302
        # New threads through the link have an allowance of their own.
        started = client.post(
            f"/sign/{token}/comments", data={}, environ_base={"REMOTE_ADDR": CAFE}
        )
        assert started.status_code == 302
