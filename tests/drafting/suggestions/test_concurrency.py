"""Deciding suggestions at the same instant (threads, one connection each, real commits):
a suggestion is applied once, and every revision is made on the text it was placed in.

Runs on SQLite (writers wait for each other) and on PostgreSQL (the letter's row lock
makes decisions take turns with each other and with saves).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from signon.core.permissions import TeamRole
from signon.drafting.suggestions import operations
from signon.drafting.suggestions.models import Suggestion, SuggestionState
from signon.extensions import db
from signon.letters.models import Letter, Revision, UnresolvedDraft
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user
from tests.threads import run_together

pytestmark = pytest.mark.real_commits

PARAGRAPHS = [f"Paragraph {i} says something about cooperation." for i in range(6)]
BASE = "\n\n".join(PARAGRAPHS) + "\n"


def _setup(app: Flask, deciders: int, suggestions: int) -> tuple[str, list[int], list[int]]:
    """A letter, ``deciders`` drafters, and a viewer's suggestions, one per paragraph."""
    with app.app_context():
        users = [make_user() for _ in range(deciders)]
        letter = make_letter(users[0], body=BASE)
        for user in users[1:]:
            add_team_member(letter, role=TeamRole.DRAFTER, user=user)
        viewer = make_user()
        add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
        made = []
        for i in range(suggestions):
            edited = list(PARAGRAPHS)
            edited[i] = f"Paragraph {i} says much about cooperation."
            made += operations.suggest_changes(
                letter, viewer, base=letter.head(), body="\n\n".join(edited) + "\n"
            )
        ids = ([u.id for u in users], [s.id for s in made])
        slug = letter.slug
        db.session.commit()
    return slug, *ids


def _post(
    app: Flask, user_id: int, path: str, barrier: threading.Barrier, statuses: list[int]
) -> Callable[[], None]:
    def work() -> None:
        from signon.accounts.models import User

        client = app.test_client()
        with app.app_context():
            login(client, db.session.get(User, user_id))
            db.session.remove()
        barrier.wait()
        statuses.append(client.post(path).status_code)

    return work


def _revisions(app: Flask, slug: str) -> list[str]:
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        return list(
            db.session.scalars(
                select(Revision.body_markdown)
                .where(Revision.letter_id == letter.id)
                .order_by(Revision.number)
            )
        )


def test_one_suggestion_accepted_by_four_at_once_is_applied_once(app: Flask) -> None:
    slug, users, (suggestion_id,) = _setup(app, deciders=4, suggestions=1)
    barrier = threading.Barrier(len(users))
    statuses: list[int] = []
    path = f"/letters/{slug}/suggestions/{suggestion_id}/accept"
    run_together([_post(app, user, path, barrier, statuses) for user in users])
    assert statuses == [302] * 4
    bodies = _revisions(app, slug)
    assert len(bodies) == 2
    assert bodies[-1] == BASE.replace("Paragraph 0 says something", "Paragraph 0 says much")
    with app.app_context():
        suggestion = db.session.get(Suggestion, suggestion_id)
        assert suggestion.state == SuggestionState.ACCEPTED
        assert db.session.scalars(select(UnresolvedDraft)).all() == []


def test_different_suggestions_accepted_at_once_each_make_one_revision(app: Flask) -> None:
    slug, users, suggestion_ids = _setup(app, deciders=4, suggestions=4)
    barrier = threading.Barrier(len(users) + 1)
    statuses: list[int] = []
    workers = [
        _post(app, user, f"/letters/{slug}/suggestions/{sid}/accept", barrier, statuses)
        for user, sid in zip(users, suggestion_ids, strict=True)
    ]
    workers.append(
        _post(app, users[0], f"/letters/{slug}/suggestions/accept-all", barrier, statuses)
    )
    run_together(workers)
    assert statuses == [302] * 5
    bodies = _revisions(app, slug)
    assert len(bodies) == 5  # the first draft and one revision per suggestion
    for i in range(4):
        assert f"Paragraph {i} says much about cooperation." in bodies[-1]
    with app.app_context():
        revisions = db.session.scalars(select(Revision).order_by(Revision.number)).all()
        assert not any(r.merged for r in revisions)  # each made on the text it was placed in
        states = db.session.scalars(select(Suggestion.state)).all()
        assert states == [SuggestionState.ACCEPTED] * 4
