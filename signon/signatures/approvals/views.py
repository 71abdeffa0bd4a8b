"""The invitation link: an invited organisation reads the letter and answers. No account needed.

The link itself is the proof that they hold the invited address. Routes (all public):

- ``GET  /sign/<token>``: the letter, what changed since they last saw it, their answer so far
  and the forms. It changes nothing (mail scanners fetch links too);
- ``POST /sign/<token>/seen``: sent by static/js/invitee.js once the page is shown in a
  browser: marks the invitation opened and remembers the revision shown;
- ``POST /sign/<token>/approve``, ``/decline``, ``/withdraw``: their answer;
- ``GET  /sign/<token>/withdraw``: the link mails give to withdraw in one click: a
  confirmation page whose form posts to ``/withdraw`` (a GET changes nothing).

An unknown or tampered token gets 404; a revoked or expired invitation a page (410)
that says to ask the coordinators for a new link. Withdrawing is the exception: an
organisation can always take its approval back with its link, after a revocation,
after the deadline or after signing closed.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from signon.core.access import public
from signon.core.http_cache import keep_link_private
from signon.extensions import db
from signon.letters.diff_store import revision_diff
from signon.letters.models import Letter, Revision
from signon.letters.text import word_diff
from signon.signatures.approvals.access import LinkProblem, usable_invitation
from signon.signatures.approvals.operations import SignatureError, StaleRevisionError
from signon.signatures.blueprint import bp
from signon.signatures.invitations import links, notifications
from signon.signatures.invitations import operations as ops
from signon.signatures.invitations.forms import ApproveForm, DeclineForm, SeenForm, WithdrawForm
from signon.signatures.listing import RevisionChain, verdict
from signon.signatures.models import Invitation, InvitationStatus, SignatureStatus
from signon.signatures.public_signon import changes as public_changes
from signon.signatures.uploads import LogoError, process_logo


def _diff(old: Revision, new: Revision) -> dict[str, Any]:
    marked = revision_diff(old, new)
    return {
        "old": old,
        "new": new,
        "marked": marked,
        "title_segments": word_diff(old.title, new.title) if old.title != new.title else None,
        "stats": marked.stats,
    }


def _prefilled_approve_form(invitation: Invitation, head: Revision) -> ApproveForm:
    """The approve form, filled with what they last gave (a held change included)."""
    form = ApproveForm(letter=invitation.letter, formdata=None)
    signature = invitation.signature
    held = public_changes.pending_change(signature)
    if held is not None:
        for field in public_changes.CHANGE_FIELDS:
            getattr(form, field).data = held.proposed.get(field)
    elif signature is not None and signature.status != SignatureStatus.DECLINED:
        form.name.data = signature.name
        form.sort_name.data = signature.sort_name
        form.country.data = signature.country
        form.kind.data = signature.kind.value
        form.representative_name.data = signature.representative_name
        form.representative_title.data = signature.representative_title
        form.website.data = signature.website
        form.affiliation.data = signature.affiliation
    else:
        form.name.data = invitation.organisation_name
    form.set_revision(head)
    return form


def _sign_page(
    invitation: Invitation,
    *,
    approve_form: ApproveForm | None = None,
    decline_form: DeclineForm | None = None,
    stale_from: Revision | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    letter: Letter = invitation.letter
    revisions = list(
        db.session.scalars(
            select(Revision).where(Revision.letter_id == letter.id).order_by(Revision.number)
        )
    )
    head = revisions[-1]
    signature = invitation.signature
    approved = signature is not None and signature.status == SignatureStatus.APPROVED
    approved_revision = signature.revision if approved and signature is not None else None
    # the one rule of who is listed decides whether their approval still holds
    approval_holds = (
        signature is not None
        and approved_revision is not None
        and verdict(
            signature, approved_revision.number, RevisionChain.of(revisions, head.number)
        ).listed
    )
    # Which changes to show: those since the text they tried to approve, else since the
    # text they approved, else since the text they last saw.
    if approve_form is not None and stale_from is None:
        read = approve_form.read_revision
        if read is not None and read.id != head.id:
            stale_from = read  # they filled the form in on an older text: show what changed
    changes: dict[str, Any] | None = None
    reason = None
    seen = invitation.last_seen_revision
    if stale_from is not None and stale_from.id != head.id:
        changes, reason = _diff(stale_from, head), "stale"
    elif approved_revision is not None and approved_revision.id != head.id:
        changes, reason = _diff(approved_revision, head), "approved"
    elif seen is not None and seen.number < head.number:
        changes, reason = _diff(seen, head), "seen"
    held_change = public_changes.pending_change(signature)
    if approve_form is None:
        approve_form = _prefilled_approve_form(invitation, head)
    elif stale_from is not None or approve_form.read_revision is None:
        approve_form.set_revision(head)  # the changes are shown: what they answer now is the head
    seen_form = SeenForm(letter=letter, formdata=None)
    seen_form.set_revision(head)
    page = render_template(
        "signatures/sign.html",
        invitation=invitation,
        token=links.invitation_token(invitation),
        letter=letter,
        head=head,
        signature=signature,
        approved=approved,
        approved_revision=approved_revision,
        approval_holds=approval_holds,
        approved_current=approved_revision is not None and approved_revision.id == head.id,
        held_change=held_change,
        changes_held=public_changes.holds_changes(signature),
        held_diff=(
            public_changes.change_diff(signature, held_change)
            if signature is not None and held_change is not None
            else []
        ),
        changes=changes,
        changes_reason=reason,
        inviter=invitation.created_by,
        drafting=notifications.drafting_organisations(letter),
        approve_form=approve_form,
        decline_form=decline_form or DeclineForm(formdata=None),
        withdraw_form=WithdrawForm(formdata=None),
        seen_form=seen_form,
        error=error,
        can_sign=letter.accepts_signatures,
    )
    return keep_link_private(make_response(page, status))


@bp.get("/sign/<token>")
@public
def sign(token: str) -> Response:
    invitation = usable_invitation(token)
    return _sign_page(invitation)


@bp.post("/sign/<token>/seen")
@public
def sign_seen(token: str) -> Response:
    """Called by the page's script: the invitee's browser has shown them this revision."""
    invitation = usable_invitation(token)
    form = SeenForm(letter=invitation.letter)
    if not form.validate_on_submit() or form.read_revision is None:
        return keep_link_private(make_response("", 400))
    ops.record_seen(invitation, form.read_revision, form.timezone.data)
    return keep_link_private(make_response("", 204))


@bp.post("/sign/<token>/approve")
@public
def sign_approve(token: str) -> Response:
    invitation = usable_invitation(token)
    form = ApproveForm(letter=invitation.letter)
    if not form.validate_on_submit() or form.read_revision is None:
        return _sign_page(invitation, approve_form=form)
    logo = None
    if form.has_logo():
        try:
            logo = process_logo(form.logo.data.stream)
        except LogoError as problem:
            form.logo.errors = [str(problem)]
            return _sign_page(invitation, approve_form=form)
    try:
        approval = ops.approve_invitation(invitation, form.read_revision, form.details(), logo=logo)
    except StaleRevisionError as problem:
        return _sign_page(
            invitation,
            approve_form=form,
            stale_from=form.read_revision,
            error=str(problem),
            status=409,
        )
    except SignatureError as problem:
        return _sign_page(invitation, approve_form=form, error=str(problem), status=409)
    revision = approval.signature.revision
    assert revision is not None
    if approval.held_change is not None:
        flash(
            "Your changes are sent to the coordinators for review. Until they accept them, "
            f"your organisation stays listed as “{approval.signature.name}”.",
            "info",
        )
    if approval.recorded:
        flash(
            f"Thank you: {approval.signature.name} approves revision {revision.number} of the "
            "letter. A receipt is on its way to your e-mail.",
            "success",
        )
    elif approval.held_change is None:
        flash("Your approval of this text was already recorded; nothing changed.", "info")
    return keep_link_private(redirect(url_for("signatures.sign", token=token, _anchor="answer")))


@bp.post("/sign/<token>/decline")
@public
def sign_decline(token: str) -> Response:
    invitation = usable_invitation(token)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _sign_page(invitation, decline_form=form)
    try:
        ops.decline_invitation(invitation, reason=form.reason.data or None)
    except SignatureError as problem:
        return _sign_page(invitation, decline_form=form, error=str(problem), status=409)
    flash(
        "Your answer is recorded: your organisation does not sign this letter. "
        "If you change your mind, you can still approve it here until the deadline.",
        "success",
    )
    return keep_link_private(redirect(url_for("signatures.sign", token=token, _anchor="answer")))


def _invitation_for_withdrawal(token: str) -> Invitation:
    """The invitation this link opens, revoked or expired too: withdrawing is always possible."""
    invitation = links.find_invitation(token)
    if invitation is None:
        page = render_template("signatures/sign_problem.html", problem=LinkProblem.UNKNOWN.value)
        abort(keep_link_private(make_response(page, 404)))
    return invitation


def _link_is_usable(invitation: Invitation) -> bool:
    return (
        invitation.status != InvitationStatus.REVOKED
        and invitation.revoked_at is None
        and not invitation.is_expired
    )


def _withdraw_page(
    invitation: Invitation, *, form: WithdrawForm | None = None, status: int = 200
) -> Response:
    signature = invitation.signature
    page = render_template(
        "signatures/withdraw.html",
        invitation=invitation,
        letter=invitation.letter,
        signature=signature,
        approved=signature is not None and signature.status == SignatureStatus.APPROVED,
        withdrawn=signature is not None and signature.status == SignatureStatus.WITHDRAWN,
        token=links.invitation_token(invitation),
        form=form or WithdrawForm(formdata=None),
        link_usable=_link_is_usable(invitation),
    )
    return keep_link_private(make_response(page, status))


@bp.get("/sign/<token>/withdraw")
@public
def sign_withdraw_confirm(token: str) -> Response:
    """The one-click link from the mails: a confirmation page; withdrawing is its POST form."""
    return _withdraw_page(_invitation_for_withdrawal(token))


@bp.post("/sign/<token>/withdraw")
@public
def sign_withdraw(token: str) -> Response:
    invitation = _invitation_for_withdrawal(token)
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _withdraw_page(invitation, form=form, status=400)
    try:
        withdrawn = ops.withdraw_invitation(invitation, reason=form.reason.data or None)
    except SignatureError as problem:
        flash(str(problem), "error")
        return _withdraw_page(invitation, form=form, status=409)
    if withdrawn:
        flash(
            "Your approval is withdrawn: your organisation will not be listed. "
            "The coordinators are informed through their dashboard.",
            "success",
        )
    else:
        flash("Your approval had already been withdrawn.", "info")
    if _link_is_usable(invitation):
        return keep_link_private(
            redirect(url_for("signatures.sign", token=token, _anchor="answer"))
        )
    return keep_link_private(redirect(url_for("signatures.sign_withdraw_confirm", token=token)))
