"""Suggestions (tracked changes): suggest from the editor, review on the Suggestions page.

- ``/letters/<slug>/suggestions``: the current text with the open suggestions marked
  inside it (a title suggestion is listed only), each suggestion with its author, and
  Accept / Reject one by one or all at once for drafters and coordinators
  (``LETTER_EDIT``); below, the editor in suggestion mode (title and text) for every team
  member (``LETTER_SUGGEST``), which posts to ``/letters/<slug>/suggest``, as the
  editor's "Suggest instead" button does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from signon.core.forms import ActionForm
from signon.core.permissions import Action, log_refusal
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


@dataclass(frozen=True)
class SuggestionView:
    """A suggestion as the page shows it: where it stands and its words in context."""

    suggestion: Suggestion
    placement: Placement
    segments: list[DiffSegment]
    #: the reader is its author and may take it back
    withdrawable: bool = False


def _in_context(suggestion: Suggestion, head: Revision, where: Placement) -> list[DiffSegment]:
    """The suggestion's change with a little of its line either side, in the current text
    when it still applies there, else in the text it was made on (a title: the title)."""
    if suggestion.is_title:
        return word_diff(suggestion.quote, suggestion.replacement)
    body = head.body_markdown if where.passage else suggestion.base_revision.body_markdown
    passage = where.passage or suggestion.passage
    start, end = passage.start, passage.end
    before = body[max(0, start - CONTEXT_CHARS) : start]
    after = body[end : end + CONTEXT_CHARS]
    # whole lines when they are short, else cut between words
    if "\n" in before:
        before = before.rsplit("\n", 1)[1]
    elif start > CONTEXT_CHARS and " " in before:
        before = before.split(" ", 1)[1]
    if "\n" in after:
        after = after.split("\n", 1)[0]
    elif end + CONTEXT_CHARS < len(body) and " " in after:
        after = after.rsplit(" ", 1)[0]
    return word_diff(before + suggestion.quote + after, before + suggestion.replacement + after)


def _marked_text(head: Revision, views: list[SuggestionView]) -> MarkedDiff:
    """The current text with every open suggestion that applies marked inside it (when two
    overlap, the older one is marked)."""
    taken: list[Hunk] = []
    for view in sorted(views, key=lambda v: v.suggestion.id):
        passage = view.placement.passage
        if view.suggestion.is_title:
            continue  # listed with the others, not marked in the text
        if passage is not None and all(
            passage.end <= hunk.start or passage.start >= hunk.end for hunk in taken
        ):
            taken.append(
                Hunk(passage.start, passage.end, passage.quote, view.suggestion.replacement)
            )
    return marked_diff(head.body_markdown, apply_hunks(head.body_markdown, taken))


def _render_suggestions(
    letter: Letter, form: SuggestForm | None = None, status: int = 200
) -> tuple[str, int]:
    head = letter.head()
    assert head is not None
    drafting = letter.status == LetterStatus.DRAFTING
    can_suggest = drafting and letter.can(current_user, Action.LETTER_SUGGEST)
    if form is None and can_suggest:
        form = SuggestForm(letter=letter, formdata=None)
        form.title.data, form.body.data = head.title, head.body_markdown
        form.base_revision.data = head.id
    views = []
    for suggestion in queries.open_suggestions(letter):
        where = placement(suggestion, head)
        views.append(
            SuggestionView(
                suggestion,
                where,
                _in_context(suggestion, head, where),
                withdrawable=drafting and operations.may_withdraw(suggestion, current_user),
            )
        )
    # the editor's "someone saved meanwhile" warning asks an editors' route
    can_edit = letter.can(current_user, Action.LETTER_EDIT)
    return render_template(
        "drafting/suggestions/index.html",
        letter=letter,
        head=head,
        views=views,
        marked=_marked_text(head, views),
        decided=queries.decided_suggestions(letter),
        drafting=drafting,
        can_decide=can_edit,
        form=form if can_suggest else None,
        newest_url=url_for("letters.newest", slug=letter.slug) if can_edit else None,
    ), status


@bp.get("/letters/<slug>/suggestions")
@letter_route(Action.LETTER_VIEW)
def suggestions(letter: Letter) -> tuple[str, int]:
    return _render_suggestions(letter)


@bp.post("/letters/<slug>/suggest")
@letter_route(Action.LETTER_SUGGEST)
def suggest(letter: Letter) -> Response | tuple[str, int]:
    """The edited text as suggestions: from the Suggestions page's editor, or from the
    editor's "Suggest instead" button."""
    if letter.status != LetterStatus.DRAFTING:
        flash(operations.FROZEN, "warning")
        return redirect(url_for("letters.show", slug=letter.slug))
    form = SuggestForm(letter=letter)
    if not form.validate_on_submit() or form.base is None:
        return _render_suggestions(letter, form)
    try:
        made = operations.suggest_changes(
            letter,
            current_user,
            base=form.base,
            body=form.body.data or "",
            title=form.title.data or None,
        )
    except LetterError as error:
        flash(f"{error} Your text is kept below.", "error")
        return _render_suggestions(letter, form, 409)
    forget_browser_draft(browser_draft_name(letter.id, form.base.id))
    flash(_count(len(made), "made"), "success")
    return redirect(url_for("drafting.suggestions", slug=letter.slug))


