"""Form helpers shared by every feature: the base form and the small field rules.

Every form derives from :class:`BaseForm` (``tests/core/test_field_rules.py`` holds every
form class to it), whose ``Meta`` gives each one-line field (every ``StringField`` that
is not a text area or a password: titles, names, countries, e-mail addresses, hidden
fields) the :func:`one_line` rule, so that no form can forget it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    Field,
    IntegerField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.fields.core import UnboundField
from wtforms.validators import StopValidation, ValidationError

from signon.core.input_guard import whole_number
from signon.core.oneline import has_control_characters
from signon.core.timefmt import from_local
from signon.db import utcnow


def one_line(form: Any, field: Field) -> None:
    """The rule of every one-line field: refused, with the field's name, before any other
    validator sees the value (``StopValidation``)."""
    if isinstance(field.data, str) and has_control_characters(field.data):
        raise StopValidation(
            f"{field.label.text or 'This field'} must be on one line and cannot contain "
            "control characters."
        )


def is_one_line_field(field_class: type) -> bool:
    return issubclass(field_class, StringField) and not issubclass(
        field_class, (TextAreaField, PasswordField)
    )


class BaseForm(FlaskForm):
    """The base of every form: one-line fields get the :func:`one_line` rule."""

    class Meta(FlaskForm.Meta):
        def bind_field(self, form: Any, unbound_field: UnboundField, options: Any) -> Field:
            field: Field = super().bind_field(form, unbound_field, options)
            if is_one_line_field(unbound_field.field_class) and one_line not in field.validators:
                field.validators = [one_line, *field.validators]
            return field


class ActionForm(BaseForm):
    """A bare button that changes state: nothing but the CSRF token."""


def body_length_problem(text: str) -> str | None:
    """Why ``text`` is too long to be a letter's text, or ``None``.

    The one home of the rule: the forms check it on input, and the operation that
    stores a revision checks it again, so a merge of two long edits cannot pass it.
    Rendering costs up to about 21 microseconds per character of pathological
    Markdown (``![`` repeated; benchmarks/render_cost.py), hence a bound.
    """
    limit: int = current_app.config["SIGNON"].max_body_chars
    if len(text) > limit:
        return f"The text is {len(text):,} characters long; the limit is {limit:,}."
    return None


def body_length_check(form: FlaskForm, field: TextAreaField) -> None:
    problem = body_length_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class PreviewForm(BaseForm):
    body = TextAreaField(validators=[body_length_check])


# --- Numbers ------------------------------------------------------------------------


class IdField(IntegerField):
    """A whole number naming a row (usually hidden): ``1..MAX_ID`` (the rule of
    :func:`~signon.core.input_guard.whole_number`, as for ``<int:...>`` in URLs and for
    query strings); anything else is "not valid" (the form is refused) rather than a
    database error."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = str(valuelist[0]).strip() if valuelist else ""
        if not raw:
            super().process_formdata(valuelist)
            return
        try:
            self.data = whole_number(raw)
        except ValueError as refused:
            self.data = None  # type: ignore[assignment]  # wtforms types data as int
            raise ValueError(self.gettext("Not a valid integer value.")) from refused


# --- Dates --------------------------------------------------------------------------

#: How far ahead a date typed into a form may be ("within ten years from now").
DATE_RANGE = timedelta(days=3653)
#: How far back: earlier dates are nonsense here but harmless; the forms' own rules
#: ("must be in the future") say why a past date is refused. Far enough from year 1 that
#: no time zone conversion overflows.
DATE_FLOOR = datetime(1970, 1, 1, tzinfo=UTC)
DATE_RANGE_MESSAGE = "Choose a date within ten years from now."
DEADLINE_RANGE_MESSAGE = "Choose a deadline within ten years from now."


def _within_range(moment: datetime | None) -> bool:
    """False for a moment that could not be converted (``None``) or is out of range."""
    return moment is not None and DATE_FLOOR <= moment <= utcnow() + DATE_RANGE


class DeadlineField(DateTimeLocalField):
    """A date and time typed in the reader's time zone, within ten years from now.

    Dates far away are refused before any other validator runs: converting
    9999-12-31 23:59 or 0001-01-01 00:00 between time zones overflows, and a stored
    value that cannot be shown in every reader's zone would break their pages.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", "%Y-%m-%dT%H:%M")
        super().__init__(*args, **kwargs)

    def utc(self) -> datetime | None:
        """The chosen moment in UTC; ``None`` if none, or if it cannot be (out of range)."""
        value: datetime | None = self.data
        return from_local(value) if value is not None else None

    def pre_validate(self, form: Any) -> None:
        if self.data is not None and not _within_range(self.utc()):
            raise StopValidation(DEADLINE_RANGE_MESSAGE)


class DayField(DateField):
    """A day in the reader's time zone, within ten years from now (see :class:`DeadlineField`)."""

    def end_of_day_utc(self) -> datetime | None:
        """23:59 of the chosen day in the reader's zone, in UTC; ``None`` if out of range."""
        day: date | None = self.data
        return from_local(datetime.combine(day, time(23, 59))) if day is not None else None

    def pre_validate(self, form: Any) -> None:
        if self.data is not None and not _within_range(self.end_of_day_utc()):
            raise StopValidation(DATE_RANGE_MESSAGE)
