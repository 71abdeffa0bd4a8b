"""Suggestions (tracked changes): suggest from the editor, review on the Suggestions page.

- ``/letters/<slug>/suggest``: the editor in suggestion mode (every team member,
  ``LETTER_SUGGEST``); the editor's own form posts here too with its "Suggest" button.
- ``/letters/<slug>/suggestions``: the current text with the open suggestions marked
  inside it, each suggestion with its author, and Accept / Reject one by one or all at
  once for drafters and coordinators (``LETTER_EDIT``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from signon.core.forms import ActionForm
from signon.core.permissions import Action
from signon.core.sessions import browser_draft_name, forget_browser_draft
from signon.drafting.blueprint import bp
from signon.drafting.suggestions import operations, queries
from signon.drafting.suggestions.forms import SuggestForm
from signon.drafting.suggestions.hunks import Hunk, apply_hunks
from signon.drafting.suggestions.models import Suggestion
from signon.drafting.suggestions.queries import Placement, placement
from signon.letters.guard import letter_route
from signon.letters.models import Letter, LetterStatus, Revision
from signon.letters.operations import LetterError
from signon.letters.rendered_diff import MarkedDiff, marked_diff
from signon.letters.text import DiffSegment, word_diff

#: Characters of context shown either side of a suggestion (cut at a line or a word).
CONTEXT_CHARS = 80


def _render_suggest(letter: Letter, form: SuggestForm, status: int = 200) -> tuple[str, int]:
    # the editor's "someone saved meanwhile" warning asks an editors' route
    can_edit = letter.can(current_user, Action.LETTER_EDIT)
    return render_template(
        "drafting/suggestions/suggest.html",
        letter=letter,
        form=form,
        head=letter.head(),
        newest_url=url_for("letters.newest", slug=letter.slug) if can_edit else None,
    ), status


@bp.route("/letters/<slug>/suggest", methods=["GET", "POST"])
@letter_route(Action.LETTER_SUGGEST)
def suggest(letter: Letter) -> Response | tuple[str, int]:
    if letter.status != LetterStatus.DRAFTING:
        flash(operations.FROZEN, "warning")
        return redirect(url_for("letters.show", slug=letter.slug))
    form = SuggestForm(letter=letter)
    if request.method == "GET":
        head = letter.head()
        assert head is not None
        form.body.data, form.base_revision.data = head.body_markdown, head.id
    if not form.validate_on_submit() or form.base is None:
        return _render_suggest(letter, form)
    try:
        made = operations.suggest_changes(
            letter, current_user, base=form.base, body=form.body.data or ""
        )
    except LetterError as error:
        flash(f"{error} Your text is kept below.", "error")
        return _render_suggest(letter, form, 409)
    forget_browser_draft(browser_draft_name(letter.id, form.base.id))
    count = len(made)
    flash(f"{count} {'suggestion' if count == 1 else 'suggestions'} made.", "success")
    return redirect(url_for("drafting.suggestions", slug=letter.slug))


@dataclass(frozen=True)
class SuggestionView:
    """A suggestion as the page shows it: where it stands and its words in context."""

    suggestion: Suggestion
    placement: Placement
    segments: list[DiffSegment]


def _in_context(suggestion: Suggestion, head: Revision, where: Placement) -> list[DiffSegment]:
    """The suggestion's change with a little of its line either side, in the current text
    when it still applies there, else in the text it was made on."""
    body = head.body_markdown if where.passage else suggestion.base_revision.body_markdown
    start, end = (
        (where.passage.start, where.passage.end)
        if where.passage
        else (
            suggestion.start,
            suggestion.end,
        )
    )
    before = body[max(0, start - CONTEXT_CHARS) : start].rsplit("\n", 1)[-1]
    after = body[end : end + CONTEXT_CHARS].split("\n", 1)[0]
    if start - len(before) > 0 and " " in before:
        before = before.split(" ", 1)[1]
    if end + len(after) < len(body) and " " in after:
        after = after.rsplit(" ", 1)[0]
    return word_diff(before + suggestion.quote + after, before + suggestion.replacement + after)


def _marked_text(head: Revision, views: list[SuggestionView]) -> MarkedDiff:
    """The current text with every open suggestion that applies marked inside it (when two
    overlap, the older one is marked)."""
    taken: list[Hunk] = []
    for view in sorted(views, key=lambda v: v.suggestion.id):
        passage = view.placement.passage
        if passage is not None and all(
            passage.end <= hunk.start or passage.start >= hunk.end for hunk in taken
        ):
            taken.append(
                Hunk(passage.start, passage.end, passage.quote, view.suggestion.replacement)
            )
    return marked_diff(head.body_markdown, apply_hunks(head.body_markdown, taken))


@bp.get("/letters/<slug>/suggestions")
@letter_route(Action.LETTER_VIEW)
def suggestions(letter: Letter) -> str:
    head = letter.head()
    assert head is not None
    views = []
    for suggestion in queries.open_suggestions(letter):
        where = placement(suggestion, head)
        views.append(SuggestionView(suggestion, where, _in_context(suggestion, head, where)))
    return render_template(
        "drafting/suggestions/index.html",
        letter=letter,
        head=head,
        views=views,
        marked=_marked_text(head, views),
        decided=queries.decided_suggestions(letter),
        drafting=letter.status == LetterStatus.DRAFTING,
        can_decide=letter.can(current_user, Action.LETTER_EDIT),
        can_suggest=letter.can(current_user, Action.LETTER_SUGGEST),
        form=ActionForm(),
    )


def _back(letter: Letter) -> Response:
    return redirect(url_for("drafting.suggestions", slug=letter.slug))


@bp.post("/letters/<slug>/suggestions/<int:suggestion_id>/accept")
@letter_route(Action.LETTER_EDIT)
def accept_suggestion(letter: Letter, suggestion_id: int) -> Response:
    suggestion = queries.suggestion_in(letter, suggestion_id)
    if ActionForm().validate_on_submit():
        try:
            revision = operations.accept_suggestion(suggestion, current_user)
        except LetterError as error:
            flash(str(error), "error")
        else:
            if revision is None:
                flash(f"Not applied: {suggestion.reason} It is kept, marked outdated.", "warning")
            else:
                flash(
                    f"Accepted as revision {revision.number}, by {suggestion.author_name}.",
                    "success",
                )
    return _back(letter)


@bp.post("/letters/<slug>/suggestions/<int:suggestion_id>/reject")
@letter_route(Action.LETTER_EDIT)
def reject_suggestion(letter: Letter, suggestion_id: int) -> Response:
    suggestion = queries.suggestion_in(letter, suggestion_id)
    if ActionForm().validate_on_submit():
        try:
            operations.reject_suggestion(suggestion, current_user)
        except LetterError as error:
            flash(str(error), "error")
        else:
            flash("Suggestion rejected.", "success")
    return _back(letter)


@bp.post("/letters/<slug>/suggestions/accept-all")
@letter_route(Action.LETTER_EDIT)
def accept_all_suggestions(letter: Letter) -> Response:
    if ActionForm().validate_on_submit():
        try:
            outcome = operations.accept_all(letter, current_user)
        except LetterError as error:
            flash(str(error), "error")
        else:
            made = len(outcome.revisions)
            flash(f"{made} {'suggestion' if made == 1 else 'suggestions'} accepted.", "success")
            if outcome.outdated:
                flash(
                    f"{len(outcome.outdated)} not applied, their words having changed: "
                    "they are kept, marked outdated.",
                    "warning",
                )
    return _back(letter)


@bp.post("/letters/<slug>/suggestions/reject-all")
@letter_route(Action.LETTER_EDIT)
def reject_all_suggestions(letter: Letter) -> Response:
    if ActionForm().validate_on_submit():
        try:
            count = operations.reject_all(letter, current_user)
        except LetterError as error:
            flash(str(error), "error")
        else:
            flash(f"{count} {'suggestion' if count == 1 else 'suggestions'} rejected.", "success")
    return _back(letter)
