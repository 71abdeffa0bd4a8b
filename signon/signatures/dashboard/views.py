"""The coordinators' dashboard: where every organisation stands, with a chart and a CSV export.

Coordinators only (``Action.INVITATION_SEND``): the table shows representatives'
e-mail addresses. The page lists withdrawals that came after the list was final
(:mod:`signon.signatures.approvals.late_withdrawals`) with a POST to acknowledge each; the page
and the CSV read, never write; they cost a fixed number of
queries whatever the number of organisations (see ``signon.signatures.dashboard.queries``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import tzinfo

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from signon.core.forms import ActionForm
from signon.core.permissions import Action
from signon.core.spreadsheet import neutralise_cell
from signon.core.timefmt import local, reader_zone
from signon.db import utcnow
from signon.extensions import db
from signon.letters.guard import letter_route
from signon.letters.models import Letter
from signon.signatures import counts
from signon.signatures.approvals import late_withdrawals
from signon.signatures.blueprint import bp
from signon.signatures.dashboard import chart, queries
from signon.signatures.dashboard.forms import DashboardFilterForm
from signon.signatures.dashboard.queries import (
    STATE_BADGES,
    STATE_ORDER,
    SignatoryRow,
    SortOrder,
    Verification,
)
from signon.signatures.models import SignatoryKind, Signature
from signon.signatures.state import SignatoryState

CSV_HEADER = (
    "Organisation",
    "Sort name",
    "State",
    "Note",
    "Revision approved",
    "Approved SHA-256",
    "Hash check",
    "Verification",
    "Country",
    "Type",
    "E-mail",
    "Last activity",
)

#: Rows read per query while the CSV streams.
CSV_BATCH = 1000

#: Labels looked up once (an enum's ``label`` builds its table at every call).
_STATE_LABELS = {state: state.label for state in SignatoryState}
_KIND_LABELS = {kind: kind.label for kind in SignatoryKind}
_VERIFICATION_LABELS = {v: v.label for v in Verification} | {Verification.NONE: ""}


@bp.get("/letters/<slug>/signatories")
@letter_route(Action.INVITATION_SEND)
def dashboard(letter: Letter) -> str:
    form = DashboardFilterForm(request.args)
    filters = form.filters()
    data = queries.overview(letter, listed_count=lambda listing: counts.shown(listing).listed)
    page = queries.page_of_rows(data, filters)
    changes = queries.approval_changes(letter, kept_since=counts.fresh_since())
    days = chart.daily_totals(changes, reader_zone())
    today = local(utcnow())
    assert today is not None
    return render_template(
        "signatures/dashboard.html",
        letter=letter,
        form=form,
        filters=filters,
        args=form.query_args(filters),
        data=data,
        counts=data.counts,
        listed=data.listed,
        total=data.total,
        states=STATE_ORDER,
        badges=STATE_BADGES,
        sorts=list(SortOrder),
        page=page,
        days=days,
        chart_svg=chart.render_chart(days, today=today.date()),
        late_withdrawals=late_withdrawals.needing_action(letter),
        action_form=ActionForm(formdata=None),
    )


@bp.post("/letters/<slug>/signatories/<int:signature_id>/acknowledge-withdrawal")
@letter_route(Action.INVITATION_SEND)
def acknowledge_withdrawal(letter: Letter, signature_id: int) -> BaseResponse:
    """A coordinator has dealt with a withdrawal that came after the list was final."""
    signature = db.session.get(Signature, signature_id)
    if signature is None or signature.letter_id != letter.id:
        abort(404)
    if ActionForm().validate_on_submit():
        if late_withdrawals.acknowledge(signature, current_user):
            flash(f"Noted: the withdrawal of {signature.name} is dealt with.", "success")
        else:
            flash(f"The withdrawal of {signature.name} needs no action.", "info")
    return redirect(url_for("signatures.dashboard", slug=letter.slug))


@bp.get("/letters/<slug>/signatories.csv")
@letter_route(Action.INVITATION_SEND)
def dashboard_csv(letter: Letter) -> Response:
    form = DashboardFilterForm(request.args)
    filters = form.filters()
    batches = queries.row_batches(queries.overview(letter), filters, CSV_BATCH)
    body = csv_chunks(batches, reader_zone(), bom=bool(form.bom.data))
    response = Response(stream_with_context(body), content_type="text/csv; charset=utf-8")
    response.headers.set("Content-Disposition", "attachment", filename=csv_filename(letter))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def csv_filename(letter: Letter) -> str:
    """``signatories-<slug>-<date>.csv``, with nothing but ASCII letters, digits and dashes."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", letter.slug).strip("-")[:80] or "letter"
    today = local(utcnow())
    assert today is not None
    return f"signatories-{slug}-{today:%Y-%m-%d}.csv"


def csv_cells(row: SignatoryRow, zone: tzinfo) -> Sequence[object]:
    """The dashboard's columns for one row, as the CSV writes them (before neutralising)."""
    return (
        row.name,
        row.sort_name,
        _STATE_LABELS[row.state],
        row.note,
        row.approved_number,
        row.approved_sha256,
        "hash mismatch" if row.hash_mismatch else ("ok" if row.approved_sha256 else ""),
        _VERIFICATION_LABELS[row.verification],
        row.country,
        _KIND_LABELS[row.kind] if row.kind is not None else "",
        row.email,
        row.last_activity_at.astimezone(zone).isoformat(timespec="seconds"),
    )


def csv_chunks(
    batches: Iterable[Sequence[SignatoryRow]], zone: tzinfo, *, bom: bool = False
) -> Iterator[bytes]:
    """The CSV a batch of rows at a time (the download streams it: constant memory)."""
    yield (("\ufeff" if bom else "") + signatories_csv((), zone)).encode("utf-8")
    for batch in batches:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerows([neutralise_cell(cell) for cell in csv_cells(row, zone)] for row in batch)
        yield out.getvalue().encode("utf-8")


def signatories_csv(rows: Iterable[SignatoryRow], zone: tzinfo) -> str:
    """The rows as CSV text (CRLF line ends, every cell neutralised), times in ``zone``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    writer.writerows([neutralise_cell(cell) for cell in csv_cells(row, zone)] for row in rows)
    return out.getvalue()
