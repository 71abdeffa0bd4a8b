"""Comments through the Flask test client: the letter page, the editor, the invitation page.
Everything works without JavaScript: a form per action."""

from __future__ import annotations

import re
import time

import pytest
from flask.testing import FlaskClient

from signon.core.http_cache import PRIVATE
from signon.core.permissions import TeamRole
from signon.drafting import anchors
from signon.drafting.comments import operations as ops
from signon.drafting.comments import queries
from signon.drafting.comments.models import CommentThread
from signon.extensions import db
from signon.letters.models import LetterStatus, Notice
from signon.letters.operations import save_revision
from tests.conftest import login
from tests.drafting.comments.helpers import BODY, comment_on, open_to_invitees, team_letter
from tests.factories import add_team_member, make_letter, make_organisation, make_user
from tests.querycount import count_queries
from tests.signatures.factories import sign_path

pytestmark = pytest.mark.usefixtures("app_context")


def _page(client: FlaskClient, slug: str) -> str:
    response = client.get(f"/letters/{slug}/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_drafter_comments_replies_resolves_and_reopens(client: FlaskClient) -> None:
    team = team_letter()
    slug = team.letter.slug
    login(client, team.drafter)
    page = _page(client, slug)
    assert 'id="comments"' in page and 'name="comment-quote"' in page
    assert "js/comments.js" in page
    response = client.post(
        f"/letters/{slug}/comments",
        data={
            "comment-revision": "1",
            "comment-quote": "public hearing",
            "comment-prefix": "for a ",
            "comment-suffix": " before",
            "comment-body": "Which <b>ministry</b>?",
        },
    )
    thread = db.session.scalars(
        db.select(CommentThread).where(CommentThread.letter_id == team.letter.id)
    ).one()
    assert response.status_code == 302
    assert response.location.endswith(f"/letters/{slug}/#thread-{thread.id}")
    page = _page(client, slug)
    assert "Which &lt;b&gt;ministry&lt;/b&gt;?" in page, "comment text is escaped, not rendered"
    assert "<b>ministry</b>" not in page
    assert f'id="thread-{thread.id}"' in page and "public hearing" in page

    response = client.post(
        f"/letters/{slug}/comments/{thread.id}/replies",
        data={f"reply-{thread.id}-body": "The environment ministry."},
    )
    assert response.status_code == 302
    assert "The environment ministry." in _page(client, slug)
    client.post(f"/letters/{slug}/comments/{thread.id}/resolve")
    db.session.refresh(thread)
    assert thread.is_resolved
    assert "Resolved by Dan Drafter" in _page(client, slug)
    client.post(f"/letters/{slug}/comments/{thread.id}/reopen")
    db.session.refresh(thread)
    assert not thread.is_resolved


def test_words_not_in_the_text_are_refused_with_a_message(client: FlaskClient) -> None:
    team = team_letter()
    login(client, team.drafter)
    response = client.post(
        f"/letters/{team.letter.slug}/comments",
        data={"comment-revision": "1", "comment-quote": "nowhere", "comment-body": "?"},
        follow_redirects=True,
    )
    assert "not in the text of revision 1" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(CommentThread.id))) == 0


def test_a_removed_passage_is_shown_with_its_old_text(client: FlaskClient) -> None:
    team = team_letter()
    comment_on(team, "feeds three cities", "Which cities?")
    login(client, team.drafter)
    head = team.letter.head()
    client.post(
        f"/letters/{team.letter.slug}/edit",
        data={
            "title": team.letter.title,
            "body": BODY.replace("The river basin feeds three cities and their farms.\n\n", ""),
            "base_revision": str(head.id),
        },
    )
    assert team.letter.head().number == 2
    page = _page(client, team.letter.slug)
    assert "Passage removed" in page and "in revision 2" in page
    assert "feeds three cities" in page and "Which cities?" in page


MARKUP_BODY = (
    "We call on the ministry to protect the river basin.\n\n"
    "The **river** basin feeds [three cities](https://example.org/cities) and their farms.\n"
)


def _quotes(page: str) -> list[str]:
    return re.findall(r'<blockquote class="comment-quote"[^>]*>([^<]*)</blockquote>', page)


