"""The coordinators' "mail problems" page of a letter (``/letters/<slug>/mail``).

Lists the letter's e-mails that could not be sent yet (recipient, subject, the mail
server's answer, attempts, next automatic attempt) with a "retry now" button each.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from signon.core import mail
from signon.core.forms import ActionForm
from signon.core.outbox import OutboxMessage
from signon.core.permissions import Action
from signon.extensions import db
from signon.letters.guard import letter_route
from signon.letters.models import Letter
from signon.signatures.models import Invitation, InvitationStatus

bp = Blueprint("mail", __name__)


@bp.get("/letters/<slug>/mail")
@letter_route(Action.LETTER_MANAGE)
def problems(letter: Letter) -> str:
    return render_template(
        "core/mail_problems.html",
        letter=letter,
        messages=mail.failed_messages(letter.id),
        max_attempts=mail.MAX_AUTOMATIC_ATTEMPTS,
        failed_invitations=_failed_invitations(letter),
    )


def _failed_invitations(letter: Letter) -> int:
    """Invitation mails keep their own outcome (status "Failed to send") and are re-sent
    from the invitations page, with a fresh link: counted here, listed there."""
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Invitation)
            .where(Invitation.letter_id == letter.id, Invitation.status == InvitationStatus.FAILED)
        )
        or 0
    )


@bp.post("/letters/<slug>/mail/<int:message_id>/retry")
@letter_route(Action.LETTER_MANAGE)
def retry(letter: Letter, message_id: int) -> Response:
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.letter_id != letter.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if message.sent_at is not None:
        flash(f"The e-mail to {message.recipient} was already sent.", "info")
    else:
        mail.retry_message(message)
        flash(
            f"Trying again to send the e-mail to {message.recipient}. If it still fails, "
            "it stays listed here with the mail server's answer.",
            "info",
        )
    return redirect(url_for("mail.problems", slug=letter.slug))
