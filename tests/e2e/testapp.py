"""Test-only pages, registered on the live server's app and nowhere else.

They let the browser tests exercise shared front-end pieces (the Markdown editor, the
CSP checks of the fixtures) independently of the feature pages, and log a user in
without going through the login form, or age its session.
"""

from __future__ import annotations

import time

from flask import Blueprint, abort, redirect, render_template_string, request, session
from flask_login import login_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import TextAreaField
from wtforms.validators import DataRequired

from signon.accounts.models import User
from signon.core import sessions
from signon.core.access import public
from signon.core.forms import body_length_check
from signon.extensions import db

bp = Blueprint("e2e", __name__, url_prefix="/__test__")

EDITOR_URL = "/__test__/editor"
CSP_VIOLATION_URL = "/__test__/csp-violation"
AXE_VIOLATION_URL = "/__test__/axe-violation"


def login_url(user_id: int, next_url: str = "/") -> str:
    return f"/__test__/login/{user_id}?next={next_url}"


class EditorForm(FlaskForm):
    body = TextAreaField(
        "Text of the letter",
        validators=[DataRequired(message="Write something first."), body_length_check],
    )


EDITOR_PAGE = """
{% extends "base.html" %}
{% from "_macros/forms.html" import form_errors %}
{% from "_macros/editor.html" import markdown_editor %}
{% block title %}Editor test{% endblock %}
{% block content %}
<h1>Editor test</h1>
{% if saved is not none %}
<section class="card" aria-labelledby="saved-title">
  <h2 id="saved-title">Saved</h2>
  <pre id="saved-text">{{ saved }}</pre>
</section>
{% endif %}
<form method="post" action="{{ url_for('e2e.editor') }}" novalidate>
  {{ form.hidden_tag() }}
  {{ form_errors(form) }}
  {{ markdown_editor(form.body, hint="Paste from Word or Google Docs; formatting is kept.") }}
  <div class="actions"><button type="submit">Save</button></div>
</form>
{% endblock %}
"""

LIVE_BINDING_URL = "/__test__/live-binding"

#: Two Markdown editors and the live-editing scripts, without a socket: the tests bind
#: each textarea to its own Y.Doc (window.SignonLive.bind) and pass the updates between
#: the two documents themselves, as a server would (static/js/live.js).
LIVE_BINDING_PAGE = """
{% extends "base.html" %}
{% from "_macros/editor.html" import markdown_editor %}
{% block title %}Live binding test{% endblock %}
{% block content %}
<h1>Live binding test</h1>
<form method="post" novalidate>
  {{ first.hidden_tag() }}
  {{ markdown_editor(first.body, label="First person", preview=False) }}
  {{ markdown_editor(second.body, label="Second person", preview=False) }}
</form>
<script src="{{ url_for('static', filename='vendor/yjs/yjs-bundle.js') }}" defer></script>
<script src="{{ url_for('static', filename='js/live.js') }}" defer></script>
{% endblock %}
"""

CSP_VIOLATION_PAGE = """
{% extends "base.html" %}
{% block content %}
<h1>An inline script the Content-Security-Policy must refuse</h1>
<script>document.title = "inline script ran";</script>
{% endblock %}
"""


@bp.route("/editor", methods=["GET", "POST"])
@public
def editor() -> str:
    """The Markdown editor in an ordinary POST form; a valid POST shows what was received."""
    form = EditorForm()
    saved = None
    if form.validate_on_submit():
        saved = form.body.data
        form = EditorForm(formdata=None, body=saved)
    return render_template_string(EDITOR_PAGE, form=form, saved=saved)


@bp.get("/live-binding")
@public
def live_binding() -> str:
    first = EditorForm(prefix="first")
    second = EditorForm(prefix="second")
    return render_template_string(LIVE_BINDING_PAGE, first=first, second=second)


@bp.get("/csp-violation")
@public
def csp_violation() -> str:
    return render_template_string(CSP_VIOLATION_PAGE)


AXE_VIOLATION_PAGE = """
{% extends "base.html" %}
{% block content %}
<h1>A form field without a label, which axe-core must report</h1>
<input type="text" name="nameless">
{% endblock %}
"""


@bp.get("/axe-violation")
@public
def axe_violation() -> str:
    return render_template_string(AXE_VIOLATION_PAGE)


AXE_ROUTES_URL = "/__test__/axe-routes"
SLOW_AXE_VIOLATION_URL = "/__test__/slow-axe-violation"

#: The ways a journey reaches a page: a redirect, a form post answered by a redirect, a
#: link opening a new tab. Each leads to the page with a violation.
AXE_ROUTES_PAGE = """
{% extends "base.html" %}
{% block title %}Ways to reach a page{% endblock %}
{% block content %}
<h1>Ways to reach a page</h1>
<form method="post" action="{{ url_for('e2e.axe_routes') }}">
  {{ form.hidden_tag() }}
  <button type="submit">Post and be redirected</button>
</form>
<p><a href="{{ url_for('e2e.axe_redirect') }}">Follow a redirect</a></p>
<p><a href="{{ url_for('e2e.axe_violation') }}" target="_blank">Open in a new tab</a></p>
{% endblock %}
"""

#: The page with a violation, whose load event waits for an image that takes a while:
#: a test can act on it (and leave it) long before it has loaded.
SLOW_AXE_VIOLATION_PAGE = """
{% extends "base.html" %}
{% block content %}
<h1>A slow page with a form field without a label</h1>
<input type="text" name="nameless">
<img src="{{ url_for('e2e.slow_image') }}" alt="" width="1" height="1">
<p><a href="{{ url_for('e2e.axe_routes') }}">Leave at once</a></p>
{% endblock %}
"""


@bp.route("/axe-routes", methods=["GET", "POST"])
@public
def axe_routes() -> str | Response:
    form = FlaskForm()
    if form.validate_on_submit():
        return redirect(AXE_VIOLATION_URL, code=303)
    return render_template_string(AXE_ROUTES_PAGE, form=form)


@bp.get("/axe-redirect")
@public
def axe_redirect() -> Response:
    return redirect(AXE_VIOLATION_URL)


@bp.get("/slow-axe-violation")
@public
def slow_axe_violation() -> str:
    return render_template_string(SLOW_AXE_VIOLATION_PAGE)


#: A 1x1 transparent GIF.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


@bp.get("/slow-image.gif")
@public
def slow_image() -> Response:
    """An image that arrives after 3 seconds (the page's load event waits for it)."""
    time.sleep(3)
    return Response(PIXEL, mimetype="image/gif")


@bp.get("/login/<int:user_id>")
@public
def login(user_id: int) -> Response:
    """Log a user in without the login form (quick set-up for tests about other things)."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    login_user(user)
    next_url = request.args.get("next", "/")
    safe = next_url.startswith("/") and not next_url.startswith("//")
    return redirect(next_url if safe else "/")


@bp.get("/age-session")
@public
def age_session() -> Response:
    """Move this browser's login and last-seen times back by ``hours``: as if the person
    had been away that long (the next request then finds the session expired)."""
    hours = request.args.get("hours", default=0.0, type=float)
    for key in (sessions.LOGGED_IN_AT, sessions.SEEN_AT):
        if isinstance(session.get(key), int):
            session[key] -= int(hours * 3600)
    return Response("aged", mimetype="text/plain")
