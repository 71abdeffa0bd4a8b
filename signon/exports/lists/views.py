"""The exports blueprint: the signatory list (page, CSV, JSON). The PDF routes live in
:mod:`signon.exports.pdf.views`.

Every view: load the letter, check ``LETTER_EXPORT`` (404 for people who cannot see
the letter, 403 for team members without the right), read the query parameters
through a form, build the list (:func:`signon.signatures.listing.signatory_list`).
Nothing here changes state.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from werkzeug.wrappers import Response
from wtforms import BooleanField, Form, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional

from signon.core.forms import IdField
from signon.core.permissions import Action
from signon.exports.lists import formats as lists
from signon.letters import queries
from signon.letters.guard import letter_route
from signon.letters.models import Letter, Revision
from signon.signatures.collation import join_names
from signon.signatures.listing import SignatoryList, signatory_list
from signon.signatures.models import OrderMode

bp = Blueprint("exports", __name__)


class ListQueryForm(Form):
    """The list's query parameters: ``order``, ``revision`` (number), ``bom``. No CSRF: GET."""

    order = SelectField(
        "Order",
        choices=[SelectChoice("", "As chosen for the list")]
        + [SelectChoice(mode.value, mode.label) for mode in OrderMode],
        default="",
    )
    revision = IdField(
        "Revision", validators=[Optional(), NumberRange(min=1, message="Choose a revision.")]
    )
    bom = BooleanField("Byte order mark (for Excel)", false_values=("false", "", "0", "off", "no"))

    @property
    def mode(self) -> OrderMode | None:
        return OrderMode(self.order.data) if self.order.data else None


def _revision(letter: Letter, number: int | None) -> Revision:
    if number is None:
        head = letter.head()
        if head is None:  # pragma: no cover - every letter has a first revision
            abort(404)
        return head
    return queries.revision_by_number(letter, number)


def _list_for_download(letter: Letter) -> tuple[SignatoryList, ListQueryForm]:
    form = ListQueryForm(request.args)
    if not form.validate():
        abort(400)
    signatories = signatory_list(letter, _revision(letter, form.revision.data), mode=form.mode)
    return signatories, form


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)  # text/csv gets "; charset=utf-8"
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/letters/<slug>/export/signatories")
@letter_route(Action.LETTER_EXPORT)
def signatory_list_page(letter: Letter) -> str:
    form = ListQueryForm(request.args)
    valid = form.validate()
    revisions = queries.revisions_of(letter)
    number = form.revision.data if valid else None
    by_number = {r.number: r for r in revisions}
    if number is not None and number not in by_number:
        form.revision.errors = [f"There is no revision {number}; showing the current text."]
        number = None
    revision = by_number[number] if number is not None else revisions[-1]
    signatories = signatory_list(letter, revision, mode=form.mode if valid else None)
    params = {
        key: value
        for key, value in (
            ("order", form.order.data if valid else None),
            ("revision", revision.number if number is not None else None),
        )
        if value
    }
    rows = lists.list_rows(signatories)
    return render_template(
        "exports/lists.html",
        letter=letter,
        form=form,
        revisions=list(reversed(revisions)),
        revision=revision,
        is_head=revision.id == revisions[-1].id,
        signatories=signatories,
        rows=rows,
        entries=list(zip(rows, signatories.signatures, strict=True)),
        joined=join_names(signatories.names, letter.language),
        params=params,
    )


@bp.get("/letters/<slug>/export/signatories.csv")
@letter_route(Action.LETTER_EXPORT)
def signatories_csv(letter: Letter) -> Response:
    signatories, form = _list_for_download(letter)
    body = lists.rows_csv(lists.list_rows(signatories), bom=bool(form.bom.data))
    name = lists.download_name(letter.slug, "csv", signatories.revision.number)
    return _download(body, "text/csv", name)


@bp.get("/letters/<slug>/export/signatories.json")
@letter_route(Action.LETTER_EXPORT)
def signatories_json(letter: Letter) -> Response:
    signatories, _form = _list_for_download(letter)
    body = lists.rows_json(letter, signatories, lists.list_rows(signatories))
    name = lists.download_name(letter.slug, "json", signatories.revision.number)
    return _download(body, "application/json", name)
