"""Lifecycle pages: classify revisions (editorial / substantive), status, deadline, log.

- ``/letters/<slug>/changes``: revisions after the first, those awaiting classification
  with their word diff and two buttons; classified ones with who and when.
- ``/letters/<slug>/status``: freeze / unfreeze / close / reopen, extend the deadline,
  and every status change with its reason (from the audit log).

The team may read both pages (LETTER_VIEW); only coordinators (LETTER_MANAGE) act.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from signon.audit.models import AuditEvent
from signon.core.forms import ActionForm
from signon.core.permissions import Action
from signon.core.timefmt import format_datetime, local
from signon.letters import queries
from signon.letters.diff_store import revision_diffs
from signon.letters.guard import letter_route
from signon.letters.models import ChangeKind, Letter, Revision
from signon.letters.rendered_diff import MarkedDiff
from signon.letters.text import DiffSegment, DiffStats, word_diff
from signon.signatures.blueprint import bp
from signon.signatures.invitations.reminders import REMINDERS_SENT
from signon.signatures.lifecycle import operations as ops
from signon.signatures.lifecycle.forms import (
    ClassifyForm,
    CloseSigningForm,
    ExtendDeadlineForm,
    ReopenSigningForm,
    UnfreezeForm,
)
from signon.signatures.lifecycle.operations import LifecycleError, ReasonRequiredError
from signon.signatures.lifecycle.proposal import Proposal, propose
from signon.signatures.state import coverage


@bp.app_template_global("pending_classification")
def pending_classification_global(letter: Letter) -> list[Revision]:
    """For the letter page's banner (templates/letters/show.html)."""
    return ops.pending_classification(letter)


# --- Classification ----------------------------------------------------------------------


@dataclass(frozen=True)
class RevisionChange:
    revision: Revision
    parent: Revision
    marked: MarkedDiff | None
    title: list[DiffSegment] | None
    stats: DiffStats | None
    #: Held approvals of an earlier revision: this classification decides whether they hold.
    affected: int
    #: The proposed classification (with the diff only).
    proposal: Proposal | None = None


def _change(
    revision: Revision, parent: Revision, approvals: list[int], marked: MarkedDiff | None
) -> RevisionChange:
    """The change as readers see it: the rendered text's diff (``marked``, when the page
    shows it), and the proposal."""
    affected = sum(1 for n in approvals if n < revision.number)
    if marked is None:
        return RevisionChange(revision, parent, None, None, None, affected)
    title = word_diff(parent.title, revision.title) if parent.title != revision.title else None
    proposal = propose(parent.title, parent.body_markdown, revision.title, revision.body_markdown)
    return RevisionChange(revision, parent, marked, title, marked.stats, affected, proposal)


#: Unclassified revisions that no approval depends on: how many get their diff inline.
OPTIONAL_DIFFS = 20


@bp.get("/letters/<slug>/changes")
@letter_route(Action.LETTER_VIEW)
def lifecycle_changes(letter: Letter) -> str:
    return _render_changes(letter)


def _render_changes(letter: Letter, failed: tuple[int, ClassifyForm] | None = None) -> str:
    """The changes page; ``failed``: a revision's classify form sent back with its error."""
    revisions = queries.revisions_of(letter)
    by_number = {r.number: r for r in revisions}
    approvals = ops.held_approval_numbers(letter)
    earliest = min(approvals) if approvals else None
    pending: list[Revision] = []
    optional: list[Revision] = []
    classified: list[Revision] = []
    for revision in reversed(revisions[1:]):  # newest first
        if revision.change_kind is not None:
            classified.append(revision)
        elif earliest is not None and revision.number > earliest:
            pending.append(revision)
        else:
            optional.append(revision)
    # The diffs shown: every change awaiting classification, and the latest optional ones
    # (each costs a diff if not stored).
    shown = pending + optional[:OPTIONAL_DIFFS]
    diffs = revision_diffs([(by_number[r.number - 1], r) for r in shown])
    marked = {r.id: diff for r, diff in zip(shown, diffs, strict=True)}

    def changes(section: list[Revision]) -> list[RevisionChange]:
        return [_change(r, by_number[r.number - 1], approvals, marked.get(r.id)) for r in section]

    cover = coverage(revisions)
    return render_template(
        "signatures/lifecycle_changes.html",
        letter=letter,
        head=revisions[-1],
        pending=changes(pending)[::-1],  # oldest first: classify them in order
        optional=changes(optional),
        classified=changes(classified),
        approvals=len(approvals),
        current=sum(1 for n in approvals if cover.covers(n)),
        can_manage=letter.can(current_user, Action.LETTER_MANAGE),
        form=ActionForm(formdata=None),
        kinds=ChangeKind,
        failed_number=failed[0] if failed else None,
        failed_form=failed[1] if failed else None,
    )


