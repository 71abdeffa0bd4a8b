"""Pages that belong to no feature: the home page, the Markdown preview, health."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from signon.core import metrics as metrics_module
from signon.core.access import public, user_or_address_key
from signon.core.forms import PreviewForm
from signon.core.markdown import render_markdown
from signon.core.readiness import readiness_problems
from signon.extensions import limiter

bp = Blueprint("core", __name__)

#: Each preview renders up to ``max_body_chars`` of Markdown (about 2 s at worst): the
#: editor asks at most every 400 ms while someone types, so a person stays far below this.
PREVIEW_LIMIT = "120 per minute;1200 per hour"


@bp.get("/")
@public
def home() -> BaseResponse | str:
    if current_user.is_authenticated:
        return redirect(url_for("letters.index"))
    return render_template("core/home.html")


#: What a load balancer is told to wait before asking a server that is not ready again.
NOT_READY_RETRY_AFTER_SECONDS = 5


@bp.get("/healthz")
@public
def health() -> Response:
    """Alive: the process answers. Touches nothing else (restart it if this fails)."""
    return _never_cached(jsonify(status="ok"))


@bp.get("/readyz")
@public
def ready() -> tuple[Response, int]:
    """Ready for traffic: database at the migrations' head, every configured Redis reachable.

    503 with the reasons (and ``Retry-After``) otherwise: take it out of the load balancer.
    """
    problems = readiness_problems()
    if problems:
        response = _never_cached(jsonify(status="not ready", problems=problems))
        response.headers["Retry-After"] = str(NOT_READY_RETRY_AFTER_SECONDS)
        return response, 503
    return _never_cached(jsonify(status="ready")), 200


def _never_cached(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
@public
@limiter.exempt
def metrics() -> Response:
    """Prometheus metrics, for the scraper only: anyone else gets the 404 of a missing page."""
    if not metrics_module.allowed(current_app.config["SIGNON"], request):
        abort(404)
    return metrics_module.metrics_response()


@bp.post("/preview")
@limiter.limit(PREVIEW_LIMIT, key_func=user_or_address_key)
def preview() -> Response | tuple[Response, int]:
    """Render Markdown exactly as the letter page will: the editor's live preview."""
    form = PreviewForm()
    if not form.validate_on_submit():
        return jsonify(errors=form.errors), 400
    return jsonify(html=str(render_markdown(form.body.data or "")))
