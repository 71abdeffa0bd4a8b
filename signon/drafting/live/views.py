"""The live-editing socket (``/letters/<slug>/live``) and "Save version".

The socket is served by the app itself (simple-websocket, the library under flask-sock),
so ``make run`` and gunicorn's gthread workers serve it as they serve pages; see
docs/live-editing.md. The letter and the permission are checked, and the Origin header
compared with the site's address, BEFORE the handshake: a refused socket is a plain
HTTP answer (302 to the login page, 404, 403, 409 when the text is frozen).
"""

from __future__ import annotations

import contextlib
from socket import IPPROTO_TCP, SHUT_WR, TCP_NODELAY
from typing import Any
from urllib.parse import urlsplit

from flask import Response as FlaskResponse
from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from simple_websocket import ConnectionClosed, Server
from werkzeug.wrappers import Response

from signon.core import transaction
from signon.core.forms import ActionForm
from signon.core.permissions import Action
from signon.drafting.blueprint import bp
from signon.drafting.live import hooks, operations, queries
from signon.drafting.live.connection import MAX_MESSAGE_BYTES, serve
from signon.drafting.live.forms import LiveTextForm
from signon.drafting.live.hub import Connection, hub
from signon.drafting.live.queries import Access
from signon.letters.guard import letter_route
from signon.letters.models import Letter, LetterStatus
from signon.letters.operations import SaveStatus

__all__ = ["hooks"]  # registers the signal receiver and the periodic auto-save

#: Seconds between the server's pings (keeps proxies from closing a quiet socket).
PING_SECONDS = 25
#: Behind Werkzeug: how long the server waits for the browser to end the connection after
#: the server's close frame (the browser answers it and closes at once).
CLOSING_SECONDS = 2.0


def same_origin() -> bool:
    """The socket was opened by a page of this site (a cross-site WebSocket hijack is not).

    Browsers always send Origin with a WebSocket handshake; it must be the site's
    configured address (``SIGNON_BASE_URL``) or, with the same scheme, the host this
    request came to (already one of the hosts the site serves).
    """
    origin = request.headers.get("Origin", "")
    if not origin:
        return False
    canonical = urlsplit(current_app.config["SIGNON"].canonical_url)
    parts = urlsplit(origin)
    if (parts.scheme, parts.netloc) == (canonical.scheme, canonical.netloc):
        return True
    return parts.scheme == canonical.scheme and parts.netloc == request.host


class _SocketResponse(FlaskResponse):
    """What the view returns once its socket is closed (as flask-sock does).

    A Flask response class: Flask turns any other response into one by changing its
    class (``Response.force_type``), which dropped this ``__call__``, so Werkzeug wrote an
    HTTP answer after the socket's close frame and browsers reported 1006 instead of the
    server's close code (and "Invalid frame header")."""

    mode = "unknown"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.mode == "gunicorn":
            raise StopIteration()  # gunicorn: the connection was handed over, write nothing
        if self.mode == "werkzeug":
            # Werkzeug would write an HTTP answer on the connection after the socket's close
            # frame: the browser reads it as a bad frame and reports 1006 instead of the
            # server's code. A ConnectionError makes Werkzeug write nothing (flask-sock too).
            raise ConnectionError()
        return []


def _send_at_once(socket: Server) -> None:
    """Send each small frame at once (TCP_NODELAY). Otherwise Nagle's algorithm holds a
    frame until the previous one is acknowledged, and the browser's delayed ACK adds about
    30 ms to every keystroke another editor sees (benchmarks/README.md, "Live editing in the
    browser": p50 33.5 ms without, 11.3 ms with)."""
    with contextlib.suppress(OSError, AttributeError):  # not TCP: a Unix socket behind a proxy
        socket.sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1)


def _end_behind_werkzeug(socket: Server) -> None:
    """Behind Werkzeug's server, end the connection before the view returns it to Werkzeug.

    Werkzeug reads the connection again for a next HTTP request. simple-websocket's reader
    stops as soon as the server has sent its close frame, so the browser's answering close
    frame was sometimes still unread: Werkzeug took it for a bad request line and wrote a
    400 page onto the socket after the close frame, where the browser expects nothing (the
    forged-message journey failed 1 run in 18 under load, Werkzeug logging "Bad request
    syntax ('\\x88...')"; a request sent after the close was even answered). So the
    server closes its side first (RFC 6455 7.1.1) and reads until the browser closes: then
    Werkzeug reads the end of the connection and writes nothing.
    """
    sock = socket.sock
    with contextlib.suppress(OSError):  # already gone, or the browser never answered
        sock.shutdown(SHUT_WR)
        sock.settimeout(CLOSING_SECONDS)
        while sock.recv(4096):
            pass


