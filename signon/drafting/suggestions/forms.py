"""Forms of suggestions. The editor's title and text are posted as they are to "Suggest"."""

from __future__ import annotations

from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from signon.core import fields
from signon.core.forms import body_length_check
from signon.letters.forms import BasedOnRevisionForm


class SuggestForm(BasedOnRevisionForm):
    """The edited title and text, suggested against their base revision instead of saved.

    The editor's form may post here too (its "Suggest" button). A title that differs
    from the base revision's becomes a suggestion of its own; an empty one changes nothing.
    """

    title = StringField(
        "Your title", validators=[Optional(), Length(max=300)], filters=[fields.trim]
    )
    # line ends are normalised by the operation (letters.operations.normalise_text)
    body = TextAreaField("Text", validators=[body_length_check])
