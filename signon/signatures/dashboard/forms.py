"""The dashboard's filter form: a GET form (no CSRF: it changes nothing) read from the query.

``/letters/<slug>/signatories?state=approved_current&state=declined&q=kenya&sort=state&page=2``
(the CSV export takes the same parameters, plus ``bom=1``). Values that make no
sense are dropped rather than failing: an unknown state or sort order (the page
says some filters were ignored), a page number that is not one (page 1).
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, SearchField, SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from signon.core import fields
from signon.core.forms import BaseForm, IdField
from signon.signatures.dashboard.queries import STATE_ORDER, Filters, SortOrder
from signon.signatures.state import SignatoryState


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DashboardFilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET form that only filters what is shown

    q = SearchField(
        "Search",
        validators=[Optional(), Length(max=200)],
        filters=[fields.trim],
        description="Organisation name, e-mail address or country",
    )
    state = CheckboxesField(
        "State",
        choices=[SelectChoice(s.value, s.label) for s in STATE_ORDER],
        validate_choice=True,
    )
    sort = SelectField(
        "Sort by",
        choices=[SelectChoice(s.value, s.label) for s in SortOrder],
        default=SortOrder.NAME.value,
        validators=[Optional()],
    )
    page = IdField("Page", validators=[Optional(), NumberRange(min=1)], default=1)
    bom = BooleanField(
        "Byte-order mark for Excel", false_values=(False, "false", "", "0", "no", "off")
    )

    def __init__(self, args: MultiDict[str, str], **kwargs: Any) -> None:
        super().__init__(formdata=args, **kwargs)

    def filters(self) -> Filters:
        """The filters asked for; any field that did not validate falls back on its default."""
        self.validate()
        known = {s.value for s in SignatoryState}
        states = frozenset(SignatoryState(v) for v in (self.state.data or []) if v in known)
        sorts = {s.value for s in SortOrder}
        sort = SortOrder(self.sort.data) if self.sort.data in sorts else SortOrder.NAME
        page = self.page.data if not self.page.errors and self.page.data else 1
        search = (self.q.data or "")[:200]
        return Filters(states=states, search=search, sort=sort, page=page)

    def query_args(self, filters: Filters) -> dict[str, Any]:
        """The filters as ``url_for`` arguments (for page links and the CSV link)."""
        args: dict[str, Any] = {}
        if filters.states:
            args["state"] = [s.value for s in STATE_ORDER if s in filters.states]
        if filters.search:
            args["q"] = filters.search
        if filters.sort != SortOrder.NAME:
            args["sort"] = filters.sort.value
        return args
