"""Accounts blueprint: registration, login, password reset, settings, organisations.

Every view follows the same order: load the objects, check permission, validate
the form, call one operation, flash, redirect.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from signon.accounts import operations, queries
from signon.accounts.forms import (
    ChangePasswordForm,
    EmailOnlyForm,
    InviteForm,
    LoginForm,
    OrganisationForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    RoleForm,
)
from signon.accounts.models import (
    Organisation,
    OrganisationInvitation,
    TokenPurpose,
    User,
    UserToken,
)
from signon.accounts.notifications import describe_hours
from signon.core.access import public
from signon.core.forms import ActionForm
from signon.core.permissions import Action, OrganisationRole, require
from signon.core.urls import safe_next_url
from signon.extensions import db, limiter

bp = Blueprint("accounts", __name__)

#: Per client address (behind trusted proxies: see signon.core.access).
AUTH_LIMIT = "10 per minute;100 per hour"
#: Per address typed into the form: no one gets a mailbox flooded with links.
MAIL_LINK_LIMIT_PER_EMAIL = "5 per hour"
BAD_LOGIN_MESSAGE = "The email address or password is not right. Please try again."


def _form_email_key() -> str:
    """Rate-limit key: the normalised address typed into the form."""
    return "email:" + User.normalise_email(str(request.form.get("email", "")))[:254]


def _backing_off_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    wait = "a minute" if minutes == 1 else f"{minutes} minutes"
    return (
        "There have been too many unsuccessful attempts to log in with this email address. "
        f"Please wait {wait} and try again, or reset your password with the link below."
    )


# --- Helpers --------------------------------------------------------------------------------


def _next_url() -> str | None:
    return safe_next_url(request.args.get("next"))


def _log_in(user: User) -> None:
    """Start a fresh session for ``user``: nothing of the previous session survives."""
    session.clear()
    login_user(user)


def _user() -> User:
    user: User = current_user._get_current_object()
    return user


def _organisation(org_id: int, action: Action = Action.ORGANISATION_VIEW) -> Organisation:
    """The organisation, if the current user may do ``action`` on it (404 for outsiders)."""
    organisation = db.get_or_404(Organisation, org_id)
    require(organisation, current_user, action, hide=Action.ORGANISATION_VIEW)
    return organisation


def _token_problem_page(
    kind: str, problem: operations.TokenProblem, **context: Any
) -> tuple[str, int]:
    code = 404 if problem is operations.TokenProblem.UNKNOWN else 410
    return (
        render_template("accounts/link_problem.html", kind=kind, problem=problem, **context),
        code,
    )


# --- Login and logout -------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def login() -> Response | str:
    next_url = _next_url()
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(next_url or url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        result = operations.attempt_login(form.email.data, form.password.data, next_url)
        if result.status is operations.LoginStatus.OK and result.user is not None:
            _log_in(result.user)
            flash(f"Welcome back, {result.user.display_name}.", "success")
            return redirect(next_url or url_for("core.home"))
        if result.status is operations.LoginStatus.BACKING_OFF:
            form.form_errors.append(_backing_off_message(result.retry_after))
            page = render_template("accounts/login.html", form=form, next_url=next_url)
            return Response(page, 429, {"Retry-After": str(result.retry_after)})
        if result.status is operations.LoginStatus.UNCONFIRMED:
            flash(
                "Please confirm your email address first. We have sent you a new "
                "confirmation link; open it to finish.",
                "warning",
            )
            return redirect(url_for("accounts.resend_confirmation"))
        form.form_errors.append(BAD_LOGIN_MESSAGE)
    return render_template("accounts/login.html", form=form, next_url=next_url)


@bp.post("/logout")
def logout() -> Response:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    operations.log_out_everywhere(_user())
    logout_user()
    session.clear()
    flash("You have logged out, on this device and every other one.", "success")
    return redirect(url_for("core.home"))


# --- Registration and e-mail confirmation ------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@public
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def register() -> Response | str:
    next_url = _next_url()
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(next_url or url_for("core.home"))
    form = RegisterForm()
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"][:254]
    if form.validate_on_submit():
        try:
            user = operations.register_user(
                form.email.data,
                form.display_name.data,
                form.password.data,
                form.timezone_or_utc,
                next_url,
            )
        except operations.EmailTakenError as error:
            form.email.errors = [*form.email.errors, str(error)]
        else:
            flash(
                f"Your account is created. We have sent a confirmation link to {user.email}; "
                "open it to finish.",
                "success",
            )
            return redirect(url_for("accounts.resend_confirmation"))
    return render_template("accounts/register.html", form=form, next_url=next_url)


@bp.route("/confirm", methods=["GET", "POST"])
@public
@limiter.limit(AUTH_LIMIT, methods=["POST"])
@limiter.limit(MAIL_LINK_LIMIT_PER_EMAIL, key_func=_form_email_key, methods=["POST"])
def resend_confirmation() -> Response | str:
    """'Check your inbox', with a form to have the confirmation link sent again."""
    form = EmailOnlyForm()
    if form.validate_on_submit():
        operations.resend_email_confirmation(form.email.data, _next_url())
        flash(
            "If that address belongs to an account that still needs confirming, we have "
            "sent a new link to it.",
            "info",
        )
        return redirect(url_for("accounts.resend_confirmation"))
    return render_template("accounts/check_email.html", form=form)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@public
def confirm_email(token: str) -> Response | str | tuple[str, int]:
    """GET shows a button; only the POST confirms (mail scanners follow links)."""
    problem = operations.token_problem(UserToken.find(token, TokenPurpose.CONFIRM_EMAIL))
    if problem is not None:
        return _token_problem_page("confirm", problem, resend_form=EmailOnlyForm(formdata=None))
    form = ActionForm()
    if form.validate_on_submit():
        try:
            user = operations.confirm_email(token)
        except operations.InvalidTokenError as error:
            return _token_problem_page(
                "confirm", error.problem, resend_form=EmailOnlyForm(formdata=None)
            )
        _log_in(user)
        flash("Thank you: your email address is confirmed and you are logged in.", "success")
        return redirect(_next_url() or url_for("core.home"))
    return render_template(
        "accounts/confirm_email.html", form=form, token=token, next_url=_next_url()
    )


# --- Password reset ----------------------------------------------------------------------------


@bp.route("/forgot-password", methods=["GET", "POST"])
@public
@limiter.limit(AUTH_LIMIT, methods=["POST"])
@limiter.limit(MAIL_LINK_LIMIT_PER_EMAIL, key_func=_form_email_key, methods=["POST"])
def forgot_password() -> Response | str:
    form = EmailOnlyForm()
    if form.validate_on_submit():
        operations.request_password_reset(form.email.data)
        flash(
            f"If an account exists for {form.email.data}, we have sent it a link to set a new "
            "password. Check your inbox (and spam folder).",
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@public
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    found = UserToken.find(token, TokenPurpose.RESET_PASSWORD)
    problem = operations.token_problem(found)
    if problem is not None or found is None:
        return _token_problem_page("reset", problem or operations.TokenProblem.UNKNOWN)
    form = ResetPasswordForm(user=found.user)
    if form.validate_on_submit():
        try:
            user = operations.reset_password(token, form.password.data)
        except operations.InvalidTokenError as error:
            return _token_problem_page("reset", error.problem)
        _log_in(user)
        flash("Your password has been changed and you are logged in.", "success")
        return redirect(url_for("core.home"))
    return render_template("accounts/reset_password.html", form=form, token=token)


# --- Account settings --------------------------------------------------------------------------


def _settings_page(
    profile_form: ProfileForm | None = None, password_form: ChangePasswordForm | None = None
) -> str:
    user = _user()
    return render_template(
        "accounts/settings.html",
        profile_form=profile_form or ProfileForm(formdata=None, obj=user),
        password_form=password_form or ChangePasswordForm(formdata=None, user=user),
        memberships=queries.memberships_of(user),
    )


@bp.route("/account", methods=["GET", "POST"])
def settings() -> Response | str:
    user = _user()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        operations.update_profile(user, form.display_name.data, form.timezone.data)
        flash("Your settings are saved.", "success")
        return redirect(url_for("accounts.settings"))
    return _settings_page(profile_form=form)


@bp.post("/account/password")
def change_password() -> Response | str:
    user = _user()
    form = ChangePasswordForm(user=user)
    if form.validate_on_submit():
        operations.change_password(user, form.password.data)
        _log_in(user)  # this session carries the new session token; every other one ends
        flash(
            "Your password has been changed. You have been logged out everywhere else.",
            "success",
        )
        return redirect(url_for("accounts.settings"))
    return _settings_page(password_form=form)


# --- Organisations -----------------------------------------------------------------------------


@bp.get("/organisations")
def organisations() -> str:
    return render_template(
        "accounts/organisations.html", memberships=queries.memberships_of(_user())
    )


@bp.route("/organisations/new", methods=["GET", "POST"])
def organisation_new() -> Response | str:
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            organisation = operations.create_organisation(
                _user(),
                form.name.data,
                form.short_name.data,
                form.country.data,
                form.website.data,
            )
        except operations.OrganisationNameTakenError as error:
            form.name.errors = [*form.name.errors, str(error)]
        else:
            flash(f"{organisation.name} is created; you are its admin.", "success")
            return redirect(url_for("accounts.organisation", org_id=organisation.id))
    return render_template("accounts/organisation_form.html", form=form, organisation=None)


def _organisation_page(organisation: Organisation, invite_form: InviteForm | None = None) -> str:
    user = _user()
    can_manage = organisation.can(user, Action.ORGANISATION_MANAGE)
    if invite_form is None and can_manage:
        invite_form = InviteForm(formdata=None, organisation=organisation)
    return render_template(
        "accounts/organisation.html",
        organisation=organisation,
        my_role=organisation.role_of(user),
        can_manage=can_manage,
        members=queries.members_of(organisation),
        invitations=queries.pending_invitations(organisation),
        invite_form=invite_form,
        roles=list(OrganisationRole),
        admin_count=organisation.admin_count(),
        invite_valid_for=describe_hours(current_app.config["SIGNON"].organisation_invite_hours),
    )


@bp.get("/organisations/<int:org_id>")
def organisation(org_id: int) -> str:
    return _organisation_page(_organisation(org_id))


@bp.route("/organisations/<int:org_id>/edit", methods=["GET", "POST"])
def organisation_edit(org_id: int) -> Response | str:
    organisation = _organisation(org_id, Action.ORGANISATION_MANAGE)
    form = OrganisationForm(organisation=organisation)
    if form.validate_on_submit():
        try:
            operations.update_organisation(
                organisation,
                form.name.data,
                form.short_name.data,
                form.country.data,
                form.website.data,
            )
        except operations.OrganisationNameTakenError as error:
            form.name.errors = [*form.name.errors, str(error)]
        else:
            flash("The organisation's details are saved.", "success")
            return redirect(url_for("accounts.organisation", org_id=organisation.id))
    return render_template("accounts/organisation_form.html", form=form, organisation=organisation)


@bp.post("/organisations/<int:org_id>/invitations")
@limiter.limit("60 per hour")
def organisation_invite(org_id: int) -> Response | str:
    organisation = _organisation(org_id, Action.ORGANISATION_MANAGE)
    form = InviteForm(organisation=organisation)
    if form.validate_on_submit():
        try:
            invitation = operations.invite_to_organisation(
                organisation, _user(), form.email.data, OrganisationRole(form.role.data)
            )
        except operations.AlreadyMemberError as error:
            form.email.errors = [*form.email.errors, str(error)]
        else:
            flash(
                f"We have sent an invitation to {invitation.email} "
                f"(as {invitation.role.label.lower()}).",
                "success",
            )
            return redirect(url_for("accounts.organisation", org_id=organisation.id))
    return _organisation_page(organisation, invite_form=form)


@bp.post("/organisations/<int:org_id>/invitations/<int:invitation_id>/revoke")
def organisation_revoke_invitation(org_id: int, invitation_id: int) -> Response:
    organisation = _organisation(org_id, Action.ORGANISATION_MANAGE)
    invitation = queries.invitation_in(organisation, invitation_id) or abort(404)
    form = ActionForm()
    if form.validate_on_submit():
        operations.revoke_invitation(invitation)
        flash(f"The invitation to {invitation.email} is withdrawn.", "success")
    return redirect(url_for("accounts.organisation", org_id=organisation.id))


@bp.post("/organisations/<int:org_id>/members/<int:membership_id>/role")
def organisation_member_role(org_id: int, membership_id: int) -> Response:
    organisation = _organisation(org_id, Action.ORGANISATION_MANAGE)
    membership = queries.membership_in(organisation, membership_id) or abort(404)
    form = RoleForm()
    if form.validate_on_submit():
        role = OrganisationRole(form.role.data)
        try:
            operations.change_member_role(membership, role, actor=current_user)
        except operations.LastAdminError as error:
            flash(str(error), "error")
        else:
            flash(f"{membership.user.display_name} is now {role.label.lower()}.", "success")
    else:
        flash("Choose one of the roles offered.", "error")
    return redirect(url_for("accounts.organisation", org_id=organisation.id))


@bp.post("/organisations/<int:org_id>/members/<int:membership_id>/remove")
def organisation_remove_member(org_id: int, membership_id: int) -> Response:
    organisation = _organisation(org_id, Action.ORGANISATION_MANAGE)
    membership = queries.membership_in(organisation, membership_id) or abort(404)
    form = ActionForm()
    if form.validate_on_submit():
        name = membership.user.display_name
        leaving = membership.user_id == _user().id
        try:
            operations.remove_member(membership, actor=current_user)
        except operations.LastAdminError as error:
            flash(str(error), "error")
        else:
            if leaving:
                flash(f"You have left {organisation.name}.", "success")
                return redirect(url_for("accounts.organisations"))
            flash(f"{name} is no longer a member of {organisation.name}.", "success")
    return redirect(url_for("accounts.organisation", org_id=organisation.id))


@bp.post("/organisations/<int:org_id>/leave")
def organisation_leave(org_id: int) -> Response:
    organisation = _organisation(org_id)
    membership = queries.membership_of(organisation, _user()) or abort(404)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            operations.leave_organisation(membership)
        except operations.LastAdminError as error:
            flash(str(error), "error")
        else:
            flash(f"You have left {organisation.name}.", "success")
            return redirect(url_for("accounts.organisations"))
    return redirect(url_for("accounts.organisation", org_id=organisation.id))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@public
def organisation_invitation(token: str) -> Response | str | tuple[str, int]:
    """The link in an invitation e-mail. Anyone may look; accepting needs an account."""
    invitation: OrganisationInvitation | None = queries.invitation_by_token(token)
    problem = operations.invitation_problem(invitation)
    if problem is not None or invitation is None:
        return _token_problem_page(
            "invitation", problem or operations.TokenProblem.UNKNOWN, invitation=invitation
        )
    here = url_for("accounts.organisation_invitation", token=token)
    if not current_user.is_authenticated:
        if request.method == "POST":
            flash("Please log in (or create an account) to accept the invitation.", "info")
            return redirect(url_for("accounts.login", next=here))
        return render_template("accounts/invitation.html", invitation=invitation, next_url=here)
    user = _user()
    existing = queries.membership_of(invitation.organisation, user)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            membership = operations.accept_invitation(invitation, user)
        except operations.InvalidTokenError as error:
            return _token_problem_page("invitation", error.problem, invitation=invitation)
        if existing is not None:
            flash(
                f"You were already a member of {membership.organisation.name}; "
                f"your role ({membership.role.label.lower()}) is unchanged.",
                "info",
            )
        else:
            flash(
                f"Welcome to {membership.organisation.name}: you have joined as "
                f"{membership.role.label.lower()}.",
                "success",
            )
        return redirect(url_for("accounts.organisation", org_id=membership.organisation_id))
    return render_template(
        "accounts/invitation.html", invitation=invitation, form=form, existing=existing
    )
