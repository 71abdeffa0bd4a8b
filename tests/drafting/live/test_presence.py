"""Who a live socket speaks for: a presence id is its first socket's; a session is the
login's, and ends with it.

A team member (here a viewer) must not move, rename or remove someone else's caret by
sending presence for their Yjs client id; and the browser's provider, which sends back
the others' presence it receives, must neither rename them nor be closed for it.
"""

from __future__ import annotations

import time

import pytest

from signon.accounts.models import User
from signon.drafting.live import protocol
from signon.drafting.live.connection import ACCESS_TTL
from signon.drafting.live.protocol import Presence
from signon.extensions import db
from tests.drafting.live.client import LiveClient, eventually, handshake_status
from tests.drafting.live.conftest import Serve
from tests.drafting.live.world import Team, editor, make_team, post, stored_updates

pytestmark = [pytest.mark.real_commits, pytest.mark.usefixtures("app_context")]


@pytest.fixture
def team() -> Team:
    return make_team()


def _name(user_id: int) -> str:
    user = db.session.get(User, user_id)
    assert user is not None
    name = user.display_name
    db.session.rollback()
    return name


def _send_presence(client: LiveClient, entries: list[Presence]) -> None:
    client.send(protocol.awareness_message(protocol.write_awareness(entries)))


def _own_presence_seen(sender: LiveClient, observer: LiveClient, clock: int) -> None:
    """The sender's own presence, sent after what came before it, reached the observer:
    anything relayed before it has arrived too."""
    sender.announce({"cursor": clock}, clock=clock)
    eventually(
        lambda: (observer.presence.get(sender.doc.client_id) or {}).get("cursor") == clock,
        what="the sender's own presence arrived",
    )


def test_nobody_changes_or_removes_another_persons_presence(serve: Serve, team: Team) -> None:
    server = serve()
    victim = editor(server, team, team.coordinator)
    victim.announce({"cursor": 1})
    observer = editor(server, team, team.drafter)
    eventually(lambda: victim.doc.client_id in observer.presence, what="the victim is seen")
    attacker = editor(server, team, team.viewer)
    eventually(lambda: victim.doc.client_id in attacker.presence)

    # the viewer sends presence for the coordinator's client id: a caret elsewhere, then "left"
    target = victim.doc.client_id
    _send_presence(attacker, [Presence(target, 50, {"cursor": 99})])
    _send_presence(attacker, [Presence(target, 51, None)])
    _own_presence_seen(attacker, observer, clock=1)
    assert not attacker.closed.is_set()
    assert observer.presence[target] == {
        "cursor": 1,
        "user": {
            "id": team.coordinator,
            "name": _name(team.coordinator),
            "color": "",
            "canEdit": True,
        },
    }
    # when the viewer leaves, the coordinator is still there for everyone
    attacker.close()
    eventually(lambda: observer.presence.get(attacker.doc.client_id, 1) is None)
    assert observer.presence[target] is not None
    late = editor(server, team, team.drafter)
    eventually(lambda: target in late.presence, what="a late joiner is told the victim is here")
    assert late.presence[target]["user"]["name"] == _name(team.coordinator)  # type: ignore[index]


def test_a_client_sending_back_the_others_presence_is_neither_closed_nor_renamed(
    serve: Serve, team: Team
) -> None:
    server = serve()
    people = [editor(server, team, team.coordinator)] + [
        editor(server, team, team.viewer) for _ in range(4)
    ]
    for number, person in enumerate(people):
        person.announce({"cursor": number})
    echoer = editor(server, team, team.drafter)
    ids = [person.doc.client_id for person in people]
    observer = people[0]
    eventually(lambda: all(i in echoer.presence for i in ids), what="everyone is seen")
    # a person's presence reaches each socket from that person's own server thread, in no
    # set order: the echoer can have everyone (in its greeting) before the observer has
    # the others, whom the last assertion needs it to have seen
    eventually(
        lambda: all(i in observer.presence for i in ids[1:]), what="the observer sees the others"
    )
    # as y-websocket's provider does: every change of its awareness is sent back, the
    # others' entries included (with the clocks it received)
    _send_presence(echoer, [Presence(i, 1, echoer.presence[i]) for i in ids])
    _send_presence(echoer, [Presence(echoer.doc.client_id, 1, {"cursor": 7})])
    eventually(lambda: echoer.doc.client_id in observer.presence)
    assert not echoer.closed.is_set()
    late = editor(server, team, team.viewer)
    eventually(lambda: all(i in late.presence for i in ids))
    assert late.presence[ids[0]]["user"]["name"] == _name(team.coordinator)  # type: ignore[index]
    # its closing removes its own presence only
    echoer.close()
    eventually(lambda: observer.presence.get(echoer.doc.client_id, 1) is None)
    assert all(observer.presence.get(i) is not None for i in ids[1:])


def test_logging_out_ends_the_sockets_of_that_session(serve: Serve, team: Team) -> None:
    """A socket outlives the page that opened it: logging out (which ends every session of
    the person, as a password change does) ends its right to write and read."""
    server = serve()
    drafter = editor(server, team, team.drafter)
    cookie = team.cookie(server, team.drafter)
    post(server, team, team.drafter, "/logout")
    time.sleep(ACCESS_TTL + 0.1)  # the socket's rights are asked again after this
    drafter.append("Written after logging out.\n")
    eventually(drafter.closed.is_set, what="the logged-out socket is closed")
    assert drafter.close_code == 1008
    assert stored_updates(team.letter) == 0
    # the old cookie opens nothing either
    assert handshake_status(server.url, team.slug, cookie, server.url) == 302


def test_a_reconnection_takes_its_presence_over_from_the_old_socket(
    serve: Serve, team: Team
) -> None:
    """The same person's new socket (the old one not closed yet, as when a connection
    drops unnoticed) speaks for their presence id; the old socket's end removes nothing."""
    server = serve()
    observer = editor(server, team, team.coordinator)
    old = editor(server, team, team.drafter)
    old.announce({"cursor": 1})
    eventually(lambda: old.doc.client_id in observer.presence)
    new = editor(server, team, team.drafter)
    _send_presence(new, [Presence(old.doc.client_id, 2, {"cursor": 2})])
    eventually(
        lambda: (observer.presence.get(old.doc.client_id) or {}).get("cursor") == 2,
        what="the new socket's presence is relayed",
    )
    old.close()
    _own_presence_seen(new, observer, clock=1)
    assert (observer.presence.get(old.doc.client_id) or {}).get("cursor") == 2
