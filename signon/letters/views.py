"""Letters blueprint: list, create, the letter page, its team, editing, history, diff.

Every view: load the objects (through the letter), check permission, validate the
form, call one operation, flash, redirect.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from signon.accounts.models import Organisation
from signon.core.access import user_or_address_key
from signon.core.forms import ActionForm
from signon.core.http_cache import revalidate_privately
from signon.core.input_guard import whole_number
from signon.core.markdown import block_lines, render_markdown
from signon.core.permissions import Action, TeamRole
from signon.core.sessions import (
    background,
    browser_draft_name,
    forget_browser_draft,
    new_letter_draft_name,
)
from signon.core.timefmt import local
from signon.extensions import db, limiter
from signon.letters import notices, operations, queries
from signon.letters.diff_store import revision_diff
from signon.letters.forms import (
    AddTeamOrganisationForm,
    AddTeamUserForm,
    ChangeRoleForm,
    ConflictChoice,
    CreateLetterForm,
    EditTextForm,
    LetterDetailsForm,
    LetterNotificationsForm,
    ResolveConflictsForm,
)
from signon.letters.guard import letter_route
from signon.letters.models import Letter, LetterStatus
from signon.letters.operations import LetterError, SaveStatus
from signon.letters.rendered_diff import conflict_views, marked_diff
from signon.letters.text import blame, three_way_merge, word_diff

bp = Blueprint("letters", __name__, url_prefix="/letters")

#: Each invitation to the team is a mail to any address: as many as organisation
#: invitations (``signatures.views.invitations.INVITE_LIMIT``), per account.
TEAM_INVITE_LIMIT = "30 per minute;300 per hour"


@bp.get("/")
def index() -> str:
    return render_template("letters/index.html", rows=queries.letters_for(current_user))


@bp.route("/new", methods=["GET", "POST"])
def new() -> Response | str:
    form = CreateLetterForm(user=current_user)
    if form.validate_on_submit():
        organisation = (
            db.session.get(Organisation, form.drafting_organisation.data)
            if form.drafting_organisation.data
            else None
        )
        letter = operations.create_letter(
            current_user,
            title=form.title.data or "",
            addressee=form.addressee.data or "",
            language=form.language.data or "en",
            deadline=form.deadline_utc(),
            body=form.body.data or "",
            drafting_organisation=organisation,
        )
        forget_browser_draft(new_letter_draft_name())
        flash(f"“{letter.title}” is created. Invite your drafting team next.", "success")
        return redirect(url_for("letters.show", slug=letter.slug))
    return render_template("letters/new.html", form=form, new_letter_draft=new_letter_draft_name())


@bp.get("/<slug>/")
@letter_route(Action.LETTER_VIEW)
def show(letter: Letter) -> str:
    return _show_page(letter)


def _show_page(letter: Letter, notify_form: LetterNotificationsForm | None = None) -> str:
    head = letter.head()
    role = letter.role_of(current_user, cached=True)
    if notify_form is None:
        notify_form = LetterNotificationsForm(formdata=None)
        notify_form.show(notices.letter_choice(letter, current_user))
    return render_template(
        "letters/show.html",
        letter=letter,
        head=head,
        team=queries.team_of(letter),
        drafts=queries.open_drafts(letter, current_user),
        role=role,
        can_edit=letter.can(current_user, Action.LETTER_EDIT),
        can_manage=letter.can(current_user, Action.LETTER_MANAGE),
        activity=notices.feed_page(
            letter,
            role,
            request.args.get("activity", 1, type=whole_number) or 1,
            reader_id=current_user.id,
        ),
        notify_form=notify_form,
    )


@bp.post("/<slug>/notifications")
@letter_route(Action.LETTER_VIEW)
def letter_notifications(letter: Letter) -> Response | str:
    """The person's choice for this letter's notices (over their account page's)."""
    form = LetterNotificationsForm()
    if not form.validate_on_submit():
        return _show_page(letter, notify_form=form)
    operations.choose_letter_notifications(letter, current_user, form.choice())
    flash("Your notification setting for this letter is saved.", "success")
    return redirect(url_for("letters.show", slug=letter.slug, _anchor="activity"))


@bp.route("/<slug>/settings", methods=["GET", "POST"])
@letter_route(Action.LETTER_MANAGE)
def settings(letter: Letter) -> Response | str:
    form = LetterDetailsForm(obj=letter)
    if request.method == "GET" and letter.deadline is not None:
        shown = local(letter.deadline)
        form.deadline.data = shown.replace(tzinfo=None) if shown else None
    if form.validate_on_submit():
        operations.update_letter_details(
            letter,
            addressee=form.addressee.data or "",
            language=form.language.data or "en",
            deadline=form.deadline_utc(),
            actor=current_user,
        )
        flash("The letter's details are saved.", "success")
        return redirect(url_for("letters.show", slug=letter.slug))
    return render_template("letters/settings.html", letter=letter, form=form)


# --- Team ----------------------------------------------------------------------------


def _render_team(
    letter: Letter,
    user_form: AddTeamUserForm | None = None,
    org_form: AddTeamOrganisationForm | None = None,
) -> str:
    can_manage = letter.can(current_user, Action.LETTER_MANAGE_TEAM)
    return render_template(
        "letters/team.html",
        letter=letter,
        team=queries.team_of(letter),
        invitations=queries.team_invitations_of(letter) if can_manage else [],
        can_manage=can_manage,
        user_form=user_form or AddTeamUserForm(letter=letter, formdata=None),
        org_form=org_form or AddTeamOrganisationForm(letter=letter, formdata=None),
        role_form=ChangeRoleForm(formdata=None),
        roles=list(TeamRole),
    )


@bp.get("/<slug>/team")
@letter_route(Action.LETTER_VIEW)
def team(letter: Letter) -> str:
    return _render_team(letter)


@bp.post("/<slug>/team/users")
@limiter.limit(TEAM_INVITE_LIMIT, key_func=user_or_address_key)
@letter_route(Action.LETTER_MANAGE_TEAM)
def team_add_user(letter: Letter) -> Response | str:
    """Invite a person by address. The answer is the same whether or not an account uses
    the address: nobody learns from it who has an account."""
    form = AddTeamUserForm(letter=letter)
    if form.validate_on_submit():
        try:
            invitation = operations.invite_to_team(
                letter,
                email=form.email.data or "",
                role=TeamRole(form.role.data),
                invited_by=current_user,
            )
        except LetterError as error:
            form.email.errors = [*form.email.errors, str(error)]
            return _render_team(letter, user_form=form)
        flash(
            f"Invitation sent to {invitation.email}: they join the team as "
            f"{invitation.role.label.lower()} once they accept it.",
            "success",
        )
        return redirect(url_for("letters.team", slug=letter.slug))
    return _render_team(letter, user_form=form)


@bp.post("/<slug>/team/invitations/<int:invitation_id>/revoke")
@letter_route(Action.LETTER_MANAGE_TEAM)
def team_revoke_invitation(letter: Letter, invitation_id: int) -> Response:
    invitation = queries.team_invitation(letter, invitation_id)
    if ActionForm().validate_on_submit():
        email = invitation.email
        try:
            operations.revoke_team_invitation(invitation, current_user)
        except LetterError as error:
            flash(str(error), "error")
        else:
            flash(f"The invitation to {email} is revoked.", "success")
    return redirect(url_for("letters.team", slug=letter.slug))


@bp.post("/<slug>/team/invitations/<int:invitation_id>/resend")
@limiter.limit(TEAM_INVITE_LIMIT, key_func=user_or_address_key)
@letter_route(Action.LETTER_MANAGE_TEAM)
def team_resend_invitation(letter: Letter, invitation_id: int) -> Response:
    """Mail the invitation again, for another full period (an expired one too)."""
    invitation = queries.team_invitation(letter, invitation_id)
    if ActionForm().validate_on_submit():
        try:
            operations.invite_to_team(
                letter, email=invitation.email, role=invitation.role, invited_by=current_user
            )
        except LetterError as error:
            flash(str(error), "error")
        else:
            flash(
                f"The invitation to {invitation.email} is sent again; it works for "
                f"{operations.TEAM_INVITATION_DAYS} days from now.",
                "success",
            )
    return redirect(url_for("letters.team", slug=letter.slug))


@bp.get("/team-invitations")
def team_invitations() -> str:
    """The roles waiting for the user's confirmed address on drafting teams."""
    return render_template(
        "letters/team_invitations.html",
        invitations=queries.team_invitations_for(current_user),
        action_form=ActionForm(formdata=None),
    )


@bp.post("/team-invitations/<int:invitation_id>/accept")
def accept_team_invitation(invitation_id: int) -> Response:
    invitation = queries.team_invitation_for(current_user, invitation_id)
    if ActionForm().validate_on_submit():
        letter = invitation.letter
        try:
            member = operations.accept_team_invitation(invitation, current_user)
        except LetterError as error:
            flash(str(error), "error")
            return redirect(url_for("letters.team_invitations"))
        flash(
            f"You joined the drafting team of “{letter.title}” as {member.role.label.lower()}.",
            "success",
        )
        return redirect(url_for("letters.show", slug=letter.slug))
    return redirect(url_for("letters.team_invitations"))


@bp.post("/team-invitations/<int:invitation_id>/decline")
def decline_team_invitation(invitation_id: int) -> Response:
    invitation = queries.team_invitation_for(current_user, invitation_id)
    if ActionForm().validate_on_submit():
        title = invitation.letter.title
        try:
            operations.decline_team_invitation(invitation, current_user)
        except LetterError as error:
            flash(str(error), "error")
        else:
            flash(f"You declined the invitation to “{title}”.", "info")
    return redirect(url_for("letters.team_invitations"))


@bp.post("/<slug>/team/organisations")
@letter_route(Action.LETTER_MANAGE_TEAM)
def team_add_organisation(letter: Letter) -> Response | str:
    form = AddTeamOrganisationForm(letter=letter)
    if form.validate_on_submit() and form.chosen is not None:
        try:
            member = operations.add_team_member(
                letter,
                role=TeamRole(form.role.data),
                added_by=current_user,
                organisation=form.chosen,
                drafting=bool(form.drafting.data),
            )
        except LetterError as error:
            flash(str(error), "error")
            return redirect(url_for("letters.team", slug=letter.slug))
        flash(
            f"{member.display_name} joined the team: every member of it is now a "
            f"{member.role.label.lower()}.",
            "success",
        )
        return redirect(url_for("letters.team", slug=letter.slug))
    return _render_team(letter, org_form=form)


@bp.post("/<slug>/team/<int:member_id>/role")
@letter_route(Action.LETTER_MANAGE_TEAM)
def team_change_role(letter: Letter, member_id: int) -> Response:
    member = queries.team_member(letter, member_id)
    form = ChangeRoleForm()
    if form.validate_on_submit():
        try:
            operations.change_team_role(member, TeamRole(form.role.data), current_user)
        except LetterError as error:
            flash(str(error), "error")
        else:
            flash(f"{member.display_name} is now {member.role.label.lower()}.", "success")
    else:
        flash("Choose one of the listed roles.", "error")
    return redirect(url_for("letters.team", slug=letter.slug))


@bp.post("/<slug>/team/<int:member_id>/remove")
@letter_route(Action.LETTER_MANAGE_TEAM)
def team_remove(letter: Letter, member_id: int) -> Response:
    member = queries.team_member(letter, member_id)
    if ActionForm().validate_on_submit():
        name = member.display_name
        try:
            operations.remove_team_member(member, current_user)
        except LetterError as error:
            flash(str(error), "error")
        else:
            flash(f"{name} is no longer on the team.", "success")
    return redirect(url_for("letters.team", slug=letter.slug))


# --- Editing -------------------------------------------------------------------------


def _render_editor(letter: Letter, form: EditTextForm, status: int = 200) -> tuple[str, int]:
    return (
        render_template(
            "letters/edit.html",
            letter=letter,
            form=form,
            head=letter.head(),
            drafts=queries.open_drafts(letter, current_user),
        ),
        status,
    )


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@letter_route(Action.LETTER_EDIT)
def edit(letter: Letter) -> Response | tuple[str, int]:
    if letter.status != LetterStatus.DRAFTING:
        flash("The text is frozen for signature and can no longer be edited.", "warning")
        return redirect(url_for("letters.show", slug=letter.slug))
    form = EditTextForm(letter=letter)
    if request.method == "GET":
        head = letter.head()
        assert head is not None
        form.title.data, form.body.data = head.title, head.body_markdown
        form.base_revision.data = head.id
    if not form.validate_on_submit() or form.base is None:
        return _render_editor(letter, form)
    draft = queries.draft_of(letter, current_user, form.draft.data) if form.draft.data else None
    try:
        result = operations.save_revision(
            letter,
            current_user,
            base=form.base,
            title=form.title.data or "",
            body=form.body.data or "",
            change_note=form.change_note.data or "",
            draft=draft,
        )
    except LetterError as error:
        flash(f"{error} Your text is kept below.", "error")
        return _render_editor(letter, form, 409)
    # Saved, merged, unchanged or kept as a conflict draft: the browser's copy is done.
    forget_browser_draft(browser_draft_name(letter.id, form.base.id))
    return _after_save(letter, result)


@bp.get("/<slug>/edit/newest")
@background
@letter_route(Action.LETTER_EDIT)
def newest(letter: Letter) -> Response:
    """The current revision, for the editor's warning that someone else saved since
    ``?base=<revision id>`` (polled by static/js/editor.js). Two queries after the guard."""
    base = queries.revision_in(letter, request.args.get("base", type=whole_number))
    if base is None:
        abort(404)
    head = queries.newest_revision(letter)
    newer = head.number > base.number
    revisions: dict[str, Any] = {"from": base.number, "to": head.number}  # "from" is a keyword
    compare = url_for("letters.diff", slug=letter.slug, **revisions)
    payload = {
        "base": {"id": base.id, "number": base.number},
        "newest": {
            "id": head.id,
            "number": head.number,
            "author": head.author.display_name if head.author else None,
        },
        "newer": newer,
        "compare_url": compare if newer else None,
    }
    return revalidate_privately(jsonify(payload))


def _after_save(letter: Letter, result: operations.SaveResult) -> Response:
    others = sorted({r.author.display_name for r in result.concurrent if r.author is not None})
    if result.status == SaveStatus.CONFLICT:
        assert result.draft is not None
        flash(
            "Someone else changed the same passage while you were editing. Your text is kept: "
            "resolve the differences below and save again.",
            "warning",
        )
        return redirect(url_for("letters.draft", slug=letter.slug, draft_id=result.draft.id))
    if result.status == SaveStatus.UNCHANGED:
        flash("There was nothing to save: the text is the same as the current version.", "info")
    elif result.status == SaveStatus.MERGED:
        assert result.revision is not None
        flash(
            f"Saved as revision {result.revision.number}. Meanwhile {', '.join(others)} saved "
            "changes too; both were merged, nothing was lost. Check the result below.",
            "success",
        )
    else:
        assert result.revision is not None
        flash(f"Saved as revision {result.revision.number}.", "success")
    return redirect(url_for("letters.show", slug=letter.slug))


@bp.route("/<slug>/drafts/<int:draft_id>", methods=["GET", "POST"])
@letter_route(Action.LETTER_EDIT)
def draft(letter: Letter, draft_id: int) -> Response | tuple[str, int]:
    """The conflict page: each conflict in its paragraph, yours or theirs or your own
    wording for each; the result is saved like any edit, on the revision shown."""
    unresolved = queries.draft_of(letter, current_user, draft_id)
    form = ResolveConflictsForm(letter=letter)
    if request.method == "GET":
        form.base_revision.data = queries.newest_revision(letter).id
        form.title.data, form.change_note.data = unresolved.title, unresolved.change_note
    shown = form.base if form.validate_on_submit() else None
    # The revision the choices were made against (a later save merges like any edit).
    head = shown or queries.revision_in(letter, form.base_revision.data)
    head = head or queries.newest_revision(letter)
    merge = three_way_merge(
        unresolved.base_revision.body_markdown, unresolved.body_markdown, head.body_markdown
    )
    if shown is not None and len(form.conflicts.entries) == len(merge.conflicts):
        try:
            result = operations.save_revision(
                letter,
                current_user,
                base=shown,
                title=form.title.data or "",
                body=merge.resolved(form.chosen_texts(merge.conflicts)),
                change_note=form.change_note.data or "",
                draft=unresolved,
            )
        except LetterError as error:
            flash(f"{error} Your text is kept below.", "error")
        else:
            forget_browser_draft(browser_draft_name(letter.id, shown.id))
            return _after_save(letter, result)
    for conflict in merge.conflicts[len(form.conflicts.entries) :]:
        # Yours is chosen at first; "write it yourself" starts from your wording.
        form.conflicts.append_entry({"choice": ConflictChoice.OURS.value, "text": conflict.ours})
    edit_form = EditTextForm(letter=letter, formdata=None)
    edit_form.title.data, edit_form.body.data = unresolved.title, unresolved.body_markdown
    edit_form.change_note.data = unresolved.change_note
    edit_form.base_revision.data = head.id
    edit_form.draft.data = unresolved.id
    base_text = unresolved.base_revision.body_markdown
    return (
        render_template(
            "letters/conflict.html",
            letter=letter,
            draft=unresolved,
            head=head,
            form=form,
            edit_form=edit_form,
            conflicts=list(zip(conflict_views(merge), form.conflicts.entries, strict=True)),
            their_changes=marked_diff(base_text, head.body_markdown),
            your_changes=marked_diff(base_text, unresolved.body_markdown),
        ),
        200 if request.method == "GET" else 422,
    )


@bp.post("/<slug>/drafts/<int:draft_id>/discard")
@letter_route(Action.LETTER_EDIT)
def discard_draft(letter: Letter, draft_id: int) -> Response:
    unresolved = queries.draft_of(letter, current_user, draft_id)
    if ActionForm().validate_on_submit():
        operations.discard_draft(unresolved)
        flash("Your unsaved draft was discarded.", "info")
    return redirect(url_for("letters.show", slug=letter.slug))


# --- History, diff, who wrote what ----------------------------------------------------


@bp.get("/<slug>/revisions")
@letter_route(Action.LETTER_VIEW)
def history(letter: Letter) -> str:
    revisions = queries.revisions_of(letter)
    return render_template("letters/history.html", letter=letter, revisions=revisions[::-1])


@bp.get("/<slug>/revisions/<int:number>")
@letter_route(Action.LETTER_VIEW)
def revision(letter: Letter, number: int) -> str:
    shown = queries.revision_by_number(letter, number)
    return render_template(
        "letters/revision.html", letter=letter, revision=shown, head=letter.head()
    )


@bp.get("/<slug>/diff")
@letter_route(Action.LETTER_VIEW)
def diff(letter: Letter) -> str:
    revisions = queries.revisions_of(letter)
    by_number = {r.number: r for r in revisions}
    head = revisions[-1]
    new_number = request.args.get("to", default=head.number, type=whole_number)
    old_number = request.args.get("from", default=max(1, new_number - 1), type=whole_number)
    if old_number not in by_number or new_number not in by_number:
        flash("Choose two revisions from the list.", "warning")
        old_number, new_number = max(1, head.number - 1), head.number
    old, new = by_number[old_number], by_number[new_number]
    marked = revision_diff(old, new)
    return render_template(
        "letters/diff.html",
        letter=letter,
        revisions=revisions,
        old=old,
        new=new,
        marked=marked,
        title_segments=word_diff(old.title, new.title) if old.title != new.title else None,
        stats=marked.stats,
    )


@bp.get("/<slug>/authorship")
@letter_route(Action.LETTER_VIEW)
def authorship(letter: Letter) -> str:
    revisions = queries.revisions_of(letter)
    lines = blame([r.body_markdown for r in revisions])
    # Each block rendered as the reader sees it (a paragraph over several lines, a
    # table, a heading, each list item...), credited to the revision that last changed
    # one of its lines.
    rows = []
    for start, end in block_lines("\n".join(line.text for line in lines)):
        source = "\n".join(line.text for line in lines[start:end]).strip()
        if source:
            newest = max(line.origin for line in lines[start:end])
            rows.append((render_markdown(source), revisions[newest]))
    return render_template("letters/authorship.html", letter=letter, rows=rows, head=revisions[-1])
