"""An invited organisation writes only while the coordinators let invitees comment.

The coordinators open the current revision to invited organisations' comments (*Comment
settings*); a new revision, or unticking it, closes it. Before, that closed new threads
only: the organisation kept replying in its own threads (each reply a notice to the team,
30 a minute), and resolving and reopening them, through its link, while its page said
"The coordinators have not opened this revision to comments", so the coordinators could
not stop an organisation's comments short of revoking its invitation. One rule now
(``queries.may_reply`` / ``may_settle``, through ``invitees_may_comment``): the
operations refuse, the link's routes refuse, and the page offers no form.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from signon.drafting.comments import operations as ops
from signon.drafting.comments.models import Comment, CommentSettings, CommentThread
from signon.drafting.comments.operations import CommentError
from signon.extensions import db
from signon.letters.operations import save_revision
from tests.conftest import login
from tests.drafting.comments.helpers import BODY, Team, open_to_invitees, team_letter
from tests.signatures.factories import sign_path


def _own_thread(team: Team) -> CommentThread:
    open_to_invitees(team)
    return ops.start_thread(
        team.letter,
        team.letter.head(),
        quote="three cities",
        body="Name them.",
        invitation=team.invitation,
    )


def _close_by_settings(team: Team) -> None:
    ops.update_settings(
        team.letter,
        invitees_may_comment=False,
        on_frozen=True,
        actor=team.coordinator,
        seen_revision=None,
    )


def _close_by_new_revision(team: Team) -> None:
    head = team.letter.head()
    assert head is not None
    save_revision(
        team.letter, team.drafter, base=head, title=head.title, body="Preface.\n\n" + BODY
    )


CLOSINGS = {"settings": _close_by_settings, "new_revision": _close_by_new_revision}


def _comments(thread: CommentThread) -> int:
    query = select(func.count()).select_from(Comment).where(Comment.thread_id == thread.id)
    return db.session.scalar(query) or 0


@pytest.mark.parametrize("closing", CLOSINGS)
def test_an_organisation_no_longer_replies_resolves_or_reopens_once_closed(closing: str) -> None:
    team = team_letter()
    thread = _own_thread(team)
    ops.resolve_thread(thread, invitation=team.invitation)
    CLOSINGS[closing](team)
    with pytest.raises(CommentError, match="not open"):
        ops.reply(thread, body="And another thing.", invitation=team.invitation)
    with pytest.raises(CommentError, match="not open"):
        ops.reopen_thread(thread, invitation=team.invitation)
    assert _comments(thread) == 1 and thread.is_resolved
    # the coordinators still answer it, and the team still settles it
    ops.reply(thread, body="We will.", author=team.coordinator)
    ops.reopen_thread(thread, team.drafter)
    # opened again: the organisation writes again
    open_to_invitees(team)
    ops.reply(thread, body="Thanks.", invitation=team.invitation)
    assert _comments(thread) == 3


@pytest.mark.parametrize("closing", CLOSINGS)
def test_the_link_refuses_and_the_page_offers_no_form_once_closed(
    client: FlaskClient, closing: str
) -> None:
    team = team_letter()
    thread = _own_thread(team)
    page = client.get(sign_path(team.invitation)).get_data(as_text=True)
    assert f"reply-{thread.id}-body" in page  # open: the form is there
    CLOSINGS[closing](team)
    page = client.get(sign_path(team.invitation)).get_data(as_text=True)
    assert "Name them." in page  # its thread is still shown
    assert f"reply-{thread.id}-body" not in page
    assert sign_path(team.invitation, f"/comments/{thread.id}/resolve") not in page
    response = client.post(
        sign_path(team.invitation, f"/comments/{thread.id}/replies"),
        data={f"reply-{thread.id}-body": "Still here."},
    )
    assert response.status_code == 302
    response = client.post(sign_path(team.invitation, f"/comments/{thread.id}/resolve"))
    assert response.status_code == 302
    db.session.expire_all()
    assert _comments(thread) == 1
    assert not db.session.get(CommentThread, thread.id).is_resolved  # type: ignore[union-attr]


def test_a_revision_saved_meanwhile_is_not_opened_to_invitees_unseen(
    client: FlaskClient,
) -> None:
    """The settings say "Opens revision 1 (the current text)"; a revision saved while the
    coordinator read the page (the live text saves itself every few minutes) was opened
    in its place, unseen. Now opening it is refused until the page shows it."""
    team = team_letter()
    login(client, team.coordinator)
    page = client.get(f"/letters/{team.letter.slug}/").get_data(as_text=True)
    assert "Opens revision 1 (the current text)" in page
    assert 'name="revision" type="hidden" value="1"' in page
    _close_by_new_revision(team)  # revision 2, saved meanwhile
    response = client.post(
        f"/letters/{team.letter.slug}/comments/settings",
        data={"invitees": "y", "revision": "1"},
        follow_redirects=True,
    )
    assert "Revision 2 was saved after you opened this page" in response.get_data(as_text=True)
    settings = db.session.get(CommentSettings, team.letter.id)
    assert settings is None or settings.invitees_revision_id is None
    page = client.get(f"/letters/{team.letter.slug}/").get_data(as_text=True)
    assert 'name="revision" type="hidden" value="2"' in page
    client.post(
        f"/letters/{team.letter.slug}/comments/settings", data={"invitees": "y", "revision": "2"}
    )
    db.session.expire_all()
    settings = db.session.get(CommentSettings, team.letter.id)
    assert settings is not None and settings.invitees_revision_id == team.letter.head().id  # type: ignore[union-attr]


def test_the_organisation_is_not_told_which_drafter_resolved_its_thread(
    client: FlaskClient,
) -> None:
    """An organisation reads its own comments and the coordinators' replies, never the
    team's internal words: a drafter (who may resolve its thread, not answer it) is not
    named to it. The team's page still says who."""
    team = team_letter()
    thread = _own_thread(team)
    ops.resolve_thread(thread, team.drafter)
    page = client.get(sign_path(team.invitation)).get_data(as_text=True)
    assert "Resolved by the drafting team" in page
    assert team.drafter.display_name not in page
    login(client, team.drafter)
    page = client.get(f"/letters/{team.letter.slug}/").get_data(as_text=True)
    assert f"Resolved by {team.drafter.display_name}" in page
