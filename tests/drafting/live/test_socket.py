"""The live-editing socket on a real server, with Python editors speaking y-websocket."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest
from pycrdt import Doc, Text
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Message, Request

from signon.accounts.models import User
from signon.drafting.live import protocol
from signon.drafting.live.crdt import TEXT_NAME
from signon.extensions import db
from tests.drafting.live.client import LiveClient, eventually, handshake_status
from tests.drafting.live.conftest import Serve
from tests.drafting.live.world import BODY, Team, editor, make_team, member_of, post, stored_updates

pytestmark = [pytest.mark.real_commits, pytest.mark.usefixtures("app_context")]


@pytest.fixture
def team() -> Team:
    return make_team()


def test_two_editors_converge_and_the_document_starts_from_the_head(
    serve: Serve, team: Team
) -> None:
    server = serve()
    one, two = editor(server, team, team.coordinator), editor(server, team, team.drafter)
    assert one.body == two.body == BODY
    one.insert(0, "Dear all, ")
    two.append("Signed.\n")
    one.insert(len("Dear all, First"), " (revised)")
    expected = "Dear all, First (revised) paragraph.\n\nSecond paragraph.\nSigned.\n"
    eventually(lambda: one.body == two.body == expected, what="both editors see every edit")
    assert stored_updates(team.letter) == 3


def test_presence_is_relayed_under_the_senders_own_name(serve: Serve, team: Team) -> None:
    server = serve()
    one = editor(server, team, team.coordinator)
    two = editor(server, team, team.drafter)
    # the drafter claims to be someone else: the server stamps their own name
    two.announce({"user": {"name": "The Coordinator", "color": "#f00"}, "cursor": 3})
    eventually(lambda: two.doc.client_id in one.presence, what="the presence reached the other")
    state = one.presence[two.doc.client_id]
    assert state is not None
    drafter = db.session.get(User, team.drafter)
    assert drafter is not None
    assert state["user"]["name"] == drafter.display_name
    db.session.rollback()
    assert state["user"]["color"] == "#f00"
    assert state["cursor"] == 3
    # a third editor who joins later is told who is there; a socket that closes leaves
    three = editor(server, team, team.viewer)
    eventually(lambda: two.doc.client_id in three.presence, what="late joiner sees presence")
    two.close()
    eventually(lambda: one.presence.get(two.doc.client_id, 1) is None, what="presence removed")


def test_a_restart_loses_nothing(serve: Serve, team: Team) -> None:
    first = serve()
    one = editor(first, team, team.drafter)
    one.append("Typed before the restart.\n")
    eventually(lambda: stored_updates(team.letter) == 1, what="the update is stored")
    one.close()
    first.stop()
    second = serve()  # a new process: nothing in memory
    again = editor(second, team, team.coordinator)
    assert again.body == BODY + "Typed before the restart.\n"


def test_edits_made_offline_merge_on_reconnect(serve: Serve, team: Team) -> None:
    server = serve()
    one, two = editor(server, team, team.coordinator), editor(server, team, team.drafter)
    two.close()
    # the drafter keeps typing in their copy while disconnected; the coordinator types too
    offline = two.doc
    with two.lock:
        two.applying = True  # nothing to send: the socket is gone
        two.text.insert(0, "Offline words. ")
        two.applying = False
    one.append("Online words.\n")
    back = LiveClient(server.url, team.slug, team.cookie(server, team.drafter))
    # the reconnecting editor brings its document (y-websocket keeps it): sync both ways
    back.applying = True
    back.doc.apply_update(offline.get_update())
    back.applying = False
    back.send(protocol.sync_step1(back.doc.get_state()))
    back.send(protocol.update_message(back.doc.get_update()))
    expected = "Offline words. " + BODY + "Online words.\n"
    eventually(lambda: one.body == back.body == expected, what="offline edits merged")


def test_a_viewer_reads_and_a_forged_update_closes_its_socket(serve: Serve, team: Team) -> None:
    server = serve()
    drafter = editor(server, team, team.drafter)
    viewer = editor(server, team, team.viewer)
    drafter.append("From the drafter.\n")
    eventually(lambda: viewer.body.endswith("From the drafter.\n"), what="the viewer reads")
    viewer.append("Forged by the viewer.\n")  # the client sends it as an update message
    eventually(viewer.closed.is_set, what="the viewer's socket is closed")
    assert viewer.close_code == 1008
    assert viewer.denied is not None and "may not change the text" in viewer.denied
    assert stored_updates(team.letter) == 1
    drafter.append("More.\n")
    eventually(lambda: drafter.body.endswith("From the drafter.\nMore.\n"))
    assert "Forged" not in drafter.body
    fresh = editor(server, team, team.coordinator)
    assert "Forged" not in fresh.body


def test_a_drafter_removed_from_the_team_is_cut_off_at_once(serve: Serve, team: Team) -> None:
    server = serve()
    drafter = editor(server, team, team.drafter)
    member = member_of(team, team.drafter)
    # the coordinator removes them on the team page, served by the same app server
    post(server, team, team.coordinator, f"/letters/{team.slug}/team/{member}/remove")
    eventually(drafter.closed.is_set, timeout=1.0, what="the removed drafter's socket closes")
    assert drafter.close_code == 1008
    # told why first (the page shows it and does not reconnect)
    assert drafter.denied is not None and "no longer edit this letter" in drafter.denied
    assert (
        handshake_status(server.url, team.slug, team.cookie(server, team.drafter), server.url)
        == 404
    )


def test_a_drafter_made_viewer_can_no_longer_write(serve: Serve, team: Team) -> None:
    server = serve()
    drafter = editor(server, team, team.drafter)
    member = member_of(team, team.drafter)
    post(server, team, team.coordinator, f"/letters/{team.slug}/team/{member}/role", role="viewer")
    eventually(drafter.closed.is_set, timeout=1.0, what="the demoted drafter's socket closes")
    assert stored_updates(team.letter) == 0


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (b"\x07\x00", 1003),  # unknown message type
        (b"\x00\x02\x05ab", 1003),  # truncated update
        (b"\x00\x02\x03abc", 1003),  # an update that does not decode
        (b"\x00\x07\x00", 1003),  # unknown sync step
        (b'\x01\x05{"a":', 1003),  # truncated presence
        (b"\x00\x00\x00extra", 1003),  # trailing bytes
        ("text frame", 1003),
        (b"\x00\x02" + b"\xff" * (600 * 1024), 1009),  # over the message limit
    ],
    ids=["type", "truncated", "undecodable", "step", "presence", "trailing", "text", "oversized"],
)
def test_malformed_or_oversized_messages_close_the_socket_and_change_nothing(
    serve: Serve, team: Team, message: bytes | str, code: int
) -> None:
    server = serve()
    drafter = editor(server, team, team.drafter)
    drafter.send(message)
    eventually(drafter.closed.is_set, what="the socket is closed")
    assert drafter.close_code == code
    assert stored_updates(team.letter) == 0
    assert editor(server, team, team.coordinator).body == BODY


def test_an_update_that_would_pass_the_size_limit_closes_the_socket(
    serve: Serve, team: Team
) -> None:
    server = serve(max_body_chars=200)
    drafter = editor(server, team, team.drafter)
    drafter.append("x" * 300)
    eventually(drafter.closed.is_set, what="the socket is closed")
    assert drafter.close_code == 1009
    assert stored_updates(team.letter) == 0


def test_a_flood_of_messages_closes_the_socket(serve: Serve, team: Team) -> None:
    server = serve()
    drafter = editor(server, team, team.drafter)
    for _ in range(2000):
        drafter.send(protocol.sync_step1(b"\x00"))
        if drafter.closed.is_set():
            break
    eventually(drafter.closed.is_set, what="the socket is closed")
    assert drafter.close_code == 1008


def test_the_origin_must_be_the_site(serve: Serve, team: Team) -> None:
    server = serve()
    cookie = team.cookie(server, team.drafter)
    slug = team.slug
    assert handshake_status(server.url, slug, cookie, server.url) == 101
    assert handshake_status(server.url, slug, cookie, "http://evil.example") == 403
    assert handshake_status(server.url, slug, cookie, server.url.replace("http", "https")) == 403
    assert handshake_status(server.url, slug, cookie, None) == 403


def test_a_frozen_letter_closes_its_sockets_and_refuses_new_ones(serve: Serve, team: Team) -> None:
    server = serve()
    drafter = editor(server, team, team.drafter)
    post(server, team, team.coordinator, f"/letters/{team.slug}/status/freeze")
    eventually(drafter.closed.is_set, timeout=1.0, what="the socket closes at the freeze")
    status = handshake_status(server.url, team.slug, team.cookie(server, team.drafter), server.url)
    assert status == 409


def test_behind_werkzeug_the_connection_ends_with_the_servers_close_frame(
    serve: Serve, team: Team
) -> None:
    """Werkzeug reads a connection again once the view returns: a browser's late answering
    close frame was read as a request line and answered with a 400 page after the close
    frame (the browser then saw 1006, not 1008). Here the bytes that follow the answer are
    an HTTP request: the server must not read or answer anything after its close frame."""
    server = serve()
    host, port = server.url.removeprefix("http://").split(":")
    raw = socket.create_connection((host, int(port)), timeout=5)
    ws = WSConnection(ConnectionType.CLIENT)
    cookie = team.cookie(server, team.viewer)
    headers = [(b"Origin", server.url.encode()), (b"Cookie", f"session={cookie}".encode())]
    raw.sendall(
        ws.send(
            Request(
                host=f"{host}:{port}", target=f"/letters/{team.slug}/live", extra_headers=headers
            )
        )
    )
    doc: Doc[Text] = Doc()
    doc.get(TEXT_NAME, type=Text).insert(0, "Forged by the viewer.\n")
    closing: CloseConnection | None = None
    while closing is None:
        ws.receive_data(raw.recv(65536))
        for event in ws.events():
            if isinstance(event, AcceptConnection):
                raw.sendall(ws.send(Message(protocol.update_message(doc.get_update()))))
            elif isinstance(event, CloseConnection):
                closing = event
    assert closing.code == 1008
    raw.sendall(ws.send(closing.response()))
    time.sleep(0.3)  # simple-websocket's reader has read the answer and stopped
    raw.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    after = b""
    with contextlib.suppress(TimeoutError):
        raw.settimeout(3)
        while chunk := raw.recv(65536):
            after += chunk
    raw.close()
    assert after == b""
