"""Forms of the lifecycle pages: classify a revision, change the status, extend the deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wtforms import DateTimeLocalField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from signon.core import fields
from signon.core.forms import BaseForm, DeadlineField
from signon.db import utcnow
from signon.letters.models import ChangeKind, Letter

KIND_CHOICES = [
    SelectChoice(
        ChangeKind.EDITORIAL.value, "Editorial: typos, formatting; approvals carry forward"
    ),
    SelectChoice(
        ChangeKind.SUBSTANTIVE.value, "Substantive: organisations who approved must re-confirm"
    ),
]

REASON_MAX = 1000


class ClassifyForm(BaseForm):
    """Two buttons on the changes page, each sending one ``kind``, and a reason.

    The reason is required when the kind goes against the proposal; that rule lives in
    :func:`signon.signatures.lifecycle.operations.classify_revision`, which the view asks.
    """

    kind = SelectField("Kind of change", choices=KIND_CHOICES, validators=[InputRequired()])
    reason = TextAreaField(
        "Reason (required to go against the proposal; logged and mailed to the organisations)",
        validators=[Optional(), Length(max=REASON_MAX)],
        filters=[fields.trim],
    )

    @property
    def change_kind(self) -> ChangeKind:
        return ChangeKind(self.kind.data)


class UnfreezeForm(BaseForm):
    reason = TextAreaField(
        "Why is the text unfrozen?",
        validators=[
            DataRequired(message="Give a reason: the team and the log will show it."),
            Length(max=REASON_MAX),
        ],
        filters=[fields.trim],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="unfreeze", **kwargs)


class CloseSigningForm(BaseForm):
    reason = TextAreaField(
        "Reason (optional)", validators=[Optional(), Length(max=REASON_MAX)], filters=[fields.trim]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="close", **kwargs)


class ReopenSigningForm(BaseForm):
    reason = TextAreaField(
        "Reason (optional)", validators=[Optional(), Length(max=REASON_MAX)], filters=[fields.trim]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="reopen", **kwargs)


class ExtendDeadlineForm(BaseForm):
    """A new deadline typed in the reader's time zone; in the future and after the current one."""

    deadline = DeadlineField(
        "New deadline", validators=[DataRequired(message="Choose a date and time.")]
    )

    def __init__(self, *args: Any, letter: Letter, **kwargs: Any) -> None:
        super().__init__(*args, prefix="deadline", **kwargs)
        self.letter = letter

    def deadline_utc(self) -> datetime | None:
        return self.deadline.utc()

    def validate_deadline(self, field: DateTimeLocalField) -> None:
        chosen = self.deadline_utc()
        if chosen is None:
            return
        if chosen <= utcnow():
            raise ValidationError("The new deadline must be in the future.")
        current = self.letter.deadline
        if current is not None and chosen <= current:
            raise ValidationError(
                "Choose a time after the current deadline (to bring it forward, use the "
                "letter's settings)."
            )
