"""Forms of the letters feature. Context (the letter, the user) comes in as keyword arguments."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms import Form as WtfForm
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from signon.accounts.models import Membership, Organisation, User
from signon.core import fields
from signon.core.forms import BaseForm, DeadlineField, IdField, body_length_check
from signon.core.notices import Delivery
from signon.core.permissions import TeamRole
from signon.extensions import db
from signon.letters import queries
from signon.letters.models import LANGUAGES, Letter, Revision, TeamMember
from signon.letters.text import Conflict

ROLE_CHOICES = [
    SelectChoice(
        TeamRole.COORDINATOR.value, "Coordinator: runs the letter, the team and its settings"
    ),
    SelectChoice(TeamRole.DRAFTER.value, "Drafter: edits the text"),
    SelectChoice(TeamRole.VIEWER.value, "Viewer: reads the drafts"),
]
LANGUAGE_CHOICES = [SelectChoice(code, name) for code, name in LANGUAGES.items()]


def _normalise_newlines(value: Any) -> Any:
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


class DeadlineMixin:
    """A deadline typed in the reader's time zone, stored in UTC."""

    deadline = DeadlineField("Deadline for signatures (optional)", validators=[Optional()])

    def deadline_utc(self) -> datetime | None:
        return self.deadline.utc()


class LetterDetailsForm(DeadlineMixin, BaseForm):
    addressee = StringField(
        "Addressed to", validators=[Optional(), Length(max=500)], filters=[fields.trim]
    )
    language = SelectField("Language of the letter", choices=LANGUAGE_CHOICES, default="en")


