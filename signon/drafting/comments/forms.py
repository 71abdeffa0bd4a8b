"""Forms of comments: a new thread on a passage, a reply, the letter's comment settings.

The passage's fields are text areas: a selection may span paragraphs. Without JavaScript
the person types (or pastes) the words into "Passage"; with it, selecting words in the
text fills them in, with a little context either side to tell repeated phrases apart.
"""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from signon.core.forms import BaseForm
from signon.drafting.comments.operations import MAX_COMMENT_LENGTH, MAX_QUOTE_LENGTH

#: The context sent either side of a selection.
MAX_CONTEXT_LENGTH = 200


class NewThreadForm(BaseForm):
    revision = HiddenField(validators=[DataRequired()])
    quote = TextAreaField(
        "Passage",
        validators=[DataRequired(), Length(max=MAX_QUOTE_LENGTH)],
        description="The words of the text you comment on: select them in the text, "
        "or copy them here.",
    )
    prefix = TextAreaField(validators=[Optional(), Length(max=MAX_CONTEXT_LENGTH)])
    suffix = TextAreaField(validators=[Optional(), Length(max=MAX_CONTEXT_LENGTH)])
    body = TextAreaField(
        "Comment",
        validators=[DataRequired(), Length(max=MAX_COMMENT_LENGTH)],
        description="Plain text. Write @ and a name to tell someone on the team.",
    )
    submit = SubmitField("Comment")

    def revision_number(self) -> int | None:
        return revision_number(self.revision.data)


class ReplyForm(BaseForm):
    body = TextAreaField("Reply", validators=[DataRequired(), Length(max=MAX_COMMENT_LENGTH)])
    submit = SubmitField("Reply")


def revision_number(data: str | None) -> int | None:
    """The revision number a form's hidden field holds (None: not a number)."""
    text = data or ""
    return int(text) if text.isdigit() and len(text) < 10 else None


class CommentSettingsForm(BaseForm):
    #: the revision the coordinator saw as current: "the current revision" means that one
    revision = HiddenField()
    invitees = BooleanField("Invited organisations may comment on the current revision")
    on_frozen = BooleanField("Comments stay open while the text is frozen for signature")
    submit = SubmitField("Save comment settings")
