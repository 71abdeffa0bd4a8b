"""The import page: a new letter from an uploaded bundle, imported by a background job
(``bundle.import``), and the page that shows how that job is doing.

An import is visible only to the account that started it (anyone else gets 404).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from signon.accounts.models import User
from signon.core.input_guard import large_upload
from signon.core.storage import StorageError
from signon.exports.bundles import operations as bundles
from signon.exports.bundles.forms import ImportBundleForm
from signon.exports.lists.views import bp
from signon.extensions import db
from signon.letters.models import Letter


def _user() -> User:
    user: User = current_user._get_current_object()
    return user


@bp.route("/imports/new", methods=["GET", "POST"])
@large_upload
def bundle_import() -> Response | str:
    form = ImportBundleForm()
    if form.validate_on_submit():
        try:
            job = bundles.start_import(form.bundle.data.stream, _user())
        except StorageError:
            flash("The bundle could not be kept for the import. Please try again.", "error")
        else:
            flash("The bundle is being imported; this page shows how far it has got.", "info")
            return redirect(url_for("exports.bundle_import_status", job_id=job.id))
    return render_template("exports/import.html", form=form)


@bp.get("/imports/<int:job_id>")
def bundle_import_status(job_id: int) -> str:
    job = bundles.import_job_of(_user(), job_id)
    if job is None:
        abort(404)
    letter = db.session.get(Letter, job.letter_id) if job.letter_id else None
    return render_template("exports/import_status.html", job=job, letter=letter)
