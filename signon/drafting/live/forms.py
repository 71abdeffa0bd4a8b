"""The live text page's one field: shown, never posted."""

from __future__ import annotations

from wtforms import TextAreaField

from signon.core.forms import BaseForm


class LiveTextForm(BaseForm):
    """The shared text, read only, in the Markdown editor's markup (its live preview).

    The page that follows the live text has no form to send: this gives the editor macro
    (templates/_macros/editor.html) a field to draw, with no CSRF token of its own.
    """

    class Meta:
        csrf = False

    body = TextAreaField("Live text, not saved yet (Markdown)", render_kw={"readonly": True})
