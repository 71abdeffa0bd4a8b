"""Exporting the signed letter as PDF: settings, what is printed, export records, storage,
background jobs. Operations add and flush; the request (or the command, or the
background job's own transactions) commits.

- :func:`save_export_settings`: the coordinator's choices (``ExportSettings``).
- :func:`prepare`: who is listed, in which order, and what would be printed, with the
  warnings a coordinator should see before exporting (left out, bad logos, names).
- :func:`export_pdf`: creates an :class:`ExportRecord` and makes the PDF, in the request
  for short lists without a queue, otherwise as a background job (``signon/core/jobs.py``,
  started after the commit; with Redis always, in ``flask worker``, so that the rendering
  pool never lives in a web process). :func:`export_state` reads the record with its job. An
  export whose inputs are unchanged (same ``input_sha256``) reuses the stored file.
- :func:`stored_pdf`: the stored file of a finished export, checked against its hash.

The signatory list hash (``signatures_sha256``) is the SHA-256 of the UTF-8 JSON
``[[position, name, approved revision number, approved sha256], ...]`` in the printed
order, without spaces, names as printed (``ensure_ascii=False``).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import re
import secrets
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import IO, Any, cast

from flask import current_app
from sqlalchemy import func, select

from signon.accounts.models import Organisation, User
from signon.audit.models import AuditEvent
from signon.audit.operations import record_event
from signon.core import jobs, metrics
from signon.core.storage import (
    CHUNK,
    NotStoredError,
    Storage,
    StorageError,
    storage,
    storage_config,
)
from signon.core.timefmt import date_text, locale_for, zone_named
from signon.core.tokens import sha256_text
from signon.core.transaction import after_commit, commit
from signon.db import utcnow
from signon.exports.lists import formats as lists
from signon.exports.models import ExportRecord, ExportSettings, ExportStatus, Layout, PageSize
from signon.exports.pdf import chunks, fonts, word
from signon.exports.pdf import render as pdf
from signon.exports.pdf.fetcher import logo_url
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus, Revision, TeamMember
from signon.signatures.collation import (
    NOT_PRINTABLE,
    list_items,
    printable_name,
)
from signon.signatures.listing import (
    Arrangement,
    Entry,
    Group,
    GroupKind,
    LeftOut,
    RevisionChain,
    SignatoryList,
    drafting_organisation_names,
    listed,
    signatory_list,
    sort_signatories,
    stored_arrangement,
    verdict,
)
from signon.signatures.models import OrderMode, SignatoryKind, Signature
from signon.signatures.uploads import (
    MAX_LOGO_BYTES,
    ProcessedLogo,
    forget_replaced_logo,
    logo_name,
    save_logo,
)

log = logging.getLogger(__name__)

#: Lists up to this length are exported within the request; longer ones in the background.
INLINE_MAX = pdf.SINGLE_MAX
#: The preview shows this many signatories.
PREVIEW_LIMIT = 40
#: An export still "running" this long after its limit has stopped (its process ended).
STALL_MARGIN = timedelta(seconds=60)

VARIANTS = ("standard", "pdfa3")

DEFAULT_OPTIONS: dict[str, Any] = {
    "numbered": True,
    "columns": 2,
    "show_descriptions": False,
    "descriptions": {},
    "first_tier_heading": "",
    "second_tier_heading": "",
    "logo_grid": False,
    "addressees": [],
    "cc": [],
    "date_text": "",
    "variant": "standard",
    "tag_long_lists": False,
    "statement_title_first": True,
    "representatives": False,
}


class ExportError(Exception):
    """The export cannot be made; the message says why, for the coordinator."""


def require_intact_text(letter: Letter, revision: Revision) -> None:
    """Refuse to print a text that no longer matches its SHA-256.

    Revisions are immutable: a text that hashes to something else was changed in the
    database, and printing it beside the recorded hash would vouch for a forgery.
    """
    if not revision.text_matches_hash():
        raise ExportError(
            f"The text of revision {revision.number} no longer matches its recorded SHA-256 "
            f"({revision.content_sha256}): it was changed outside Signon, so it is not "
            f"exported. Tell the site's administrators (`flask verify-audit {letter.slug}` "
            "names what changed)."
        )


# --- Settings -------------------------------------------------------------------------------


def settings_for(letter: Letter) -> ExportSettings:
    """The letter's settings, or unsaved defaults (nothing is added on a read)."""
    settings = db.session.scalar(
        select(ExportSettings).where(ExportSettings.letter_id == letter.id)
    )
    if settings is None:
        settings = ExportSettings(
            letter_id=letter.id,
            layout=Layout.STATEMENT,
            page_size=PageSize.A4,
            audit_page=False,
            options={},
        )
    return settings


def options_of(settings: ExportSettings) -> dict[str, Any]:
    """The stored options over the defaults (unknown keys kept, for ordering.py's)."""
    return {**DEFAULT_OPTIONS, **(settings.options or {})}


def save_export_settings(
    letter: Letter,
    user: User,
    *,
    layout: Layout,
    page_size: PageSize,
    audit_page: bool,
    options: Mapping[str, Any],
    letterhead_logo: ProcessedLogo | None = None,
    remove_letterhead_logo: bool = False,
) -> ExportSettings:
    """Store the coordinator's choices; a new letterhead logo is written to the storage
    once they are committed, and the one it replaces (or the one removed) deleted then:
    a letterhead logo is this letter's alone (a name made per upload), and keeping every
    upload let anyone with a letter of their own fill the disk."""
    settings = db.session.scalar(
        select(ExportSettings).where(ExportSettings.letter_id == letter.id)
    )
    if settings is None:
        settings = ExportSettings(letter_id=letter.id)
        db.session.add(settings)
    settings.layout = layout
    settings.page_size = page_size
    settings.audit_page = audit_page
    merged = {**(settings.options or {}), **dict(options)}
    previous = merged.get("letterhead_logo")
    if letterhead_logo is not None:
        merged["letterhead_logo"] = letterhead_logo.filename
        after_commit(functools.partial(save_logo, letterhead_logo))
    elif remove_letterhead_logo:
        merged.pop("letterhead_logo", None)
    if isinstance(previous, str):
        forget_replaced_logo(previous, merged.get("letterhead_logo"))
    settings.options = merged
    db.session.flush()
    record_event(
        "export.settings_changed",
        letter_id=letter.id,
        actor=user,
        layout=layout.value,
        page_size=page_size.value,
        audit_page=audit_page,
    )
    return settings


# --- What is printed -------------------------------------------------------------------------


class _UnreadableLogoError(Exception):
    """Not stored, or not a readable PNG (raised, so that the cache below keeps only the
    logos found good: a missing one is looked for again next time)."""


