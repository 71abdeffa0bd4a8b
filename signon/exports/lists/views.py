"""The exports blueprint: the signatory list (page, CSV, JSON). The PDF routes live in
:mod:`signon.exports.pdf.views`.

Every view: load the letter, check ``LETTER_EXPORT`` (404 for people who cannot see
the letter, 403 for team members without the right), read the query parameters
through a form, read the list (:func:`signon.signatures.listing.listed`): the page
shows one page of it, the downloads stream it in batches (constant memory).
Nothing here changes state.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, abort, render_template, request, stream_with_context
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
from signon.signatures.listing import Listed, listed
from signon.signatures.models import OrderMode

bp = Blueprint("exports", __name__)

#: Rows of the signatory list page per page (the downloads have them all).
LIST_PAGE_SIZE = 100
#: Approvals left out shown on the page (the first, by name; with the count of all).
LEFT_OUT_SHOWN = 50
#: The list "as printed in a statement" is shown up to this many names (else: download).
JOINED_MAX = 1000
#: Rows read at a time by the downloads.
DOWNLOAD_BATCH = 1000


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


def _list_for_download(letter: Letter) -> tuple[Listed, Revision, ListQueryForm]:
    form = ListQueryForm(request.args)
    if not form.validate():
        abort(400)
    revision = _revision(letter, form.revision.data)
    return listed(letter, revision, mode=form.mode), revision, form


def _download(body: Iterator[bytes], mimetype: str, filename: str) -> Response:
    response = Response(stream_with_context(body), mimetype=mimetype)  # text/csv: charset
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _page_number() -> int:
    number = request.args.get("page", default=1, type=int) or 1
    return max(1, min(number, 10**6))


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
    signatories = listed(letter, revision, mode=form.mode if valid else None)
    params = {
        key: value
        for key, value in (
            ("order", form.order.data if valid else None),
            ("revision", revision.number if number is not None else None),
        )
        if value
    }
    page_number = _page_number()
    count, left_out_count = signatories.count_with_left_out()
    first = (page_number - 1) * LIST_PAGE_SIZE
    joined = None
    if count <= JOINED_MAX:  # the page is part of the whole list: one query for both
        everyone = signatories.entries(0, JOINED_MAX)
        joined = join_names([e.name for e in everyone], letter.language)
        page = everyone[first : first + LIST_PAGE_SIZE]
    else:
        page = signatories.entries(first, LIST_PAGE_SIZE)
    rows = lists.list_rows(page)
    return render_template(
        "exports/lists.html",
        letter=letter,
        form=form,
        revisions=list(reversed(revisions)),
        revision=revision,
        is_head=revision.id == revisions[-1].id,
        mode=signatories.arrangement.mode,
        count=count,
        page_number=page_number,
        has_more=(page_number - 1) * LIST_PAGE_SIZE + len(page) < count,
        rows=rows,
        entries=list(zip(rows, [e.signature for e in page], strict=True)),
        joined=joined,
        left_out=signatories.left_out(0, LEFT_OUT_SHOWN),
        left_out_count=left_out_count,
        params=params,
    )


@bp.get("/letters/<slug>/export/signatories.csv")
@letter_route(Action.LETTER_EXPORT)
def signatories_csv(letter: Letter) -> Response:
    signatories, revision, form = _list_for_download(letter)
    body = lists.csv_chunks(signatories.batches(DOWNLOAD_BATCH), bom=bool(form.bom.data))
    return _download(body, "text/csv", lists.download_name(letter.slug, "csv", revision.number))


@bp.get("/letters/<slug>/export/signatories.json")
@letter_route(Action.LETTER_EXPORT)
def signatories_json(letter: Letter) -> Response:
    signatories, revision, _form = _list_for_download(letter)
    mode = signatories.arrangement.mode
    count = signatories.count()
    body = lists.json_chunks(letter, revision, mode, count, signatories.batches(DOWNLOAD_BATCH))
    name = lists.download_name(letter.slug, "json", revision.number)
    return _download(body, "application/json", name)
