"""Letters through the test client: create, list, edit, history, diff, who wrote what."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from signon.core.permissions import TeamRole
from signon.extensions import db
from signon.letters.models import Letter, UnresolvedDraft
from tests.conftest import login
from tests.factories import add_revision, add_team_member, make_letter, make_organisation, make_user
from tests.letters.authorship import who_wrote_what

pytestmark = pytest.mark.usefixtures("app_context")

BASE = "Alpha paragraph one.\n\nBeta paragraph two.\n\nGamma paragraph three.\n"


def _edit(client: FlaskClient, letter: Letter, base_id: int, body: str, **extra: str):
    data = {"title": extra.pop("title", letter.title), "body": body, "base_revision": str(base_id)}
    data.update(extra)
    return client.post(f"/letters/{letter.slug}/edit", data=data)


def test_letters_list_shows_an_empty_state(client: FlaskClient) -> None:
    login(client, make_user())
    page = client.get("/letters/").get_data(as_text=True)
    assert "No letters yet" in page and "Start a letter" in page


def test_create_letter_through_the_form(client: FlaskClient) -> None:
    user = make_user()
    org = make_organisation("Drafting NGO", admin=user)
    login(client, user)
    assert "Drafting NGO" in client.get("/letters/new").get_data(as_text=True)
    response = client.post(
        "/letters/new",
        data={
            "title": "Joint statement on cooperation",
            "addressee": "Assembly of States Parties",
            "language": "en",
            "deadline": "2030-01-31T18:00",
            "drafting_organisation": str(org.id),
            "body": "We welcome the focus on asset recovery.",
        },
    )
    assert response.status_code == 302
    assert response.location == "/letters/joint-statement-on-cooperation/"
    page = client.get(response.location).get_data(as_text=True)
    assert "is created" in page
    assert "We welcome the focus on asset recovery." in page
    assert "Drafting NGO" in page
    listing = client.get("/letters/").get_data(as_text=True)
    assert "Joint statement on cooperation" in listing and "Coordinator" in listing


def test_create_letter_with_bad_input_keeps_what_was_typed(client: FlaskClient) -> None:
    login(client, make_user())
    response = client.post(
        "/letters/new",
        data={
            "title": "",
            "addressee": "The Assembly",
            "language": "en",
            "deadline": "tomorrow",
            "body": "My careful first draft",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This field is required." in page
    assert "Not a valid datetime value." in page
    assert "The Assembly" in page and "My careful first draft" in page
    assert db.session.query(Letter).count() == 0


def test_text_over_the_size_limit_is_refused_and_kept(client: FlaskClient, app) -> None:
    user = make_user()
    letter = make_letter(user, body=BASE)
    login(client, user)
    limit = app.config["SIGNON"].max_body_chars
    huge = "word " * (limit // 5 + 10)
    response = _edit(client, letter, letter.head().id, huge)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "the limit is" in page
    assert huge.strip()[:200] in page
    assert letter.head().number == 1


def test_edit_saves_a_revision_and_history_lists_it(client: FlaskClient) -> None:
    user = make_user(name="Alice Drafter")
    letter = make_letter(user, body=BASE)
    login(client, user)
    page = client.get(f"/letters/{letter.slug}/edit").get_data(as_text=True)
    assert 'name="base_revision"' in page and "Alpha paragraph one." in page
    response = _edit(
        client, letter, letter.head().id, BASE.replace("one", "ONE"), change_note="Capitals"
    )
    assert response.status_code == 302
    assert "Saved as revision 2." in client.get(response.location).get_data(as_text=True)
    history = client.get(f"/letters/{letter.slug}/revisions").get_data(as_text=True)
    assert "Revision 2" in history and "Capitals" in history and "Alice Drafter" in history


def test_save_based_on_an_unknown_revision_is_refused_and_keeps_the_text(
    client: FlaskClient,
) -> None:
    user = make_user()
    letter = make_letter(user, body=BASE)
    other = make_letter(user, body="Another letter")
    login(client, user)
    response = _edit(client, letter, other.head().id, "My precious edit")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "based on a version of the letter we do not know" in page
    assert "My precious edit" in page
    assert letter.head().number == 1


def test_concurrent_non_overlapping_edit_is_merged_and_user_is_told(client: FlaskClient) -> None:
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    letter = make_letter(alice, body=BASE)
    add_team_member(letter, role=TeamRole.DRAFTER, user=bob)
    base_id = letter.head().id
    add_revision(letter, alice, BASE.replace("Alpha", "ALPHA"))
    login(client, bob)
    response = _edit(client, letter, base_id, BASE.replace("Gamma", "GAMMA"))
    page = client.get(response.location).get_data(as_text=True)
    assert "Meanwhile Alice saved changes too" in page
    assert "ALPHA" in page and "GAMMA" in page


def test_conflict_page_keeps_both_versions_and_the_users_text(client: FlaskClient) -> None:
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    letter = make_letter(alice, body=BASE)
    add_team_member(letter, role=TeamRole.DRAFTER, user=bob)
    base_id = letter.head().id
    add_revision(letter, alice, BASE.replace("Beta paragraph two", "Beta by Alice"))
    login(client, bob)
    response = _edit(client, letter, base_id, BASE.replace("Beta paragraph two", "Beta by Bob"))
    assert response.status_code == 302 and "/drafts/" in response.location
    page = client.get(response.location).get_data(as_text=True)
    assert "Your text is kept" in page
    # The conflict within its paragraph, both versions marked against the original.
    assert "<p>Beta <del>paragraph two</del><ins>by Bob</ins>.</p>" in page
    assert "<p>Beta <del>paragraph two</del><ins>by Alice</ins>.</p>" in page
    assert "Beta by Bob" in page  # the whole text, in the editor below
    # Alice cannot see Bob's draft
    draft_url = response.location
    login(client, alice)
    assert client.get(draft_url).status_code == 404
    # Bob resolves it
    login(client, bob)
    draft_id = int(re.search(r"/drafts/(\d+)", draft_url).group(1))
    response = _edit(
        client,
        letter,
        letter.head().id,
        BASE.replace("Beta paragraph two", "Beta by Alice and Bob"),
        draft=str(draft_id),
    )
    assert response.status_code == 302
    assert db.session.get(UnresolvedDraft, draft_id).resolved_at is not None
    assert "Beta by Alice and Bob" in letter.head().body_markdown


def test_diff_marks_added_and_removed_words(client: FlaskClient) -> None:
    user = make_user()
    letter = make_letter(user, body="The cat sat on the mat.\n")
    add_revision(letter, user, "The dog sat on the mat.\n")
    login(client, user)
    page = client.get(f"/letters/{letter.slug}/diff?from=1&to=2").get_data(as_text=True)
    assert "<del>cat</del>" in page and "<ins>dog</ins>" in page
    assert "1 word added" in page and "1 word removed" in page


def test_compare_shows_the_formatted_text_with_changes_marked_inside(client: FlaskClient) -> None:
    user = make_user()
    old = "## Climate finance\n\n**Dear Ministers**, we urge you.\n\n- one\n- two\n"
    new = "## Climate finance now\n\n**Dear Ministers**, we strongly urge you.\n\n- one\n- three\n"
    letter = make_letter(user, body=old)
    add_revision(letter, user, new)
    login(client, user)
    page = client.get(f"/letters/{letter.slug}/diff?from=1&to=2").get_data(as_text=True)
    assert "<h2>Climate finance <ins>now</ins></h2>" in page
    assert "<strong>Dear Ministers</strong>, we <ins>strongly</ins> urge you." in page
    assert "<li><del>two</del><ins>three</ins></li>" in page
    assert "## " not in page and "**" not in page


def test_diff_with_unknown_revisions_falls_back_to_the_latest_change(client: FlaskClient) -> None:
    user = make_user()
    letter = make_letter(user, body="One.\n")
    add_revision(letter, user, "Two.\n")
    login(client, user)
    response = client.get(f"/letters/{letter.slug}/diff?from=7&to=99")
    assert response.status_code == 200
    assert "Choose two revisions" in response.get_data(as_text=True)


def test_who_wrote_what_attributes_paragraphs(client: FlaskClient) -> None:
    alice, bob = make_user(name="Alice Author"), make_user(name="Bob Builder")
    letter = make_letter(alice, body="First by Alice.\n\nSecond by Alice.\n")
    add_revision(letter, bob, "First by Alice.\n\nSecond rewritten by Bob.\n")
    login(client, alice)
    page = client.get(f"/letters/{letter.slug}/authorship").get_data(as_text=True)
    assert who_wrote_what(page) == {
        "<p>First by Alice.</p>": (1, "Alice Author"),
        "<p>Second rewritten by Bob.</p>": (2, "Bob Builder"),
    }


def test_who_wrote_what_shows_each_paragraph_formatted(client: FlaskClient) -> None:
    alice = make_user()
    body = (
        "## Climate finance\n\n**Dear Ministers**, see [the Court](https://icc.example.org).\n\n"
        "- first point\n- second <script>x</script>\n"
    )
    letter = make_letter(alice, body=body)
    login(client, alice)
    page = client.get(f"/letters/{letter.slug}/authorship").get_data(as_text=True)
    assert "<h2>Climate finance</h2>" in page
    assert "<strong>Dear Ministers</strong>" in page
    assert '<a href="https://icc.example.org"' in page
    assert "<li>first point</li>" in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    assert "## " not in page and "**" not in page


def test_who_wrote_what_shows_tables_code_and_wrapped_paragraphs_whole(
    client: FlaskClient,
) -> None:
    """A block over several lines is one row, formatted, credited to whoever last changed
    one of its lines: a table was shown as "| a | b |" and "|---|", a paragraph wrapped
    over two lines as two paragraphs."""
    alice, bob = make_user(name="Alice Author"), make_user(name="Bob Builder")
    body = (
        "We urge the Court\nto act now.\n\n| Country | Pledge |\n|---|---|\n| Chile | 5 |\n\n"
        "```\nkeep  spacing\n```\n\n- top\n  - nested\n"
    )
    letter = make_letter(alice, body=body)
    add_revision(letter, bob, body.replace("| Chile | 5 |", "| Chile | 7 |"))
    login(client, alice)
    page = client.get(f"/letters/{letter.slug}/authorship").get_data(as_text=True)
    rows = who_wrote_what(page)
    assert rows["<p>We urge the Court\nto act now.</p>"] == (1, "Alice Author")
    assert rows["<pre><code>keep  spacing\n</code></pre>"] == (1, "Alice Author")
    # the table is one row of the page (the reader above stops at its first cell)
    (table_row,) = [row for row in page.split('<td class="who">') if "<table>" in row]
    assert "Bob Builder" in table_row and "Revision 2" in table_row
    assert "<td>Chile</td>" in table_row and "<td>7</td>" in table_row
    assert "|---|" not in page and "```" not in page and "| Chile" not in page
    assert page.count('<td class="who">') == 5  # paragraph, table, code, each list item


def test_team_management(client: FlaskClient) -> None:
    coordinator, colleague = make_user(), make_user(email="colleague@example.org", name="Colleague")
    org = make_organisation("Partner NGO")
    letter = make_letter(coordinator)
    login(client, coordinator)
    response = client.post(
        f"/letters/{letter.slug}/team/users",
        data={"user-email": "colleague@example.org", "user-role": "drafter"},
    )
    assert response.status_code == 302
    # invited, not yet added: the answer says nothing about whether an account exists
    assert letter.role_of(colleague) is None
    response = client.post(
        f"/letters/{letter.slug}/team/users",
        data={"user-email": "not an address", "user-role": "drafter"},
    )
    assert "not an address" in response.get_data(as_text=True)
    response = client.post(
        f"/letters/{letter.slug}/team/organisations",
        data={"org-organisation": str(org.id), "org-role": "viewer", "org-drafting": "y"},
    )
    assert response.status_code == 302
    member = next(m for m in letter.team if m.organisation_id == org.id)
    assert member.role == TeamRole.VIEWER and member.is_drafting_organisation
    client.post(f"/letters/{letter.slug}/team/{member.id}/role", data={"role": "coordinator"})
    assert str(member.role) == "coordinator"
    client.post(f"/letters/{letter.slug}/team/{member.id}/remove")
    assert all(m.organisation_id != org.id for m in letter.team)


def test_removing_the_last_coordinator_is_explained(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    login(client, coordinator)
    (member,) = letter.team
    response = client.post(f"/letters/{letter.slug}/team/{member.id}/remove", follow_redirects=True)
    assert "at least one coordinator" in response.get_data(as_text=True)
    assert letter.role_of(coordinator) == TeamRole.COORDINATOR


def test_settings_update_deadline_in_the_readers_time_zone(client: FlaskClient) -> None:
    coordinator = make_user(timezone="Europe/Paris")
    letter = make_letter(coordinator)
    login(client, coordinator)
    response = client.post(
        f"/letters/{letter.slug}/settings",
        data={
            "addressee": "UN Human Rights Council",
            "language": "fr",
            "deadline": "2030-06-01T12:00",
        },
    )
    assert response.status_code == 302
    assert letter.addressee == "UN Human Rights Council" and letter.language == "fr"
    assert letter.deadline.isoformat() == "2030-06-01T10:00:00+00:00"
    page = client.get(f"/letters/{letter.slug}/settings").get_data(as_text=True)
    assert 'value="2030-06-01T12:00"' in page


def test_an_arabic_letter_reads_right_to_left_on_every_page_that_shows_its_text(
    client: FlaskClient,
) -> None:
    """The text and its diffs carry dir="rtl" for a right-to-left language: without it a
    list's bullets and a sentence's final full stop sat on the wrong side."""
    user = make_user()
    letter = make_letter(user, body="نحن ندعو الدول.\n\n- أولا\n", language="ar")
    add_revision(letter, user, "نحن ندعو جميع الدول.\n\n- أولا\n")
    login(client, user)
    for path in ("", "revisions/2", "diff", "authorship", "changes"):
        page = client.get(f"/letters/{letter.slug}/{path}").get_data(as_text=True)
        texts = re.findall(r'<(?:article|div|td) class="[^"]*letter-text[^"]*"[^>]*>', page)
        assert texts, path
        assert all('dir="rtl"' in tag and 'lang="ar"' in tag for tag in texts), (path, texts)
    english = make_letter(user, body="We call.\n")
    page = client.get(f"/letters/{english.slug}/").get_data(as_text=True)
    assert 'lang="en" dir="ltr"' in page