@functools.lru_cache(maxsize=65536)
def _readable_logo(store: Storage, name: str) -> str:
    """``name`` if the stored logo is a readable PNG, else :class:`_UnreadableLogoError`.

    Remembered per process for the good ones only: a logo's name is made once, at
    random, for one upload and never written again, so a logo found good stays good; on
    a bucket this saves a request per logo per export."""
    from PIL import Image

    try:
        data = store.get(name, max_bytes=MAX_LOGO_BYTES)
        with Image.open(io.BytesIO(data), formats=("PNG",)) as image:
            image.verify()
    except Exception as exc:
        raise _UnreadableLogoError(name) from exc
    return name


def logo_file(name: str | None) -> str | None:
    """The stored logo's storage name if the name is one we made and the stored file is a
    readable PNG."""
    stored = logo_name(name)
    if stored is None:
        return None
    try:
        return _readable_logo(storage(), stored)
    except _UnreadableLogoError:
        return None


@dataclass(frozen=True)
class Prepared:
    """Everything the settings page and the export need, computed once."""

    letter: Letter
    revision: Revision
    settings: ExportSettings
    signatories: SignatoryList
    warnings: list[str] = field(default_factory=list)

    @property
    def printed(self) -> list[Signature]:
        """The listed signatures in the printed order (groups, then counted individuals)."""
        return self.signatories.signatures

    @property
    def count(self) -> int:
        return self.signatories.count


def drafting_organisations(letter: Letter) -> list[Organisation]:
    return list(
        db.session.scalars(
            select(Organisation)
            .join(TeamMember, TeamMember.organisation_id == Organisation.id)
            .where(TeamMember.letter_id == letter.id, TeamMember.is_drafting_organisation)
            .order_by(TeamMember.id)
        )
    )


def _heading(
    group: Group, signatories: SignatoryList, options: Mapping[str, Any], language: str
) -> str | None:
    """A group's printed heading, in the letter's language (or the coordinators' words)."""
    labels = pdf.labels_for(language)
    if group.kind == GroupKind.COUNTRY:
        return group.label or labels["no_country"]
    if group.kind == GroupKind.KIND:
        return group.label
    if group.kind == GroupKind.FIRST_TIER:
        return str(options.get("first_tier_heading") or labels["initiated"])
    if group.kind == GroupKind.SECOND_TIER:
        tiered = any(g.kind == GroupKind.FIRST_TIER for g in signatories.groups)
        return str(options.get("second_tier_heading") or labels["endorsed"]) if tiered else None
    if group.kind == GroupKind.INDIVIDUALS:
        return labels["individual_signatories"]
    since = signatories.arrangement.new_since
    if group.kind == GroupKind.NEW_SINCE and since is not None:
        return str(labels["new_since"]).format(date=date_text(since, locale_for(language)))
    return None


def prepare(letter: Letter, *, settings: ExportSettings | None = None) -> Prepared:
    """Who is listed under the current text, in the printed order, and what to warn about."""
    revision = letter.head()
    if revision is None:  # pragma: no cover - every letter has a first revision
        raise ExportError("The letter has no text yet.")
    settings = settings or settings_for(letter)
    signatories = signatory_list(letter, revision)
    warnings = _text_warnings(letter, revision)
    warnings += _name_warnings(signatories.signatures, settings, letter.language)
    return Prepared(letter, revision, settings, signatories, warnings)


def _text_warnings(letter: Letter, revision: Revision) -> list[str]:
    try:
        require_intact_text(letter, revision)
    except ExportError as error:
        return [str(error)]
    return []


def _name_warnings(
    printed: Sequence[Signature], settings: ExportSettings, language: str
) -> list[str]:
    """Names no font can draw or with nothing printable, logos the grid cannot show."""
    warnings = []
    covered = _covered_codepoints(language)
    # one check over every character used, then only the names that have a missing one
    lacking = fonts.missing_from("".join({s.name for s in printed}), covered) if covered else set()
    for s in printed:
        unseen = {c for c in s.name if c in lacking} if lacking else set()
        if unseen:
            shown = " ".join(sorted(unseen)[:10])
            warnings.append(
                f"“{printable_name(s.name)}” has characters that no installed font can draw "
                f"({shown}): they would print as empty boxes."
            )
        if not printable_name(s.name):
            warnings.append(
                f"Signature #{s.id} has a name with nothing printable in it; it is printed "
                f"as “{NOT_PRINTABLE}”. Correct it before exporting."
            )
        if (
            s.logo_filename
            and options_of(settings)["logo_grid"]
            and logo_file(s.logo_filename) is None
        ):
            warnings.append(
                f"The logo of “{printable_name(s.name)}” is missing or unreadable: it is "
                "left out of the logo grid."
            )
    return warnings


#: The settings page lists this many of the approvals left out (with their count) ...
LEFT_OUT_SHOWN = 100
#: ... and checks this many names, the first printed; the export checks every name.
NAMES_CHECKED = 500


@dataclass(frozen=True)
class SettingsSummary:
    """What the export settings page shows, read a page at a time (:func:`listing.listed`):
    its cost does not grow with the list. The export itself reads the whole list."""

    revision: Revision
    count: int
    left_out: list[LeftOut]
    left_out_count: int
    warnings: list[str]
    #: How many names (the first printed) the warnings cover.
    names_checked: int
    arrangement: Arrangement
    #: The listed signatures the stored settings name (order, first tier, descriptions),
    #: in the list's order: what the form shows as names.
    named: list[Signature]


def settings_summary(letter: Letter, settings: ExportSettings) -> SettingsSummary:
    revision = letter.head()
    if revision is None:  # pragma: no cover - every letter has a first revision
        raise ExportError("The letter has no text yet.")
    reading = listed(letter)
    first = [entry.signature for entry in reading.entries(0, NAMES_CHECKED)]
    warnings = _text_warnings(letter, revision)
    warnings += _name_warnings(first, settings, letter.language)
    return SettingsSummary(
        revision,
        reading.count(),
        reading.left_out(0, LEFT_OUT_SHOWN),
        reading.left_out_count(),
        warnings,
        len(first),
        reading.arrangement,
        _named(letter, reading.arrangement, settings),
    )