@bp.post("/letters/<slug>/changes/<int:number>/classify")
@letter_route(Action.LETTER_MANAGE)
def lifecycle_classify(letter: Letter, number: int) -> Response | tuple[str, int]:
    revision = queries.revision_by_number(letter, number)
    form = ClassifyForm()
    back = redirect(url_for("signatures.lifecycle_changes", slug=letter.slug))
    if not form.validate_on_submit():
        if form.reason.errors:
            return _render_changes(letter, failed=(number, form)), 400
        flash("Choose editorial or substantive.", "error")
        return back
    try:
        result = ops.classify_revision(
            revision, form.change_kind, current_user, reason=form.reason.data
        )
    except ReasonRequiredError as error:
        form.reason.errors = [str(error)]
        return _render_changes(letter, failed=(number, form)), 400
    except LifecycleError as error:
        flash(str(error), "error")
        return back
    kind = form.change_kind.value
    if not result.changed:
        flash(f"Revision {number} was already marked {kind}.", "info")
    elif result.previous is not None:
        flash(
            f"Revision {number} is now marked {kind} (it was {result.previous.value}).", "success"
        )
    else:
        flash(f"Revision {number} is marked {kind}.", "success")
    if result.reconfirmations:
        flash(_asked(result.reconfirmations), "info")
    if result.carried_forward:
        told = result.carried_forward
        flash(
            f"{'1 organisation was' if told == 1 else f'{told} organisations were'} told by "
            "e-mail that their approval carries over, with the changes and a link to withdraw.",
            "info",
        )
    if result.signing_closed:
        flash(
            "Signing is closed, so nobody was asked to re-confirm yet: they will be if "
            "signing reopens or the deadline is extended.",
            "warning",
        )
    return back


# --- Status and deadline -------------------------------------------------------------------


def _render_status(
    letter: Letter,
    *,
    unfreeze_form: UnfreezeForm | None = None,
    close_form: CloseSigningForm | None = None,
    reopen_form: ReopenSigningForm | None = None,
    deadline_form: ExtendDeadlineForm | None = None,
) -> str:
    if deadline_form is None:
        deadline_form = ExtendDeadlineForm(letter=letter, formdata=None)
    return render_template(
        "signatures/lifecycle.html",
        letter=letter,
        head=letter.head(),
        pending=ops.pending_classification(letter),
        history=_history(letter),
        can_manage=letter.can(current_user, Action.LETTER_MANAGE),
        freeze_form=ActionForm(formdata=None),
        unfreeze_form=unfreeze_form or UnfreezeForm(formdata=None),
        close_form=close_form or CloseSigningForm(formdata=None),
        reopen_form=reopen_form or ReopenSigningForm(formdata=None),
        deadline_form=deadline_form,
        local_deadline=local(letter.deadline),
    )


@dataclass(frozen=True)
class HistoryRow:
    event: AuditEvent
    who: str
    what: Markup
    reason: str | None


def _when(value: object) -> Markup:
    try:
        return format_datetime(datetime.fromisoformat(str(value)))
    except ValueError:
        return Markup("")


def _describe(event: AuditEvent) -> Markup:
    """One sentence per audit event, for the status page."""
    d = event.details or {}
    if event.action == ops.FROZEN:
        return Markup("Froze the text at revision {}: open for signature").format(d.get("revision"))
    if event.action == ops.UNFROZEN:
        return Markup("Unfroze the text: drafting again")
    if event.action == ops.SIGNING_CLOSED:
        return Markup("Closed signing")
    if event.action == ops.SIGNING_REOPENED:
        return Markup("Reopened signing")
    if event.action == ops.DEADLINE_EXTENDED:
        moved = d.get("invitations_moved") or 0
        text = (
            Markup("Extended the deadline from {} to {}").format(_when(d["old"]), _when(d["new"]))
            if d.get("old")
            else Markup("Set the deadline to {}").format(_when(d.get("new")))
        )
        if moved:
            text += Markup(" ({} {} with it)").format(
                moved, "invitation moved" if moved == 1 else "invitations moved"
            )
        return text
    if event.action == ops.REVISION_CLASSIFIED:
        text = Markup("Marked revision {} {}").format(d.get("revision"), d.get("kind"))
        if d.get("previous"):
            text += Markup(" (it was {})").format(d["previous"])
        return text
    if event.action == ops.RECONFIRMATION_REQUESTED:
        count = d.get("organisations") or 0
        return Markup("Asked {} {} to re-confirm revision {}").format(
            count, "organisation" if count == 1 else "organisations", d.get("revision")
        )
    if event.action == REMINDERS_SENT:
        count = d.get("reminders") or 0
        points = ", ".join(f"{h} h" for h in (d.get("points") or {}))
        return Markup("Sent {} {} before the deadline ({})").format(
            count, "reminder" if count == 1 else "reminders", points
        )
    return Markup("{}").format(event.action.removeprefix("letter.").replace("_", " ").capitalize())