def test_a_passage_across_markup_is_shown_as_the_reader_sees_it(client: FlaskClient) -> None:
    """Issue 13: the thread's passage is the words of the page, not its Markdown (no
    asterisks, no link address), on the team's page, the invitee's and in the notice;
    the stored anchor stays the Markdown."""
    team = team_letter(MARKUP_BODY)
    open_to_invitees(team)
    head = team.letter.head()
    across = ops.start_thread(
        team.letter,
        head,
        quote="river basin feeds three",
        prefix="The ",
        suffix=" cities and",
        body="Which cities? @cora",
        author=team.drafter,
    )
    assert across.quote == "river** basin feeds [three"
    into_link = ops.start_thread(
        team.letter,
        head,
        quote="feeds three cities and",
        body="Name them",
        invitation=team.invitation,
    )
    assert into_link.quote == "feeds [three cities](https://example.org/cities) and"
    login(client, team.drafter)
    page = _page(client, team.letter.slug)
    assert _quotes(page) == ["river basin feeds three", "feeds three cities and"]
    assert "Comments on “river basin feeds three”" in page
    assert "river** basin" not in page and "cities](" not in page
    # The page's script still marks the passage by its words.
    assert 'data-comment-words="river basin feeds three"' in page
    invitee = client.application.test_client()
    assert _quotes(invitee.get(sign_path(team.invitation)).get_data(as_text=True)) == [
        "feeds three cities and"
    ]
    summaries = db.session.scalars(
        db.select(Notice.summary).where(Notice.letter_id == team.letter.id).order_by(Notice.id)
    ).all()
    assert summaries == [
        "Dan Drafter mentioned you in a comment on “river basin feeds three”: Which cities? @cora",
        "River Friends commented on “feeds three cities and”: Name them",
    ]


def test_a_removed_passage_across_markup_is_shown_as_the_reader_saw_it(
    client: FlaskClient,
) -> None:
    team = team_letter(MARKUP_BODY)
    comment_on(team, "river basin feeds three cities")
    save_revision(
        team.letter,
        team.drafter,
        base=team.letter.head(),
        title=team.letter.title,
        body="We call on the ministry to protect the river basin.\n",
    )
    login(client, team.drafter)
    page = _page(client, team.letter.slug)
    assert "Passage removed" in page
    assert _quotes(page) == ["river basin feeds three cities"]


def test_viewers_read_comments_without_forms(client: FlaskClient) -> None:
    team = team_letter()
    comment_on(team, "public hearing", "A date?")
    login(client, team.viewer)
    page = _page(client, team.letter.slug)
    assert "A date?" in page
    assert 'name="comment-quote"' not in page
    assert "/replies" not in page and "/resolve" not in page


@pytest.mark.parametrize("status", [LetterStatus.OPEN, LetterStatus.CLOSED])
def test_a_frozen_or_closed_letter_shows_comments_closed_and_refuses_every_change(
    client: FlaskClient, status: LetterStatus
) -> None:
    team = team_letter()
    thread = comment_on(team, "public hearing", "A date?")
    resolved = comment_on(team, "river basin", "Which one?")
    ops.resolve_thread(resolved, team.drafter)
    team.letter.status = status
    db.session.flush()
    login(client, team.drafter)
    page = _page(client, team.letter.slug)
    assert "Comments on the text are closed" in page
    assert 'name="comment-quote"' not in page and f"reply-{thread.id}-body" not in page
    assert "/resolve" not in page and "/reopen" not in page
    base = f"/letters/{team.letter.slug}/comments"
    client.post(f"{base}/{thread.id}/replies", data={f"reply-{thread.id}-body": "Sneaking in"})
    refused = client.post(f"{base}/{thread.id}/resolve", follow_redirects=True)
    assert "neither resolved nor reopened" in refused.get_data(as_text=True)
    client.post(f"{base}/{resolved.id}/reopen")
    db.session.refresh(thread)
    db.session.refresh(resolved)
    assert len(thread.comments) == 1
    assert not thread.is_resolved and resolved.is_resolved


