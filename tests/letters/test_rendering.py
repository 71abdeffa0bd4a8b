"""Issue 9, item 12: viewing cost is bounded.

Each revision's HTML is rendered once, when the revision is made, and every page reads
the stored copy; a letter's text has a length bound, checked on the form and again by
the operation that stores a revision (a merge of two edits can grow past it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markdown_it import MarkdownIt

from signon.core import markdown
from signon.extensions import db
from signon.letters import operations
from signon.letters.models import Letter, Revision
from signon.letters.operations import LetterError
from tests.conftest import login
from tests.factories import add_revision, make_user
from tests.signatures.factories import make_public_letter

pytestmark = pytest.mark.usefixtures("app_context")


@pytest.fixture
def render_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The texts the Markdown parser rendered during the test (the real parser runs)."""
    calls: list[str] = []
    real: Callable[..., str] = MarkdownIt.render.__get__(markdown._parser)

    def counting(text: str, *args: object, **kwargs: object) -> str:
        calls.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(markdown._parser, "render", counting)
    yield calls


def _limit(app: Flask) -> int:
    return int(app.config["SIGNON"].max_body_chars)


def test_a_revision_stores_its_sanitised_html_when_made() -> None:
    letter = make_public_letter(
        body="We **call** for <script>alert(1)</script> [action](https://example.org).\n"
    )
    head = letter.head()
    assert head is not None
    assert "<strong>call</strong>" in head.html
    assert "<script" not in head.html
    assert 'rel="noopener noreferrer nofollow"' in head.html
    assert head.body_html == head.html


def test_page_views_do_not_render_the_text_again(
    client: FlaskClient, render_calls: list[str]
) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator, body="First *words*.\n")
    add_revision(letter, coordinator, "Second *words*.\n")
    assert len(render_calls) == 2  # once per revision, when it was made
    db.session.expire_all()  # pages load the revisions afresh from the database
    login(client, coordinator)
    pages = [f"/p/{letter.slug}", f"/letters/{letter.slug}/", f"/letters/{letter.slug}/revisions/1"]
    for _ in range(3):
        for path in pages:
            response = client.get(path)
            assert response.status_code == 200, path
            assert "<em>words</em>" in response.get_data(as_text=True)
    assert len(render_calls) == 2


def test_saving_renders_the_new_revision_once(render_calls: list[str]) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator, body="One.\n")
    head = letter.head()
    assert head is not None
    before = len(render_calls)
    result = operations.save_revision(
        letter, coordinator, base=head, title=head.title, body="Two.\n"
    )
    assert result.revision is not None and result.revision.html == "<p>Two.</p>\n"
    assert render_calls[before:] == ["Two.\n"]


def test_pathological_text_is_refused_on_the_form_and_kept(client: FlaskClient, app: Flask) -> None:
    coordinator = make_user()
    letter = make_public_letter(coordinator, body="Short.\n")
    login(client, coordinator)
    head = letter.head()
    assert head is not None
    typed = "![" * (_limit(app) // 2 + 1)
    response = client.post(
        f"/letters/{letter.slug}/edit",
        data={"title": letter.title, "body": typed, "base_revision": str(head.id)},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"The text is {len(typed):,} characters long; the limit is {_limit(app):,}." in page
    assert typed in page  # what was typed is back in the editor
    assert db.session.query(Revision).filter_by(letter_id=letter.id).count() == 1


def test_a_new_letter_with_too_long_a_text_is_refused_and_kept(
    client: FlaskClient, app: Flask
) -> None:
    login(client, make_user())
    typed = "[" * (_limit(app) + 1)
    response = client.post("/letters/new", data={"title": "Too long", "body": typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "the limit is" in page and typed in page
    assert db.session.query(Letter).filter_by(title="Too long").count() == 0


def test_a_merge_that_grows_past_the_bound_is_refused(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each edit is within the bound; the two merged are not. Nothing is stored."""
    monkeypatch.setitem(app.config, "SIGNON", app.config["SIGNON"].with_(max_body_chars=120))
    coordinator, colleague = make_user(), make_user()
    base_text = "Middle.\n"
    letter = make_public_letter(coordinator, body=base_text)
    base = letter.head()
    assert base is not None
    theirs = base_text + "\n" + "They added a long closing paragraph here. " * 2 + "\n"
    saved = operations.save_revision(letter, colleague, base=base, title=base.title, body=theirs)
    assert saved.revision is not None and len(theirs) <= 120
    ours = "We added a long opening paragraph there. " * 2 + "\n\n" + base_text
    assert len(ours) <= 120
    with pytest.raises(LetterError, match="the limit is 120"):
        operations.save_revision(letter, coordinator, base=base, title=base.title, body=ours)
    assert db.session.query(Revision).filter_by(letter_id=letter.id).count() == 2
