"""Everything that changes suggestions. Add and flush; never commit.

A suggestion becomes text only through :func:`signon.letters.operations.save_revision`,
as a revision attributed to the suggestion's author: the revision chain, the diff and
"who wrote what" stay the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from signon.accounts.models import User
from signon.audit.operations import record_event
from signon.core.locks import lock_row, on_postgresql
from signon.core.notices import NoticeKind
from signon.db import utcnow
from signon.drafting.suggestions.hunks import split_into_hunks
from signon.drafting.suggestions.models import Suggestion, SuggestionState, SuggestionTarget
from signon.drafting.suggestions.queries import applied, open_suggestions, placement
from signon.extensions import db
from signon.letters import notices
from signon.letters import operations as letter_operations
from signon.letters.models import Letter, LetterStatus, Revision
from signon.letters.operations import LetterError, SaveStatus, normalise_text

FROZEN = "The text is frozen: suggestions can no longer be made or accepted."


class SuggestionError(LetterError):
    """A rule of suggestions was broken; the message is meant for the user."""


def _lock_drafting(letter: Letter) -> None:
    """Take the letter's row lock (as a save does) and refuse unless it is in drafting.

    Under it, deciding takes turns with saves, freezes and other decisions: the current
    text a suggestion is placed in is still the current text when it is applied. The
    letter is always locked before a suggestion, so two requests never wait on each other
    in the opposite order.
    """
    lock_row(Letter, letter.id, key_share=True)
    if on_postgresql():
        db.session.refresh(letter, ["status"])
    if letter.status != LetterStatus.DRAFTING:
        raise SuggestionError(FROZEN)


def _title_suggestion(letter: Letter, author: User, base: Revision, title: str) -> Suggestion:
    """The title as a suggestion: the base revision's whole title, replaced."""
    return Suggestion(
        letter=letter,
        base_revision=base,
        author=author,
        target=SuggestionTarget.TITLE,
        start=0,
        end=len(base.title),
        quote=base.title,
        replacement=title,
    )


def suggest_changes(
    letter: Letter, author: User, *, base: Revision, body: str, title: str | None = None
) -> list[Suggestion]:
    """Keep the author's edit of ``base`` as suggestions, one per changed passage, and
    one for the title when ``title`` (already trimmed) is given and differs."""
    _lock_drafting(letter)
    hunks = split_into_hunks(base.body_markdown, normalise_text(body))
    new_title = title if title and title != base.title else None
    if not hunks and new_title is None:
        raise SuggestionError(
            "There is nothing to suggest: the title and text are the same as the version."
        )
    suggestions = [
        Suggestion(
            letter=letter,
            base_revision=base,
            author=author,
            start=hunk.start,
            end=hunk.end,
            quote=hunk.quote,
            replacement=hunk.replacement,
        )
        for hunk in hunks
    ]
    if new_title is not None:
        suggestions.insert(0, _title_suggestion(letter, author, base, new_title))
    db.session.add_all(suggestions)
    db.session.flush()
    count = len(suggestions)
    notices.notify(
        letter,
        NoticeKind.SUGGESTED,
        f"{author.display_name} suggested {count} {'change' if count == 1 else 'changes'} "
        f"to revision {base.number}",
    )
    record_event(
        "suggestion.made",
        letter_id=letter.id,
        actor=author,
        revision=base.number,
        suggestions=[suggestion.id for suggestion in suggestions],
    )
    return suggestions


def _locked_open(suggestion: Suggestion) -> None:
    """Read the suggestion again under its row lock: two people deciding it at once take
    turns, and the second one finds it decided."""
    lock_row(Suggestion, suggestion.id)
    db.session.refresh(suggestion, ["state"])
    if suggestion.state != SuggestionState.OPEN:
        raise SuggestionError(f"This suggestion was {suggestion.state.value} meanwhile.")


