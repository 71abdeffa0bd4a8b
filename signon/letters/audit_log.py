"""The letter's audit log: every event of its chain, newest first, and whether the chain holds.

The view checks only the entries added since the last check (a checkpoint,
:mod:`signon.audit.checkpoints`); a button checks every entry and record from the start.

Coordinators only (``Action.LETTER_MANAGE``): the log names the e-mail addresses of
invitees and signatories. Others on the team get 403, everyone else 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from signon.audit.checkpoints import check_in_full, check_letter_log
from signon.audit.models import AuditEvent
from signon.audit.sealing import pending_count
from signon.audit.verify import ChainReport, chain_head
from signon.core.forms import ActionForm
from signon.core.input_guard import whole_number
from signon.core.paging import PageOf, page_count
from signon.core.permissions import Action
from signon.core.timefmt import date_text, datetime_text
from signon.extensions import db
from signon.letters.guard import letter_route
from signon.letters.models import Letter

bp = Blueprint("audit", __name__)

PER_PAGE = 50

#: What each action means, in words (unknown actions are shown by their code).
ACTIONS: dict[str, str] = {
    "letter.created": "Created the letter",
    "letter.details_changed": "Changed the letter's details",
    "letter.frozen": "Froze the text for signature",
    "letter.unfrozen": "Unfroze the text",
    "letter.signing_closed": "Closed signing",
    "letter.signing_reopened": "Reopened signing",
    "letter.deadline_extended": "Changed the deadline",
    "letter.revision_classified": "Classified a revision",
    "letter.reconfirmation_requested": "Asked signatories to re-confirm",
    "letter.reminders_sent": "Sent deadline reminders",
    "letter.public_page_enabled": "Switched the public page on",
    "letter.public_page_disabled": "Switched the public page off",
    "letter.imported": "Imported the letter from a bundle",
    "revision.created": "Wrote the first revision",
    "revision.saved": "Saved a revision",
    "revision.imported": "Imported a revision",
    "revision.baseline": "Recorded an earlier revision's hash",
    "signatures.imported": "Imported signatories",
    "signature.baseline": "Recorded an earlier signature",
    "draft.discarded": "Discarded an unsaved draft",
    "comment.added": "Commented on a passage",
    "comment.replied": "Replied to a comment",
    "comment.resolved": "Resolved a comment thread",
    "comment.reopened": "Reopened a comment thread",
    "comments.settings_changed": "Changed the comment settings",
    "team.added": "Added someone to the team",
    "team.role_changed": "Changed a team role",
    "team.removed": "Removed someone from the team",
    "team.invited": "Invited someone to the team by e-mail",
    "team.invitation_revoked": "Revoked an invitation to the team",
    "team.invitation_claimed": "Joined the team by invitation",
    "team.invitation_declined": "Declined an invitation to the team",
    "invitations.created": "Invited organisations",
    "invitation.resent": "Sent an invitation again",
    "invitation.revoked": "Revoked an invitation",
    "invitation.opened": "Opened the invitation",
    "signature.approved": "Approved the letter",
    "signature.declined": "Declined to sign",
    "signature.withdrawn": "Withdrew the approval",
    "signature.moderation_accepted": "Published a public signature",
    "signature.moderation_rejected": "Rejected a public signature",
    "signature.merged": "Merged a duplicate signature",
    "public_signature.requested": "Asked to sign on the public page",
    "signatures.list_order_changed": "Changed the order or groups of the signatory list",
    "export.settings_changed": "Changed the PDF settings",
    "export.started": "Started a PDF export",
    "export.finished": "Finished a PDF export",
    "export.failed": "A PDF export failed",
    "export.word": "Exported an editable Word file",
    "export.list_downloaded": "Downloaded the signatory list",
    "export.bundle_downloaded": "Downloaded the letter bundle",
    "api_token.created": "Created an API token",
    "api_token.revoked": "Revoked an API token",
}

#: Detail keys in words; others are shown with underscores as spaces.
DETAIL_LABELS: dict[str, str] = {
    "sha256": "SHA-256",
    "revision_sha256": "Revision SHA-256",
    "signatures_sha256": "Signature list SHA-256",
    "file_sha256": "File SHA-256",
    "input_sha256": "Input SHA-256",
    "old": "From",
    "new": "To",
    "export": "Export no.",
    "token_id": "Token no.",
    "printed": "Recorded signature",
}


@dataclass(frozen=True)
class LogRow:
    event: AuditEvent
    who: str
    what: str
    details: list[tuple[str, str]]


def describe(action: str) -> str:
    return ACTIONS.get(action, action.replace(".", ": ").replace("_", " ").capitalize())


#: A list detail (an import's recorded signatures) shows this many items, then a count.
SHOWN_ITEMS = 20


#: An instant as the operations record it (``datetime.isoformat()`` of an aware time).
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)")
#: A day (``date.isoformat()``).
_DAY = re.compile(r"\d{4}-\d\d-\d\d")
#: The detail keys that hold times or days (an organisation's new name "2026-01-31" stays).
_TIME_KEYS = frozenset({"deadline", "old", "new", "new_since"})


def _time_value(key: str, value: Any) -> str | None:
    """A recorded time or day in the one format, the instant in the reader's zone."""
    if not isinstance(value, str) or not (key in _TIME_KEYS or key.endswith("_at")):
        return None
    try:
        if _INSTANT.fullmatch(value):
            return datetime_text(datetime.fromisoformat(value.replace("Z", "+00:00")))
        if _DAY.fullmatch(value):
            return date_text(date.fromisoformat(value))
    except ValueError:
        return None
    return None


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        shown = ", ".join(_value(v) for v in value[:SHOWN_ITEMS])
        hidden = len(value) - SHOWN_ITEMS
        return f"{shown}, and {hidden:,} more" if hidden > 0 else shown
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items())
    return str(value)


