"""A live document becomes a Signon revision: "Save version", the auto-save, merge, conflict."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from signon.accounts.models import User
from signon.core.transaction import commit
from signon.extensions import db
from signon.letters import operations as letter_ops
from signon.letters.models import Letter, Revision, UnresolvedDraft
from tests.drafting.live.client import eventually
from tests.drafting.live.conftest import AppServer, Serve
from tests.drafting.live.world import BODY, Team, editor, make_team, post, stored_updates

pytestmark = [pytest.mark.real_commits, pytest.mark.usefixtures("app_context")]


@pytest.fixture
def team() -> Team:
    return make_team()


def revisions(letter_id: int) -> list[tuple[int, int | None, str, str]]:
    """(number, author id, body, change note) of each revision, oldest first."""
    db.session.rollback()
    try:
        rows = db.session.execute(
            select(
                Revision.number, Revision.author_id, Revision.body_markdown, Revision.change_note
            )
            .where(Revision.letter_id == letter_id)
            .order_by(Revision.number)
        ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]
    finally:
        db.session.rollback()


def name_of(user_id: int) -> str:
    try:
        user = db.session.get(User, user_id)
        assert user is not None
        return user.display_name
    finally:
        db.session.rollback()


def save_version(server: AppServer, team: Team, user_id: int) -> str:
    response = post(server, team, user_id, f"/letters/{team.slug}/live/save")
    return response.headers["Location"]


def classic_save(team: Team, body: str) -> None:
    """The coordinator saves through the classic editor, against the first revision."""
    letter = db.session.get(Letter, team.letter)
    coordinator = db.session.get(User, team.coordinator)
    assert letter is not None and coordinator is not None
    base = db.session.scalar(
        select(Revision).where(Revision.letter_id == team.letter, Revision.number == 1)
    )
    assert base is not None
    letter_ops.save_revision(letter, coordinator, base=base, title=letter.title, body=body)
    commit()


def test_save_version_makes_a_revision_of_the_live_text_by_who_saved(
    serve: Serve, team: Team
) -> None:
    server = serve()
    drafter, coordinator = (
        editor(server, team, team.drafter),
        editor(server, team, team.coordinator),
    )
    drafter.append("Drafter's words.\n")
    coordinator.insert(0, "Dear all,\n\n")
    expected = "Dear all,\n\n" + BODY + "Drafter's words.\n"
    eventually(lambda: stored_updates(team.letter) == 2)
    save_version(server, team, team.drafter)
    (_, _, _, _), (number, author, body, note) = revisions(team.letter)
    assert (number, author, body) == (2, team.drafter, expected)
    # every contributor since the last version is named, whoever pressed the button
    assert name_of(team.drafter) in note and name_of(team.coordinator) in note
    assert stored_updates(team.letter) == 0  # compacted into the snapshot
    # the editors go on from the revision; a second save with no change makes nothing
    save_version(server, team, team.coordinator)
    assert len(revisions(team.letter)) == 2
    assert drafter.body == coordinator.body == expected
    # a new socket (and a restart) still has the text
    server.stop()
    assert editor(serve(), team, team.viewer).body == expected


def test_a_classic_save_meanwhile_is_merged_and_the_editors_get_the_merge(
    serve: Serve, team: Team
) -> None:
    server = serve()
    drafter = editor(server, team, team.drafter)
    drafter.append("Live words.\n")
    eventually(lambda: stored_updates(team.letter) == 1)
    classic_save(team, BODY.replace("First", "Opening"))
    save_version(server, team, team.drafter)
    merged = "Opening paragraph.\n\nSecond paragraph.\nLive words.\n"
    assert revisions(team.letter)[-1][:3] == (3, team.drafter, merged)
    eventually(lambda: drafter.body == merged, what="the editor gets the merged text")


def test_an_overlapping_classic_save_keeps_the_live_text_as_the_conflict_draft(
    serve: Serve, team: Team
) -> None:
    server = serve()
    drafter = editor(server, team, team.drafter)
    drafter.insert(0, "Live opening. ")
    eventually(lambda: stored_updates(team.letter) == 1)
    classic_save(team, "Classic opening. " + BODY)
    location = save_version(server, team, team.drafter)
    assert "/drafts/" in location
    draft = db.session.scalar(
        select(UnresolvedDraft).where(UnresolvedDraft.letter_id == team.letter)
    )
    assert draft is not None
    assert (draft.author_id, draft.body_markdown) == (team.drafter, "Live opening. " + BODY)
    db.session.rollback()
    assert len(revisions(team.letter)) == 2  # nothing overwritten
    # the live document follows the record again; the live text is in the draft
    eventually(lambda: drafter.body == "Classic opening. " + BODY)


def test_a_quiet_document_is_saved_automatically_by_its_main_author(
    serve: Serve, team: Team
) -> None:
    server = serve(live_autosave_seconds=1)
    drafter = editor(server, team, team.drafter)
    coordinator = editor(server, team, team.coordinator)
    drafter.append("One.\n")
    drafter.append("Two.\n")
    eventually(lambda: coordinator.body.endswith("Two.\n"))
    coordinator.append("Three.\n")
    eventually(lambda: len(revisions(team.letter)) == 2, timeout=10, what="an auto-saved revision")
    _, author, body, note = revisions(team.letter)[-1]
    assert author == team.drafter  # who sent most of the updates
    assert body == BODY + "One.\nTwo.\nThree.\n"
    assert note.startswith("Auto-saved from live editing by")
    assert stored_updates(team.letter) == 0


def test_the_periodic_task_saves_documents_no_server_holds(serve: Serve, team: Team) -> None:
    from signon.drafting.live.hooks import autosave_live_documents

    server = serve()
    drafter = editor(server, team, team.drafter)
    drafter.append("Typed, then everyone left.\n")
    eventually(lambda: stored_updates(team.letter) == 1)
    drafter.close()
    server.stop()
    app = server.app
    with app.app_context():
        app.config["SIGNON"] = app.config["SIGNON"].with_(live_autosave_seconds=0)
        autosave_live_documents()
        commit()
    assert revisions(team.letter)[-1][1:3] == (team.drafter, BODY + "Typed, then everyone left.\n")