def _named(letter: Letter, arrangement: Arrangement, settings: ExportSettings) -> list[Signature]:
    """The listed signatures the settings name by id, in the list's order."""
    descriptions = options_of(settings).get("descriptions") or {}
    ids = {*arrangement.custom_order, *arrangement.first_tier}
    ids.update(int(key) for key in descriptions if str(key).isdigit())
    if not ids:
        return []
    signatures = db.session.scalars(
        select(Signature).where(Signature.letter_id == letter.id, Signature.id.in_(ids))
    ).all()
    revisions = db.session.scalars(select(Revision).where(Revision.letter_id == letter.id)).all()
    numbers = {r.id: r.number for r in revisions}
    chain = RevisionChain.of(revisions, max(numbers.values()))
    named = [s for s in signatures if verdict(s, numbers.get(s.revision_id or -1), chain).listed]
    drafting = (
        drafting_organisation_names(letter) if arrangement.mode == OrderMode.DRAFTERS_FIRST else ()
    )
    return sort_signatories(
        named,
        language=letter.language,
        mode=arrangement.mode,
        drafting_names=drafting,
        custom_order=arrangement.custom_order,
    )


def _covered_codepoints(language: str) -> list[frozenset[int]]:
    """The code points the PDF's fonts can draw (empty if fontconfig cannot tell)."""
    try:
        return [fonts.codepoints(font) for font in fonts.stack_files(language)]
    except (fonts.FontconfigMissingError, OSError):  # pragma: no cover - no fontconfig
        return []


def list_entries(entries: Sequence[Entry]) -> list[list[Any]]:
    """``[[position, name, approved revision number, approved sha256], ...]``."""
    return [
        [entry.position, entry.name, entry.approved_number, entry.signature.approved_sha256]
        for entry in entries
    ]


