"""Read-only: a letter's suggestions, and where each one stands in the current text."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from signon.drafting import anchors
from signon.drafting.anchors import Passage
from signon.drafting.suggestions.models import Suggestion, SuggestionState
from signon.extensions import db
from signon.letters.models import Letter, Revision


def suggestion_in(letter: Letter, suggestion_id: int) -> Suggestion:
    """The suggestion, looked up within its letter; 404 when it is not one of its own."""
    suggestion = db.session.scalar(
        select(Suggestion).where(Suggestion.id == suggestion_id, Suggestion.letter_id == letter.id)
    )
    if suggestion is None:
        abort(404)
    return suggestion


#: what the Suggestions page shows of each: loaded with the list, not one query each
_SHOWN = (selectinload(Suggestion.author), selectinload(Suggestion.base_revision))


def open_suggestions(letter: Letter) -> list[Suggestion]:
    """The suggestions waiting for a decision, oldest first."""
    return list(
        db.session.scalars(
            select(Suggestion)
            .where(Suggestion.letter_id == letter.id, Suggestion.state == SuggestionState.OPEN)
            .options(*_SHOWN)
            .order_by(Suggestion.id)
        )
    )


def decided_suggestions(letter: Letter, limit: int = 50) -> list[Suggestion]:
    """The latest suggestions decided (accepted, rejected or flagged), newest first."""
    return list(
        db.session.scalars(
            select(Suggestion)
            .where(Suggestion.letter_id == letter.id, Suggestion.state != SuggestionState.OPEN)
            .options(
                *_SHOWN, selectinload(Suggestion.decided_by), selectinload(Suggestion.revision)
            )
            .order_by(Suggestion.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Placement:
    """Where a suggestion's words are in a later revision; ``passage`` is ``None`` (and
    ``reason`` says why) when they changed or went: it must then not be applied."""

    passage: Passage | None
    reason: str = ""


def placement(suggestion: Suggestion, head: Revision) -> Placement:
    """The one rule of "may this suggestion be applied to ``head``, and where": its passage
    carried from its base revision through the word diff (:mod:`signon.drafting.anchors`),
    refused when any of its words (or the words at its edges) changed meanwhile. A title
    suggestion's passage is the whole title, refused once the title changed."""
    base = suggestion.base_revision
    n = base.number
    if suggestion.is_title:  # the whole title, as it was
        if head.title != suggestion.quote:
            return Placement(None, f"The title was changed after revision {n}.")
        return Placement(Passage(0, len(head.title), head.title))
    old_body, new_body = base.body_markdown, head.body_markdown
    passage: Passage | None = suggestion.passage
    if old_body != new_body:
        passage = anchors.carry(suggestion.passage, old_body, new_body)
        if passage is None:
            return Placement(None, f"Its words were replaced or deleted after revision {n}.")
        if anchors.touched(suggestion.passage, old_body, new_body):
            return Placement(None, f"Its words were edited after revision {n}.")
    assert passage is not None
    if new_body[passage.start : passage.end] != suggestion.quote:
        return Placement(None, "Its words are no longer in the text as they were.")
    return Placement(passage)


def applied(body: str, passage: Passage, replacement: str) -> str:
    """``body`` with ``passage`` replaced."""
    return body[: passage.start] + replacement + body[passage.end :]
