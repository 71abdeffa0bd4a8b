"""Coordinators' pages for a letter's API tokens (outside the /api/v1 prefix).

A coordinator lists the tokens, creates one (its value is shown once, on the page
that answers the creation, and never again) and revokes them.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from signon.api import tokens
from signon.core.forms import ActionForm, BaseForm
from signon.core.permissions import Action
from signon.core.urls import canonical_url
from signon.letters.guard import letter_route
from signon.letters.models import Letter

bp = Blueprint("api_admin", __name__)


class CreateApiTokenForm(BaseForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Give the token a name, e.g. the site or tool that will use it."),
            Length(max=120, message="At most 120 characters."),
        ],
        filters=[lambda value: " ".join(value.split()) if isinstance(value, str) else value],
    )


def _render_list(letter: Letter, form: CreateApiTokenForm) -> str:
    return render_template(
        "api/tokens.html",
        letter=letter,
        tokens=tokens.tokens_of(letter),
        form=form,
        revoke_form=ActionForm(formdata=None),
    )


@bp.get("/letters/<slug>/api-tokens")
@letter_route(Action.LETTER_MANAGE)
def token_list(letter: Letter) -> str:
    return _render_list(letter, CreateApiTokenForm(formdata=None))


@bp.post("/letters/<slug>/api-tokens")
@letter_route(Action.LETTER_MANAGE)
def token_create(letter: Letter) -> Response | str:
    form = CreateApiTokenForm()
    if not form.validate_on_submit():
        return _render_list(letter, form)
    token, raw = tokens.create_api_token(letter, name=form.name.data or "", created_by=current_user)
    response = make_response(
        render_template(
            "api/token_created.html",
            letter=letter,
            token=token,
            raw_token=raw,
            letter_url=canonical_url("api.letter", slug=letter.slug),
            signatories_url=canonical_url("api.signatories", slug=letter.slug),
            openapi_url=canonical_url("api.openapi"),
        )
    )
    # The value is on this page only: keep it out of every cache and of the history.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/letters/<slug>/api-tokens/<int:token_id>/revoke")
@letter_route(Action.LETTER_MANAGE)
def token_revoke(letter: Letter, token_id: int) -> Response:
    token = tokens.token_of(letter, token_id)
    if token is None:
        abort(404)
    if ActionForm().validate_on_submit():
        if tokens.revoke_api_token(token, revoked_by=current_user):
            flash(f"The token “{token.name}” is revoked: it no longer works.", "success")
        else:
            flash(f"The token “{token.name}” was already revoked.", "info")
    return redirect(url_for("api_admin.token_list", slug=letter.slug))