#: What a decision says to the person: (message, flash category) pairs.
Said = list[tuple[str, str]]


def _decide(letter: Letter, decide: Callable[[], Said]) -> Response:
    """The decision routes' one shape: the CSRF token checked, one operation, what it did
    (or why not) flashed, back to the Suggestions page."""
    if ActionForm().validate_on_submit():
        try:
            said = decide()
        except LetterError as error:
            said = [(str(error), "error")]
        for message, category in said:
            flash(message, category)
    return redirect(url_for("drafting.suggestions", slug=letter.slug))


def _count(number: int, what: str) -> str:
    return f"{number} {'suggestion' if number == 1 else 'suggestions'} {what}."


@bp.post("/letters/<slug>/suggestions/<int:suggestion_id>/accept")
@letter_route(Action.LETTER_EDIT)
def accept_suggestion(letter: Letter, suggestion_id: int) -> Response:
    suggestion = queries.suggestion_in(letter, suggestion_id)

    def accept() -> Said:
        revision = operations.accept_suggestion(suggestion, current_user)
        if revision is None:
            return [(f"Not applied: {suggestion.reason} It is kept, marked outdated.", "warning")]
        by = suggestion.author_name
        return [(f"Accepted as revision {revision.number}, by {by}.", "success")]

    return _decide(letter, accept)


@bp.post("/letters/<slug>/suggestions/<int:suggestion_id>/reject")
@letter_route(Action.LETTER_EDIT)
def reject_suggestion(letter: Letter, suggestion_id: int) -> Response:
    suggestion = queries.suggestion_in(letter, suggestion_id)

    def reject() -> Said:
        operations.reject_suggestion(suggestion, current_user)
        return [("Suggestion rejected.", "success")]

    return _decide(letter, reject)


@bp.post("/letters/<slug>/suggestions/<int:suggestion_id>/withdraw")
@letter_route(Action.LETTER_SUGGEST)
def withdraw_suggestion(letter: Letter, suggestion_id: int) -> Response:
    """The author takes back their own open suggestion (nobody else: 403)."""
    suggestion = queries.suggestion_in(letter, suggestion_id)
    if not operations.is_author(suggestion, current_user):
        log_refusal(letter, current_user, Action.LETTER_SUGGEST, 403)
        abort(403)

    def withdraw() -> Said:
        operations.withdraw_suggestion(suggestion, current_user)
        return [("Your suggestion is withdrawn.", "success")]

    return _decide(letter, withdraw)


@bp.post("/letters/<slug>/suggestions/accept-all")
@letter_route(Action.LETTER_EDIT)
def accept_all_suggestions(letter: Letter) -> Response:
    def accept_all() -> Said:
        outcome = operations.accept_all(letter, current_user)
        said = [(_count(len(outcome.revisions), "accepted"), "success")]
        if outcome.outdated:
            kept = "their words having changed: they are kept, marked outdated"
            said.append((f"{len(outcome.outdated)} not applied, {kept}.", "warning"))
        return said

    return _decide(letter, accept_all)


@bp.post("/letters/<slug>/suggestions/reject-all")
@letter_route(Action.LETTER_EDIT)
def reject_all_suggestions(letter: Letter) -> Response:
    return _decide(
        letter,
        lambda: [(_count(operations.reject_all(letter, current_user), "rejected"), "success")],
    )
