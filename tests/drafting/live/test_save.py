"""A live document becomes a Signon revision: "Save version", the auto-save, merge, conflict."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from signon.accounts.models import User
from signon.core.permissions import TeamRole
from signon.core.transaction import commit
from signon.extensions import db
from signon.letters import operations as letter_ops
from signon.letters.models import Letter, Revision, UnresolvedDraft
from tests.drafting.live.client import eventually
from tests.drafting.live.conftest import AppServer, Serve
from tests.drafting.live.world import BODY, Team, editor, make_team, post, stored_updates
from tests.factories import add_team_member, make_user
from tests.letters import authorship

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


def who_wrote_what(server: AppServer, team: Team) -> dict[str, tuple[int, str]]:
    """The who-wrote-what page as the viewer reads it: paragraph -> (revision, name)."""
    response = requests.get(
        f"{server.url}/letters/{team.slug}/authorship",
        cookies={"session": team.cookie(server, team.viewer)},
        timeout=30,
    )
    assert response.status_code == 200
    return authorship.who_wrote_what(response.text)


def test_save_version_credits_each_person_with_their_own_words(serve: Serve, team: Team) -> None:
    server = serve()
    drafter, coordinator = (
        editor(server, team, team.drafter),
        editor(server, team, team.coordinator),
    )
    drafter.append("\nDrafter's words.\n")
    eventually(lambda: stored_updates(team.letter) == 1)
    coordinator.insert(0, "Dear all,\n\n")
    eventually(lambda: stored_updates(team.letter) == 2)
    drafter.insert(drafter.body.index(" paragraph.\n\nSecond"), ", amended")
    expected = "Dear all,\n\nFirst, amended paragraph.\n\nSecond paragraph.\n\nDrafter's words.\n"
    eventually(lambda: stored_updates(team.letter) == 3)
    save_version(server, team, team.drafter)
    # One revision per person, in the order of their last change, each with only their
    # own changes on top of the one before; the last is the whole live text.
    drafter_name, coordinator_name = name_of(team.drafter), name_of(team.coordinator)
    assert revisions(team.letter)[1:] == [
        (
            2,
            team.coordinator,
            "Dear all,\n\n" + BODY,
            f"Saved from live editing: changes by {coordinator_name}, saved by {drafter_name}",
        ),
        (3, team.drafter, expected, f"Saved from live editing: changes by {drafter_name}"),
    ]
    assert who_wrote_what(server, team) == {
        "<p>Dear all,</p>": (2, coordinator_name),
        "<p>First, amended paragraph.</p>": (3, drafter_name),
        "<p>Second paragraph.</p>": (1, coordinator_name),
        "<p>Drafter's words.</p>": (3, drafter_name),
    }
    assert stored_updates(team.letter) == 0  # compacted into the snapshot
    # the editors go on from the revision; a second save with no change makes nothing
    save_version(server, team, team.coordinator)
    assert len(revisions(team.letter)) == 3
    assert drafter.body == coordinator.body == expected
    # a new socket (and a restart) still has the text
    server.stop()
    assert editor(serve(), team, team.viewer).body == expected


def test_a_save_by_someone_who_typed_nothing_credits_only_those_who_typed(
    serve: Serve, team: Team
) -> None:
    saver = make_user(name="Sam Saver")
    add_team_member(db.session.get(Letter, team.letter), role=TeamRole.DRAFTER, user=saver)
    saver_id = saver.id
    team.sessions[saver_id] = saver.get_id()
    commit()  # and keep no loaded row: on SQLite a reading test holds the write lock
    server = serve()
    drafter, coordinator = (
        editor(server, team, team.drafter),
        editor(server, team, team.coordinator),
    )
    editor(server, team, saver_id)  # in the text, typing nothing
    drafter.insert(0, "Drafter's opening.\n\n")
    eventually(lambda: stored_updates(team.letter) == 1)
    coordinator.append("\nCoordinator's closing.\n")
    eventually(lambda: stored_updates(team.letter) == 2)
    save_version(server, team, saver_id)
    saved = revisions(team.letter)[1:]
    assert [(number, author) for number, author, _, _ in saved] == [
        (2, team.drafter),
        (3, team.coordinator),
    ]
    assert all(note.endswith(", saved by Sam Saver") for *_, note in saved)
    credited = who_wrote_what(server, team)
    assert credited["<p>Drafter's opening.</p>"] == (2, name_of(team.drafter))
    assert credited["<p>Coordinator's closing.</p>"] == (3, name_of(team.coordinator))
    assert "Sam Saver" not in {name for _, name in credited.values()}


def test_a_classic_save_meanwhile_is_merged_and_each_person_keeps_their_words(
    serve: Serve, team: Team
) -> None:
    server = serve()
    drafter = editor(server, team, team.drafter)
    coordinator = editor(server, team, team.coordinator)
    drafter.append("Live words.\n")
    eventually(lambda: stored_updates(team.letter) == 1)
    coordinator.insert(0, "Dear all,\n\n")
    eventually(lambda: stored_updates(team.letter) == 2)
    classic_save(team, BODY.replace("Second", "Next"))
    save_version(server, team, team.drafter)
    merged = "Dear all,\n\nFirst paragraph.\n\nNext paragraph.\nLive words.\n"
    assert [row[:3] for row in revisions(team.letter)[2:]] == [
        (3, team.drafter, "First paragraph.\n\nNext paragraph.\nLive words.\n"),
        (4, team.coordinator, merged),
    ]
    eventually(lambda: drafter.body == merged, what="the editor gets the merged text")
    # Each page in the text hears that revision 4 is saved and holds every live change:
    # once when saved, once more after the merged text (the document's edit) reached it.
    eventually(lambda: len(drafter.saves) == 2, what="the version is announced")
    assert [(s["revision"], s["unsaved"], s["author"]) for s in drafter.saves] == [
        (4, False, name_of(team.coordinator))
    ] * 2


def test_when_one_persons_changes_alone_overlap_a_classic_save_the_version_is_one_revision(
    serve: Serve, team: Team
) -> None:
    server = serve()
    drafter = editor(server, team, team.drafter)
    coordinator = editor(server, team, team.coordinator)
    drafter.append("Live words.\n")
    drafter.replace("First", "Initial")  # overlaps the classic save's "Opening"...
    eventually(lambda: stored_updates(team.letter) == 2)
    eventually(lambda: coordinator.body.startswith("Initial"))
    coordinator.replace("Initial", "Opening")  # ...which the coordinator's change undoes
    eventually(lambda: stored_updates(team.letter) == 3)
    classic_save(team, BODY.replace("First", "Opening"))
    save_version(server, team, team.drafter)
    # The drafter's step alone would not merge: one revision, by who saved, naming both.
    number, author, body, note = revisions(team.letter)[-1]
    assert (number, author, body) == (3, team.drafter, "Opening" + BODY[5:] + "Live words.\n")
    assert note == (
        f"Saved from live editing: changes by {name_of(team.drafter)}, {name_of(team.coordinator)}"
    )


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


def test_a_quiet_document_is_saved_automatically_one_revision_per_author(
    serve: Serve, team: Team
) -> None:
    server = serve(live_autosave_seconds=1)
    drafter = editor(server, team, team.drafter)
    coordinator = editor(server, team, team.coordinator)
    drafter.append("\nOne.\n")
    drafter.insert(0, "Two.\n\n")
    eventually(lambda: coordinator.body.startswith("Two.\n"))
    coordinator.append("\nThree.\n")
    eventually(lambda: len(revisions(team.letter)) == 3, timeout=10, what="auto-saved revisions")
    drafter_name, coordinator_name = name_of(team.drafter), name_of(team.coordinator)
    assert revisions(team.letter)[1:] == [
        (
            2,
            team.drafter,
            "Two.\n\n" + BODY + "\nOne.\n",
            f"Auto-saved from live editing: changes by {drafter_name}",
        ),
        (
            3,
            team.coordinator,
            "Two.\n\n" + BODY + "\nOne.\n\nThree.\n",
            f"Auto-saved from live editing: changes by {coordinator_name}",
        ),
    ]
    assert who_wrote_what(server, team) == {
        "<p>Two.</p>": (2, drafter_name),
        "<p>First paragraph.</p>": (1, coordinator_name),
        "<p>Second paragraph.</p>": (1, coordinator_name),
        "<p>One.</p>": (2, drafter_name),
        "<p>Three.</p>": (3, coordinator_name),
    }
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
