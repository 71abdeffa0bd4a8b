"""Forms of suggestions. The editor's text is posted as it is to "Suggest"."""

from __future__ import annotations

from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from signon.core import fields
from signon.core.forms import body_length_check
from signon.letters.forms import BasedOnRevisionForm


class SuggestForm(BasedOnRevisionForm):
    """The edited text, suggested against its base revision instead of saved.

    The editor's form may post here too (its "Suggest" button): its title, when sent,
    must be the base revision's, since a suggestion changes the text only.
    """

    title = StringField("Title", validators=[Optional(), Length(max=300)], filters=[fields.trim])
    # line ends are normalised by the operation (letters.operations.normalise_text)
    body = TextAreaField("Text", validators=[body_length_check])

    def validate_title(self, field: StringField) -> None:
        if self.base is not None and field.data and field.data != self.base.title:
            raise ValidationError(
                "A suggestion changes the text only: save the new title as an edit, or put "
                "the title back to suggest the text."
            )