class CreateLetterForm(LetterDetailsForm):
    title = StringField(
        "Title", validators=[DataRequired(), Length(max=300)], filters=[fields.trim]
    )
    drafting_organisation = SelectField(
        "Drafting on behalf of", coerce=int, validators=[Optional()]
    )
    body = TextAreaField(
        "First draft of the text (optional)",
        validators=[Optional(), body_length_check],
        filters=[_normalise_newlines],
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organisations = db.session.scalars(
            select(Organisation)
            .join(Membership)
            .where(Membership.user_id == user.id)
            .order_by(Organisation.name)
        ).all()
        self.drafting_organisation.choices = [SelectChoice("0", "Myself only")] + [
            SelectChoice(str(org.id), org.name) for org in organisations
        ]

    # Order of the fields on the page.
    def ordered_fields(self) -> list[Any]:
        return [
            self.title,
            self.addressee,
            self.language,
            self.deadline,
            self.drafting_organisation,
            self.body,
        ]


class BasedOnRevisionForm(BaseForm):
    """A form that saves text made from one of the letter's revisions (its base)."""

    base_revision = IdField(widget=HiddenField.widget, validators=[InputRequired()])

    def __init__(self, *args: Any, letter: Letter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.letter = letter
        self.base: Revision | None = None

    def validate_base_revision(self, field: IntegerField) -> None:
        revision = queries.revision_in(self.letter, field.data)
        if revision is None:
            raise ValidationError(
                "This edit is based on a version of the letter we do not know. "
                "Your text is kept below; reload the letter to start from the current version."
            )
        self.base = revision


def _change_note() -> StringField:
    return StringField(
        "Change note (optional)",
        validators=[Optional(), Length(max=500)],
        filters=[fields.trim],
        description="A few words on what you changed, shown in the history.",
    )


def _title() -> StringField:
    return StringField("Title", validators=[DataRequired(), Length(max=300)], filters=[fields.trim])


class EditTextForm(BasedOnRevisionForm):
    title = _title()
    body = TextAreaField("Text", validators=[body_length_check], filters=[_normalise_newlines])
    change_note = _change_note()
    draft = IdField(widget=HiddenField.widget, validators=[Optional()])


class ConflictChoice(enum.StrEnum):
    OURS = "ours"
    THEIRS = "theirs"
    EDIT = "edit"


class ConflictChoiceForm(WtfForm):
    """One conflict: keep yours, keep theirs, or write the passage anew (a sub-form: the
    CSRF token is the outer form's)."""

    choice = RadioField(
        "Which wording?",
        choices=[
            SelectChoice(ConflictChoice.OURS.value, "Keep yours"),
            SelectChoice(ConflictChoice.THEIRS.value, "Keep theirs"),
            SelectChoice(ConflictChoice.EDIT.value, "Write it yourself"),
        ],
        default=ConflictChoice.OURS.value,
    )
    text = TextAreaField(
        "Your wording of this passage",
        validators=[body_length_check],
        filters=[_normalise_newlines],
    )


class ResolveConflictsForm(BasedOnRevisionForm):
    """The conflict page: one choice per conflict; the result is saved as a revision."""

    title = _title()
    change_note = _change_note()
    conflicts = FieldList(FormField(ConflictChoiceForm))

    def chosen_texts(self, conflicts: Sequence[Conflict]) -> list[str]:
        """The wording chosen for each conflict, in order."""
        chosen = []
        for conflict, entry in zip(conflicts, self.conflicts.entries, strict=True):
            choice = entry.form.choice.data
            if choice == ConflictChoice.THEIRS:
                chosen.append(conflict.theirs)
            elif choice == ConflictChoice.EDIT:
                chosen.append(entry.form.text.data or "")
            else:
                chosen.append(conflict.ours)
        return chosen


class AddTeamUserForm(BaseForm):
    """A person, by e-mail address: any address, with or without an account (they are
    invited either way, and the answer is the same)."""

    email = EmailField(
        "E-mail address",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
        filters=[fields.trim],
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default=TeamRole.DRAFTER.value)

    def __init__(self, *args: Any, letter: Letter, **kwargs: Any) -> None:
        super().__init__(*args, prefix="user", **kwargs)
        self.letter = letter


class AddTeamOrganisationForm(BaseForm):
    organisation = SelectField("Organisation", coerce=int, validators=[DataRequired()])
    role = SelectField("Role", choices=ROLE_CHOICES, default=TeamRole.DRAFTER.value)
    drafting = BooleanField("A drafting organisation (shown as an author of the letter)")

    def __init__(self, *args: Any, letter: Letter, **kwargs: Any) -> None:
        super().__init__(*args, prefix="org", **kwargs)
        self.letter = letter
        on_team = select(TeamMember.organisation_id).where(
            TeamMember.letter_id == letter.id, TeamMember.organisation_id.is_not(None)
        )
        organisations = db.session.scalars(
            select(Organisation).where(Organisation.id.not_in(on_team)).order_by(Organisation.name)
        ).all()
        self.organisation.choices = [SelectChoice("0", "Choose an organisation…")] + [
            SelectChoice(str(org.id), org.name) for org in organisations
        ]
        self.chosen: Organisation | None = None

    def validate_organisation(self, field: SelectField) -> None:
        organisation = db.session.get(Organisation, field.data) if field.data else None
        if organisation is None:
            raise ValidationError("Choose an organisation from the list.")
        self.chosen = organisation


class ChangeRoleForm(BaseForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


#: The per-letter choice that defers to the account page.
AS_ON_ACCOUNT = "account"


class LetterNotificationsForm(BaseForm):
    """How the person hears of this letter's notices, whatever their account page says."""

    delivery = SelectField(
        "Mail me about this letter",
        choices=[SelectChoice(AS_ON_ACCOUNT, "As set on my account page")]
        + [SelectChoice(delivery.value, delivery.label) for delivery in Delivery],
        default=AS_ON_ACCOUNT,
        validate_choice=True,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "letter-notify")
        super().__init__(*args, **kwargs)

    def choice(self) -> Delivery | None:
        """The submitted choice; ``None`` to follow the account page."""
        return None if self.delivery.data == AS_ON_ACCOUNT else Delivery(self.delivery.data)

    def show(self, chosen: Delivery | None) -> None:
        self.delivery.data = chosen.value if chosen is not None else AS_ON_ACCOUNT
