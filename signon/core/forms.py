"""Form helpers shared by every feature."""

from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import ValidationError


class ActionForm(FlaskForm):
    """A bare button that changes state: nothing but the CSRF token."""


def body_length_check(form: FlaskForm, field: TextAreaField) -> None:
    limit: int = current_app.config["SIGNON"].max_body_chars
    if field.data and len(field.data) > limit:
        raise ValidationError(
            f"The text is {len(field.data):,} characters long; the limit is {limit:,}."
        )


class PreviewForm(FlaskForm):
    body = TextAreaField(validators=[body_length_check])