def detail_pairs(details: dict[str, Any] | None) -> list[tuple[str, str]]:
    pairs = []
    for key, value in sorted((details or {}).items()):
        label = DETAIL_LABELS.get(key, key.replace("_", " ").capitalize())
        pairs.append((label, _time_value(key, value) or _value(value)))
    return pairs


def _who(event: AuditEvent) -> str:
    if event.actor is not None and event.actor.display_name:
        return f"{event.actor.display_name} ({event.actor_label})"
    return event.actor_label


def log_page(letter: Letter, number: int) -> PageOf[LogRow]:
    chain = f"letter:{letter.id}"
    total = (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.chain == chain)
        )
        or 0
    )
    pages = page_count(total, PER_PAGE)
    if number < 1 or number > pages:
        abort(404)
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.chain == chain)
        .order_by(AuditEvent.seq.desc())
        .offset((number - 1) * PER_PAGE)
        .limit(PER_PAGE)
        .options(selectinload(AuditEvent.actor))
    ).all()
    rows = [LogRow(e, _who(e), describe(e.action), detail_pairs(e.details)) for e in events]
    return PageOf(rows, number, pages, total)


@bp.get("/letters/<slug>/audit")
@letter_route(Action.LETTER_MANAGE)
def letter_log(letter: Letter) -> str:
    page = log_page(letter, request.args.get("page", 1, type=whole_number) or 1)
    report: ChainReport = check_letter_log(letter.id)
    return render_template(
        "audit/letter_log.html",
        letter=letter,
        page=page,
        report=report,
        head_hash=chain_head(letter.id),
        pending=pending_count(letter.id),
        check_form=ActionForm(formdata=None),
    )


@bp.post("/letters/<slug>/audit/check")
@letter_route(Action.LETTER_MANAGE)
def check_letter_log_in_full(letter: Letter) -> Response:
    """Verify every entry and every record of the letter from the start, now."""
    if ActionForm().validate_on_submit():
        (report,) = check_in_full(letter.id)
        if report.intact:
            flash(f"Checked all {report.events} entries from the first: intact.", "success")
        else:
            flash("The full check found a problem: it is shown below.", "error")
    return redirect(url_for("audit.letter_log", slug=letter.slug))
