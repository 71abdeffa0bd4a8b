"""Coordinators invite organisations to sign a letter, revoke and re-send invitations.

Routes (all within a letter, all for coordinators; outsiders get 404, other team
members 403):

- ``GET  /letters/<slug>/invitations``: the invitations, with the two invite forms;
- ``POST /letters/<slug>/invitations``: invite one organisation;
- ``POST /letters/<slug>/invitations/bulk``: invite many (pasted lines or a CSV file);
- ``POST /letters/<slug>/invitations/<id>/revoke`` and ``/resend``;
- ``GET  /letters/<slug>/signatures/<id>/logo``: a signatory's logo, for coordinators.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from signon.accounts.models import User
from signon.core import jobs
from signon.core.access import user_or_address_key
from signon.core.forms import ActionForm
from signon.core.input_guard import whole_number
from signon.core.permissions import Action
from signon.core.storage import send_stored_or_404
from signon.extensions import limiter
from signon.letters.guard import letter_route
from signon.letters.models import Letter
from signon.signatures.blueprint import bp
from signon.signatures.invitations import allowance, notifications
from signon.signatures.invitations import operations as ops
from signon.signatures.invitations.forms import InviteManyForm, InviteOneForm
from signon.signatures.invitations.operations import (
    BulkPreview,
    BulkReport,
    InvitationError,
    InviteeLine,
)
from signon.signatures.models import Invitation
from signon.signatures.uploads import logo_name

bp.add_app_template_global(notifications.forwarding_note, "forwarding_note")

#: Invitation sends per coordinator (or address): generous for real use, a wall for a script.
INVITE_LIMIT = "30 per minute;300 per hour"


def _invitation_for(letter: Letter, invitation_id: int) -> Invitation:
    invitation = ops.invitation_in(letter, invitation_id)
    if invitation is None:
        abort(404)
    return invitation


def _user() -> User:
    user: User = current_user._get_current_object()
    return user


def _render(
    letter: Letter,
    *,
    one_form: InviteOneForm | None = None,
    many_form: InviteManyForm | None = None,
    report: BulkReport | None = None,
    confirm: BulkPreview | None = None,
) -> str:
    listing = ops.invitations_page(letter, request.args.get("page", 1, type=whole_number))
    return render_template(
        "signatures/invitations.html",
        letter=letter,
        listing=listing,
        one_form=one_form or InviteOneForm(letter=letter, formdata=None),
        many_form=many_form or InviteManyForm(formdata=None),
        report=report,
        confirm=confirm,
        action_form=ActionForm(formdata=None),
        default_expiry=ops.default_expiry(letter),
        display_status=ops.display_status,
        max_lines=ops.MAX_BULK_LINES,
        mail_standing=allowance.standing(_user(), letter),
        background=jobs.jobs_of(letter.id, kinds=[notifications.INVITATION_JOB], limit=5),
    )


@bp.get("/letters/<slug>/invitations")
@letter_route(Action.INVITATION_SEND)
def invitations(letter: Letter) -> str:
    return _render(letter)


@bp.post("/letters/<slug>/invitations")
@limiter.limit(INVITE_LIMIT, key_func=user_or_address_key)
@letter_route(Action.INVITATION_SEND)
def invitation_create(letter: Letter) -> Response | str:
    form = InviteOneForm(letter=letter)
    if not form.validate_on_submit():
        return _render(letter, one_form=form)
    try:
        invitation = ops.invite_organisation(
            letter,
            organisation_name=form.organisation_name.data or "",
            email=form.email.data or "",
            invited_by=_user(),
            expires_at=form.expires_at(),
        )
    except InvitationError as error:
        form.form_errors.append(str(error))
        return _render(letter, one_form=form)
    flash(
        f"{invitation.organisation_name} is invited; the e-mail to {invitation.email} "
        "is on its way.",
        "success",
    )
    return redirect(url_for("signatures.invitations", slug=letter.slug))


def _bulk_lines(form: InviteManyForm, pasted: str) -> tuple[list[InviteeLine], str]:
    """The lines of the list, and the CSV file's text ("" for pasted lines) to keep.

    Raises :class:`InvitationError` for a file or list that cannot be read.
    """
    if form.has_file():
        upload: FileStorage = form.csv_file.data
        data = upload.stream.read(ops.MAX_CSV_BYTES + 1)
        lines = ops.parse_csv(data)
        return lines, data.decode("utf-8-sig")
    if form.kept_csv():
        return ops.parse_csv(form.kept_csv().encode("utf-8")), form.kept_csv()
    return ops.parse_pasted(pasted), ""


def _ask_to_confirm(
    letter: Letter, form: InviteManyForm, preview: BulkPreview, kept_csv: str
) -> str:
    """The same form again, everything typed kept, with the count to confirm."""
    form.confirm_count.data = preview.new
    form.confirm_count.raw_data = [str(preview.new)]
    form.csv_text.data = kept_csv
    form.csv_text.raw_data = [kept_csv]
    return _render(letter, many_form=form, confirm=preview)


def _flash_bulk_outcome(report: BulkReport) -> None:
    created, held = len(report.created), len(report.over_allowance)
    refused = len(report.refused) - held
    if created:
        flash(
            f"{created} {'organisation is' if created == 1 else 'organisations are'} invited; "
            "the e-mails are on their way.",
            "success",
        )
    if held and report.rest_available_at is not None:
        flash(
            f"{held} {'line was' if held == 1 else 'lines were'} not sent: the daily mail "
            f"allowance let {created} go now. They are back in the box, and may go from "
            f"{allowance.describe_when(report.rest_available_at, _user())}.",
            "warning",
        )
    if refused:
        flash(
            f"{refused} {'line was' if refused == 1 else 'lines were'} not used: "
            "see why below. Lines to correct are back in the box.",
            "warning",
        )
    if not created and not refused and not held:
        flash("There was nothing to invite.", "info")


@bp.post("/letters/<slug>/invitations/bulk")
@limiter.limit(INVITE_LIMIT, key_func=user_or_address_key)
@letter_route(Action.INVITATION_SEND)
def invitations_bulk(letter: Letter) -> str:
    """Invite many. A send of more than ``bulk_confirm_threshold`` mails, or one the daily
    allowances would cut short, first shows the count to confirm (the list is kept); a
    confirmed send goes up to the allowance and gives the rest back in the box."""
    form = InviteManyForm()
    if not form.validate_on_submit():
        return _render(letter, many_form=form)
    pasted = (form.lines.data or "").strip()
    if pasted and (form.has_file() or form.kept_csv()):
        form.form_errors.append(
            "Send either the pasted lines or the file, not both at once. Your lines are kept "
            "below; choose the file again afterwards."
        )
        form.csv_text.data = ""
        return _render(letter, many_form=form)
    try:
        lines, kept_csv = _bulk_lines(form, pasted)
        preview = ops.preview_invitations(letter, lines, invited_by=_user())
        if ops.needs_confirmation(preview) and form.confirm_count.data != preview.new:
            return _ask_to_confirm(letter, form, preview, kept_csv)
        report = ops.create_invitations(
            letter, lines, invited_by=_user(), expires_at=form.expires_at(), partial=True
        )
    except InvitationError as error:
        form.form_errors.append(str(error))
        return _render(letter, many_form=form)
    _flash_bulk_outcome(report)
    # Only the lines worth correcting (or not sent yet) go back into the box: nothing
    # typed is lost.
    again = InviteManyForm(formdata=None, lines=report.text_to_fix())
    again.expires_on.data = form.expires_on.data
    return _render(letter, many_form=again, report=report)


@bp.post("/letters/<slug>/invitations/<int:invitation_id>/revoke")
@letter_route(Action.INVITATION_SEND)
def invitation_revoke(letter: Letter, invitation_id: int) -> Response:
    invitation = _invitation_for(letter, invitation_id)
    if ActionForm().validate_on_submit():
        if ops.revoke_invitation(invitation, by=_user()):
            flash(
                f"The invitation of {invitation.organisation_name} is revoked: its link no "
                "longer works. Re-sending it gives them a new link.",
                "success",
            )
        else:
            flash(f"The invitation of {invitation.organisation_name} was already revoked.", "info")
    return redirect(url_for("signatures.invitations", slug=letter.slug))


@bp.post("/letters/<slug>/invitations/<int:invitation_id>/resend")
@limiter.limit(INVITE_LIMIT, key_func=user_or_address_key)
@letter_route(Action.INVITATION_SEND)
def invitation_resend(letter: Letter, invitation_id: int) -> Response:
    invitation = _invitation_for(letter, invitation_id)
    if ActionForm().validate_on_submit():
        try:
            new_link = ops.resend_invitation(invitation, by=_user())
        except InvitationError as error:
            flash(str(error), "error")
        else:
            flash(
                f"The invitation is being sent again to {invitation.email}"
                + (" with a new link; the old one stays dead." if new_link else "."),
                "success",
            )
    return redirect(url_for("signatures.invitations", slug=letter.slug))


@bp.get("/letters/<slug>/signatures/<int:signature_id>/logo")
@letter_route(Action.LETTER_MANAGE)
def signature_logo(letter: Letter, signature_id: int) -> Response:
    """The stored (re-encoded) logo of a signature of this letter, for its coordinators."""
    signature = ops.signature_in(letter, signature_id)
    name = logo_name(signature.logo_filename) if signature is not None else None
    response = send_stored_or_404(name, mimetype="image/png", max_age=0)
    response.headers["Content-Disposition"] = "inline; filename=logo.png"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response