@bp.app_template_global()
def live_socket_url(slug: str) -> str:
    """The absolute ``ws(s)://`` address of a letter's live socket, for the page's script.

    The site itself, unless ``SIGNON_LIVE_URL`` names a separate live server.
    """
    # A WebSocket rule is always built absolute (ws://<this host>/...): keep its path only.
    path = urlsplit(url_for("drafting.live_socket", slug=slug)).path
    base: str = current_app.config["SIGNON"].live_url
    if not base:
        base = request.host_url.rstrip("/")
    return base.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + path


@bp.route("/letters/<slug>/live", websocket=True)
@letter_route(Action.LETTER_VIEW)
def live_socket(letter: Letter) -> Response:
    if not same_origin():
        abort(403)
    if letter.status != LetterStatus.DRAFTING:
        abort(409)
    access = queries.access_of(letter.id, current_user.id)
    if access == Access.NONE:
        abort(403)
    connection_of = (
        letter.id,
        current_user.id,
        current_user.display_name,
        access,
        current_user.session_token,
    )
    transaction.rollback()  # hold no transaction while the socket lives
    socket = Server(request.environ, max_message_size=MAX_MESSAGE_BYTES, ping_interval=PING_SECONDS)
    _send_at_once(socket)
    letter_id, user_id, name, access, session_token = connection_of
    connection = Connection(socket, letter_id, user_id, name, access, session_token)
    try:
        serve(hub(), socket, connection)
    except ConnectionClosed:
        pass
    finally:
        with connection.send_lock, contextlib.suppress(Exception):  # already closed
            connection.closed = True
            socket.close()
    if socket.mode == "werkzeug":
        _end_behind_werkzeug(socket)
    response = _SocketResponse()
    response.mode = socket.mode
    return response


@bp.get("/letters/<slug>/live/follow")
@letter_route(Action.LETTER_VIEW)
def live_follow(letter: Letter) -> Response | str:
    """The live text, read only, for those who may read the letter but not edit it.

    Viewers cannot open the editor; this page follows the shared document over a
    read-only socket (static/js/live.js) and shows who is in the text. It starts from
    the text the database holds now, so that it says the same without JavaScript.
    Whoever may edit follows the live text in the editor (the letter navigation offers
    this page in the editor's place); a frozen letter's text is its last revision.
    """
    if letter.status != LetterStatus.DRAFTING:
        return redirect(url_for("letters.show", slug=letter.slug))
    if letter.can(current_user, Action.LETTER_EDIT):
        return redirect(url_for("letters.edit", slug=letter.slug))
    head = letter.head()
    assert head is not None, "every letter has a first revision"
    live = queries.live_text(letter.id, head)
    return render_template(
        "drafting/live/follow.html",
        letter=letter,
        head=head,
        live_text=live,
        form=LiveTextForm(body=live.text),
    )


@bp.post("/letters/<slug>/live/save")
@letter_route(Action.LETTER_LIVE_EDIT)
def live_save(letter: Letter) -> Response:
    """ "Save version": the live document becomes a revision now."""
    if not ActionForm().validate_on_submit():
        abort(400)
    result = operations.save_live_version(letter, current_user)
    letter_id, update = letter.id, result.update
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    transaction.after_commit(lambda: hub(app).after_save(letter_id, update))
    if result.status is None:
        message, category = "The text is frozen: it can no longer be edited.", "error"
    elif result.status == SaveStatus.CONFLICT:
        message = "Someone changed the same words meanwhile: your text is kept as a draft."
        category = "error"
    elif result.status == SaveStatus.UNCHANGED:
        message, category = "Nothing changed since the last version.", "info"
    else:
        message, category = _saved_message(result), "success"
    if request.accept_mimetypes.best == "application/json":
        return jsonify(
            status=result.status.value if result.status else "frozen",
            revision=result.revision.number if result.revision else None,
            draft_url=url_for("letters.draft", slug=letter.slug, draft_id=result.draft.id)
            if result.draft
            else None,
            message=message,
        )
    flash(message, category)
    if result.draft is not None:
        return redirect(url_for("letters.draft", slug=letter.slug, draft_id=result.draft.id))
    return redirect(url_for("letters.show", slug=letter.slug))


def _saved_message(result: operations.LiveSave) -> str:
    """What the saver reads: the revision, or the revisions made one per person."""
    assert result.revision is not None
    numbers = [revision.number for revision in result.revisions] or [result.revision.number]
    if len(numbers) == 1:
        return f"Saved as revision {numbers[0]}."
    return f"Saved as revisions {numbers[0]}–{numbers[-1]}, one for each person's changes."
