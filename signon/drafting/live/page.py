"""What the letter editor's page needs to offer live editing (the browser side).

``live_editing(letter)`` is a template global: templates/letters/_edit_form.html passes
its answer to templates/drafting/live/_panel.html, whose static/js/live.js opens the
socket and binds the editor to the shared text. The letters package links to drafting by
template name only (it never imports drafting); the answer is None when the person may
not use the live document (frozen letter, no role), and the page is then the classic form.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_login import current_user

from signon.core.sessions import browser_draft_name
from signon.drafting.blueprint import bp
from signon.drafting.live import queries
from signon.drafting.live.queries import Access
from signon.drafting.live.views import live_socket_url
from signon.letters.models import Letter, LetterStatus


@dataclass(frozen=True)
class LivePanel:
    #: The socket's ws(s):// address (on ``SIGNON_LIVE_URL`` when that is set).
    url: str
    #: "Save version" (POST, CSRF).
    save_url: str
    #: Shown to the others next to this person's caret.
    name: str
    #: A viewer follows the text but cannot change it.
    readonly: bool
    #: Where the page keeps the changes the server has not confirmed yet (localStorage,
    #: static/js/live.js): per person and letter (``core.sessions.browser_draft_name``), so
    #: that someone else logging in on the same browser never sends them under their own
    #: name, and logging out deletes them.
    store: str


@bp.app_template_global()
def live_editing(letter: Letter) -> LivePanel | None:
    if not current_user.is_authenticated:
        return None
    access = queries.access_of(letter.id, current_user.id)
    if access == Access.NONE:
        return None
    return LivePanel(
        url=live_socket_url(letter.slug),
        save_url=url_for("drafting.live_save", slug=letter.slug),
        name=current_user.display_name,
        readonly=access != Access.WRITE,
        store=browser_draft_name(letter.id),
    )


@bp.app_template_global()
def live_unsaved(letter: Letter) -> bool:
    """Whether the letter's live text has changes in no revision yet (the letter page
    then says so beside its link to the live text, drafting.live_follow)."""
    return letter.status == LetterStatus.DRAFTING and queries.has_unsaved_changes(letter.id)