def test_comments_kept_open_on_a_frozen_letter_can_be_resolved_and_reopened(
    client: FlaskClient,
) -> None:
    team = team_letter()
    ops.update_settings(
        team.letter,
        invitees_may_comment=False,
        on_frozen=True,
        actor=team.coordinator,
        seen_revision=None,
    )
    thread = comment_on(team, "public hearing", "A date?")
    team.letter.status = LetterStatus.OPEN
    db.session.flush()
    login(client, team.drafter)
    page = _page(client, team.letter.slug)
    assert "Comments on the text are closed" not in page
    assert f"{thread.id}/resolve" in page and f"reply-{thread.id}-body" in page
    client.post(f"/letters/{team.letter.slug}/comments/{thread.id}/resolve")
    db.session.refresh(thread)
    assert thread.is_resolved
    assert f"{thread.id}/reopen" in _page(client, team.letter.slug)


def test_the_editor_offers_a_comment_form_posting_in_the_background(client: FlaskClient) -> None:
    team = team_letter()
    login(client, team.drafter)
    page = client.get(f"/letters/{team.letter.slug}/edit").get_data(as_text=True)
    assert "data-comment-async" in page and 'name="comment-body"' in page
    # The comment form is not inside the editor's form.
    edit_form = re.search(r'<form[^>]*class="edit-form".*?</form>', page, re.S)
    assert edit_form is not None and "comment-body" not in edit_form.group(0)


def test_the_coordinator_opens_a_revision_to_invitees(client: FlaskClient) -> None:
    team = team_letter()
    login(client, team.coordinator)
    assert "Comment settings" in _page(client, team.letter.slug)
    response = client.post(
        f"/letters/{team.letter.slug}/comments/settings", data={"invitees": "y", "revision": "1"}
    )
    assert response.status_code == 302
    invitee = client.application.test_client()
    page = invitee.get(sign_path(team.invitation)).get_data(as_text=True)
    assert 'id="comments"' in page and "Only your organisation and the letter" in page
    token_path = sign_path(team.invitation, "/comments")
    response = invitee.post(
        token_path,
        data={"comment-revision": "1", "comment-quote": "river basin", "comment-body": "Ours?"},
    )
    assert response.status_code == 302 and "/sign/" in response.location
    assert response.headers["Cache-Control"] == "no-store"
    page = invitee.get(sign_path(team.invitation)).get_data(as_text=True)
    assert "Ours?" in page and "River Friends" in page


def test_an_invitee_never_sees_internal_threads_or_other_organisations(
    client: FlaskClient,
) -> None:
    team = team_letter()
    open_to_invitees(team)
    comment_on(team, "river basin", "INTERNAL: drop this sentence?")

    ops.start_thread(
        team.letter,
        team.letter.head(),
        quote="public hearing",
        body="OTHER ORG: when?",
        invitation=team.other_invitation,
    )
    mine = ops.start_thread(
        team.letter,
        team.letter.head(),
        quote="three cities",
        body="MINE: name them",
        invitation=team.invitation,
    )
    ops.reply(mine, body="COORDINATOR: will do", author=team.coordinator)
    page = client.get(sign_path(team.invitation)).get_data(as_text=True)
    assert "MINE: name them" in page and "COORDINATOR: will do" in page
    assert "INTERNAL" not in page and "OTHER ORG" not in page
    # The team sees them all.
    login(client, team.drafter)
    page = _page(client, team.letter.slug)
    assert all(text in page for text in ("INTERNAL", "OTHER ORG", "MINE", "COORDINATOR"))


def test_an_invitee_resolves_and_reopens_its_own_thread_and_the_team_sees_who(
    client: FlaskClient,
) -> None:
    team = team_letter()
    open_to_invitees(team)
    mine = ops.start_thread(
        team.letter,
        team.letter.head(),
        quote="three cities",
        body="Name them",
        invitation=team.invitation,
    )
    theirs = ops.start_thread(
        team.letter,
        team.letter.head(),
        quote="river basin",
        body="Which?",
        invitation=team.other_invitation,
    )
    page = client.get(sign_path(team.invitation)).get_data(as_text=True)
    assert sign_path(team.invitation, f"/comments/{mine.id}/resolve") in page
    assert f"/comments/{theirs.id}/" not in page
    response = client.post(sign_path(team.invitation, f"/comments/{mine.id}/resolve"))
    assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"
    page = client.get(sign_path(team.invitation)).get_data(as_text=True)
    assert "Resolved by River Friends" in page
    assert sign_path(team.invitation, f"/comments/{mine.id}/reopen") in page
    # The team sees who resolved it; a drafter may reopen it (but not reply there).
    login(client, team.drafter)
    page = _page(client, team.letter.slug)
    assert "Resolved by River Friends" in page
    assert f"/comments/{mine.id}/reopen" in page and f"reply-{mine.id}-body" not in page
    assert f"/comments/{theirs.id}/resolve" in page and f"reply-{theirs.id}-body" not in page


