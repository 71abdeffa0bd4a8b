"""Forms for accounts and organisations.

Forms get their context (the organisation, the current user) as keyword
arguments; uniqueness checks are ``validate_<field>`` methods.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from wtforms import (
    EmailField,
    Field,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from signon.accounts import totp
from signon.accounts.models import Membership, Organisation, User
from signon.accounts.queries import timezone_names
from signon.core import fields
from signon.core.forms import BaseForm
from signon.core.notices import Delivery, NoticeKind, default_delivery
from signon.core.passwords import MIN_PASSWORD_LENGTH, password_problem
from signon.core.permissions import OrganisationRole, TeamRole
from signon.core.timefmt import is_valid_timezone
from signon.extensions import db

ROLE_CHOICES = [
    SelectChoice(OrganisationRole.MEMBER.value, "Member: sees the organisation and its members"),
    SelectChoice(OrganisationRole.ADMIN.value, "Admin: also edits details and manages members"),
]
ROW_ROLE_CHOICES = [SelectChoice(role.value, role.label) for role in OrganisationRole]


def _email_field(label: str = "Email", autocomplete: str = "email") -> EmailField:
    return EmailField(
        label,
        filters=[fields.email],
        validators=[
            DataRequired("Enter your email address."),
            Length(max=254),
            Email("Enter a valid email address, like name@example.org."),
        ],
        render_kw={"autocomplete": autocomplete, "spellcheck": "false", "autocapitalize": "none"},
    )


def _new_password_fields(
    label: str = "New password", repeat: str = "Repeat the new password"
) -> tuple[PasswordField, PasswordField]:
    password = PasswordField(
        label,
        validators=[
            DataRequired("Choose a password."),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1024,
                message=f"Use at least {MIN_PASSWORD_LENGTH} characters.",
            ),
        ],
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD_LENGTH},
    )
    confirm = PasswordField(
        repeat,
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", "The two passwords do not match."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


def check_new_password(password: str | None, email: str | None, name: str | None) -> None:
    """Refuse common passwords and ones containing the person's name or address."""
    problem = password_problem(password or "", email, name)
    if problem is not None:
        raise ValidationError(problem)


class RegisterForm(BaseForm):
    email = _email_field()
    display_name = StringField(
        "Your name",
        filters=[fields.trim],
        validators=[DataRequired("Enter your name."), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )
    password, password_confirm = _new_password_fields("Password", "Repeat the password")
    timezone = HiddenField(render_kw={"data-timezone": True})
    submit = SubmitField("Create account")

    # No check that the address is free: the answer must not tell who has an account
    # (operations.register_user mails the owner of an existing one instead).

    def validate_password(self, field: Field) -> None:
        if field.data and len(field.data) >= MIN_PASSWORD_LENGTH:
            check_new_password(field.data, self.email.data, self.display_name.data)

    @property
    def timezone_or_utc(self) -> str:
        name = (self.timezone.data or "").strip()
        return name if name and is_valid_timezone(name) else "UTC"


class LoginForm(BaseForm):
    email = _email_field("Email")
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password.")],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Log in")


