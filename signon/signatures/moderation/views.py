"""The coordinators' moderation queue and public-page settings (``/letters/<slug>/moderation``).

Pending public signatures are accepted (then shown publicly), rejected (never
shown), or merged into an existing signatory. Changes that accepted public
signatories made to their details are accepted or rejected here, and an accepted
public signature can be removed (with a reason). The same page switches the public
page on or off and gives the iframe snippet of the embed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from signon.accounts.models import User
from signon.core.forms import ActionForm
from signon.core.input_guard import whole_number
from signon.core.paging import page_count
from signon.core.permissions import Action
from signon.core.storage import send_stored_or_404
from signon.letters.guard import letter_route
from signon.letters.models import Letter, PublicSignatories
from signon.signatures import duplicates
from signon.signatures.approvals.operations import SignatureError
from signon.signatures.blueprint import bp
from signon.signatures.models import Signature
from signon.signatures.public_signon import changes as public_changes
from signon.signatures.public_signon import operations
from signon.signatures.public_signon.forms import (
    DuplicateMergeForm,
    MergeForm,
    MergeSearchForm,
    PublicSettingsForm,
    RejectForm,
    RemoveForm,
    SelectionForm,
)
from signon.signatures.public_signon.views import embed_snippet
from signon.signatures.uploads import logo_name

T = TypeVar("T")


def _user() -> User:
    user: User = current_user._get_current_object()
    return user


def _signature(letter: Letter, signature_id: int) -> Signature:
    signature = operations.signature_of(letter, signature_id)
    if signature is None:
        abort(404)
    return signature


#: Held changes, groups of possible duplicates and accepted public signatures a page shows.
SECTION_PAGE_SIZE = 25


@dataclass(frozen=True)
class SectionPage:
    """Which page of one section of the moderation page is shown (the argument ``name``)."""

    name: str
    page: int
    total: int
    size: int = SECTION_PAGE_SIZE

    @property
    def pages(self) -> int:
        return page_count(self.total, self.size)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def _page_number(name: str = "page") -> int:
    page: int = request.args.get(name, 1, type=whole_number)
    return page


def _section(name: str, total: int) -> SectionPage:
    return SectionPage(name, _page_number(name), total)


def _render(
    letter: Letter,
    *,
    reject_form: tuple[int, RejectForm] | None = None,
    merge_form: tuple[int, MergeForm] | None = None,
    change_reject_form: tuple[int, RejectForm] | None = None,
    remove_form: tuple[int, RemoveForm] | None = None,
    selection_form: SelectionForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The page; a form that failed validation is shown again with its errors."""
    queue = operations.moderation_queue(letter, page=_page_number())
    changes_page = _section("changes_page", public_changes.count_held_changes(letter))
    held = public_changes.held_changes(letter, limit=changes_page.size, offset=changes_page.offset)
    listed_page = _section("listed_page", public_changes.count_removable(letter))
    removable = public_changes.removable_signatures(
        letter, limit=listed_page.size, offset=listed_page.offset
    )
    groups = duplicates.possible_duplicates(letter)
    duplicates_page = _section("duplicates_page", len(groups))
    change_reject_forms = {
        h.signature.id: RejectForm(formdata=None, prefix=f"change-reject-{h.signature.id}")
        for h in held
    }
    remove_forms = {s.id: RemoveForm(formdata=None, prefix=f"remove-{s.id}") for s in removable}
    if change_reject_form is not None:
        change_reject_forms[change_reject_form[0]] = change_reject_form[1]
    if remove_form is not None:
        remove_forms[remove_form[0]] = remove_form[1]
    search_form = MergeSearchForm(formdata=request.args)
    searched_for = search_form.signature_id() if search_form.validate() else None
    reject_forms: dict[int, RejectForm] = {}
    merge_forms: dict[int, MergeForm] = {}
    search_results: list[Signature] = []
    for item in queue.items:
        sid = item.signature.id
        found: list[Signature] = []
        if sid == searched_for and search_form.find.data:
            found = search_results = operations.search_merge_targets(
                letter, item.signature, search_form.find.data
            )
        reject_forms[sid] = RejectForm(formdata=None, prefix=f"reject-{sid}")
        merge_forms[sid] = MergeForm(
            formdata=None,
            prefix=f"merge-{sid}",
            duplicates=[d.signature for d in item.duplicates],
            others=found,
        )
    if reject_form is not None:
        reject_forms[reject_form[0]] = reject_form[1]
    if merge_form is not None:
        merge_forms[merge_form[0]] = merge_form[1]
    settings_form = PublicSettingsForm(
        formdata=None,
        is_public=letter.is_public,
        signatories=letter.public_signatories.value,
    )
    return (
        render_template(
            "signatures/moderation.html",
            letter=letter,
            queue=queue,
            settings_form=settings_form,
            reject_forms=reject_forms,
            merge_forms=merge_forms,
            search_form=search_form,
            searched_for=searched_for,
            search_results=search_results,
            search_limit=operations.MERGE_SEARCH_LIMIT,
            held_changes=held,
            change_reject_forms=change_reject_forms,
            removable=removable,
            remove_forms=remove_forms,
            duplicate_groups=groups[
                duplicates_page.offset : duplicates_page.offset + duplicates_page.size
            ],
            duplicates_page=duplicates_page,
            changes_page=changes_page,
            listed_page=listed_page,
            merged_away=duplicates.merged_away(letter),
            duplicate_merge_form=DuplicateMergeForm(formdata=None),
            action_form=ActionForm(formdata=None),
            selection_form=selection_form or SelectionForm(formdata=None, prefix="selection"),
            public_url=operations.public_url(letter),
            embed_url=operations.embed_url(letter),
            snippet=embed_snippet(letter),
        ),
        status,
    )


