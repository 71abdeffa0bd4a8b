"""``@letter_route(Action)``: the one way a letter's page loads its letter.

Every route under ``/letters/<slug>`` used to open with its own ``_letter_for(slug)``
copy; seven copies can drift (one forgets ``hide``, one checks the wrong action). The
decorator loads the letter named by the URL, checks the permission with
:func:`signon.core.permissions.require` (404 when the user may not even see the letter,
403 when they may see it but not do ``action``) and calls the view with the letter in
place of the slug. It records which action guards which view, so a test can walk the URL
map and refuse a ``<slug>`` route that is not guarded (tests/letters/test_guard.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from flask_login import current_user

from signon.core.permissions import Action, require
from signon.letters import queries
from signon.letters.models import Letter

P = ParamSpec("P")
R = TypeVar("R")

#: view function (as registered with Flask) -> the action that guards it
_GUARDS: dict[Callable[..., Any], Action] = {}


def letter_for(slug: str, action: Action) -> Letter:
    """The letter, if the current user may do ``action``; 404 if they may not even see it."""
    letter = queries.letter_by_slug(slug)
    require(letter, current_user, action, hide=Action.LETTER_VIEW)
    return letter


def letter_route(
    action: Action,
) -> Callable[[Callable[Concatenate[Letter, P], R]], Callable[..., R]]:
    """Decorate a view ``view(letter, **url_args)`` of a route with a ``<slug>`` in its URL.

    Put it below ``@bp.route`` (and below a rate limit, which then still counts refused
    requests). The URL keeps its ``slug``; the view gets the letter instead.
    """

    def decorate(view: Callable[Concatenate[Letter, P], R]) -> Callable[..., R]:
        # Flask passes the URL's arguments by name; the rest of them are the view's.
        by_name: Callable[..., R] = view

        @functools.wraps(view)
        def guarded(*, slug: str, **url_args: Any) -> R:
            return by_name(letter_for(slug, action), **url_args)

        _GUARDS[guarded] = action
        return guarded

    return decorate


def guard_of(view: Callable[..., Any]) -> Action | None:
    """The action ``@letter_route`` checks before ``view``; None for an unguarded view.

    Follows ``__wrapped__``: decorators above ``@letter_route`` (a rate limit) wrap it.
    """
    current: Callable[..., Any] | None = view
    while current is not None:
        if current in _GUARDS:
            return _GUARDS[current]
        current = getattr(current, "__wrapped__", None)
    return None
