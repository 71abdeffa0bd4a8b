"""Forms of the PDF export: the letter's export settings, and the export button.

Lists of names (the first tier, a custom order, descriptions) are typed one per line
and matched to the listed signatures (case- and space-insensitively); a name that is
not listed is an error that names it, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from signon.core.forms import ActionForm, BaseForm
from signon.exports.models import ExportSettings, Layout, PageSize
from signon.exports.pdf.operations import options_of
from signon.signatures.listing import Arrangement
from signon.signatures.models import OrderMode, Signature
from signon.signatures.uploads import LogoError, ProcessedLogo, process_logo

MAX_LINES = 20_000
MAX_DESCRIPTION = 300


def _lines(text: str | None) -> list[str]:
    return [" ".join(line.split()) for line in (text or "").splitlines() if line.strip()]


class ExportSettingsForm(BaseForm):
    layout = SelectField(
        "Layout",
        choices=[
            SelectChoice(
                Layout.STATEMENT.value,
                "Statement: the title, “On behalf of:” and the list, then the text",
            ),
            SelectChoice(Layout.LETTER.value, "Letter: letterhead, addressees, text, signatories"),
        ],
        default=Layout.STATEMENT.value,
    )
    page_size = SelectField(
        "Page size",
        choices=[
            SelectChoice(PageSize.A4.value, "A4"),
            SelectChoice(PageSize.LETTER.value, "US Letter"),
        ],
        default=PageSize.A4.value,
    )
    audit_page = BooleanField(
        "Add an audit page (hashes, each signatory's approval; the export record and the "
        "PDF/A attachment keep them either way)"
    )
    statement_title_first = BooleanField(
        "Statement layout: the title and addressee first, then “On behalf of:” and the list "
        "(untick for the list first, then the title and the text)",
        default=True,
    )
    representatives = BooleanField(
        "Print each organisation's representative (name and title) with its name"
    )
    variant = SelectField(
        "Kind of PDF",
        choices=[
            SelectChoice("standard", "Standard PDF (tagged for screen readers up to 300 names)"),
            SelectChoice(
                "pdfa3",
                "PDF/A-3b for archives, with the list (CSV) and approval record (JSON) inside",
            ),
        ],
        default="standard",
    )
    tag_long_lists = BooleanField(
        "Tag long lists for screen readers too (slower: one process lays out the whole list)"
    )
    order = SelectField(
        "Order of the signatories",
        choices=[SelectChoice(mode.value, mode.label) for mode in OrderMode],
        default=OrderMode.ALPHABETICAL.value,
    )
    custom_order = TextAreaField(
        "Custom order: names, one per line (the others follow, alphabetically)"
    )
    addressees = TextAreaField(
        "Addressees, one per line", validators=[Optional(), Length(max=5000)]
    )
    cc = TextAreaField(
        "Cc, one per line (Letter layout)", validators=[Optional(), Length(max=5000)]
    )
    date_text = StringField(
        "Date printed on the letter (empty: the day of the export)",
        validators=[Optional(), Length(max=100)],
    )
    grouping = SelectField(
        "Group the signatories (every list: public page, API, CSV, JSON and PDF)",
        choices=[
            SelectChoice("none", "No groups"),
            SelectChoice("country", "By country"),
            SelectChoice("kind", "By type of signatory"),
            SelectChoice("tier", "A first tier (“Initiated by”), then the others (“Endorsed by”)"),
        ],
        default="none",
    )
    first_tier = TextAreaField("First tier: names, one per line")
    first_tier_heading = StringField(
        "Heading of the first tier", validators=[Optional(), Length(max=100)]
    )
    second_tier_heading = StringField(
        "Heading of the others", validators=[Optional(), Length(max=100)]
    )
    numbered = BooleanField("Number the signatories (numbers run across groups)", default=True)
    columns = SelectField(
        "Columns",
        choices=[SelectChoice("1", "One"), SelectChoice("2", "Two"), SelectChoice("3", "Three")],
        default="2",
    )
    new_since = DateField(
        "List signatories who approved on or after this date under “New signatories since …”",
        validators=[Optional()],
    )
    individuals = SelectField(
        "Individuals (signatories of the type “Individual”)",
        choices=[
            SelectChoice("list", "List them by name, with their title and affiliation"),
            SelectChoice("count", "Summarise them as a count (“and 103 individuals”)"),
        ],
        default="list",
    )
    show_descriptions = BooleanField("Print a short description under organisations")
    descriptions = TextAreaField("Descriptions: “Name: description”, one per line")
    logo_grid = BooleanField("Add a grid of the signatories' logos")
    letterhead_logo = FileField(
        "Letterhead logo (Letter layout)",
        description="PNG, JPEG or WebP, up to 2 MB, printed at the top of the first page. "
        "It is re-encoded; choose the file again if the form is shown a second time.",
    )
    remove_letterhead_logo = BooleanField("Remove the letterhead logo")
    #: The page's main button: save these settings and export at once (no separate save).
    export_now = SubmitField("Export PDF")

    def __init__(self, *args: Any, signatures: Sequence[Signature] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._by_key = {Signature.key_for(s.name): s for s in signatures}
        self._by_id = {s.id: s for s in signatures}
        self.ids: dict[str, list[int]] = {}
        self.description_map: dict[str, str] = {}
        #: The uploaded letterhead logo, checked and re-encoded (written after the commit).
        self.processed_logo: ProcessedLogo | None = None

    # --- from and to the stored settings ---

    @classmethod
    def initial(
        cls, settings: ExportSettings, order: Arrangement, by_id: dict[int, Signature]
    ) -> dict[str, Any]:
        """The form's values from the stored settings and list order (ids shown as names)."""
        options = options_of(settings)

        def names(ids: Sequence[Any]) -> str:
            return "\n".join(
                by_id[int(i)].name for i in ids if str(i).isdigit() and int(i) in by_id
            )

        descriptions = options.get("descriptions") or {}
        return {
            "layout": settings.layout.value,
            "page_size": settings.page_size.value,
            "audit_page": settings.audit_page,
            "variant": options.get("variant") or "standard",
            "tag_long_lists": bool(options.get("tag_long_lists")),
            "order": order.mode.value,
            "custom_order": names(order.custom_order),
            "addressees": "\n".join(options.get("addressees") or []),
            "cc": "\n".join(options.get("cc") or []),
            "date_text": options.get("date_text") or "",
            "grouping": order.grouping,
            # the first tier as it is printed (``by_id`` is in the list's order)
            "first_tier": names([i for i in by_id if i in order.first_tier]),
            "first_tier_heading": options.get("first_tier_heading") or "",
            "second_tier_heading": options.get("second_tier_heading") or "",
            "numbered": bool(options.get("numbered", True)),
            "columns": str(options.get("columns") or 2),
            "new_since": order.new_since,
            "individuals": "count" if order.count_individuals else "list",
            "show_descriptions": bool(options.get("show_descriptions")),
            "descriptions": "\n".join(
                f"{by_id[int(k)].name}: {v}"
                for k, v in descriptions.items()
                if str(k).isdigit() and int(k) in by_id
            ),
            "logo_grid": bool(options.get("logo_grid")),
            "statement_title_first": bool(options.get("statement_title_first", True)),
            "representatives": bool(options.get("representatives")),
        }

    @property
    def order_mode(self) -> OrderMode:
        return OrderMode(self.order.data)

    @property
    def custom_order_ids(self) -> list[int]:
        return list(self.ids.get("custom_order", []))

    def arrangement(self) -> Arrangement:
        """The list's order and groups (stored by the signatory list, not the export)."""
        return Arrangement(
            mode=OrderMode(self.order.data),
            custom_order=tuple(self.ids.get("custom_order", [])),
            grouping=self.grouping.data,
            first_tier=frozenset(self.ids.get("first_tier", [])),
            new_since=self.new_since.data,
            count_individuals=self.individuals.data == "count",
        )

    def options(self) -> dict[str, Any]:
        """The print-layout options to store (after validation)."""
        return {
            "variant": self.variant.data,
            "tag_long_lists": bool(self.tag_long_lists.data),
            "addressees": _lines(self.addressees.data),
            "cc": _lines(self.cc.data),
            "date_text": " ".join((self.date_text.data or "").split()),
            "first_tier_heading": " ".join((self.first_tier_heading.data or "").split()),
            "second_tier_heading": " ".join((self.second_tier_heading.data or "").split()),
            "numbered": bool(self.numbered.data),
            "columns": int(self.columns.data or 2),
            "show_descriptions": bool(self.show_descriptions.data),
            "descriptions": self.description_map,
            "logo_grid": bool(self.logo_grid.data),
            "statement_title_first": bool(self.statement_title_first.data),
            "representatives": bool(self.representatives.data),
        }

    # --- validation ---

    def _match(self, field: TextAreaField, lines: list[str]) -> list[int]:
        if len(lines) > MAX_LINES:
            raise ValidationError(f"At most {MAX_LINES:,} lines, please.")
        ids: list[int] = []
        unknown = []
        for line in lines:
            signature = self._by_key.get(Signature.key_for(line))
            if signature is None:
                unknown.append(line)
            elif signature.id not in ids:
                ids.append(signature.id)
        if unknown:
            shown = "; ".join(f"“{name[:80]}”" for name in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise ValidationError(
                f"Not among the listed signatories: {shown}{more}. "
                "Copy the names as they are listed."
            )
        return ids

    def validate_letterhead_logo(self, field: FileField) -> None:
        if isinstance(field.data, FileStorage) and field.data.filename:
            try:
                self.processed_logo = process_logo(field.data.stream)
            except LogoError as problem:
                raise ValidationError(str(problem)) from problem

    def validate_custom_order(self, field: TextAreaField) -> None:
        self.ids["custom_order"] = self._match(field, _lines(field.data))
        if self.order.data == OrderMode.CUSTOM.value and not self.ids["custom_order"]:
            raise ValidationError("Give the names in the order you want them printed.")

    def validate_first_tier(self, field: TextAreaField) -> None:
        self.ids["first_tier"] = self._match(field, _lines(field.data))
        if self.grouping.data == "tier" and not self.ids["first_tier"]:
            raise ValidationError("Name the signatories of the first tier, one per line.")

    def validate_descriptions(self, field: TextAreaField) -> None:
        names, texts = [], []
        for line in _lines(field.data):
            name, sep, text = line.rpartition(":")
            if not sep or not name.strip():
                raise ValidationError(
                    f"Write “Name: description” on each line (not “{line[:60]}”)."
                )
            if len(text.strip()) > MAX_DESCRIPTION:
                raise ValidationError(
                    f"Keep each description under {MAX_DESCRIPTION} characters "
                    f"({name.strip()[:60]})."
                )
            names.append(name.strip())
            texts.append(text.strip())
        ids = self._match(field, names)
        by_key = {Signature.key_for(n): t for n, t in zip(names, texts, strict=True)}
        self.description_map = {str(i): by_key[Signature.key_for(self._by_id[i].name)] for i in ids}


class ExportForm(ActionForm):
    """The “Export PDF” button."""