def _history(letter: Letter) -> list[HistoryRow]:
    rows = []
    for event in ops.letter_history(letter):
        who = event.actor.display_name if event.actor is not None else event.actor_label
        reason = (event.details or {}).get("reason")
        rows.append(HistoryRow(event, who, _describe(event), str(reason) if reason else None))
    return rows


def _asked(count: int) -> str:
    who = "1 organisation was" if count == 1 else f"{count} organisations were"
    return f"{who} asked by e-mail to re-confirm, with the changes since the text they approved."


def _back(letter: Letter) -> Response:
    return redirect(url_for("signatures.lifecycle", slug=letter.slug))


@bp.get("/letters/<slug>/status")
@letter_route(Action.LETTER_VIEW)
def lifecycle(letter: Letter) -> str:
    return _render_status(letter)


@bp.post("/letters/<slug>/status/freeze")
@letter_route(Action.LETTER_MANAGE)
def lifecycle_freeze(letter: Letter) -> Response:
    if ActionForm().validate_on_submit():
        try:
            ops.freeze_text(letter, current_user)
        except LifecycleError as error:
            flash(str(error), "error")
        else:
            flash(
                "The text is frozen: it is open for signature and can no longer be edited.",
                "success",
            )
    return _back(letter)


@bp.post("/letters/<slug>/status/unfreeze")
@letter_route(Action.LETTER_MANAGE)
def lifecycle_unfreeze(letter: Letter) -> Response | str:
    form = UnfreezeForm()
    if not form.validate_on_submit():
        return _render_status(letter, unfreeze_form=form)
    try:
        ops.unfreeze_text(letter, current_user, form.reason.data or "")
    except LifecycleError as error:
        flash(str(error), "error")
    else:
        flash("The text is unfrozen: the team can edit it again.", "success")
    return _back(letter)


@bp.post("/letters/<slug>/status/close")
@letter_route(Action.LETTER_MANAGE)
def lifecycle_close(letter: Letter) -> Response | str:
    form = CloseSigningForm()
    if not form.validate_on_submit():
        return _render_status(letter, close_form=form)
    try:
        ops.close_signing(letter, current_user, form.reason.data)
    except LifecycleError as error:
        flash(str(error), "error")
    else:
        flash("Signing is closed: organisations can no longer approve or decline.", "success")
    return _back(letter)


@bp.post("/letters/<slug>/status/reopen")
@letter_route(Action.LETTER_MANAGE)
def lifecycle_reopen(letter: Letter) -> Response | str:
    form = ReopenSigningForm()
    if not form.validate_on_submit():
        return _render_status(letter, reopen_form=form)
    try:
        sent = ops.reopen_signing(letter, current_user, form.reason.data)
    except LifecycleError as error:
        flash(str(error), "error")
        return _back(letter)
    flash("Signing is open again.", "success")
    if letter.is_past_deadline:
        flash(
            "The deadline has passed, so organisations still cannot sign: extend it below.",
            "warning",
        )
    if sent:
        flash(_asked(sent), "info")
    return _back(letter)


@bp.post("/letters/<slug>/status/deadline")
@letter_route(Action.LETTER_MANAGE)
def lifecycle_deadline(letter: Letter) -> Response | str:
    form = ExtendDeadlineForm(letter=letter)
    chosen = form.deadline_utc() if form.validate_on_submit() else None
    if chosen is None:
        return _render_status(letter, deadline_form=form)
    try:
        result = ops.extend_deadline(letter, current_user, chosen)
    except LifecycleError as error:
        flash(str(error), "error")
        return _back(letter)
    moved = result.invitations_moved
    flash(
        "The deadline is extended."
        + (
            f" {moved} {'invitation follows' if moved == 1 else 'invitations follow'} it."
            if moved
            else ""
        ),
        "success",
    )
    if result.reconfirmations:
        flash(_asked(result.reconfirmations), "info")
    return _back(letter)