def _decide(suggestion: Suggestion, state: SuggestionState, actor: User, reason: str = "") -> None:
    suggestion.state = state
    suggestion.reason = reason
    suggestion.decided_by = actor
    suggestion.decided_at = utcnow()
    record_event(
        f"suggestion.{state.value}",
        letter_id=suggestion.letter_id,
        actor=actor,
        suggestion=suggestion.id,
        author=suggestion.author_name,
        revision=suggestion.revision.number if suggestion.revision else None,
        reason=reason or None,
    )
    db.session.flush()


def accept_suggestion(suggestion: Suggestion, actor: User) -> Revision | None:
    """Apply the suggestion to the current text as a revision by its author.

    When its words changed since its base revision (or were deleted), it is not applied:
    it is marked outdated with the reason, and ``None`` is returned.
    """
    letter = suggestion.letter
    _lock_drafting(letter)
    _locked_open(suggestion)
    head = letter.head()
    assert head is not None, "every letter has a first revision"
    where = placement(suggestion, head)
    if where.passage is None:
        _decide(suggestion, SuggestionState.OUTDATED, actor, where.reason)
        return None
    # An author whose account is gone: the revision is the acceptor's, as it must have one.
    author = suggestion.author or actor
    accepted_by = "" if author.id == actor.id else f", accepted by {actor.display_name}"
    title, body = head.title, head.body_markdown
    if suggestion.is_title:
        title = suggestion.replacement
    else:
        body = applied(body, where.passage, suggestion.replacement)
    result = letter_operations.save_revision(
        letter,
        author,
        base=head,
        title=title,
        body=body,
        change_note=f"Suggestion by {suggestion.author_name}{accepted_by}",
    )
    if result.status == SaveStatus.CONFLICT:  # someone saved in between: decide again later
        if result.draft is not None:
            letter_operations.discard_draft(result.draft)
        raise SuggestionError("Someone saved the text at the same moment: accept it again.")
    suggestion.revision = result.revision
    _decide(suggestion, SuggestionState.ACCEPTED, actor)
    return result.revision


def is_author(suggestion: Suggestion, user: object) -> bool:
    return suggestion.author_id is not None and suggestion.author_id == getattr(user, "id", None)


def may_withdraw(suggestion: Suggestion, user: object) -> bool:
    """The one rule of withdrawing: the suggestion's author, while it is open."""
    return suggestion.state == SuggestionState.OPEN and is_author(suggestion, user)


def withdraw_suggestion(suggestion: Suggestion, actor: User) -> None:
    """The author takes back their open suggestion (as a rejection, under the same locks)."""
    _lock_drafting(suggestion.letter)
    _locked_open(suggestion)
    if not may_withdraw(suggestion, actor):
        raise SuggestionError("Only its author may withdraw a suggestion.")
    _decide(suggestion, SuggestionState.WITHDRAWN, actor)


def reject_suggestion(suggestion: Suggestion, actor: User) -> None:
    _lock_drafting(suggestion.letter)
    _locked_open(suggestion)
    _decide(suggestion, SuggestionState.REJECTED, actor)


@dataclass
class Outcome:
    """What "accept all" did: the revisions made and the suggestions flagged outdated."""

    revisions: list[Revision] = field(default_factory=list)
    outdated: list[Suggestion] = field(default_factory=list)


def accept_all(letter: Letter, actor: User) -> Outcome:
    """Accept every open suggestion, oldest first, each one a revision by its author
    (who-wrote-what then credits each author with their own words). A suggestion whose
    words an earlier one (or anything else) changed is flagged outdated, not applied."""
    _lock_drafting(letter)
    outcome = Outcome()
    for suggestion in open_suggestions(letter):
        revision = accept_suggestion(suggestion, actor)
        if revision is None:
            outcome.outdated.append(suggestion)
        else:
            outcome.revisions.append(revision)
    return outcome


def reject_all(letter: Letter, actor: User) -> int:
    """Reject every open suggestion; how many there were."""
    _lock_drafting(letter)
    suggestions = open_suggestions(letter)
    for suggestion in suggestions:
        reject_suggestion(suggestion, actor)
    return len(suggestions)
