"""Comment routes: the team's (on the letter page and in the editor) and an invited
organisation's (through its invitation link).

Team, login required, ``@letter_route``:

- ``POST /letters/<slug>/comments``: a thread on selected words (``letter:comment``);
- ``POST /letters/<slug>/comments/<id>/replies``: the thread's writers (``letter:comment``;
  an invited organisation's thread: coordinators), ``queries.may_reply``;
- ``POST /letters/<slug>/comments/<id>/resolve``, ``/reopen``: ``letter:comment``, any
  thread (``queries.may_settle``);
- ``GET /letters/<slug>/comments/people``: the team, for the @mention autocomplete
  (``letter:comment``);
- ``POST /letters/<slug>/comments/settings``: coordinators (``letter:manage``).

Invited organisation, public (the link is the proof):

- ``POST /sign/<token>/comments``, and on its own threads ``/sign/<token>/comments/<id>/``
  ``replies``, ``resolve`` and ``reopen``.

Every route is rate-limited (:data:`COMMENT_LIMIT`).

The threads are shown by the letter page and the invitation page, which include
``templates/drafting/comments/_panel.html`` and ask :func:`comment_panel` /
:func:`invitee_comment_panel` (template globals) what to show.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from signon.accounts.models import User
from signon.core.access import public, user_or_address_key
from signon.core.forms import ActionForm
from signon.core.http_cache import keep_link_private, keep_private
from signon.core.permissions import Action, log_refusal
from signon.drafting.blueprint import bp
from signon.drafting.comments import operations as ops
from signon.drafting.comments import queries
from signon.drafting.comments.forms import (
    CommentSettingsForm,
    NewThreadForm,
    ReplyForm,
    revision_number,
)
from signon.drafting.comments.models import CommentSettings, CommentThread
from signon.drafting.comments.operations import CommentError
from signon.extensions import db, limiter
from signon.letters.guard import letter_route
from signon.letters.models import Letter, Revision
from signon.signatures.approvals.access import usable_invitation
from signon.signatures.invitations import links
from signon.signatures.models import Invitation

NEW_PREFIX = "comment"

#: Comments are typed by people: more than this is a script. Counted per route, per account
#: on the team's routes (``user_or_address_key``), and on an invited organisation's both per
#: invitation link and per client address (a link passed around, or many links tried, from
#: one place).
COMMENT_LIMIT = "30 per minute;300 per hour"


def _link_key() -> str:
    """Rate-limit key: the invitation link of the request, hashed (the token is a secret;
    the limiter's storage keeps its keys in the clear)."""
    token = str((request.view_args or {}).get("token", ""))
    return "comment-link:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def _address_key() -> str:
    return f"comment-address:{request.remote_addr or 'unknown'}"


_team_limit = limiter.limit(COMMENT_LIMIT, key_func=user_or_address_key)
_link_limit = limiter.limit(COMMENT_LIMIT, key_func=_link_key)
_address_limit = limiter.limit(COMMENT_LIMIT, key_func=_address_key)


def _reply_prefix(thread: CommentThread) -> str:
    return f"reply-{thread.id}"


# --- What the pages show ----------------------------------------------------------------


@dataclass
class CommentPanel:
    """The comments part of a page, for one reader."""

    letter: Letter
    head: Revision
    threads: list[queries.ShownThread]
    settings: CommentSettings
    #: Comments may be written on the text now (open, and the reader may write).
    can_comment: bool
    #: Where the forms post: the team's routes or the invitation link's.
    token: str | None = None
    can_manage: bool = False
    reader: object = None
    #: The invited organisation reading through its link (``token``'s invitation).
    invitation: Invitation | None = None
    new_form: NewThreadForm = field(init=False)

    def __post_init__(self) -> None:
        self.new_form = NewThreadForm(formdata=None, prefix=NEW_PREFIX)
        self.new_form.revision.data = str(self.head.number)

    @property
    def is_open(self) -> bool:
        return queries.comments_open(self.letter, self.settings)

    def may_reply(self, thread: CommentThread) -> bool:
        """The reply form: while the discussion is open, for who writes in the thread."""
        return self.is_open and queries.may_reply(thread, **self._reader())

    def may_settle(self, thread: CommentThread) -> bool:
        """The resolve or reopen button: while open, for who resolves the thread."""
        return self.is_open and queries.may_settle(thread, **self._reader())

    def resolver(self, thread: CommentThread) -> str | None:
        """Who resolved ``thread``, as this reader is told: the person or the organisation
        on the team's page; on an organisation's page, itself, or "the drafting team" (it
        reads the coordinators' replies, never who on the team did what)."""
        if self.invitation is None or thread.resolved_by_invitation_id is not None:
            return thread.resolver_name
        return "the drafting team" if thread.is_resolved else None

    def _reader(self) -> dict[str, Any]:
        if self.invitation is not None:
            return {"invitation": self.invitation}
        return {"user": self.reader}

    def with_mentions(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """A comment field's attributes, with where its @mention autocomplete finds the
        team (the team's pages only: an invited organisation mentions nobody)."""
        if self.token is not None:
            return attributes
        url = url_for("drafting.mention_people", slug=self.letter.slug)
        return {**attributes, "data-mentions": url}

    def reply_form(self, thread: CommentThread) -> ReplyForm:
        return ReplyForm(formdata=None, prefix=_reply_prefix(thread))

    def action_form(self) -> ActionForm:
        return ActionForm(formdata=None)

    def settings_form(self) -> CommentSettingsForm:
        form = CommentSettingsForm(formdata=None)
        form.invitees.data = queries.invitees_may_comment(self.letter, self.settings, self.head)
        form.on_frozen.data = self.settings.on_frozen
        form.revision.data = str(self.head.number)
        return form

    def url(self, endpoint: str, **values: Any) -> str:
        if self.token is not None:
            return url_for(f"drafting.invitee_{endpoint}", token=self.token, **values)
        return url_for(f"drafting.{endpoint}", slug=self.letter.slug, **values)


@bp.app_template_global("comment_panel")
def comment_panel(letter: Letter, head: Revision) -> CommentPanel:
    """The letter page's comments, for the person reading it (templates/letters/show.html)."""
    settings = queries.settings_of(letter)
    threads = queries.visible_threads(letter, user=current_user)
    return CommentPanel(
        letter=letter,
        head=head,
        threads=queries.shown(threads, head),
        settings=settings,
        can_comment=queries.may(letter, current_user, Action.LETTER_COMMENT)
        and queries.comments_open(letter, settings),
        can_manage=queries.may(letter, current_user, Action.LETTER_MANAGE),
        reader=current_user,
    )


@bp.app_template_global("invitee_comment_panel")
def invitee_comment_panel(invitation: Invitation, head: Revision) -> CommentPanel | None:
    """The invitation page's comments (templates/signatures/sign.html): its own threads,
    and a form when the coordinators opened the current revision to invitees. ``None``
    when there is nothing to show."""
    letter: Letter = invitation.letter
    settings = queries.settings_of(letter)
    threads = queries.visible_threads(letter, invitation=invitation)
    may = queries.invitees_may_comment(letter, settings, head)
    if not threads and not may:
        return None
    return CommentPanel(
        letter=letter,
        head=head,
        threads=queries.shown(threads, head),
        settings=settings,
        can_comment=may,
        token=links.invitation_token(invitation),
        invitation=invitation,
    )


# --- The team's routes --------------------------------------------------------------------


def _back(letter: Letter, anchor: str = "comments") -> Response:
    return redirect(url_for("letters.show", slug=letter.slug, _anchor=anchor))


def _revision(letter: Letter, form: NewThreadForm) -> Revision | None:
    number = form.revision_number()
    if number is None:
        return None
    return db.session.scalar(
        select(Revision).where(Revision.letter_id == letter.id, Revision.number == number)
    )


def _form_problem(form: NewThreadForm | ReplyForm) -> str:
    for name, errors in form.errors.items():
        if errors:
            label = getattr(form, name).label.text if hasattr(form, name) else name
            return f"{label}: {errors[0]}" if label else str(errors[0])
    return "The comment could not be read; please try again."


def _start_thread(
    letter: Letter,
    back: Callable[[str], Response],
    done: str,
    *,
    author: User | None = None,
    invitation: Invitation | None = None,
) -> Response:
    """Validate the new-thread form and start the thread; ``back(anchor)`` is where to go."""
    form = NewThreadForm(prefix=NEW_PREFIX)
    revision = _revision(letter, form) if form.validate_on_submit() else None
    if revision is None:
        flash(_form_problem(form) if form.errors else "That revision does not exist.", "error")
        return back("comments")
    try:
        thread = ops.start_thread(
            letter,
            revision,
            quote=form.quote.data or "",
            prefix=form.prefix.data or "",
            suffix=form.suffix.data or "",
            body=form.body.data or "",
            author=author,
            invitation=invitation,
        )
    except CommentError as problem:
        flash(str(problem), "error")
        return back("comments")
    flash(done, "success")
    return back(f"thread-{thread.id}")


@bp.post("/letters/<slug>/comments")
@_team_limit
@letter_route(Action.LETTER_COMMENT)
def create_thread(letter: Letter) -> Response:
    return _start_thread(
        letter,
        lambda anchor: _back(letter, anchor),
        "Your comment is added.",
        author=current_user,
    )


def _team_thread(
    letter: Letter, thread_id: int, rule: Callable[..., bool] = queries.may_reply
) -> CommentThread:
    """The thread within the letter, if this person may act on it by ``rule``
    (``queries.may_reply`` or ``queries.may_settle``): 404 when it is not the letter's, 403
    when they may read but not do this."""
    thread = queries.visible_thread(letter, thread_id, user=current_user)
    if thread is None:
        abort(404)
    if not rule(thread, user=current_user):
        log_refusal(letter, current_user, Action.LETTER_MANAGE, 403)
        abort(403)
    return thread


@bp.post("/letters/<slug>/comments/<int:thread_id>/replies")
@_team_limit
@letter_route(Action.LETTER_COMMENT)
def reply(letter: Letter, thread_id: int) -> Response:
    thread = _team_thread(letter, thread_id)
    form = ReplyForm(prefix=_reply_prefix(thread))
    if not form.validate_on_submit():
        flash(_form_problem(form), "error")
        return _back(letter, f"thread-{thread.id}")
    try:
        ops.reply(thread, body=form.body.data or "", author=current_user)
    except CommentError as problem:
        flash(str(problem), "error")
    else:
        flash("Your reply is added.", "success")
    return _back(letter, f"thread-{thread.id}")


@bp.post("/letters/<slug>/comments/<int:thread_id>/resolve")
@_team_limit
@letter_route(Action.LETTER_COMMENT)
def resolve(letter: Letter, thread_id: int) -> Response:
    thread = _team_thread(letter, thread_id, queries.may_settle)
    _settle(thread, ops.resolve_thread, "The thread is resolved.", user=current_user)
    return _back(letter, f"thread-{thread.id}")


@bp.post("/letters/<slug>/comments/<int:thread_id>/reopen")
@_team_limit
@letter_route(Action.LETTER_COMMENT)
def reopen(letter: Letter, thread_id: int) -> Response:
    thread = _team_thread(letter, thread_id, queries.may_settle)
    _settle(thread, ops.reopen_thread, "The thread is open again.", user=current_user)
    return _back(letter, f"thread-{thread.id}")


def _settle(thread: CommentThread, operation: Callable[..., None], done: str, **by: Any) -> None:
    """Resolve or reopen ``thread`` ``by`` a person (``user=``) or the invited organisation
    (``invitation=``); a bare button, whose form is the CSRF token. The operation refuses
    on a frozen or closed letter, and says why."""
    if not ActionForm().validate_on_submit():
        return
    try:
        operation(thread, **by)
    except CommentError as problem:
        flash(str(problem), "error")
    else:
        flash(done, "success")


@bp.get("/letters/<slug>/comments/people")
@letter_route(Action.LETTER_COMMENT)
def mention_people(letter: Letter) -> Response:
    """The letter's team for the @mention autocomplete (static/js/mentions.js), to those who
    may comment: names and the handle to write, no addresses nor parts of one
    (``queries.handle_of``); the reader left out."""
    people = [
        {"name": person.display_name, "handle": handle}
        for person in queries.team_people(letter)
        if person.id != current_user.id
        for handle in (queries.handle_of(person),)
        if handle is not None
    ]
    people.sort(key=lambda person: person["name"].casefold())
    return keep_private(jsonify(people=people))


@bp.post("/letters/<slug>/comments/settings")
@letter_route(Action.LETTER_MANAGE)
def comment_settings(letter: Letter) -> Response:
    form = CommentSettingsForm()
    if form.validate_on_submit():
        try:
            ops.update_settings(
                letter,
                invitees_may_comment=bool(form.invitees.data),
                on_frozen=bool(form.on_frozen.data),
                actor=current_user,
                seen_revision=revision_number(form.revision.data),
            )
        except CommentError as problem:
            flash(str(problem), "error")
        else:
            flash("The comment settings are saved.", "success")
    return _back(letter)


# --- An invited organisation's routes --------------------------------------------------------


def _back_to_link(token: str, anchor: str = "comments") -> Response:
    return keep_link_private(redirect(url_for("signatures.sign", token=token, _anchor=anchor)))


@bp.post("/sign/<token>/comments")
@public
@_link_limit
@_address_limit
def invitee_create_thread(token: str) -> Response:
    invitation = usable_invitation(token)
    return _start_thread(
        invitation.letter,
        lambda anchor: _back_to_link(token, anchor),
        "Your comment is sent to the coordinators.",
        invitation=invitation,
    )


def _invitee_thread(token: str, thread_id: int) -> tuple[Invitation, CommentThread]:
    """The link's invitation and its own thread (404 for any other thread)."""
    invitation = usable_invitation(token)
    thread = queries.visible_thread(invitation.letter, thread_id, invitation=invitation)
    if thread is None:
        abort(404)
    return invitation, thread


@bp.post("/sign/<token>/comments/<int:thread_id>/replies")
@public
@_link_limit
@_address_limit
def invitee_reply(token: str, thread_id: int) -> Response:
    invitation, thread = _invitee_thread(token, thread_id)
    form = ReplyForm(prefix=_reply_prefix(thread))
    if not form.validate_on_submit():
        flash(_form_problem(form), "error")
        return _back_to_link(token, f"thread-{thread.id}")
    try:
        ops.reply(thread, body=form.body.data or "", invitation=invitation)
    except CommentError as problem:
        flash(str(problem), "error")
    else:
        flash("Your reply is sent to the coordinators.", "success")
    return _back_to_link(token, f"thread-{thread.id}")


@bp.post("/sign/<token>/comments/<int:thread_id>/resolve")
@public
@_link_limit
@_address_limit
def invitee_resolve(token: str, thread_id: int) -> Response:
    invitation, thread = _invitee_thread(token, thread_id)
    _settle(thread, ops.resolve_thread, "The thread is resolved.", invitation=invitation)
    return _back_to_link(token, f"thread-{thread.id}")


@bp.post("/sign/<token>/comments/<int:thread_id>/reopen")
@public
@_link_limit
@_address_limit
def invitee_reopen(token: str, thread_id: int) -> Response:
    invitation, thread = _invitee_thread(token, thread_id)
    _settle(thread, ops.reopen_thread, "The thread is open again.", invitation=invitation)
    return _back_to_link(token, f"thread-{thread.id}")
