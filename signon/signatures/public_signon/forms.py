"""Forms of public sign-on and of its moderation queue.

Context (the letter, the signature under review, its possible duplicates) comes
in as keyword arguments; choices are scoped to the letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from signon.core import fields
from signon.core.forms import BaseForm
from signon.core.input_guard import whole_number
from signon.letters.models import PublicSignatories
from signon.signatures.models import SignatoryKind, Signature

#: The organisations' form: people sign through :class:`IndividualSignForm`.
KIND_CHOICES = [
    SelectChoice(kind.value, kind.label)
    for kind in SignatoryKind
    if kind != SignatoryKind.INDIVIDUAL
]


def _revision_id(raw: object) -> int | None:
    """The hidden revision id, or ``None`` if it is not a whole number in the id range."""
    try:
        return whole_number(str(raw or ""))
    except ValueError:
        return None


class PublicSignForm(BaseForm):
    """ "Sign this letter" on the public page. Nothing is published before moderation."""

    name = StringField(
        "Name of the organisation, exactly as it should be printed",
        filters=[fields.squash],
        validators=[
            DataRequired("Enter the name of the organisation."),
            Length(max=300),
        ],
        render_kw={"autocomplete": "organization"},
    )
    sort_name = StringField(
        "Sort under (optional)",
        filters=[fields.squash],
        validators=[Optional(), Length(max=300)],
    )
    country = StringField(
        "Country",
        filters=[fields.squash],
        validators=[DataRequired("Enter the country."), Length(max=100)],
        render_kw={"autocomplete": "country-name"},
    )
    kind = SelectField("Type", choices=KIND_CHOICES, default=SignatoryKind.NGO.value)
    representative_name = StringField(
        "Name of the person signing for it",
        filters=[fields.squash],
        validators=[DataRequired("Enter the name of the person signing."), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )
    representative_title = StringField(
        "Their title or role",
        filters=[fields.squash],
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "organization-title"},
    )
    website = StringField(
        "Website (optional)",
        filters=[fields.website],
        validators=[Optional(), Length(max=500), fields.http_url],
        render_kw={"autocomplete": "url", "inputmode": "url", "spellcheck": "false"},
    )
    email = EmailField(
        "Your e-mail address",
        filters=[fields.email],
        validators=[
            DataRequired("Enter your e-mail address: we send the confirmation link there."),
            Length(max=254),
            Email("Enter a valid e-mail address, like name@example.org."),
        ],
        render_kw={"autocomplete": "email", "spellcheck": "false", "autocapitalize": "none"},
    )
    authority = BooleanField(
        "I confirm that the person named above may sign this letter on behalf of the organisation.",
        validators=[DataRequired("Please confirm that this person may sign for the organisation.")],
    )
    #: The revision the visitor was shown (it is what they ask to approve).
    revision_id = HiddenField()

    def __init__(self, *args: Any, revision_ids: Sequence[int] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.revision_ids = set(revision_ids)

    def validate_revision_id(self, field: Field) -> None:
        if _revision_id(field.data) not in self.revision_ids:
            raise ValidationError(
                "The page was out of date. Please read the text below and send the form again."
            )

    @property
    def shown_revision_id(self) -> int:
        revision_id = _revision_id(self.revision_id.data)
        assert revision_id is not None  # validated
        return revision_id


class IndividualSignForm(PublicSignForm):
    """ "Sign this letter" as a person: name, optional family name, title and affiliation;
    no country, type, representative or "on behalf of the organisation" confirmation.

    Its fields carry the prefix ``person-`` so that it can share the page with the
    organisations' form. Stored as a signature of kind individual: the title in
    ``representative_title``, the family name in ``sort_name``.
    """

    name = StringField(
        "Your name, exactly as it should be printed",
        filters=[fields.squash],
        validators=[DataRequired("Enter your name."), Length(max=300)],
        render_kw={"autocomplete": "name"},
    )
    sort_name = StringField(
        "Family name (optional)",
        filters=[fields.squash],
        validators=[Optional(), Length(max=300)],
        render_kw={"autocomplete": "family-name"},
    )
    representative_title = StringField(
        "Your title or role (optional)",
        filters=[fields.squash],
        validators=[Optional(), Length(max=200)],
        render_kw={"autocomplete": "organization-title"},
    )
    affiliation = StringField(
        "Affiliation (optional)",
        filters=[fields.squash],
        validators=[Optional(), Length(max=300)],
        render_kw={"autocomplete": "organization"},
    )
    country = None  # type: ignore[assignment]
    kind = None  # type: ignore[assignment]
    representative_name = None  # type: ignore[assignment]
    website = None  # type: ignore[assignment]
    authority = None  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "person-")
        super().__init__(*args, **kwargs)


class ConfirmPublicForm(BaseForm):
    """The button on the confirmation page: "I approve this text" (its revision)."""

    revision_id = HiddenField(validators=[DataRequired()])

    @property
    def chosen_revision_id(self) -> int | None:
        return _revision_id(self.revision_id.data)


class PublicSettingsForm(BaseForm):
    is_public = BooleanField(
        "Publish a public page where anyone can read the letter, see the published "
        "signatories and ask to sign"
    )
    signatories = RadioField(
        "Who may sign on the public page",
        choices=[SelectChoice(choice.value, choice.label) for choice in PublicSignatories],
        default=PublicSignatories.ORGANISATIONS.value,
    )


class RejectForm(BaseForm):
    reason = TextAreaField(
        "Reason (optional, never shown to anyone outside the team)",
        filters=[fields.trim],
        validators=[Optional(), Length(max=1000)],
        render_kw={"rows": 2},
    )


#: Pending sign-ons one decision on a selection takes at most (four pages of the queue).
SELECTION_LIMIT = 100


class SelectionForm(RejectForm):
    """Accept or reject the pending sign-ons ticked on a page of the queue, in one POST (the
    reason, as :class:`RejectForm`'s, goes with a rejection)."""

    selected = SelectMultipleField("Selected", coerce=whole_number, validate_choice=False)
    accept = SubmitField("Accept and publish the selected")
    reject = SubmitField("Reject the selected")

    def validate_selected(self, field: Field) -> None:
        if not field.data:
            raise ValidationError("Tick the signatures to decide on first.")
        if len(set(field.data)) > SELECTION_LIMIT:
            raise ValidationError(f"Choose at most {SELECTION_LIMIT} signatures at once.")

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        if bool(self.accept.data) == bool(self.reject.data):
            self.form_errors.append("Choose to accept or to reject the selected signatures.")
            return False
        return valid

    def signature_ids(self) -> list[int]:
        return sorted(set(self.selected.data or ()))


class RemoveForm(BaseForm):
    """Take an accepted public signature off the list: the reason is required."""

    reason = TextAreaField(
        "Reason (required; recorded in the audit log and sent to the signatory)",
        filters=[fields.trim],
        validators=[DataRequired(message="Give the reason for the removal."), Length(max=1000)],
        render_kw={"rows": 2},
    )


class MergeForm(BaseForm):
    """Merge a pending public signature into an existing signatory of the same letter."""

    target = SelectField("Merge into", coerce=int, validate_choice=True)
    take_details = BooleanField(
        "The existing signatory takes over the newer details (name as printed, country, "
        "type, representative, website)"
    )

    def __init__(
        self,
        *args: Any,
        duplicates: Sequence[Signature] = (),
        others: Sequence[Signature] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        seen = {s.id for s in duplicates}
        self.target.choices = [
            SelectChoice(str(s.id), _label(s), optgroup="Possible duplicates") for s in duplicates
        ] + [
            SelectChoice(str(s.id), _label(s), optgroup="Other signatories")
            for s in others
            if s.id not in seen
        ]

    def posted_target_id(self) -> int | None:
        """The id the coordinator chose, if it is a whole number (the view checks that
        it names a signature this one may be merged into, then offers it as a choice)."""
        raw = self.target.raw_data[0] if self.target.raw_data else ""
        try:
            return whole_number(str(raw))
        except ValueError:
            return None


class MergeSearchForm(BaseForm):
    """Find another signatory to merge a pending sign-on into, by the start of its name."""

    class Meta:
        csrf = False  # a GET form that only changes what is offered

    find = StringField(
        "Find another signatory by the start of its name",
        validators=[Optional(), Length(max=300)],
        filters=[fields.trim],
    )
    signature = HiddenField()

    def signature_id(self) -> int | None:
        """The pending sign-on the search is for (None if the value is not an id)."""
        try:
            return whole_number(str(self.signature.data or ""))
        except ValueError:
            return None


class DuplicateMergeForm(BaseForm):
    """Merge one of a group of possible duplicates into another (the target is checked
    against the letter by the view)."""

    target = HiddenField(validators=[DataRequired()])

    def validate_target(self, field: Field) -> None:
        try:
            whole_number(str(field.data))
        except ValueError as error:
            raise ValidationError("Choose a signatory of this letter.") from error

    def target_id(self) -> int:
        return whole_number(str(self.target.data))


def _label(signature: Signature) -> str:
    country = f" ({signature.country})" if signature.country else ""
    return f"{signature.name}{country}"
