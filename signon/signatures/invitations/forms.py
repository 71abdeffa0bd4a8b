"""Forms for invitations (coordinators) and for the invitation link (invitees).

Context (the letter) comes in as keyword arguments; checks that need the database are
``validate_<field>`` methods. Uploaded files are only checked for presence here:
their content is judged by :mod:`signon.signatures.invitations.operations` (CSV) and
:mod:`signon.signatures.uploads` (logos).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_wtf.file import FileField
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from signon.core import fields
from signon.core.forms import BaseForm, DayField, IdField
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter, Revision
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations.operations import (
    MAX_BULK_LINES,
    MAX_CSV_BYTES,
    MAX_NAME_CHARS,
    InvitationError,
    normalise_invitee_email,
)
from signon.signatures.models import Invitation, SignatoryKind

KIND_CHOICES = [SelectChoice(kind.value, kind.label) for kind in SignatoryKind]
#: The textarea of a bulk invitation accepts this many characters (2,000 long lines).
MAX_PASTE_CHARS = 600_000


def _normalise_newlines(value: Any) -> Any:
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def _has_file(field: FileField) -> bool:
    data = field.data
    return isinstance(data, FileStorage) and bool(data.filename)


class ExpiryMixin:
    """An optional last day for the link, in the coordinator's time zone."""

    expires_on = DayField(
        "Link valid until (optional)",
        validators=[Optional()],
    )

    def expires_at(self) -> datetime | None:
        """The end of the chosen day in the reader's time zone, in UTC."""
        return self.expires_on.end_of_day_utc()

    def validate_expires_on(self, field: DateField) -> None:
        moment = self.expires_at()
        if moment is not None and moment <= utcnow():
            raise ValidationError("Choose today or a later day.")


class InviteOneForm(ExpiryMixin, BaseForm):
    organisation_name = StringField(
        "Organisation",
        validators=[DataRequired(), Length(max=MAX_NAME_CHARS)],
        filters=[fields.squash],
    )
    email = EmailField(
        "E-mail address", validators=[DataRequired(), Length(max=254)], filters=[fields.trim]
    )

    def __init__(self, *args: Any, letter: Letter, **kwargs: Any) -> None:
        super().__init__(*args, prefix="one", **kwargs)
        self.letter = letter

    def validate_email(self, field: EmailField) -> None:
        try:
            field.data = normalise_invitee_email(field.data or "")
        except InvitationError as error:
            raise ValidationError(str(error)) from error
        already = db.session.scalar(
            select(Invitation).where(
                Invitation.letter_id == self.letter.id, Invitation.email == field.data
            )
        )
        if already is not None:
            raise ValidationError(
                f"{already.email} is already invited for {already.organisation_name}. "
                "Re-send or revoke that invitation in the list below."
            )