def _decided(
    letter: Letter,
    decide: Callable[[], T],
    success: Callable[[T], str],
    *,
    anchor: str | None = None,
) -> Response:
    """Run one moderation decision; flash its refusal, or its outcome (``success`` of what the
    decision returned, read after it ran), then go back to the queue."""
    try:
        result = decide()
    except SignatureError as error:
        flash(str(error), "error")
    else:
        flash(success(result), "success")
    return redirect(url_for("signatures.moderation", slug=letter.slug, _anchor=anchor))


@bp.get("/letters/<slug>/moderation")
@letter_route(Action.SIGNATURE_MODERATE)
def moderation(letter: Letter) -> tuple[str, int]:
    return _render(letter)


@bp.post("/letters/<slug>/moderation/public")
@letter_route(Action.LETTER_MANAGE)
def moderation_public_settings(letter: Letter) -> Response:
    form = PublicSettingsForm()
    if not form.validate_on_submit():
        abort(400)
    enabled = bool(form.is_public.data)
    signatories = PublicSignatories(form.signatories.data)  # a validated choice
    if operations.set_public_page(letter, enabled=enabled, user=_user(), signatories=signatories):
        flash(_public_settings_saved(enabled, signatories), "success")
    else:
        flash("Nothing changed.", "info")
    return redirect(url_for("signatures.moderation", slug=letter.slug))


def _public_settings_saved(enabled: bool, signatories: PublicSignatories) -> str:
    """What the coordinator just saved: the page's state and who may sign (a change of the
    choice alone must not read as if the page had just been switched off)."""
    who = f"Who may sign: {signatories.label.lower()}."
    if enabled:
        return (
            "The public page is on: anyone with its address can read the letter and ask "
            f"to sign. {who}"
        )
    return (
        "The public page is off: its address, its embed and its links do not work. "
        f"{who} (applies once the page is on)"
    )


