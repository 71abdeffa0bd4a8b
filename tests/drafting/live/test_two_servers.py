"""Two app servers share one live document through Redis (as behind a load balancer)."""

from __future__ import annotations

import base64
import uuid

import pytest
from pycrdt import Snapshot

from tests.drafting.live.client import eventually
from tests.drafting.live.conftest import Serve
from tests.drafting.live.world import BODY, Team, editor, make_team, member_of, post
from tests.redis_urls import redis_db

pytestmark = [pytest.mark.real_commits, pytest.mark.usefixtures("app_context")]

#: Redis database of these tests (pub/sub channels are not per database: the queue name,
#: which prefixes them, is new for each test).
REDIS_URL = redis_db(11)


@pytest.fixture
def team() -> Team:
    return make_team()


def test_editors_on_two_servers_see_each_other_and_a_removal_reaches_both(
    serve: Serve, team: Team
) -> None:
    queue = f"test-live-{uuid.uuid4().hex[:8]}"
    one = serve(redis_url=REDIS_URL, job_queue=queue)
    two = serve(redis_url=REDIS_URL, job_queue=queue)
    coordinator = editor(one, team, team.coordinator)
    drafter = editor(two, team, team.drafter)
    viewer = editor(two, team, team.viewer)
    coordinator.insert(0, "From server one. ")
    drafter.append("From server two.\n")
    expected = "From server one. " + BODY + "From server two.\n"
    eventually(
        lambda: coordinator.body == drafter.body == viewer.body == expected,
        what="every editor on either server has both edits",
    )
    drafter.announce({"cursor": 1})
    eventually(lambda: drafter.doc.client_id in coordinator.presence, what="presence relayed")
    # the coordinator removes the drafter on server one: their socket on server two closes
    post(
        one,
        team,
        team.coordinator,
        f"/letters/{team.slug}/team/{member_of(team, team.drafter)}/remove",
    )
    eventually(drafter.closed.is_set, timeout=2.0, what="the drafter is cut off on server two")
    assert not viewer.closed.is_set()


def test_a_version_saved_on_one_server_is_announced_on_the_other(serve: Serve, team: Team) -> None:
    """The page that follows the text learns of a save made through another server (its
    "unsaved changes" line, static/js/live.js): revision 2 holds every live change."""
    queue = f"test-live-{uuid.uuid4().hex[:8]}"
    one = serve(redis_url=REDIS_URL, job_queue=queue)
    two = serve(redis_url=REDIS_URL, job_queue=queue)
    coordinator = editor(one, team, team.coordinator)
    viewer = editor(two, team, team.viewer)
    coordinator.append("Live words.\n")
    eventually(lambda: viewer.body.endswith("Live words.\n"), what="the edit is relayed")
    assert viewer.saves == []
    post(one, team, team.coordinator, f"/letters/{team.slug}/live/save")
    eventually(lambda: len(viewer.saves) == 1, what="the save is announced on server two")
    assert (viewer.saves[0]["revision"], viewer.saves[0]["unsaved"]) == (2, False)
    # ...with the document revision 2 holds, which the viewer's is (the page compares them).
    snapshot = base64.b64decode(viewer.saves[0]["snapshot"])
    assert snapshot == Snapshot.from_doc(viewer.doc).encode()