def signatures_sha256(entries: Sequence[Sequence[Any]]) -> str:
    payload = json.dumps(list(entries), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chain_head(letter: Letter) -> str | None:
    return db.session.scalar(
        select(AuditEvent.hash)
        .where(AuditEvent.chain == f"letter:{letter.id}")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )


def _lines(values: Sequence[Any]) -> tuple[str, ...]:
    return tuple(" ".join(str(v).split()) for v in values if str(v).strip())


def _pdf_entry(
    entry: Entry, options: Mapping[str, Any], *, numbered: bool, by_country: bool
) -> pdf.Entry:
    """One printed line: the listed entry, with what the settings add beside the name."""
    s = entry.signature
    details = ""
    if s.kind == SignatoryKind.INDIVIDUAL:
        details = s.individual_details(
            options.get("identification_only", ""), isolate=pdf.isolated_if_rtl
        )
    elif s.country and not by_country:
        details = " ".join(s.country.split())
    description = ""
    if options["show_descriptions"]:
        descriptions = options.get("descriptions") or {}
        description = " ".join(str(descriptions.get(str(s.id), "")).split())
    if options["representatives"]:
        description = " · ".join(part for part in (representative(s), description) if part)
    return pdf.Entry(entry.position if numbered else None, entry.name, details, description)


def representative(signature: Signature) -> str:
    """“Name, Title” of an organisation's representative (empty for an individual, or
    when none was given)."""
    if signature.kind == SignatoryKind.INDIVIDUAL:
        return ""
    parts = (signature.representative_name or "", signature.representative_title or "")
    return ", ".join(" ".join(part.split()) for part in parts if part.strip())


def build_content(
    prepared: Prepared,
    *,
    exported_at: datetime,
    exported_by: str,
    limit: int | None = None,
    audit: bool | None = None,
    variant: str | None = None,
    day: date | None = None,
) -> pdf.PdfContent:
    """What the PDF prints, as plain values (``limit``: the first names only, for previews).

    ``day``: the date printed when the coordinator typed none (:func:`export_day`, the
    exporter's day); the UTC day of ``exported_at`` without one (previews, pre-rendering)."""
    letter, revision, settings = prepared.letter, prepared.revision, prepared.settings
    options = options_of(settings)
    labels = pdf.labels_for(letter.language)
    signatories = prepared.signatories
    numbered = bool(options["numbered"]) and settings.layout == Layout.LETTER
    by_country = signatories.arrangement.grouping == "country"
    shown = 0
    printed_groups: list[pdf.Group] = []
    counted = signatories.arrangement.count_individuals
    options = {**options, "identification_only": labels["identification_only"]}
    individuals: list[pdf.Group] = []
    for group in signatories.groups:
        if counted and group.kind == GroupKind.INDIVIDUALS:
            key = "individual" if len(group.entries) == 1 else "individuals"
            summary = labels[key].format(count=f"{len(group.entries):,}")
            printed_groups.append(pdf.Group(None, (), summary))
            individuals.append(printed_groups[-1])
            continue
        kept = group.entries if limit is None else group.entries[: max(0, limit - shown)]
        shown += len(kept)
        if kept:
            printed_groups.append(
                pdf.Group(
                    _heading(group, signatories, options, letter.language),
                    tuple(
                        _pdf_entry(entry, options, numbered=numbered, by_country=by_country)
                        for entry in kept
                    ),
                )
            )
            if group.kind == GroupKind.INDIVIDUALS:
                individuals.append(printed_groups[-1])
    hidden = (
        sum(
            len(g.entries)
            for g in signatories.groups
            if not (counted and g.kind == GroupKind.INDIVIDUALS)
        )
        - shown
    )
    if hidden > 0:
        printed_groups.append(pdf.Group(None, (), f"… {hidden:,} more in the export"))

    statement_names, individuals = _statement_list(signatories, options, individuals, limit)
    drafting = drafting_organisations(letter)
    logos_by_key = {
        Signature.key_for(s.name): s.logo_filename for s in prepared.printed if s.logo_filename
    }
    letterhead = tuple(
        pdf.Logo(
            org.name,
            logo_url(name)
            if (name := logos_by_key.get(Signature.key_for(org.name))) and logo_file(name)
            else None,
        )
        for org in drafting
    )
    grid: tuple[pdf.Logo, ...] = ()
    if options["logo_grid"]:
        candidates = signatories.entries[:limit]
        grid = tuple(
            pdf.Logo(entry.name, logo_url(entry.signature.logo_filename))
            for entry in candidates
            if entry.signature.logo_filename and logo_file(entry.signature.logo_filename)
        )
    addressees = _lines(options.get("addressees") or [letter.addressee])
    entries = list_entries(signatories.entries)
    facts = None
    if (settings.audit_page if audit is None else audit) and limit is None:
        rows = tuple(
            pdf.AuditRow(
                entry.position,
                f"r{entry.approved_number}",
                _utc(entry.signature.approved_at),
                entry.name,
            )
            for entry in signatories.entries
        )
        facts = pdf.AuditFacts(
            revision_number=revision.number,
            revision_sha256=revision.content_sha256,
            signatures_sha256=signatures_sha256(entries),
            count=len(entries),
            left_out=len(prepared.signatories.left_out),
            exported_at=_utc(exported_at) + " UTC",
            exported_by=exported_by,
            chain_head=chain_head(letter),
            rows=rows,
        )
    variant = variant or ("pdf/a-3b" if options["variant"] == "pdfa3" else None)
    attachments: tuple[pdf.Attachment, ...] = ()
    if variant and limit is None:
        attachments = _attachments(prepared, entries, exported_at)
    title = revision.title
    count = len(prepared.printed) if limit is None else min(limit, len(prepared.printed))
    columns = int(options["columns"]) if settings.layout == Layout.LETTER else 2
    if settings.layout == Layout.STATEMENT and count <= 40:
        columns = 1
    dated = str(options.get("date_text") or "").strip() or date_text(
        day or exported_at.astimezone(UTC).date(), locale_for(letter.language)
    )
    return pdf.PdfContent(
        layout=settings.layout.value,
        page_size=settings.page_size.value,
        language=letter.language,
        title=title,
        running_title=title if len(title) <= 110 else title[:108] + "…",
        subject=("To " + "; ".join(addressees)) if addressees else title,
        keywords=f"sign-on letter, revision {revision.number}",
        authors=tuple(org.name for org in drafting),
        created=exported_at.astimezone(UTC).isoformat(timespec="seconds"),
        date_text=dated if settings.layout == Layout.LETTER else "",
        letterhead=letterhead if settings.layout == Layout.LETTER else (),
        letterhead_logo=_letterhead_logo(options) if settings.layout == Layout.LETTER else None,
        addressees=addressees,
        cc=_lines(options.get("cc") or []) if settings.layout == Layout.LETTER else (),
        body_html=str(revision.body_html),
        statement_items=tuple(list_items(statement_names, letter.language)),
        statement_individuals=tuple(individuals) if settings.layout == Layout.STATEMENT else (),
        groups=tuple(printed_groups),
        count=count,
        list_columns=max(1, min(3, columns)),
        logo_grid=grid,
        audit=facts,
        labels=labels,
        font_stack=fonts.font_stack(letter.language),
        sans_stack=fonts.font_stack(letter.language, serif=False),
        tagged_always=bool(options["tag_long_lists"]),
        title_first=settings.layout == Layout.STATEMENT and bool(options["statement_title_first"]),
        variant=variant,
        attachments=attachments,
    )


def _statement_list(
    signatories: SignatoryList,
    options: Mapping[str, Any],
    individuals: list[pdf.Group],
    limit: int | None,
) -> tuple[list[str], list[pdf.Group]]:
    """The Statement layout's “On behalf of:” names (organisations only: one does not
    sign on behalf of an individual) and the individuals' groups printed after them, as
    the Letter layout prints them; with ``limit`` (a preview), what is left out is
    counted at the end of whichever comes last."""
    entries = [
        entry
        for group in signatories.groups
        if group.kind != GroupKind.INDIVIDUALS
        for entry in group.entries
    ]
    names = [entry.name for entry in entries]
    if options["representatives"]:
        reps = [representative(entry.signature) for entry in entries]
        names = [f"{name} ({rep})" if rep else name for name, rep in zip(names, reps, strict=True)]
    if limit is None:
        return names, individuals
    hidden = max(0, len(names) - limit)
    names = names[:limit]
    if not signatories.arrangement.count_individuals:  # else a summary counts them all
        hidden += len(signatories.entries) - len(entries) - sum(len(g.entries) for g in individuals)
    if hidden > 0:
        more = f"… {hidden:,} more in the export"
        if individuals:
            individuals = [*individuals, pdf.Group(None, (), more)]
        else:
            names.append(more)
    return names, individuals


def _letterhead_logo(options: Mapping[str, Any]) -> str | None:
    """The letterhead logo's address for the renderer, if one is stored and readable."""
    name = options.get("letterhead_logo")
    return logo_url(name) if isinstance(name, str) and logo_file(name) else None


def _utc(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _attachments(
    prepared: Prepared, entries: Sequence[Sequence[Any]], exported_at: datetime
) -> tuple[pdf.Attachment, ...]:
    """The signatory list as CSV and the approval record as JSON (for the PDF/A-3 variant)."""
    rows = lists.list_rows(prepared.signatories)
    record = {
        "letter": prepared.letter.slug,
        "title": prepared.revision.title,
        "revision": {
            "number": prepared.revision.number,
            "sha256": prepared.revision.content_sha256,
        },
        "signatures_sha256": signatures_sha256(entries),
        "signatures_sha256_definition": (
            "SHA-256 of the UTF-8 JSON [[position, name, approved revision number, "
            "approved sha256], ...] in the printed order, separators ',' and ':'"
        ),
        "exported_at": lists.iso_utc(exported_at),
        "audit_chain_head": chain_head(prepared.letter),
        "approvals": [
            {
                "position": row.position,
                "name": row.name,
                "approved_revision": row.approved_revision,
                "approved_sha256": row.approved_sha256,
                "approved_at": row.approved_at,
                "source": s.source.value,
                "domain_verified": s.domain_verified,
            }
            for row, s in zip(rows, prepared.printed, strict=True)
        ],
    }
    return (
        pdf.Attachment(
            "signatories.csv",
            lists.rows_csv(rows),
            "The signatory list, in the printed order (CSV, UTF-8)",
            "text/csv",
        ),
        pdf.Attachment(
            "approval-record.json",
            (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
            "Which revision each signatory approved, and when (JSON)",
            "application/json",
        ),
    )


# --- Fingerprint ---------------------------------------------------------------------------


def export_day(user: User | None, now: datetime) -> date:
    """The day an export made at ``now`` is dated when no date was typed: the exporter's,
    in their account's time zone, as every other date they read (UTC for the command
    line). Near midnight that is not the UTC day: a coordinator in Tokyo exporting at
    08:00 on 6 December (23:00 UTC on the 5th) sends a letter dated the 6th. The input
    fingerprint is keyed by this day, so no file dated another day is reused."""
    return now.astimezone(zone_named(user.timezone if user else None)).date()


def input_fingerprint(letter: Letter, settings: ExportSettings, *, today: date) -> str:
    """A SHA-256 over every input the PDF is made from (read with plain column queries, so
    that an unchanged letter is recognised quickly, even with thousands of signatures)."""
    from signon.letters.models import Revision as Rev

    revisions = db.session.execute(
        select(Rev.id, Rev.number, Rev.content_sha256, Rev.change_kind)
        .where(Rev.letter_id == letter.id)
        .order_by(Rev.number)
    ).all()
    # every change to a signature goes through the ORM, which sets ``updated_at``: with the
    # state columns, that identifies the content without reading every row. The database
    # sums it up per (status, moderation, revision): how many, which ids (count, sum, min,
    # max) and the latest change; a change of state moves a row between these groups.
    signatures = db.session.execute(
        select(
            Signature.status,
            Signature.moderation,
            Signature.revision_id,
            func.count(),
            func.sum(Signature.id),
            func.min(Signature.id),
            func.max(Signature.id),
            func.max(Signature.updated_at),
        )
        .where(Signature.letter_id == letter.id)
        .group_by(Signature.status, Signature.moderation, Signature.revision_id)
    ).all()
    drafting = db.session.execute(
        select(Organisation.id, Organisation.name)
        .join(TeamMember, TeamMember.organisation_id == Organisation.id)
        .where(TeamMember.letter_id == letter.id, TeamMember.is_drafting_organisation)
        .order_by(TeamMember.id)
    ).all()
    options = options_of(settings)
    order = stored_arrangement(letter)
    payload = {
        "renderer": pdf.renderer_version(),
        "letter": [letter.id, letter.slug, letter.addressee, letter.language],
        "revisions": [[r.id, r.number, r.content_sha256, str(r.change_kind)] for r in revisions],
        "signatures": sorted(
            [
                str(status),
                str(moderation),
                revision_id or 0,
                count,
                int(total),
                low,
                high,
                str(latest),
            ]
            for status, moderation, revision_id, count, total, low, high, latest in signatures
        ),
        "drafting": [[d.id, d.name] for d in drafting],
        "settings": [settings.layout.value, settings.page_size.value, settings.audit_page, options],
        "order": [
            order.mode.value,
            list(order.custom_order),
            order.grouping,
            sorted(order.first_tier),
            order.new_since.isoformat() if order.new_since else None,
            order.count_individuals,
        ],
        "date": None if str(options.get("date_text") or "").strip() else today.isoformat(),
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- Storage --------------------------------------------------------------------------------


def storage_dir() -> str:
    return str(current_app.config["SIGNON"].storage_dir)


#: A downloaded PDF is held in memory up to this size while its hash is checked, then on disk.
SPOOL_BYTES = 8 * 1024 * 1024
#: Exported PDFs are stored as ``exports/<file_name>`` (``signon.core.storage``).
EXPORTS_FOLDER = "exports"
#: Preview images, ``previews/<letter id>-<fingerprint>.png``.
PREVIEWS_FOLDER = "previews"


def export_name(file_name: str) -> str:
    return f"{EXPORTS_FOLDER}/{file_name}"


def chunk_store() -> chunks.Store:
    """Where the rendered pieces of long exports are kept (chunks.py), by content."""
    return chunks.StoredPieces(storage())


def warm_up(*, wait: bool = False) -> None:
    """Make the first export of this process as fast as the next ones: start and warm the
    PDF workers (``wait``: until they are), and load what this process needs for an
    export (the PDF templates, compiled; the fonts' coverage; ICU's collators)."""
    pdf.warm_up(folders(), wait=False)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for name in ("_macros", "document", "columns", "flow", "band", "furniture"):
        app.jinja_env.get_template(f"pdf/{name}.html")
    _covered_codepoints("en")
    date_text(date.today(), locale_for("en"))
    list_items(["A", "B"], "en")
    _compile_export_queries()
    if wait:
        pdf.warm_up(folders(), wait=True)


def _compile_export_queries() -> None:
    """Run the queries an export reads with, for a letter that does not exist, so that
    SQLAlchemy has compiled them before the first export (about 60 ms of its CPU in a
    new process otherwise). Only outside a transaction (at a process's start): nothing
    is found, nothing is written, and the read transaction is ended."""
    if db.session().in_transaction():
        return
    nothing = Letter(id=0, slug="", title="", addressee="", language="en")
    settings = settings_for(nothing)
    input_fingerprint(nothing, settings, today=date.today())
    _reusable(nothing, "")
    revision = Revision(id=0, letter_id=0, number=1, title="", body_markdown="")
    signatory_list(nothing, revision)
    drafting_organisations(nothing)
    chain_head(nothing)
    db.session.rollback()


def prerender(letter: Letter) -> pdf.Rendered | None:
    """Lay out now the pieces the letter's next export will need, and keep them (the
    background job run as signatures arrive, so that an export at the deadline assembles
    finished pieces). Nothing is recorded; ``None`` when the list is short (one render)."""
    head = letter.head()
    if head is None or not head.text_matches_hash():
        return None
    prepared = prepare(letter)
    if not prepared.printed:
        return None
    content = build_content(prepared, exported_at=utcnow(), exported_by="")
    mode = pdf.plan_mode(
        content.count, tagged_always=content.tagged_always, variant=content.variant
    )
    if mode != "composed":
        return None
    return pdf.render(content, folders(), timeout=timeout_seconds(), store=chunk_store())


def folders() -> pdf.Folders:
    return pdf.Folders(static_dir=str(current_app.static_folder), storage=storage_config())


def timeout_seconds() -> float:
    return float(current_app.config.get("SIGNON_PDF_TIMEOUT", pdf.DEFAULT_TIMEOUT))


_FILE_NAME = re.compile(r"^[0-9]+-[0-9]+-[0-9a-f]{16}\.(pdf|docx)$")


def _store(record: ExportRecord, data: bytes) -> None:
    name = f"{record.letter_id}-{record.id}-{secrets.token_hex(8)}.{record.file_format or 'pdf'}"
    storage().put(export_name(name), data)
    record.file_name = name
    record.file_sha256 = hashlib.sha256(data).hexdigest()


def open_stored_pdf(record: ExportRecord) -> tuple[IO[bytes], int]:
    """The stored PDF of a finished export and its size, read once from the storage into
    a spooled temporary file (memory up to 8 MB, then disk) and checked against its hash
    before anyone reads it. The caller closes the file."""
    if record.status != ExportStatus.DONE or not record.file_name:
        raise ExportError("This export has no file (it is not finished, or it failed).")
    if not _FILE_NAME.match(record.file_name):
        raise ExportError("This export's file name is not one we made.")
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned open
    try:
        digest = _copy_hashed(export_name(record.file_name), spool)
        if digest != record.file_sha256:
            raise ExportError("The stored file of this export does not match its recorded hash.")
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    return cast(IO[bytes], spool), size


def _copy_hashed(name: str, out: IO[bytes]) -> str:
    """Copy a stored file into ``out``; its SHA-256."""
    digest = hashlib.sha256()
    try:
        with storage().open(name) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except NotStoredError as exc:
        raise ExportError("The stored file of this export is missing.") from exc
    return digest.hexdigest()


def stored_pdf(record: ExportRecord) -> bytes:
    """The stored PDF of a finished export, exactly as made (its hash is checked)."""
    stream, _size = open_stored_pdf(record)
    with stream:
        return stream.read()


def word_file(
    letter: Letter,
    user: User | None,
    *,
    prepared: Prepared | None = None,
    now: datetime | None = None,
) -> bytes:
    """The current text and its listed signatories as an editable Word file, printed as
    the PDF would be with the saved settings (without the audit page), dated ``now``
    (the export's instant, on the exporter's day: :func:`export_day`)."""
    prepared = prepared or prepare(letter)
    exported_by = user.display_name if user else "system"
    now = now or utcnow()
    content = build_content(
        prepared,
        exported_at=now,
        exported_by=exported_by,
        audit=False,
        day=export_day(user, now),
    )
    logo = None
    stored = logo_file(options_of(prepared.settings).get("letterhead_logo"))
    if content.letterhead_logo is not None and stored is not None:
        try:
            logo = storage().get(stored, max_bytes=MAX_LOGO_BYTES)
        except StorageError:  # gone since it was checked: the file without it
            logo = None
    return word.word_document(content, letterhead_logo=logo)


def export_word(letter: Letter, user: User | None) -> tuple[ExportRecord, bytes]:
    """The Word file of the current text, recorded as the PDF is: an export record with
    the revision, the signatures listed and their hashes, the file (kept) and its hash,
    and the audit events, so the audit trail lists it (add and flush only)."""
    head = letter.head()
    if head is not None:
        require_intact_text(letter, head)
    settings = settings_for(letter)
    now = utcnow()
    prepared = prepare(letter, settings=settings)
    entries = list_entries(prepared.signatories.entries)
    record = _new_record(letter, user, settings, prepared, entries, now=now)
    record.file_format = "docx"
    # its own fingerprint: a PDF export never reuses a Word file, nor the other way round
    record.input_sha256 = sha256_text(
        "docx:" + input_fingerprint(letter, settings, today=export_day(user, now))
    )
    db.session.add(record)
    db.session.flush()
    data = word_file(letter, user, prepared=prepared, now=now)
    _store(record, data)
    record.status = ExportStatus.DONE
    record.progress = 100
    record.finished_at = utcnow()
    db.session.flush()
    record_event(
        "export.word",
        letter_id=letter.id,
        actor=user,
        export=record.id,
        revision=prepared.revision.number,
        revision_sha256=prepared.revision.content_sha256,
        signatures=len(prepared.printed),
        signatures_sha256=record.signatures_sha256,
        input_sha256=record.input_sha256,
        file_sha256=record.file_sha256,
    )
    return record, data


def word_file_name(letter: Letter) -> str:
    head = letter.head()
    return f"{_file_slug(letter.slug)}-r{head.number if head else 0}.docx"


def _file_slug(slug: str) -> str:
    """The letter's slug as safe in a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", slug).strip(".-")[:80] or "letter"


def download_name(record: ExportRecord, slug: str) -> str:
    extension = record.file_format or "pdf"
    return f"{_file_slug(slug)}-r{record.revision.number}-export-{record.id}.{extension}"


# --- Records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    record: ExportRecord
    reused: bool = False
    background: bool = False


def is_stalled(record: ExportRecord, now: datetime | None = None) -> bool:
    """A pending or running export whose worker has long passed the limit (the process that
    ran it ended): shown as failed."""
    if record.status not in (ExportStatus.PENDING, ExportStatus.RUNNING):
        return False
    limit = timedelta(seconds=timeout_seconds()) + STALL_MARGIN
    return (now or utcnow()) - record.created_at > limit


def records_of(letter: Letter) -> list[ExportRecord]:
    return list(
        db.session.scalars(
            select(ExportRecord)
            .where(ExportRecord.letter_id == letter.id)
            .order_by(ExportRecord.id.desc())
        )
    )


def record_of(letter: Letter, record_id: int) -> ExportRecord | None:
    return db.session.scalar(
        select(ExportRecord).where(
            ExportRecord.letter_id == letter.id, ExportRecord.id == record_id
        )
    )


def _reusable(letter: Letter, fingerprint: str) -> ExportRecord | None:
    """An earlier export with the same inputs: finished with its file, or still running."""
    candidates = db.session.scalars(
        select(ExportRecord)
        .where(ExportRecord.letter_id == letter.id, ExportRecord.input_sha256 == fingerprint)
        .order_by(ExportRecord.id.desc())
    )
    for record in candidates:
        if record.status == ExportStatus.DONE and record.file_name:
            if storage().exists(export_name(record.file_name)):
                return record
        elif record.status in (ExportStatus.PENDING, ExportStatus.RUNNING) and not is_stalled(
            record
        ):
            return record
    return None


def _new_record(
    letter: Letter,
    user: User | None,
    settings: ExportSettings,
    prepared: Prepared,
    entries: list[list[Any]],
    *,
    now: datetime,
) -> ExportRecord:
    """A pending export of what ``prepared`` prints: the revision, the signatures in their
    printed order and their hashes, and the settings used."""
    return ExportRecord(
        letter_id=letter.id,
        revision_id=prepared.revision.id,
        created_by_id=user.id if user else None,
        created_at=now,
        status=ExportStatus.PENDING,
        progress=0,
        layout=settings.layout,
        options={
            "layout": settings.layout.value,
            "page_size": settings.page_size.value,
            "audit_page": settings.audit_page,
            **options_of(settings),
            "order": prepared.signatories.mode.value,
            "custom_order": list(prepared.signatories.arrangement.custom_order),
        },
        revision_sha256=prepared.revision.content_sha256,
        signature_ids=[s.id for s in prepared.printed],
        signatures_sha256=signatures_sha256(entries),
    )


def export_pdf(
    letter: Letter,
    user: User | None,
    *,
    actor_label: str | None = None,
    layout: Layout | None = None,
    background: bool | None = None,
    progress: pdf.Progress | None = None,
) -> ExportResult:
    """Export the current text with its signatories as PDF, and record exactly what went in.

    ``layout`` overrides the letter's setting (the command line's ``--layout``).
    ``background``: ``None`` decides: with a job queue (Redis) always, otherwise by the
    list's length (long lists are made by a job started after the commit; the record
    shows progress). An unchanged letter
    (same inputs) returns its earlier export without making a new file.
    """
    head = letter.head()
    if head is not None:
        require_intact_text(letter, head)  # before reusing an earlier file, too
    settings = settings_for(letter)
    if layout is not None and layout != settings.layout:
        settings = ExportSettings(
            letter_id=letter.id,
            layout=layout,
            page_size=settings.page_size,
            audit_page=settings.audit_page,
            options=dict(settings.options or {}),
        )
    now = utcnow()
    day = export_day(user, now)
    fingerprint = input_fingerprint(letter, settings, today=day)
    earlier = _reusable(letter, fingerprint)
    if earlier is not None:
        metrics.count_after_commit(metrics.EXPORTS, outcome="reused")
        return ExportResult(earlier, reused=True)
    prepared = prepare(letter, settings=settings)
    if not prepared.printed:
        raise ExportError(
            f"No signatory's approval covers revision {prepared.revision.number} yet, so there "
            "is nothing to list. The text can be previewed; export once someone has approved it."
        )
    entries = list_entries(prepared.signatories.entries)
    record = _new_record(letter, user, settings, prepared, entries, now=now)
    record.input_sha256 = fingerprint
    db.session.add(record)
    db.session.flush()
    record_event(
        "export.started",
        letter_id=letter.id,
        actor=user,
        actor_label=actor_label,
        export=record.id,
        revision=prepared.revision.number,
        revision_sha256=prepared.revision.content_sha256,
        signatures=len(prepared.printed),
        signatures_sha256=record.signatures_sha256,
        input_sha256=fingerprint,
    )
    metrics.count_after_commit(metrics.EXPORTS, outcome="started")
    exported_by = (user.display_name if user else actor_label) or "system"
    content = build_content(prepared, exported_at=now, exported_by=exported_by, day=day)
    if background is None:
        # with a queue, PDFs are made only by `flask worker` (the rendering pool lives there)
        background = jobs.uses_worker() or len(prepared.printed) > int(
            current_app.config.get("SIGNON_PDF_INLINE_MAX", INLINE_MAX)
        )
    if background:
        jobs.enqueue(
            EXPORT_JOB,
            letter_id=letter.id,
            started_by_id=user.id if user else None,
            target_id=record.id,
            record_id=record.id,
            content=content,
        )
        return ExportResult(record, background=True)
    _render_into(record, content, progress=progress)
    return ExportResult(record)


def _render_into(
    record: ExportRecord, content: pdf.PdfContent, *, progress: pdf.Progress | None
) -> None:
    """Make the PDF and store it; the record says how it went (add and flush only)."""
    record.status = ExportStatus.RUNNING
    try:
        rendered = pdf.render(
            content,
            folders(),
            timeout=timeout_seconds(),
            progress=progress,
            store=chunk_store(),
        )
    except pdf.RenderError as error:
        record.status = ExportStatus.FAILED
        record.error = str(error)
        record.finished_at = utcnow()
        db.session.flush()
        metrics.count_after_commit(metrics.EXPORTS, outcome="failed")
        return
    except Exception as error:  # a bug or a crash in a worker: say so, keep the worker alive
        log.exception("PDF export %s failed", record.id)
        record.status = ExportStatus.FAILED
        record.error = f"The PDF could not be made ({type(error).__name__}). Please try again."
        record.finished_at = utcnow()
        db.session.flush()
        metrics.count_after_commit(metrics.EXPORTS, outcome="failed")
        return
    _store(record, rendered.pdf)
    record.page_count = rendered.page_count
    record.duration_ms = rendered.duration_ms
    record.progress = 100
    record.status = ExportStatus.DONE
    record.finished_at = utcnow()
    db.session.flush()
    record_event(
        "export.finished",
        letter_id=record.letter_id,
        actor_label="system",
        export=record.id,
        file_sha256=record.file_sha256,
        pages=record.page_count,
        mode=rendered.mode,
        pieces_laid_out=rendered.laid_out,
        pieces_reused=rendered.reused,
        pieces_renumbered=rendered.renumbered,
    )
    metrics.count_after_commit(metrics.EXPORTS, outcome="done")


EXPORT_JOB = "export.pdf"


def _export_failed(job: jobs.BackgroundJob) -> None:
    """The export's job failed for good (or its worker died): the record says so too."""
    record = db.session.get(ExportRecord, job.target_id) if job.target_id else None
    if record is not None and record.status != ExportStatus.DONE:
        record.status = ExportStatus.FAILED
        record.error = job.error
        record.finished_at = utcnow()
        db.session.flush()
        metrics.count_after_commit(metrics.EXPORTS, outcome="failed")


@jobs.job(EXPORT_JOB, label="Making the PDF", on_failure=_export_failed)
def run_export(running: jobs.RunningJob, *, record_id: int, content: pdf.PdfContent) -> None:
    """The background job of a long export (``flask worker``, or a thread without Redis):
    the record's status and progress are committed as it goes."""
    found = db.session.get(ExportRecord, record_id)
    if found is None or found.status == ExportStatus.DONE:
        return  # gone, or made by an earlier attempt
    record: ExportRecord = found
    record.status = ExportStatus.RUNNING
    record.error = None
    record.progress = 0
    commit()
    last = [0]

    def progress(percent: int) -> None:
        if percent - last[0] >= 10:
            last[0] = percent
            record.progress = percent
            running.progress(percent)  # commits, with the job's heartbeat

    _render_into(record, content, progress=progress)
    commit()
    if record.status == ExportStatus.FAILED:
        raise jobs.JobError(record.error or "The PDF could not be made.")


def _warm_the_rendering_pool() -> None:
    """``flask worker`` starts and warms the WeasyPrint processes once, before its first
    job, so that even its first export takes what a warm one takes."""
    warm_up(wait=True)


jobs.at_worker_start(_warm_the_rendering_pool)


# --- Pre-rendering as signatures arrive -------------------------------------------------------

PRERENDER_JOB = "export.prerender"
#: How often the scheduler looks for letters whose list changed since their pieces were
#: last laid out (a burst of sign-ons gives one pre-render a minute, not one per sign-on).
PRERENDER_EVERY = 60


def _prerendered_name(letter_id: int) -> str:
    return f"{chunks.StoredPieces.FOLDER}/prerendered/{letter_id}"


def _prerendered_fingerprint(letter: Letter) -> str | None:
    try:
        return storage().get(_prerendered_name(letter.id), max_bytes=128).decode("ascii")
    except (StorageError, UnicodeDecodeError):
        return None


def letters_to_prerender() -> list[Letter]:
    """Open letters with a list long enough for pieces whose inputs changed since their
    pieces were last laid out (and no pre-render queued or running for them)."""
    long_lists = (
        select(Signature.letter_id)
        .group_by(Signature.letter_id)
        .having(func.count() > pdf.SINGLE_MAX)
    )
    letters = db.session.scalars(
        select(Letter).where(Letter.status == LetterStatus.OPEN, Letter.id.in_(long_lists))
    )
    due = []
    for letter in letters:
        latest = jobs.latest_job(letter.id, PRERENDER_JOB)
        if latest is not None and latest.active:
            continue
        fingerprint = input_fingerprint(letter, settings_for(letter), today=utcnow().date())
        if fingerprint != _prerendered_fingerprint(letter):
            due.append(letter)
    return due


@jobs.periodic("prerender-pdf-pieces", every_seconds=PRERENDER_EVERY)
def schedule_prerenders() -> None:
    for letter in letters_to_prerender():
        jobs.enqueue(PRERENDER_JOB, letter_id=letter.id, for_letter=letter.id)


#: Rendered pieces not written for this long are deleted (a piece still in use is only
#: laid out again by the next export that needs it: the store is a cache).
PIECES_KEPT = timedelta(days=7)


@jobs.periodic("prune-pdf-pieces", every_seconds=24 * 3600)
def prune_pieces(now: datetime | None = None) -> int:
    """Delete the rendered pieces older than :data:`PIECES_KEPT`; how many went."""
    store = storage()
    cutoff = (now or utcnow()) - PIECES_KEPT
    removed = 0
    for name in list(store.names(f"{chunks.StoredPieces.FOLDER}/")):
        info = store.stat(name) if name.endswith(".piece") else None
        if info is not None and info.modified < cutoff:
            store.delete(name)
            removed += 1
    return removed


@jobs.job(PRERENDER_JOB, label="Preparing the PDF's pages", retries=())
def run_prerender(running: jobs.RunningJob, *, for_letter: int) -> None:
    """The background job: lay out the letter's changed pieces (:func:`prerender`), then
    note the inputs they were made from."""
    letter = db.session.get(Letter, for_letter)
    if letter is None:
        return
    fingerprint = input_fingerprint(letter, settings_for(letter), today=utcnow().date())
    prerender(letter)
    storage().put(_prerendered_name(letter.id), fingerprint.encode("ascii"))


@dataclass(frozen=True)
class ExportState:
    """What the coordinator is told about an export: the record, read with its job."""

    state: str  # queued, running, done, failed
    progress: int
    reason: str | None = None
    #: A failed attempt that is tried again (the job's words), while queued.
    note: str | None = None

    @property
    def working(self) -> bool:
        return self.state in ("queued", "running")

    @property
    def label(self) -> str:
        if self.state == "running":
            return f"Running, {self.progress} %"
        return self.state.capitalize()


def export_state(record: ExportRecord) -> ExportState:
    """The export's state, as truthful as the job's row: queued while it waits for a
    worker (however long), running with progress, failed with the job's reason."""
    if record.status == ExportStatus.DONE:
        return ExportState("done", 100)
    job = jobs.latest_job(record.letter_id, EXPORT_JOB, target_id=record.id)
    if job is None:  # made in its request, or before jobs existed
        if is_stalled(record):
            return ExportState("failed", record.progress, STALLED_REASON)
        if record.status == ExportStatus.FAILED:
            return ExportState("failed", record.progress, record.error)
        state = "queued" if record.status == ExportStatus.PENDING else "running"
        return ExportState(state, record.progress)
    if job.state == jobs.JobState.QUEUED:
        return ExportState("queued", 0, note=job.error)
    if job.state == jobs.JobState.RUNNING:
        return ExportState("running", record.progress)
    if job.state == jobs.JobState.FAILED:
        return ExportState("failed", record.progress, job.error or record.error)
    return ExportState("failed", record.progress, record.error)  # job done, PDF not made


STALLED_REASON = "The export stopped without finishing (the server may have restarted)."


def wait_for_background(timeout: float = 60.0) -> None:
    """For tests and the command line: wait for the job threads started here."""
    jobs.wait_for_threads(timeout)


# --- Preview ---------------------------------------------------------------------------------


def preview_pdf(prepared: Prepared) -> bytes:
    """The first pages: the text and the first :data:`PREVIEW_LIMIT` signatories."""
    require_intact_text(prepared.letter, prepared.revision)
    content = build_content(
        prepared,
        exported_at=utcnow(),
        exported_by="",
        limit=PREVIEW_LIMIT,
        audit=False,
        variant=None,
    )
    return pdf.render(content, folders(), timeout=timeout_seconds()).pdf


def preview_png(letter: Letter) -> bytes | None:
    """Pages 1 and 2 of the preview side by side, as one PNG, cached by the inputs'
    fingerprint; ``None`` without poppler's ``pdftoppm``."""
    name = _preview_name(letter, "png")
    try:
        return storage().get(name)
    except NotStoredError:
        pass
    return make_previews(letter).get("png")


def _preview_name(letter: Letter, suffix: str) -> str:
    fingerprint = input_fingerprint(letter, settings_for(letter), today=utcnow().date())
    return f"{PREVIEWS_FOLDER}/{letter.id}-{fingerprint[:32]}.{suffix}"


def make_previews(letter: Letter) -> dict[str, bytes]:
    """Render the preview (PDF, and its PNG when poppler is there) and keep both, by the
    inputs' fingerprint, in place of the letter's earlier ones."""
    document = preview_pdf(prepare(letter))
    made = {"pdf": document}
    pages = [png for number in (1, 2) if (png := pdf.rasterise(document, number)) is not None]
    if pages:
        made["png"] = _side_by_side(pages)
    store = storage()
    for old in list(store.names(f"{PREVIEWS_FOLDER}/{letter.id}-")):
        store.delete(old)
    for suffix, data in made.items():
        store.put(_preview_name(letter, suffix), data)
    return made


PREVIEW_JOB = "export.preview"


@jobs.job(PREVIEW_JOB, label="Making the preview", retries=(10,), timeout=10 * 60)
def run_preview(running: jobs.RunningJob, *, of_letter: int) -> None:
    """With a job queue the preview is made by ``flask worker``, never in a web process."""
    letter = db.session.get(Letter, of_letter)
    if letter is not None:
        make_previews(letter)


def worker_preview(letter: Letter, suffix: str) -> bytes | None:
    """With a job queue: the stored preview (``png`` or ``pdf``) if the worker has made
    it for the letter as it is now; otherwise ``None``, and a preview job is queued
    (one at a time per letter) for the page to show once it is done."""
    try:
        return storage().get(_preview_name(letter, suffix))
    except NotStoredError:
        pass
    waiting = jobs.jobs_of(letter.id, kinds=[PREVIEW_JOB], limit=1)
    if not (waiting and waiting[0].active):
        jobs.enqueue(PREVIEW_JOB, letter_id=letter.id, of_letter=letter.id)
    return None


def _side_by_side(pngs: Sequence[bytes], gap: int = 16) -> bytes:
    import io

    from PIL import Image

    images = [Image.open(io.BytesIO(data)).convert("RGB") for data in pngs]
    width = sum(image.width for image in images) + gap * (len(images) - 1)
    height = max(image.height for image in images)
    sheet = Image.new("RGB", (width, height), (226, 229, 233))
    x = 0
    for image in images:
        sheet.paste(image, (x, 0))
        x += image.width + gap
    out = io.BytesIO()
    sheet.save(out, format="PNG", optimize=True)
    return out.getvalue()


ProgressCallback = Callable[[int], None]