@bp.post("/letters/<slug>/moderation/<int:signature_id>/accept")
@letter_route(Action.SIGNATURE_MODERATE)
def moderation_accept(letter: Letter, signature_id: int) -> Response:
    signature = _signature(letter, signature_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _decided(
        letter,
        lambda: operations.accept_signature(signature, moderator=_user()),
        lambda _: f"“{signature.name}” is accepted and now listed publicly.",
    )


@bp.post("/letters/<slug>/moderation/<int:signature_id>/reject")
@letter_route(Action.SIGNATURE_MODERATE)
def moderation_reject(letter: Letter, signature_id: int) -> Response | tuple[str, int]:
    signature = _signature(letter, signature_id)
    form = RejectForm(prefix=f"reject-{signature.id}")
    if not form.validate_on_submit():
        return _render(letter, reject_form=(signature.id, form), status=422)
    return _decided(
        letter,
        lambda: operations.reject_signature(signature, moderator=_user(), reason=form.reason.data),
        lambda _: f"“{signature.name}” is rejected; it will not be shown.",
    )


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


@bp.post("/letters/<slug>/moderation/selection")
@letter_route(Action.SIGNATURE_MODERATE)
def moderation_selection(letter: Letter) -> Response | tuple[str, int]:
    """Accept or reject every pending sign-on ticked on the page, in one request."""
    form = SelectionForm(prefix="selection")
    if not form.validate_on_submit():
        return _render(letter, selection_form=form, status=422)
    accept = bool(form.accept.data)
    outcome = operations.moderate_selection(
        letter,
        form.signature_ids(),
        accept=accept,
        moderator=_user(),
        reason=form.reason.data,
    )
    message = _plural(outcome.decided, "signature", "signatures") + (
        " accepted and now listed publicly." if accept else " rejected: never shown publicly."
    )
    if outcome.skipped:
        message += (
            f" {_plural(outcome.skipped, 'other was', 'others were')} left unchanged: "
            "decided meanwhile, withdrawn, or no longer awaiting moderation."
        )
    flash(message, "success" if outcome.decided else "info")
    return redirect(url_for("signatures.moderation", slug=letter.slug, _anchor="queue-heading"))


@bp.post("/letters/<slug>/moderation/<int:signature_id>/merge")
@letter_route(Action.SIGNATURE_MODERATE)
def moderation_merge(letter: Letter, signature_id: int) -> Response | tuple[str, int]:
    signature = _signature(letter, signature_id)
    sid = signature.id
    form = MergeForm(prefix=f"merge-{sid}")
    chosen = operations.merge_target(letter, signature, form.posted_target_id())
    form = MergeForm(
        prefix=f"merge-{signature.id}",
        duplicates=[d.signature for d in operations.duplicates_of_page(letter, [signature])[sid]],
        others=[chosen] if chosen is not None else [],
    )
    if not form.validate_on_submit():
        return _render(letter, merge_form=(signature.id, form), status=422)
    target = _signature(letter, int(form.target.data))
    target_name = target.name
    return _decided(
        letter,
        lambda: operations.merge_signature(
            signature, target, moderator=_user(), take_details=bool(form.take_details.data)
        ),
        lambda _: (
            f"“{signature.name}” is merged into “{target_name}”"
            + (", which took over the newer details." if form.take_details.data else ".")
        ),
    )


@bp.post("/letters/<slug>/moderation/<int:signature_id>/change/accept")
@letter_route(Action.SIGNATURE_MODERATE)
def moderation_change_accept(letter: Letter, signature_id: int) -> Response:
    """The details a public signatory changed after acceptance become the listed ones."""
    signature = _signature(letter, signature_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _decided(
        letter,
        lambda: public_changes.accept_change(signature, moderator=_user()),
        lambda _: f"The change is accepted: “{signature.name}” is listed with it now.",
    )


@bp.get("/letters/<slug>/moderation/<int:signature_id>/change/logo")
@letter_route(Action.SIGNATURE_MODERATE)
def moderation_change_logo(letter: Letter, signature_id: int) -> Response:
    """The logo a held change proposes, for the coordinators reviewing it."""
    change = public_changes.pending_change(_signature(letter, signature_id))
    name = logo_name(change.logo_filename) if change is not None else None
    response = send_stored_or_404(name, mimetype="image/png", max_age=0)
    response.headers["Content-Disposition"] = "inline; filename=proposed-logo.png"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.post("/letters/<slug>/moderation/<int:signature_id>/change/reject")
@letter_route(Action.SIGNATURE_MODERATE)
def moderation_change_reject(letter: Letter, signature_id: int) -> Response | tuple[str, int]:
    """The signature stays listed as it was accepted."""
    signature = _signature(letter, signature_id)
    form = RejectForm(prefix=f"change-reject-{signature.id}")
    if not form.validate_on_submit():
        return _render(letter, change_reject_form=(signature.id, form), status=422)
    return _decided(
        letter,
        lambda: public_changes.reject_change(signature, moderator=_user(), reason=form.reason.data),
        lambda _: f"The change is rejected: “{signature.name}” stays listed as it was.",
    )


@bp.post("/letters/<slug>/moderation/<int:signature_id>/remove")
@letter_route(Action.SIGNATURE_MODERATE)
def moderation_remove(letter: Letter, signature_id: int) -> Response | tuple[str, int]:
    """Take an accepted public signature off the list (a reason is required)."""
    signature = _signature(letter, signature_id)
    form = RemoveForm(prefix=f"remove-{signature.id}")
    if not form.validate_on_submit():
        return _render(letter, remove_form=(signature.id, form), status=422)
    return _decided(
        letter,
        lambda: public_changes.remove_signature(
            signature, moderator=_user(), reason=form.reason.data
        ),
        lambda _: f"“{signature.name}” is removed: it is no longer listed.",
    )


@bp.post("/letters/<slug>/moderation/<int:signature_id>/merge-duplicate")
@letter_route(Action.SIGNATURE_MODERATE)
def moderation_merge_duplicate(letter: Letter, signature_id: int) -> Response:
    """One of a group of possible duplicates is merged into another (audited, reversible)."""
    signature = _signature(letter, signature_id)
    form = DuplicateMergeForm()
    if not form.validate_on_submit():
        abort(400)
    target = _signature(letter, form.target_id())
    return _decided(
        letter,
        lambda: operations.merge_signature(
            signature, target, moderator=_user(), take_details=False
        ),
        lambda _: f"“{signature.name}” is merged into “{target.name}”. You can undo this.",
        anchor="duplicates",
    )


@bp.post("/letters/<slug>/moderation/<int:signature_id>/undo-merge")
@letter_route(Action.SIGNATURE_MODERATE)
def moderation_undo_merge(letter: Letter, signature_id: int) -> Response:
    """A merge is taken back: both signatures are as they were before it (audited)."""
    signature = _signature(letter, signature_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return _decided(
        letter,
        lambda: operations.undo_merge(signature, moderator=_user()),
        lambda target: f"The merge of “{signature.name}” into “{target.name}” is undone.",
        anchor="duplicates",
    )
