"""PDF export pages, on the exports blueprint: settings with a live preview, who is left
out, the export button, the list of exports, and downloads of the stored files.

Every route needs ``LETTER_EXPORT`` (coordinators): 404 for people who cannot see the
letter, 403 for team members without the right. Records are looked up within their
letter. GET changes nothing (the preview images are cached files, not state).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from signon.core import jobs
from signon.core.permissions import Action
from signon.exports.lists.views import bp
from signon.exports.models import ExportRecord, ExportStatus, Layout, PageSize
from signon.exports.pdf import operations as pdf_operations
from signon.exports.pdf import word
from signon.exports.pdf.forms import ExportForm, ExportSettingsForm
from signon.exports.pdf.operations import ExportError
from signon.exports.pdf.render import RenderError
from signon.letters.guard import letter_route
from signon.letters.models import Letter
from signon.signatures.listing import set_list_arrangement


def _record(letter: Letter, record_id: int) -> ExportRecord:
    record = pdf_operations.record_of(letter, record_id)
    if record is None:
        abort(404)
    return record


def _pdf_response(
    data: bytes | Iterable[bytes],
    filename: str,
    *,
    attachment: bool,
    mimetype: str = "application/pdf",
) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers.set(
        "Content-Disposition", "attachment" if attachment else "inline", filename=filename
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/letters/<slug>/export", methods=["GET", "POST"])
@letter_route(Action.LETTER_EXPORT)
def pdf_settings(letter: Letter) -> Response | str:
    settings = pdf_operations.settings_for(letter)
    summary = None
    if request.method == "POST":
        # Names typed in the form are matched against every listed signature.
        prepared = pdf_operations.prepare(letter, settings=settings)
        signatures, arrangement = prepared.printed, prepared.signatories.arrangement
    else:
        # A view reads pages of the list, never all of it (the form names only a few).
        summary = pdf_operations.settings_summary(letter, settings)
        signatures, arrangement = summary.named, summary.arrangement
    form = ExportSettingsForm(
        signatures=signatures,
        data=ExportSettingsForm.initial(settings, arrangement, {s.id: s for s in signatures}),
    )
    if form.validate_on_submit():
        set_list_arrangement(letter, current_user, form.arrangement())
        pdf_operations.save_export_settings(
            letter,
            current_user,
            layout=Layout(form.layout.data),
            page_size=PageSize(form.page_size.data),
            audit_page=bool(form.audit_page.data),
            options=form.options(),
            letterhead_logo=form.processed_logo,
            remove_letterhead_logo=bool(form.remove_letterhead_logo.data),
        )
        if request.headers.get("X-Signon-Preview") == "1":
            return Response(status=204)  # saved by the page's script, which reloads the preview
        if form.export_now.data:
            # the export route makes it once the settings are committed: a 307 repeats the
            # POST (with its CSRF token) there
            return redirect(url_for("exports.pdf_export", slug=letter.slug), code=307)
        flash("The export settings are saved; the preview shows them.", "success")
        return redirect(url_for("exports.pdf_settings", slug=letter.slug) + "#preview")
    if summary is None:
        summary = pdf_operations.settings_summary(letter, settings)
    return render_template(
        "exports/pdf_settings.html",
        letter=letter,
        form=form,
        prepared=summary,
        records=pdf_operations.records_of(letter),
        background=jobs.jobs_of(letter.id, limit=10),
        preview_ready=_preview_ready(letter),
        export_form=ExportForm(formdata=None),
        images=shutil.which("pdftoppm") is not None,
        export_state=pdf_operations.export_state,
        letterhead_logo=bool(pdf_operations.options_of(settings).get("letterhead_logo")),
        tagged=summary.count <= pdf_operations.INLINE_MAX
        or bool(pdf_operations.options_of(settings)["tag_long_lists"]),
    )


def _preview_ready(letter: Letter) -> bool:
    """With a job queue, whether the worker has made the preview of the letter as it is
    (if not, a preview job is queued). Without one the preview is made on request."""
    if not jobs.uses_worker():
        return True
    try:
        return pdf_operations.worker_preview(letter, "pdf") is not None
    except ExportError:
        return False


@bp.get("/letters/<slug>/export/preview.png")
@letter_route(Action.LETTER_EXPORT)
def pdf_preview_image(letter: Letter) -> Response:
    try:
        if jobs.uses_worker():  # made by the worker: never render in a web process
            png = pdf_operations.worker_preview(letter, "png")
            if png is None:
                abort(503, description="The preview is being made; try again in a moment.")
        else:
            png = pdf_operations.preview_png(letter)
    except (RenderError, ExportError):
        abort(503)
    if png is None:
        abort(404)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/letters/<slug>/export.docx")
@letter_route(Action.LETTER_EXPORT)
def word_download(letter: Letter) -> Response:
    """The letter with its signatories as an editable Word file, with the saved settings
    (made on the spot, recorded and kept as an export, like a PDF: hence a POST)."""
    if not ExportForm().validate_on_submit():
        flash("The form expired; please press the button again.", "error")
        return redirect(url_for("exports.pdf_settings", slug=letter.slug))
    try:
        record, data = pdf_operations.export_word(letter, current_user)
    except ExportError as error:
        flash(str(error), "error")
        return redirect(url_for("exports.pdf_settings", slug=letter.slug))
    return _pdf_response(
        data,
        pdf_operations.download_name(record, letter.slug),
        attachment=True,
        mimetype=word.MIMETYPE,
    )


@bp.get("/letters/<slug>/export/preview.pdf")
@letter_route(Action.LETTER_EXPORT)
def pdf_preview(letter: Letter) -> Response:
    try:
        if jobs.uses_worker():  # made by the worker: never render in a web process
            found = pdf_operations.worker_preview(letter, "pdf")
            if found is None:
                flash("The preview is being made; open it again in a moment.", "info")
                return redirect(url_for("exports.pdf_settings", slug=letter.slug) + "#preview")
            data = found
        else:
            data = pdf_operations.preview_pdf(pdf_operations.prepare(letter))
    except (RenderError, ExportError) as error:
        flash(str(error), "error")
        return redirect(url_for("exports.pdf_settings", slug=letter.slug))
    return _pdf_response(data, f"{letter.slug}-preview.pdf", attachment=False)


@bp.post("/letters/<slug>/exports")
@letter_route(Action.LETTER_EXPORT)
def pdf_export(letter: Letter) -> Response:
    if not ExportForm().validate_on_submit():
        flash("The form expired; please press the button again.", "error")
        return redirect(url_for("exports.pdf_settings", slug=letter.slug))
    try:
        result = pdf_operations.export_pdf(letter, current_user)
    except ExportError as error:
        flash(str(error), "error")
        return redirect(url_for("exports.pdf_settings", slug=letter.slug))
    record = result.record
    if result.reused:
        flash(
            f"Nothing has changed since export {record.id}: it is the same PDF, ready again.",
            "info",
        )
    elif record.status == ExportStatus.FAILED:
        flash(record.error or "The PDF could not be made.", "error")
    elif result.background:
        flash("The PDF is being made; this page shows how far it has got.", "info")
    else:
        flash(f"The PDF is ready ({record.page_count} pages).", "success")
    return redirect(url_for("exports.pdf_record", slug=letter.slug, record_id=record.id))


@bp.get("/letters/<slug>/exports/<int:record_id>")
@letter_route(Action.LETTER_EXPORT)
def pdf_record(letter: Letter, record_id: int) -> str:
    record = _record(letter, record_id)
    return render_template(
        "exports/pdf_record.html",
        letter=letter,
        record=record,
        state=pdf_operations.export_state(record),
        export_form=ExportForm(formdata=None),
    )


@bp.get("/letters/<slug>/exports/<int:record_id>.pdf")
@letter_route(Action.LETTER_EXPORT)
def pdf_download(letter: Letter, record_id: int) -> Response:
    record = _record(letter, record_id)
    try:
        stream, size = pdf_operations.open_stored_pdf(record)
    except ExportError as error:
        flash(str(error), "error")
        return redirect(url_for("exports.pdf_record", slug=letter.slug, record_id=record.id))
    response = _pdf_response(
        wrap_file(request.environ, stream),
        pdf_operations.download_name(record, letter.slug),
        attachment=True,
        mimetype=word.MIMETYPE if record.is_word else "application/pdf",
    )
    response.direct_passthrough = True
    response.content_length = size
    return response
