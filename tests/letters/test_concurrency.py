"""Real concurrent saves (threads, one connection each, real commits): no edit is ever lost.

Runs on SQLite (writers wait for each other: BEGIN IMMEDIATE) and on PostgreSQL
(writers race; the unique constraint on (letter, number) sends the loser down
the merge path).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select

from signon.core.permissions import TeamRole
from signon.extensions import db
from signon.letters.models import Letter, Revision, UnresolvedDraft
from tests.conftest import login
from tests.factories import add_team_member, make_letter, make_user
from tests.threads import run_together

pytestmark = pytest.mark.real_commits

PARAGRAPHS = [f"Paragraph {i} says something about cooperation." for i in range(8)]
BASE = "\n\n".join(PARAGRAPHS) + "\n"


def _setup(app: Flask, editors: int) -> tuple[str, int, list[int]]:
    with app.app_context():
        users = [make_user(name=f"Editor {i}") for i in range(editors)]
        letter = make_letter(users[0], body=BASE)
        for user in users[1:]:
            add_team_member(letter, role=TeamRole.DRAFTER, user=user)
        base_id = letter.head().id
        slug = letter.slug
        user_ids = [u.id for u in users]
        db.session.commit()
    return slug, base_id, user_ids


def _editor(
    app: Flask,
    slug: str,
    base_id: int,
    user_id: int,
    body: str,
    barrier: threading.Barrier,
    statuses: list[int],
) -> Callable[[], None]:
    def work() -> None:
        from signon.accounts.models import User

        client = app.test_client()
        with app.app_context():
            user = db.session.get(User, user_id)
            login(client, user)
            db.session.remove()
        barrier.wait()
        response = client.post(
            f"/letters/{slug}/edit",
            data={"title": "Letter", "body": body, "base_revision": str(base_id)},
        )
        statuses.append(response.status_code)

    return work


def test_eight_simultaneous_editors_of_different_paragraphs_all_keep_their_edit(
    app: Flask,
) -> None:
    slug, base_id, user_ids = _setup(app, editors=8)
    barrier = threading.Barrier(len(user_ids))
    statuses: list[int] = []
    workers = []
    for i, user_id in enumerate(user_ids):
        edited = list(PARAGRAPHS)
        edited[i] = f"Paragraph {i} was rewritten by editor {i}."
        workers.append(
            _editor(app, slug, base_id, user_id, "\n\n".join(edited) + "\n", barrier, statuses)
        )
    run_together(workers)
    assert statuses == [302] * 8
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        revisions = db.session.scalars(
            select(Revision).where(Revision.letter_id == letter.id).order_by(Revision.number)
        ).all()
        assert [r.number for r in revisions] == list(range(1, 10))
        # the chain is intact: each revision's parent is the one before it
        for previous, current in itertools.pairwise(revisions):
            assert current.parent_id == previous.id
        final = revisions[-1].body_markdown
        for i in range(8):
            assert f"Paragraph {i} was rewritten by editor {i}." in final
        assert sum(r.merged for r in revisions) >= 1
        assert db.session.scalars(select(UnresolvedDraft)).all() == []


def test_simultaneous_overlapping_edits_keep_the_losers_text_as_a_draft(app: Flask) -> None:
    slug, base_id, user_ids = _setup(app, editors=4)
    barrier = threading.Barrier(len(user_ids))
    statuses: list[int] = []
    texts = {}
    workers = []
    for i, user_id in enumerate(user_ids):
        edited = list(PARAGRAPHS)
        edited[0] = f"Paragraph 0 in the words of editor {i}."
        texts[user_id] = "\n\n".join(edited) + "\n"
        workers.append(_editor(app, slug, base_id, user_id, texts[user_id], barrier, statuses))
    run_together(workers)
    assert statuses == [302] * 4
    with app.app_context():
        letter = db.session.scalar(select(Letter).where(Letter.slug == slug))
        revisions = db.session.scalars(
            select(Revision).where(Revision.letter_id == letter.id).order_by(Revision.number)
        ).all()
        drafts = db.session.scalars(select(UnresolvedDraft)).all()
        # exactly one edit won; every other one is kept, word for word, as a draft
        assert len(revisions) == 2
        assert len(drafts) == 3
        winner = revisions[-1].author_id
        assert revisions[-1].body_markdown == texts[winner]
        assert {d.author_id: d.body_markdown for d in drafts} == {
            uid: text for uid, text in texts.items() if uid != winner
        }