class InviteManyForm(ExpiryMixin, BaseForm):
    lines = TextAreaField(
        "Organisations and addresses, one per line",
        validators=[Optional(), Length(max=MAX_PASTE_CHARS)],
        filters=[_normalise_newlines],
    )
    csv_file = FileField("Or a CSV file (columns: organisation, email)")
    #: The number of mails the coordinator confirmed on the confirmation step.
    confirm_count = IntegerField(
        widget=HiddenInput(), validators=[Optional(), NumberRange(min=0, max=MAX_BULK_LINES)]
    )
    #: A CSV file's text, kept (hidden) across the confirmation step: a browser cannot
    #: send the chosen file a second time.
    csv_text = TextAreaField(validators=[Optional(), Length(max=MAX_CSV_BYTES)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="many", **kwargs)

    def has_file(self) -> bool:
        return _has_file(self.csv_file)

    def kept_csv(self) -> str:
        """The text of a CSV file chosen before the confirmation step ("" if none)."""
        return self.csv_text.data or ""

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not (self.lines.data or "").strip() and not self.has_file() and not self.kept_csv():
            self.lines.errors = [
                "Paste at least one line “Organisation, email”, or choose a CSV file."
            ]
            return False
        return True


class RevisionFormMixin:
    """The revision the person read (a hidden field), checked to belong to the letter."""

    revision = IdField(widget=HiddenField.widget, validators=[InputRequired()])
    letter: Letter
    read_revision: Revision | None = None

    def validate_revision(self, field: IntegerField) -> None:
        revision = db.session.scalar(
            select(Revision).where(Revision.letter_id == self.letter.id, Revision.id == field.data)
        )
        if revision is None:
            raise ValidationError(
                "This form refers to a version of the text we do not know. "
                "Read the current text below and answer again."
            )
        self.read_revision = revision

    def set_revision(self, revision: Revision) -> None:
        """Point the hidden field at ``revision`` (after showing the person the changes)."""
        self.revision.data = revision.id
        self.revision.raw_data = [str(revision.id)]


class SeenForm(RevisionFormMixin, BaseForm):
    #: The browser's time zone (static/js/invitee.js); checked by the operation.
    timezone = StringField(validators=[Optional(), Length(max=64)], filters=[fields.squash])

    def __init__(self, *args: Any, letter: Letter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.letter = letter


class ApproveForm(RevisionFormMixin, BaseForm):
    name = StringField(
        "Name of the organisation, exactly as it should be printed",
        validators=[DataRequired(), Length(max=MAX_NAME_CHARS)],
        filters=[fields.squash],
    )
    sort_name = StringField(
        "Sort under (optional)",
        validators=[Optional(), Length(max=MAX_NAME_CHARS)],
        filters=[fields.squash],
        description="Only if the name should be sorted differently from how it is written, "
        "e.g. “Moroccan Coalition for the ICC, the” for “the Moroccan Coalition for the ICC”.",
    )
    country = StringField(
        "Country",
        validators=[Optional(), Length(max=100)],
        filters=[fields.squash],
        description="Where the organisation is based, or “International”.",
    )
    kind = SelectField("Type of organisation", choices=KIND_CHOICES, default="ngo")
    representative_name = StringField(
        "Name of the person signing for it",
        validators=[DataRequired(), Length(max=200)],
        filters=[fields.squash],
    )
    representative_title = StringField(
        "Their title or role",
        validators=[DataRequired(), Length(max=200)],
        filters=[fields.squash],
        description="e.g. Executive Director",
    )
    website = StringField(
        "Website (optional)",
        validators=[Optional(), Length(max=500), fields.http_url],
        filters=[fields.website],
    )
    affiliation = StringField(
        "Affiliation (optional)",
        validators=[Optional(), Length(max=300)],
        filters=[fields.squash],
        description="An individual's organisation or institution, printed “for "
        "identification only”.",
    )
    logo = FileField(
        "Logo (optional)",
        description="PNG, JPEG or WebP, up to 2 MB. It is re-encoded; please choose the file "
        "again if the form is shown a second time.",
    )
    authority = BooleanField(
        "I confirm that the person named above may sign on behalf of this organisation",
        validators=[
            DataRequired(message="Please confirm that this person may sign for the organisation.")
        ],
    )

    def __init__(self, *args: Any, letter: Letter, **kwargs: Any) -> None:
        super().__init__(*args, prefix="approve", **kwargs)
        self.letter = letter

    def has_logo(self) -> bool:
        return _has_file(self.logo)

    def is_individual(self) -> bool:
        """A person signing for themself (a public individual signatory's private link):
        an affiliation, but no representative and no "on behalf of" confirmation."""
        return bool(self.kind.data == SignatoryKind.INDIVIDUAL.value)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = bool(super().validate(extra_validators))
        if self.is_individual():
            for field in (self.representative_name, self.representative_title, self.authority):
                field.errors = []
            valid = not self.errors
        return valid

    def details(self) -> SignatoryDetails:
        individual = self.is_individual()
        return SignatoryDetails(
            name=self.name.data or "",
            kind=SignatoryKind(self.kind.data),
            sort_name=self.sort_name.data or None,
            country=self.country.data or None,
            representative_name=None if individual else self.representative_name.data or None,
            representative_title=self.representative_title.data or None,
            website=self.website.data or None,
            authority_confirmed=not individual and bool(self.authority.data),
            affiliation=self.affiliation.data or None if individual else None,
        )

    def authority_label(self) -> str:
        who = (self.representative_name.data or "").strip()
        if who:
            return f"I confirm that {who} may sign on behalf of this organisation"
        return str(self.authority.label.text)


class DeclineForm(BaseForm):
    reason = TextAreaField(
        "Reason (optional, shared with the coordinators)",
        validators=[Optional(), Length(max=2000)],
        filters=[fields.trim],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="decline", **kwargs)


class WithdrawForm(BaseForm):
    reason = TextAreaField(
        "Reason (optional, shared with the coordinators)",
        validators=[Optional(), Length(max=2000)],
        filters=[fields.trim],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="withdraw", **kwargs)