def test_the_mention_list_is_the_letters_team_by_name_and_handle_only(
    client: FlaskClient,
) -> None:
    team = team_letter()
    colleague = make_user(name="Olga O'Brien", email="olga.obrien@partner.example.org")
    add_team_member(
        team.letter,
        role=TeamRole.VIEWER,
        organisation=make_organisation("Partner NGO", members=(colleague,)),
    )
    make_user(name="Otto Outsider")  # on no team
    make_letter(make_user(name="Zoe Elsewhere"))  # another letter's team
    login(client, team.drafter)
    response = client.get(f"/letters/{team.letter.slug}/comments/people")
    assert response.status_code == 200 and response.is_json
    assert response.headers["Cache-Control"] == PRIVATE
    people = response.get_json()["people"]
    # The team (people with a role and the members of its organisations), by name, without
    # the reader; names and handles, never an address.
    assert people == [
        {"name": "Cora Coordinator", "handle": "CoraCoordinator"},
        {"name": "Olga O'Brien", "handle": "OlgaOBrien"},
        {"name": "Vera Viewer", "handle": "VeraViewer"},
    ]
    assert "@" not in response.get_data(as_text=True)
    assert "Zoe" not in response.get_data(as_text=True)
    assert "Otto" not in response.get_data(as_text=True)
    # Each handle written by the autocomplete names that person and nobody else.
    for person in people:
        found = queries.mentioned_people(team.letter, f"Please look, @{person['handle']}.")
        assert [p.display_name for p in found] == [person["name"]]
    # The comment fields of the team's pages use it; the invitation page's do not.
    page = _page(client, team.letter.slug)
    assert f'data-mentions="/letters/{team.letter.slug}/comments/people"' in page
    open_to_invitees(team)
    invitee = client.application.test_client()
    assert "data-mentions" not in invitee.get(sign_path(team.invitation)).get_data(as_text=True)


def test_the_invitation_page_has_no_comments_until_opened(client: FlaskClient) -> None:
    team = team_letter()
    page = client.get(sign_path(team.invitation)).get_data(as_text=True)
    assert 'id="comments"' not in page
    response = client.post(
        sign_path(team.invitation, "/comments"),
        data={"comment-revision": "1", "comment-quote": "river basin", "comment-body": "?"},
        follow_redirects=True,
    )
    assert "not open" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(CommentThread.id))) == 0


def _letter_page_cost(client: FlaskClient, slug: str) -> tuple[int, float]:
    with count_queries() as counter:
        started = time.perf_counter()
        assert client.get(f"/letters/{slug}/").status_code == 200
        elapsed = time.perf_counter() - started
    return counter.count, elapsed


def test_the_letter_page_reads_comments_in_a_fixed_number_of_queries_without_diffing(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads are carried when a revision is saved; a page view diffs nothing and asks
    the database the same number of times for 1 thread as for 40 over 10 revisions."""
    team = team_letter()
    login(client, team.drafter)
    first = comment_on(team, "public hearing")
    ops.resolve_thread(first, team.coordinator)
    one, _ = _letter_page_cost(client, team.letter.slug)
    body = BODY
    for n in range(10):
        for quote in ("river basin", "three cities", "the end", "ministry"):
            comment_on(team, quote, f"Comment {n}", by=team.coordinator)
        body = f"Preface {n}.\n\n" + body
        head = team.letter.head()
        save_revision(team.letter, team.drafter, base=head, title=team.letter.title, body=body)
    diffs: list[tuple[str, str]] = []
    real = anchors._char_opcodes

    def counted(old_body: str, new_body: str) -> object:
        diffs.append((old_body, new_body))
        return real(old_body, new_body)

    monkeypatch.setattr(anchors, "_char_opcodes", counted)
    many, _ = _letter_page_cost(client, team.letter.slug)
    assert many == one
    assert diffs == [], "the page view diffed revisions"
