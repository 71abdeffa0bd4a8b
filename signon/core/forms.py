"""Form helpers shared by every feature."""

from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import ValidationError


class ActionForm(FlaskForm):
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


class PreviewForm(FlaskForm):
    body = TextAreaField(validators=[body_length_check])
