"""Accounts blueprint: registration, login, password reset, settings, organisations.

Every view follows the same order: load the objects, check permission, validate
the form, call one operation, flash, redirect.
"""

from __future__ import annotations

import time
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

from signon.accounts import operations, queries, totp
from signon.accounts.forms import (
    ChangePasswordForm,
    ConfirmEmailForm,
    EmailOnlyForm,
    InviteForm,
    LoginForm,
    NotificationsForm,
    OrganisationForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
    RoleForm,
    SecondFactorForm,
    TwoStepChangeForm,
    TwoStepSetupForm,
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
from signon.core.sessions import forget_browser_copies
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


# --- Two-step login: what the session holds between the steps ---------------------------------
#
# Between a right password and the code, the session (a signed cookie) holds only a
# marker: the user's id, their session token (a password change or "log out everywhere"
# meanwhile ends it) and when the password was checked. No secret ever goes into the
# cookie (it is signed, not encrypted): the TOTP secret being set up waits in the
# database (PendingTwoStepSecret), and new recovery codes are shown in the answer to the
# POST that made them (see _recovery_codes_page), never stored in the clear.

PENDING_LOGIN = "two_step_pending_login"
#: A half-done login is forgotten after this many seconds.
PENDING_LOGIN_SECONDS = 5 * 60


def _start_pending_login(user: User) -> None:
    """The password was right; the code is still to come. Whoever was logged in on this
    browser is not any more, and nothing of their session survives."""
    logout_user()
    session.clear()
    session[PENDING_LOGIN] = {
        "user_id": user.id,
        "token": user.session_token,
        "at": int(time.time()),
    }


def _pending_login_user() -> User | None:
    """The user half-way through logging in on this browser, or ``None`` (with a message
    when there was one whose time ran out or whose session ended)."""
    pending = session.get(PENDING_LOGIN)
    if pending is None:
        return None
    try:
        user_id, token, started = int(pending["user_id"]), str(pending["token"]), int(pending["at"])
    except (KeyError, TypeError, ValueError):
        session.pop(PENDING_LOGIN, None)
        return None
    if not 0 <= time.time() - started <= PENDING_LOGIN_SECONDS:
        session.pop(PENDING_LOGIN, None)
        flash(
            "More than 5 minutes passed after your password was checked. For your safety, "
            "please log in again.",
            "warning",
        )
        return None
    user = db.session.get(User, user_id)
    if user is None or user.session_token != token or not user.two_step_enabled:
        session.pop(PENDING_LOGIN, None)
        flash("Please log in again.", "warning")
        return None
    return user


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
        if result.status is operations.LoginStatus.SECOND_FACTOR_NEEDED and result.user:
            _start_pending_login(result.user)
            return redirect(url_for("accounts.login_code", next=next_url))
        if result.status is operations.LoginStatus.BACKING_OFF:
            form.form_errors.append(_backing_off_message(result.retry_after))
            page = render_template("accounts/login.html", form=form, next_url=next_url)
            return Response(
                page, 429, {"Retry-After": str(result.retry_after)}, mimetype="text/html"
            )
        if result.status is operations.LoginStatus.UNCONFIRMED:
            flash(
                "Please confirm your email address first: open the newest confirmation "
                "link we have sent you. (A new one goes with each attempt, a few an hour "
                "at most; look in your spam folder too.)",
                "warning",
            )
            return redirect(url_for("accounts.resend_confirmation"))
        form.form_errors.append(BAD_LOGIN_MESSAGE)
    return render_template("accounts/login.html", form=form, next_url=next_url)


@bp.route("/login/code", methods=["GET", "POST"])
@public
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def login_code() -> Response | str:
    """The second step of logging in, for accounts with two-step login."""
    next_url = _next_url()
    user = _pending_login_user()
    if user is None:
        return redirect(url_for("accounts.login", next=next_url))
    form = SecondFactorForm()
    if form.validate_on_submit():
        result = operations.complete_login(user, form.given_code)
        if result.status is operations.LoginStatus.OK:
            _log_in(user)
            flash(f"Welcome back, {user.display_name}.", "success")
            if result.second_factor == "recovery_code":
                left = queries.unused_recovery_codes(user)
                flash(
                    f"You used a recovery code; {left} of them are left. If you have lost "
                    "your phone, turn two-step login off and on again in your account "
                    "settings, or make new recovery codes there.",
                    "warning",
                )
            return redirect(next_url or url_for("core.home"))
        if result.status is operations.LoginStatus.BACKING_OFF:
            form.form_errors.append(_backing_off_message(result.retry_after))
            page = render_template(
                "accounts/login_code.html", form=form, next_url=next_url, user=user
            )
            return Response(
                page, 429, {"Retry-After": str(result.retry_after)}, mimetype="text/html"
            )
        field = form.recovery_code if not form.code.data else form.code
        field.errors = [*field.errors, operations.BAD_CODE_MESSAGE]
    return render_template("accounts/login_code.html", form=form, next_url=next_url, user=user)


@bp.post("/logout")
def logout() -> Response:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    user = _user()
    operations.log_out_everywhere(user)
    logout_user()
    session.clear()
    forget_browser_copies(user.id)
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
        # The same answer whether the address is new or has an account already (whose
        # owner is mailed instead): nobody learns who has an account here.
        operations.register_user(
            form.email.data,
            form.display_name.data,
            form.password.data,
            form.timezone_or_utc,
            next_url,
        )
        flash(
            f"Thank you. We have sent a message to {form.email.data}; open the link in it "
            "to finish.",
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
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def confirm_email(token: str) -> Response | str | tuple[str, int]:
    """GET shows the form; only the POST confirms (mail scanners follow links), with the
    account's password (see ``ConfirmEmailForm``)."""
    problem = operations.token_problem(UserToken.find(token, TokenPurpose.CONFIRM_EMAIL))
    if problem is not None:
        return _token_problem_page("confirm", problem, resend_form=EmailOnlyForm(formdata=None))
    form = ConfirmEmailForm()
    if request.method == "POST":
        if not form.validate():
            return _confirm_page(form, token, 422)
        try:
            user = operations.confirm_email(token, form.password.data or "")
        except operations.InvalidTokenError as error:
            return _token_problem_page(
                "confirm", error.problem, resend_form=EmailOnlyForm(formdata=None)
            )
        except (operations.NotTheRegistrantError, operations.TooManyAttemptsError) as error:
            form.password.errors = [str(error)]
            return _confirm_page(form, token, 422)
        if user.two_step_enabled:  # never in practice (it is set up after confirming)
            _start_pending_login(user)
            return redirect(url_for("accounts.login_code", next=_next_url()))
        _log_in(user)
        flash("Thank you: your email address is confirmed and you are logged in.", "success")
        return redirect(_next_url() or url_for("core.home"))
    return _confirm_page(form, token)


def _confirm_page(form: ConfirmEmailForm, token: str, status: int = 200) -> tuple[str, int]:
    return (
        render_template(
            "accounts/confirm_email.html", form=form, token=token, next_url=_next_url()
        ),
        status,
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
        if user.two_step_enabled:
            # The link proves the mailbox, not the phone: two-step login stays on.
            _start_pending_login(user)
            flash(
                "Your password has been changed. To log in, enter the code from your "
                "authenticator app.",
                "success",
            )
            return redirect(url_for("accounts.login_code"))
        _log_in(user)
        flash("Your password has been changed and you are logged in.", "success")
        return redirect(url_for("core.home"))
    return render_template("accounts/reset_password.html", form=form, token=token)


# --- Account settings --------------------------------------------------------------------------


def _disable_form(user: User, **kwargs: Any) -> TwoStepChangeForm:
    return TwoStepChangeForm(prefix="disable", user=user, **kwargs)


def _new_codes_form(user: User, **kwargs: Any) -> TwoStepChangeForm:
    return TwoStepChangeForm(prefix="newcodes", user=user, **kwargs)


def _note_refusal(
    form: ChangePasswordForm | TwoStepSetupForm | TwoStepChangeForm,
    error: operations.AccountsError,
) -> None:
    """Show a refused password or code check beside the field it is about (a back-off
    above the whole form)."""
    if isinstance(error, operations.TooManyAttemptsError):
        form.form_errors.append(str(error))
        return
    field = form.current_password
    if not isinstance(error, operations.WrongPasswordError) and not isinstance(
        form, ChangePasswordForm
    ):
        field = form.code
    field.errors = [*field.errors, str(error)]


def _refusal_answer(page: str, error: operations.AccountsError | None) -> Response | str:
    """The page again; with 429 and Retry-After when the account backs off."""
    if isinstance(error, operations.TooManyAttemptsError):
        return Response(page, 429, {"Retry-After": str(error.retry_after)}, mimetype="text/html")
    return page


def _recovery_codes_page(codes: list[str]) -> Response:
    """New recovery codes, shown once: in the answer to the POST that made them, kept by
    no cookie and no cache, and stored only hashed. (A redirect would need them stored
    in the clear until the next request; sending the form again is harmless: two-step
    login is on already, or the code has been used.)"""
    page = render_template("accounts/recovery_codes.html", codes=codes)
    return Response(page, 200, {"Cache-Control": "no-store"}, mimetype="text/html")


def _settings_page(
    profile_form: ProfileForm | None = None,
    password_form: ChangePasswordForm | None = None,
    disable_form: TwoStepChangeForm | None = None,
    new_codes_form: TwoStepChangeForm | None = None,
    notifications_form: NotificationsForm | None = None,
) -> str:
    user = _user()
    if notifications_form is None:
        notifications_form = NotificationsForm(formdata=None)
        notifications_form.show(queries.notification_choices(user))
    return render_template(
        "accounts/settings.html",
        profile_form=profile_form or ProfileForm(formdata=None, obj=user),
        password_form=password_form or ChangePasswordForm(formdata=None, user=user),
        disable_form=disable_form or _disable_form(user, formdata=None),
        new_codes_form=new_codes_form or _new_codes_form(user, formdata=None),
        recovery_codes_left=queries.unused_recovery_codes(user) if user.two_step_enabled else 0,
        memberships=queries.memberships_of(user),
        notifications_form=notifications_form,
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


@bp.post("/account/notifications")
def notification_settings() -> Response | str:
    user = _user()
    form = NotificationsForm()
    if form.validate_on_submit():
        operations.set_notification_preferences(user, form.choices())
        flash("Your notification settings are saved.", "success")
        return redirect(url_for("accounts.settings", _anchor="notifications"))
    return _settings_page(notifications_form=form)


@bp.post("/account/password")
@limiter.limit(AUTH_LIMIT)
def change_password() -> Response | str:
    user = _user()
    form = ChangePasswordForm(user=user)
    refusal: operations.AccountsError | None = None
    if form.validate_on_submit():
        try:
            operations.change_password(user, form.current_password.data, form.password.data)
        except operations.AccountsError as error:
            refusal = error
            _note_refusal(form, error)
        else:
            _log_in(user)  # this session carries the new session token; every other one ends
            flash(
                "Your password has been changed. You have been logged out everywhere else.",
                "success",
            )
            return redirect(url_for("accounts.settings"))
    return _refusal_answer(_settings_page(password_form=form), refusal)


# --- Two-step login ----------------------------------------------------------------------------


@bp.post("/account/two-step")
def two_step_start() -> Response:
    """The "Set up" button: a new secret waits server-side until a code confirms it.
    Pressed again while one waits, it keeps that one (the app may have it already)."""
    user = _user()
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        operations.start_two_step_setup(user)
    except operations.TwoStepStateError as error:
        flash(str(error), "info")
        return redirect(url_for("accounts.settings"))
    return redirect(url_for("accounts.two_step_setup"))


@bp.route("/account/two-step/setup", methods=["GET", "POST"])
@limiter.limit(AUTH_LIMIT, methods=["POST"])
def two_step_setup() -> Response | str:
    user = _user()
    if user.two_step_enabled:
        flash("Two-step login is already on for your account.", "info")
        return redirect(url_for("accounts.settings"))
    secret = queries.pending_two_step_secret(user)
    if secret is None:
        flash(operations.NO_PENDING_SETUP_MESSAGE, "info")
        return redirect(url_for("accounts.settings"))
    form = TwoStepSetupForm(user=user)
    refusal: operations.AccountsError | None = None
    if form.validate_on_submit():
        try:
            codes = operations.finish_two_step_setup(
                user, form.current_password.data, form.code.data
            )
        except operations.AccountsError as error:
            refusal = error
            _note_refusal(form, error)
        else:
            flash("Two-step login is on. From now on you log in with a code as well.", "success")
            return _recovery_codes_page(codes)
    uri = totp.provisioning_uri(secret, user.email)
    page = render_template(
        "accounts/two_step_setup.html",
        form=form,
        qr_code=totp.qr_code_data_uri(uri),
        secret=totp.grouped(secret),
    )
    return _refusal_answer(page, refusal)


@bp.post("/account/two-step/disable")
@limiter.limit(AUTH_LIMIT)
def two_step_disable() -> Response | str:
    user = _user()
    if not user.two_step_enabled:
        flash("Two-step login is not on for your account.", "info")
        return redirect(url_for("accounts.settings"))
    form = _disable_form(user)
    refusal: operations.AccountsError | None = None
    if form.validate_on_submit():
        try:
            operations.disable_two_step(user, form.current_password.data, form.code.data)
        except operations.AccountsError as error:
            refusal = error
            _note_refusal(form, error)
        else:
            flash("Two-step login is off. You log in with your password alone.", "success")
            return redirect(url_for("accounts.settings"))
    return _refusal_answer(_settings_page(disable_form=form), refusal)


@bp.post("/account/two-step/new-codes")
@limiter.limit(AUTH_LIMIT)
def two_step_new_codes() -> Response | str:
    user = _user()
    if not user.two_step_enabled:
        flash("Two-step login is not on for your account.", "info")
        return redirect(url_for("accounts.settings"))
    form = _new_codes_form(user)
    refusal: operations.AccountsError | None = None
    if form.validate_on_submit():
        try:
            codes = operations.regenerate_recovery_codes(
                user, form.current_password.data, form.code.data
            )
        except operations.AccountsError as error:
            refusal = error
            _note_refusal(form, error)
        else:
            flash("You have new recovery codes; the old ones no longer work.", "success")
            return _recovery_codes_page(codes)
    return _refusal_answer(_settings_page(new_codes_form=form), refusal)


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
                actor=_user(),
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
        except (operations.AlreadyMemberError, operations.MailAllowanceError) as error:
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
    refusal = operations.invitation_refusal(invitation, user)
    form = ActionForm()
    if refusal is None and form.validate_on_submit():
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
    page = render_template(
        "accounts/invitation.html",
        invitation=invitation,
        form=form,
        existing=existing,
        refusal=refusal,
    )
    # A refused POST changes nothing and says why (403); looking is always allowed.
    return (page, 403) if refusal is not None and request.method == "POST" else page
