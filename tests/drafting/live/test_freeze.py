"""Freezing freezes the text the editors see (issue 13 item 4).

The live text saves itself after two quiet minutes, so when a coordinator froze the text
the words typed in the editor shortly before were in no revision: the frozen revision,
the one invited organisations approve, was not the text everyone saw in the editor, and
the typed words came back as new revisions only if the text was ever unfrozen. Freezing
now first makes the live text a version (one revision per person who typed, as "Save
version"), then freezes that; a version waiting to be classified after approvals keeps
the text from being frozen, as any other revision does.
"""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from signon.core.transaction import commit
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus
from tests.drafting.live.client import eventually
from tests.drafting.live.conftest import Serve
from tests.drafting.live.test_save import revisions
from tests.drafting.live.world import BODY, Team, editor, make_team, post, stored_updates
from tests.signatures.factories import make_signature

pytestmark = [pytest.mark.real_commits, pytest.mark.usefixtures("app_context")]


@pytest.fixture
def team() -> Team:
    return make_team()


def _status(letter_id: int) -> LetterStatus:
    db.session.rollback()
    try:
        status = db.session.scalar(select(Letter.status).where(Letter.id == letter_id))
        assert status is not None
        return status
    finally:
        db.session.rollback()


def test_freezing_freezes_what_was_typed_in_the_live_text(serve: Serve, team: Team) -> None:
    server = serve(live_autosave_seconds=3600)
    drafter = editor(server, team, team.drafter)
    drafter.append("Typed just before the freeze.\n")
    eventually(lambda: stored_updates(team.letter) == 1, what="the update is stored")
    post(server, team, team.coordinator, f"/letters/{team.slug}/status/freeze")
    eventually(drafter.closed.is_set, timeout=1.0, what="the socket closes at the freeze")
    assert _status(team.letter) == LetterStatus.OPEN
    made = revisions(team.letter)
    number, author, body, _note = made[-1]
    assert body == BODY + "Typed just before the freeze.\n"  # the frozen head
    assert author == team.drafter and number == 2
    assert stored_updates(team.letter) == 0


def test_a_typed_change_after_approvals_must_be_classified_before_the_freeze(
    serve: Serve, team: Team
) -> None:
    letter = db.session.get(Letter, team.letter)
    assert letter is not None
    make_signature(letter)  # an organisation approved revision 1
    commit()
    server = serve(live_autosave_seconds=3600)
    drafter = editor(server, team, team.drafter)
    drafter.append("A late change.\n")
    eventually(lambda: stored_updates(team.letter) == 1, what="the update is stored")
    browser = requests.Session()
    browser.cookies.set("session", team.cookie(server, team.coordinator))
    page = browser.post(f"{server.url}/letters/{team.slug}/status/freeze", timeout=30).text
    assert "First classify the change saved after organisations approved" in page
    assert "(revision 2)" in page
    assert _status(team.letter) == LetterStatus.DRAFTING
    assert revisions(team.letter)[-1][1:3] == (team.drafter, BODY + "A late change.\n")
    assert not drafter.closed.is_set()  # still drafting: the editor goes on