class ConfirmEmailForm(BaseForm):
    """The mailed confirmation link's page. The link proves who reads the address's mail,
    not who chose the account's password: someone may have registered another person's
    address (a colleague invited to a team, say) and wait for its owner to confirm it.
    The password is asked too, so that only whoever created the account confirms it."""

    password = PasswordField(
        "Your password",
        validators=[DataRequired("Enter the password you chose when you created the account.")],
        description="The one you chose when you created the account.",
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Confirm my address")


class EmailOnlyForm(BaseForm):
    """Forgot password, resend confirmation: just an address."""

    email = _email_field()
    submit = SubmitField("Send the link")


class ResetPasswordForm(BaseForm):
    password, password_confirm = _new_password_fields()
    submit = SubmitField("Set the new password")

    def __init__(self, *args: Any, user: User | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_password(self, field: Field) -> None:
        if field.data and len(field.data) >= MIN_PASSWORD_LENGTH:
            user = self.user
            check_new_password(
                field.data, user.email if user else None, user.display_name if user else None
            )


class ProfileForm(BaseForm):
    display_name = StringField(
        "Your name",
        filters=[fields.trim],
        validators=[DataRequired("Enter your name."), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )
    timezone = SelectField("Time zone", validate_choice=True)
    submit = SubmitField("Save")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = [
            SelectChoice(name, name.replace("_", " ")) for name in timezone_names()
        ]


class _CurrentPasswordForm(BaseForm):
    """A form that asks for the password of ``user``, the person it acts for.

    The password is checked by the operation, not here: every check is counted toward
    the per-address back-off (see ``operations.check_current_password``)."""

    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password.")],
        render_kw={"autocomplete": "current-password"},
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user


class ChangePasswordForm(_CurrentPasswordForm):
    password, password_confirm = _new_password_fields()
    submit = SubmitField("Change password")

    def validate_password(self, field: Field) -> None:
        if field.data and len(field.data) >= MIN_PASSWORD_LENGTH:
            check_new_password(field.data, self.user.email, self.user.display_name)
        if field.data and field.data == self.current_password.data:
            raise ValidationError("Choose a password different from your current one.")


# --- Two-step login ---------------------------------------------------------------------------


#: A code from an authenticator app: the phone offers digits, and may fill it in itself.
APP_CODE_RENDER_KW = {
    "autocomplete": "one-time-code",
    "inputmode": "numeric",
    "pattern": "[0-9 ]*",
    "maxlength": 12,
    "spellcheck": "false",
    "autocapitalize": "none",
    "class": "code-input",
}


def _app_code_field(label: str = "6-digit code from the app") -> StringField:
    return StringField(
        label,
        filters=[totp.normalise_code],
        validators=[DataRequired("Enter the 6-digit code your app shows.")],
        render_kw=dict(APP_CODE_RENDER_KW),
    )


def _check_app_code(field: Field) -> None:
    if field.data and not totp.looks_like_totp_code(field.data):
        raise ValidationError("The code from the app has 6 digits.")


#: Fields that take an app code or a recovery code (letters too: no numeric keypad).
CODE_TEXT_RENDER_KW = {
    "maxlength": 24,
    "spellcheck": "false",
    "autocapitalize": "none",
    "class": "code-input",
}


class TwoStepSetupForm(_CurrentPasswordForm):
    """Confirm the new secret: the password, and a code the app made from it."""

    code = _app_code_field()
    submit = SubmitField("Turn on two-step login")

    def validate_code(self, field: Field) -> None:
        _check_app_code(field)


class TwoStepChangeForm(_CurrentPasswordForm):
    """Turning two-step login off, or new recovery codes: the password and a code.

    Two of these share the settings page, so each gets a ``prefix`` (field ids differ)."""

    code = StringField(
        "Code from the app, or a recovery code",
        filters=[totp.normalise_code],
        validators=[DataRequired("Enter the code your app shows, or a recovery code.")],
        render_kw={**CODE_TEXT_RENDER_KW, "autocomplete": "one-time-code"},
    )
    submit = SubmitField("Confirm")

    def validate_code(self, field: Field) -> None:
        if field.data and not (
            totp.looks_like_totp_code(field.data) or totp.looks_like_recovery_code(field.data)
        ):
            raise ValidationError(
                "Enter the 6 digits from your app, or a recovery code like abcde-fghij."
            )


class SecondFactorForm(BaseForm):
    """The second step of logging in: a code from the app, or else a recovery code."""

    code = StringField(
        "6-digit code from the app",
        filters=[totp.normalise_code],
        render_kw=dict(APP_CODE_RENDER_KW),
    )
    recovery_code = StringField(
        "Recovery code",
        filters=[totp.normalise_code],
        render_kw={**CODE_TEXT_RENDER_KW, "autocomplete": "off"},
    )
    submit = SubmitField("Log in")

    def validate_code(self, field: Field) -> None:
        _check_app_code(field)

    def validate_recovery_code(self, field: Field) -> None:
        if field.data and not totp.looks_like_recovery_code(field.data):
            raise ValidationError("A recovery code has 10 letters and digits, like abcde-fghij.")

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        if valid and not (self.code.data or self.recovery_code.data):
            self.code.errors = [*self.code.errors, "Enter the 6-digit code your app shows."]
            return False
        return valid

    @property
    def given_code(self) -> str:
        """The code to check: the app's if one was typed, else the recovery code."""
        return str(self.code.data or self.recovery_code.data or "")


class OrganisationForm(BaseForm):
    name = StringField(
        "Name",
        filters=[fields.squash_or_none],
        validators=[DataRequired("Enter the organisation's name."), Length(max=300)],
        description="As it should be printed under a letter.",
    )
    short_name = StringField(
        "Short name or acronym",
        filters=[fields.squash_or_none],
        validators=[Optional(), Length(max=80)],
    )
    country = StringField(
        "Country", filters=[fields.squash_or_none], validators=[Optional(), Length(max=100)]
    )
    website = StringField(
        "Website",
        filters=[fields.website],
        validators=[Optional(), Length(max=500), fields.http_url],
        render_kw={"inputmode": "url", "autocomplete": "url", "spellcheck": "false"},
    )
    submit = SubmitField("Save")

    def __init__(self, *args: Any, organisation: Organisation | None = None, **kwargs: Any) -> None:
        super().__init__(*args, obj=organisation, **kwargs)
        self.organisation = organisation

    def validate_name(self, field: Field) -> None:
        key = Organisation.key_for(field.data or "")
        query = select(Organisation.id).where(Organisation.name_key == key)
        if self.organisation is not None:
            query = query.where(Organisation.id != self.organisation.id)
        if db.session.scalar(query) is not None:
            raise ValidationError(
                "An organisation with this name already exists on Signon. Ask one of its "
                "members to invite you."
            )


class InviteForm(BaseForm):
    email = _email_field("Colleague's email", autocomplete="off")
    role = SelectField("Role", choices=ROLE_CHOICES, default=OrganisationRole.MEMBER.value)
    submit = SubmitField("Send invitation")

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation

    def validate_email(self, field: Field) -> None:
        member = db.session.scalar(
            select(Membership.id)
            .join(User, Membership.user_id == User.id)
            .where(Membership.organisation_id == self.organisation.id, User.email == field.data)
        )
        if member is not None:
            raise ValidationError("This person is already a member of the organisation.")


class RoleForm(BaseForm):
    role = SelectField("Role", choices=ROW_ROLE_CHOICES)
    submit = SubmitField("Change role")


#: The choice that stores nothing: the person's role decides (``core.notices``).
DEFAULT_DELIVERY = "default"


def _default_label(kind: NoticeKind) -> str:
    shown = default_delivery(kind, TeamRole.COORDINATOR).label.lower()
    others = default_delivery(kind, TeamRole.DRAFTER).label.lower()
    if others == shown:
        return f"Default ({shown})"
    return f"Default (coordinators: {shown}; other members: {others})"


class NotificationsForm(BaseForm):
    """How the person hears of each kind of notice on the letters of their teams."""

    submit = SubmitField("Save notification settings")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "notify")
        super().__init__(*args, **kwargs)

    def kind_fields(self) -> list[tuple[NoticeKind, SelectField]]:
        return [(kind, getattr(self, kind.value)) for kind in NoticeKind]

    def choices(self) -> dict[NoticeKind, Delivery | None]:
        """The submitted choice per kind; ``None`` for the default."""
        return {
            kind: None if field.data == DEFAULT_DELIVERY else Delivery(field.data)
            for kind, field in self.kind_fields()
        }

    def show(self, chosen: dict[NoticeKind, Delivery]) -> None:
        """Fill the fields with the person's stored choices."""
        for kind, field in self.kind_fields():
            field.data = chosen[kind].value if kind in chosen else DEFAULT_DELIVERY


for _kind in NoticeKind:
    setattr(
        NotificationsForm,
        _kind.value,
        SelectField(
            _kind.label,
            choices=[SelectChoice(DEFAULT_DELIVERY, _default_label(_kind))]
            + [SelectChoice(delivery.value, delivery.label) for delivery in Delivery],
            default=DEFAULT_DELIVERY,
            validate_choice=True,
        ),
    )
