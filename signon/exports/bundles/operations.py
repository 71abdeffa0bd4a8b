"""Letter bundles: a letter with every revision and every signatory, as one JSON document.

``export_letter`` writes one; ``import_letter`` creates a new letter from one. The
format is described in ``docs/bundles.md``. Import checks the whole bundle first
and reports *every* problem (with the entry's index); if there is any, nothing is
created. It adds and flushes only: the caller commits once, at the end.

What is *content* (kept exactly by export → import → export): every field of the
bundle except ``exported_at`` and ``slug`` (the slug is only a wish: a taken
slug gets a suffix). Revision authors and classifiers are kept as e-mail
addresses and resolved to accounts of the importing instance: an address without
an account there is imported as "no author" (see the docs).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from signon.accounts.models import User
from signon.audit.operations import record_event
from signon.core import jobs, transaction
from signon.core.bulk import add_numbered, insert_rows
from signon.core.permissions import TeamRole
from signon.core.storage import CHUNK, NotStoredError, StorageError, storage
from signon.db import utcnow
from signon.extensions import db
from signon.letters.audit_records import REVISION_IMPORTED, record_revision
from signon.letters.models import LANGUAGES, ChangeKind, Letter, LetterStatus, Revision, TeamMember
from signon.letters.operations import normalise_text, unique_slug
from signon.signatures.approvals import operations as signature_operations
from signon.signatures.audit_records import printed_records
from signon.signatures.models import (
    Moderation,
    SignatoryKind,
    Signature,
    SignatureEvent,
    SignatureSource,
    SignatureStatus,
)
from signon.signatures.uploads import (
    MAX_LOGO_BYTES,
    LogoError,
    ProcessedLogo,
    logo_name,
    process_logo,
    save_logo,
)

FORMAT = "signon-letter-bundle"
FORMAT_VERSION = 1

#: Kinds as bundles may spell them (case-insensitive). "organisation" is the demo file's.
KIND_ALIASES: dict[str, SignatoryKind] = {
    **{kind.value: kind for kind in SignatoryKind},
    "organisation": SignatoryKind.NGO,
    "organization": SignatoryKind.NGO,
    "coalition": SignatoryKind.NETWORK,
}

LETTER_KEYS = {
    "format",
    "format_version",
    "exported_at",
    "slug",
    "title",
    "addressee",
    "language",
    "status",
    "deadline",
    "public",
    "body_markdown",
    "revisions",
    "signatories",
}
REVISION_KEYS = {
    "number",
    "title",
    "body_markdown",
    "sha256",
    "author_email",
    "created_at",
    "change_note",
    "change_kind",
    "classified_by_email",
    "classified_at",
    "merged",
    "base_number",
}
SIGNATORY_KEYS = {
    "name",
    "sort_name",
    "kind",
    "country",
    "representative_name",
    "representative_title",
    "website",
    "email",
    "domain_verified",
    "authority_confirmed",
    "source",
    "status",
    "moderation",
    "approved_revision",
    "approved_at",
    "decline_reason",
    "withdrawn_at",
    "withdraw_reason",
    "last_activity_at",
    "logo_base64",
    "events",
}
EVENT_KEYS = {"action", "revision_number", "email", "details", "created_at"}
#: Fields that are not content: they may differ after a round trip.
NOT_CONTENT = ("exported_at", "slug")


def _is_web_address(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class BundleError(Exception):
    """The bundle cannot be imported. ``problems`` lists every one, for people."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


# --- Export -------------------------------------------------------------------------


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def export_letter(letter: Letter) -> dict[str, Any]:
    """The letter as a bundle (a JSON-ready dict). Reads only."""
    revisions = list(
        db.session.scalars(
            select(Revision)
            .where(Revision.letter_id == letter.id)
            .order_by(Revision.number)
            .options(selectinload(Revision.author), selectinload(Revision.classified_by))
        )
    )
    numbers = {revision.id: revision.number for revision in revisions}
    signatures = db.session.scalars(
        select(Signature)
        .where(Signature.letter_id == letter.id)
        .order_by(Signature.id)
        .options(selectinload(Signature.events))
    ).all()
    head = revisions[-1] if revisions else None
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": iso(utcnow()),
        "slug": letter.slug,
        "title": head.title if head else letter.title,
        "addressee": letter.addressee,
        "language": letter.language,
        "status": letter.status.value,
        "deadline": iso(letter.deadline),
        "public": letter.is_public,
        "revisions": [_export_revision(revision, numbers) for revision in revisions],
        "signatories": [_export_signature(signature, numbers) for signature in signatures],
    }


def _export_revision(revision: Revision, numbers: Mapping[int, int]) -> dict[str, Any]:
    return {
        "number": revision.number,
        "title": revision.title,
        "body_markdown": revision.body_markdown,
        "sha256": revision.content_sha256,
        "author_email": revision.author.email if revision.author else None,
        "created_at": iso(revision.created_at),
        "change_note": revision.change_note,
        "change_kind": revision.change_kind.value if revision.change_kind else None,
        "classified_by_email": revision.classified_by.email if revision.classified_by else None,
        "classified_at": iso(revision.classified_at),
        "merged": revision.merged,
        "base_number": numbers.get(revision.base_id) if revision.base_id else None,
    }


def _logo_base64(filename: str | None) -> str | None:
    """The signatory's stored logo (PNG), base64, or None (none, or no longer stored)."""
    name = logo_name(filename)
    if name is None:
        return None
    try:
        return base64.b64encode(storage().get(name, max_bytes=MAX_LOGO_BYTES)).decode("ascii")
    except StorageError:
        return None


def _export_signature(signature: Signature, numbers: Mapping[int, int]) -> dict[str, Any]:
    approved = (
        {"number": numbers[signature.revision_id], "sha256": signature.approved_sha256}
        if signature.revision_id is not None and signature.revision_id in numbers
        else None
    )
    return {
        "name": signature.name,
        "sort_name": signature.sort_name,
        "kind": signature.kind.value,
        "country": signature.country,
        "representative_name": signature.representative_name,
        "representative_title": signature.representative_title,
        "website": signature.website,
        "email": signature.email,
        "domain_verified": signature.domain_verified,
        "authority_confirmed": signature.authority_confirmed,
        "source": signature.source.value,
        "status": signature.status.value,
        "moderation": signature.moderation.value,
        "approved_revision": approved,
        "approved_at": iso(signature.approved_at),
        "decline_reason": signature.decline_reason,
        "withdrawn_at": iso(signature.withdrawn_at),
        "withdraw_reason": signature.withdraw_reason,
        "last_activity_at": iso(signature.last_activity_at),
        "logo_base64": _logo_base64(signature.logo_filename),
        "events": [
            {
                "action": event.action,
                "revision_number": numbers.get(event.revision_id) if event.revision_id else None,
                "email": event.email,
                "details": event.details or {},
                "created_at": iso(event.created_at),
            }
            for event in signature.events
        ],
    }


def content_of(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """The bundle without the fields that are not content (for round-trip comparisons)."""
    return {key: value for key, value in bundle.items() if key not in NOT_CONTENT}


def dumps(bundle: Mapping[str, Any]) -> str:
    return json.dumps(bundle, ensure_ascii=False, indent=2) + "\n"


# --- Checking -----------------------------------------------------------------------


E = TypeVar("E", bound=Any)


@dataclass
class RevisionEntry:
    number: int
    title: str
    body_markdown: str
    sha256: str
    author_email: str | None = None
    created_at: datetime | None = None
    change_note: str = ""
    change_kind: ChangeKind | None = None
    classified_by_email: str | None = None
    classified_at: datetime | None = None
    merged: bool = False
    base_number: int | None = None
    #: ``base_number`` was given (null included); otherwise the base is the parent.
    has_base: bool = False


@dataclass
class EventEntry:
    action: str
    revision_number: int | None
    email: str | None
    details: dict[str, Any]
    created_at: datetime | None


@dataclass
class SignatoryEntry:
    index: int
    name: str
    kind: SignatoryKind = SignatoryKind.NGO
    sort_name: str | None = None
    country: str | None = None
    representative_name: str | None = None
    representative_title: str | None = None
    website: str | None = None
    email: str | None = None
    domain_verified: bool | None = None
    authority_confirmed: bool = False
    source: SignatureSource = SignatureSource.IMPORT
    status: SignatureStatus = SignatureStatus.APPROVED
    moderation: Moderation = Moderation.NOT_NEEDED
    approved_number: int | None = None
    approved_sha256: str | None = None
    approved_at: datetime | None = None
    decline_reason: str | None = None
    withdrawn_at: datetime | None = None
    withdraw_reason: str | None = None
    last_activity_at: datetime | None = None
    events: list[EventEntry] | None = None
    #: Checked and re-encoded as an upload is; written to storage after the commit.
    logo: ProcessedLogo | None = None

    @property
    def has_approval_record(self) -> bool:
        return self.approved_number is not None


@dataclass
class LetterEntry:
    title: str
    addressee: str = ""
    language: str = "en"
    status: LetterStatus = LetterStatus.DRAFTING
    deadline: datetime | None = None
    public: bool = False
    slug: str | None = None
    revisions: list[RevisionEntry] = field(default_factory=list)
    signatories: list[SignatoryEntry] = field(default_factory=list)
    #: The short form: one text (``body_markdown``), no revision history.
    single_text: bool = False


class _Checker:
    """Reads values out of JSON objects, collecting every problem instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}" if where else message)

    def unknown_keys(self, obj: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in obj:
            if key not in allowed:
                self.add(where, f"unknown field “{key}”")

    def text(
        self,
        obj: Mapping[str, Any],
        key: str,
        where: str,
        *,
        max_len: int | None = None,
        required: bool = False,
        strip: bool = True,
    ) -> str | None:
        value = obj.get(key)
        if value is None or (isinstance(value, str) and strip and not value.strip()):
            if required:
                self.add(where, f"the {key.replace('_', ' ')} is missing")
            return None
        if not isinstance(value, str):
            self.add(where, f"“{key}” must be a string")
            return None
        value = value.strip() if strip else value
        if max_len is not None and len(value) > max_len:
            self.add(where, f"“{key}” is longer than {max_len:,} characters")
            return None
        return value

    def boolean(self, obj: Mapping[str, Any], key: str, where: str) -> bool | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.add(where, f"“{key}” must be true or false")
            return None
        return value

    def integer(self, obj: Mapping[str, Any], key: str, where: str) -> int | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            self.add(where, f"“{key}” must be a whole number")
            return None
        return value

    def time(self, obj: Mapping[str, Any], key: str, where: str) -> datetime | None:
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                pass
            else:
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=UTC)  # documented: no zone means UTC
                return parsed.astimezone(UTC)
        self.add(where, f"“{key}” must be an ISO 8601 date and time, e.g. 2026-03-01T12:00:00Z")
        return None

    def choice(
        self,
        obj: Mapping[str, Any],
        key: str,
        where: str,
        choices: Mapping[str, E],
        default: E,
    ) -> E:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, str) and value.strip().lower() in choices:
            return choices[value.strip().lower()]
        self.add(where, f"unknown {key} “{value}” (one of: {', '.join(sorted(set(choices)))})")
        return default


def _values(enum_cls: type[E]) -> dict[str, E]:
    return {member.value: member for member in enum_cls}  # type: ignore[attr-defined]


def check_bundle(data: Any, *, max_body_chars: int | None = None) -> LetterEntry:
    """The bundle, checked. Raises :class:`BundleError` listing every problem found."""
    if max_body_chars is None:
        max_body_chars = current_app.config["SIGNON"].max_body_chars
    c = _Checker()
    if not isinstance(data, dict):
        raise BundleError(["the bundle must be a JSON object ({...})"])
    c.unknown_keys(data, LETTER_KEYS, "bundle")
    if "format" in data and data["format"] != FORMAT:
        c.add("bundle", f"“format” must be “{FORMAT}”")
    version = c.integer(data, "format_version", "bundle")
    if version is not None and version != FORMAT_VERSION:
        newer = " (made by a newer Signon)" if version > FORMAT_VERSION else ""
        c.add("bundle", f"format version {version}{newer}: this Signon reads version 1")
    entry = LetterEntry(title="")
    entry.slug = c.text(data, "slug", "bundle", max_len=120)
    entry.addressee = c.text(data, "addressee", "bundle", max_len=500) or ""
    language = c.text(data, "language", "bundle") or "en"
    if language not in LANGUAGES:
        c.add("bundle", f"unknown language “{language}” (one of: {', '.join(LANGUAGES)})")
    entry.language = language
    entry.status = c.choice(data, "status", "bundle", _values(LetterStatus), LetterStatus.DRAFTING)
    entry.deadline = c.time(data, "deadline", "bundle")
    entry.public = bool(c.boolean(data, "public", "bundle"))
    title = c.text(data, "title", "bundle", max_len=300)

    if "revisions" in data and "body_markdown" in data:
        c.add("bundle", "give either “body_markdown” (one text) or “revisions”, not both")
    elif "revisions" in data:
        entry.revisions = _check_revisions(c, data["revisions"], max_body_chars)
        if entry.revisions and title is not None and title != entry.revisions[-1].title:
            c.add("bundle", "“title” differs from the title of the last revision")
    elif "body_markdown" in data:
        body = c.text(data, "body_markdown", "bundle", required=True, strip=False)
        if title is None:
            c.add("bundle", "the title is missing")
        if body is not None and len(body) > max_body_chars:
            c.add("bundle", f"the text is longer than {max_body_chars:,} characters")
        elif body is not None and title is not None:
            body = normalise_text(body)
            entry.single_text = True
            entry.revisions = [
                RevisionEntry(
                    number=1,
                    title=title,
                    body_markdown=body,
                    sha256=Revision.hash_content(title, body),
                    change_note="Imported",
                )
            ]
    else:
        c.add("bundle", "the text is missing: give “body_markdown” or “revisions”")
    entry.title = entry.revisions[-1].title if entry.revisions else (title or "")

    raw_signatories = data.get("signatories", [])
    if not isinstance(raw_signatories, list):
        c.add("bundle", "“signatories” must be a list")
    else:
        entry.signatories = _check_signatories(c, raw_signatories, entry.revisions)
    if c.problems:
        raise BundleError(c.problems)
    return entry


def _check_revisions(c: _Checker, raw: Any, max_body_chars: int) -> list[RevisionEntry]:
    if not isinstance(raw, list) or not raw:
        c.add("bundle", "“revisions” must be a list with at least one revision")
        return []
    entries: list[RevisionEntry] = []
    for index, item in enumerate(raw):
        where = f"revisions[{index}]"
        if not isinstance(item, dict):
            c.add(where, "must be an object")
            continue
        c.unknown_keys(item, REVISION_KEYS, where)
        number = c.integer(item, "number", where)
        if number is None:
            c.add(where, "the number is missing")
        elif number != index + 1:
            c.add(where, f"number {number} out of sequence: expected {index + 1} (1, 2, 3...)")
        title = c.text(item, "title", where, max_len=300, required=True)
        body = item.get("body_markdown")
        if not isinstance(body, str):
            c.add(where, "“body_markdown” must be a string")
            body = None
        elif len(body) > max_body_chars:
            c.add(where, f"the text is longer than {max_body_chars:,} characters")
        sha256 = c.text(item, "sha256", where, required=True)
        if (
            sha256 is not None
            and title is not None
            and body is not None
            and Revision.hash_content(title, body) != sha256.lower()
        ):
            c.add(
                where,
                "its SHA-256 does not match its title and text: the bundle was changed "
                "after it was exported (tampered with or damaged), so it is refused",
            )
        base = c.integer(item, "base_number", where)
        if base is not None and not 1 <= base < index + 1:
            c.add(where, f"base_number {base} must name an earlier revision")
        revision = RevisionEntry(
            number=index + 1,
            title=title or "",
            body_markdown=body or "",
            sha256=(sha256 or "").lower(),
            author_email=c.text(item, "author_email", where, max_len=254),
            created_at=c.time(item, "created_at", where),
            change_note=c.text(item, "change_note", where, max_len=500) or "",
            change_kind=c.choice(item, "change_kind", where, _values(ChangeKind), None),
            classified_by_email=c.text(item, "classified_by_email", where, max_len=254),
            classified_at=c.time(item, "classified_at", where),
            merged=bool(c.boolean(item, "merged", where)),
            base_number=base,
            has_base="base_number" in item,
        )
        if number == index + 1:
            # Kept even with problems (nothing is imported then), so that signatories
            # referring to it are checked against what the bundle says about it.
            entries.append(revision)
    return entries


def _check_signatories(
    c: _Checker, raw: list[Any], revisions: Sequence[RevisionEntry]
) -> list[SignatoryEntry]:
    hashes = {revision.number: revision.sha256 for revision in revisions}
    entries: list[SignatoryEntry] = []
    for index, item in enumerate(raw):
        where = f"signatories[{index}]"
        if not isinstance(item, dict):
            c.add(where, "must be an object")
            continue
        name = c.text(item, "name", where, max_len=300, required=True)
        if name is not None:
            where = f"{where} “{name}”"
        c.unknown_keys(item, SIGNATORY_KEYS, where)
        entry = SignatoryEntry(index=index, name=name or "")
        entry.kind = c.choice(item, "kind", where, KIND_ALIASES, SignatoryKind.NGO)
        entry.sort_name = c.text(item, "sort_name", where, max_len=300)
        entry.country = c.text(item, "country", where, max_len=100)
        entry.representative_name = c.text(item, "representative_name", where, max_len=200)
        entry.representative_title = c.text(item, "representative_title", where, max_len=200)
        entry.website = c.text(item, "website", where, max_len=500)
        if entry.website is not None and not _is_web_address(entry.website):
            c.add(where, f"“{entry.website}” is not a web address (http or https)")
        entry.email = c.text(item, "email", where, max_len=254)
        if entry.email is not None and "@" not in entry.email:
            c.add(where, f"“{entry.email}” is not an e-mail address")
        entry.domain_verified = c.boolean(item, "domain_verified", where)
        entry.authority_confirmed = bool(c.boolean(item, "authority_confirmed", where))
        entry.source = c.choice(
            item, "source", where, _values(SignatureSource), SignatureSource.IMPORT
        )
        entry.status = c.choice(
            item, "status", where, _values(SignatureStatus), SignatureStatus.APPROVED
        )
        entry.moderation = c.choice(
            item, "moderation", where, _values(Moderation), Moderation.NOT_NEEDED
        )
        approved = item.get("approved_revision")
        if approved is not None:
            if not isinstance(approved, dict):
                c.add(where, "“approved_revision” must be an object {number, sha256}")
            else:
                number = c.integer(approved, "number", where)
                sha256 = c.text(approved, "sha256", where)
                if number is None or sha256 is None:
                    c.add(where, "“approved_revision” needs a number and a sha256")
                elif number not in hashes:
                    c.add(where, f"approved revision {number}, which the bundle does not have")
                elif hashes[number] != sha256.lower():
                    c.add(
                        where,
                        f"the hash of the approved revision {number} does not match that "
                        "revision's text: the bundle was changed after export, so it is refused",
                    )
                else:
                    entry.approved_number, entry.approved_sha256 = number, sha256.lower()
        entry.approved_at = c.time(item, "approved_at", where)
        entry.decline_reason = c.text(item, "decline_reason", where, strip=False)
        entry.withdrawn_at = c.time(item, "withdrawn_at", where)
        entry.withdraw_reason = c.text(item, "withdraw_reason", where, strip=False)
        entry.last_activity_at = c.time(item, "last_activity_at", where)
        entry.logo = _check_logo(c, item.get("logo_base64"), where)
        if "events" in item:
            entry.events = _check_events(c, item["events"], where, hashes)
        # Names may repeat: colliding signatures are kept and shown as possible duplicates.
        entries.append(entry)
    return entries


#: The longest ``logo_base64`` read: a logo of MAX_LOGO_BYTES, base64 (4 characters per 3 bytes).
MAX_LOGO_BASE64 = (MAX_LOGO_BYTES + 2) // 3 * 4


def _check_logo(c: _Checker, raw: Any, where: str) -> ProcessedLogo | None:
    """A signatory's logo from a bundle, judged as an upload is (:mod:`signon.signatures.
    uploads`: at most 2 MB, PNG, JPEG or WebP by its content, pixel count, re-encoded)."""
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > MAX_LOGO_BASE64:
        c.add(where, f"“logo_base64” must be an image of at most {MAX_LOGO_BYTES:,} bytes, base64")
        return None
    try:
        data = base64.b64decode(raw, validate=True)
    except ValueError:
        c.add(where, "“logo_base64” is not base64")
        return None
    try:
        return process_logo(io.BytesIO(data))
    except LogoError as error:
        c.add(where, f"logo: {error}")
        return None


def _check_events(c: _Checker, raw: Any, where: str, hashes: Mapping[int, str]) -> list[EventEntry]:
    if not isinstance(raw, list):
        c.add(where, "“events” must be a list")
        return []
    events: list[EventEntry] = []
    for position, item in enumerate(raw):
        at = f"{where} events[{position}]"
        if not isinstance(item, dict):
            c.add(at, "must be an object")
            continue
        c.unknown_keys(item, EVENT_KEYS, at)
        action = c.text(item, "action", at, max_len=40, required=True)
        number = c.integer(item, "revision_number", at)
        if number is not None and number not in hashes:
            c.add(at, f"revision {number}, which the bundle does not have")
        details = item.get("details") or {}
        if not isinstance(details, dict):
            c.add(at, "“details” must be an object")
            details = {}
        events.append(
            EventEntry(
                action=action or "",
                revision_number=number,
                email=c.text(item, "email", at, max_len=254),
                details=details,
                created_at=c.time(item, "created_at", at),
            )
        )
    return events


# --- Import -------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    letter: Letter
    revisions: int
    signatories: int
    approved_on_import: int
    authors_without_account: list[str]


def resolve_owner(email: str | None) -> User:
    """The importing letter's first coordinator.

    With an address: that account. Without: the only account of the instance; with
    several (or none), the importer must say who (no silent guess).
    """
    if email:
        user = User.find_by_email(email)
        if user is None:
            raise BundleError([f"--owner: there is no account with the address {email}"])
        return user
    count = db.session.scalar(select(func.count()).select_from(User)) or 0
    if count == 0:
        raise BundleError(
            ["there is no account yet: create one (register) and pass it with --owner EMAIL"]
        )
    if count > 1:
        raise BundleError(["this instance has several accounts: say who owns it with --owner"])
    user = db.session.scalar(select(User))
    assert user is not None
    return user


def import_letter(
    data: Any,
    owner: User,
    *,
    bundle_sha256: str | None = None,
    checked: LetterEntry | None = None,
) -> ImportResult:
    """A new letter from ``data`` (checked first; nothing is added if it has problems).

    ``checked``: what :func:`check_bundle` returned for ``data``, if the caller has it
    already (the command checks before it imports; a large bundle is not checked twice).
    """
    entry = checked if checked is not None else check_bundle(data)
    emails = {r.author_email for r in entry.revisions} | {
        r.classified_by_email for r in entry.revisions
    }
    wanted = sorted({User.normalise_email(e) for e in emails if e})
    users = (
        {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(wanted)))}
        if wanted
        else {}
    )
    now = utcnow()
    letter = Letter(
        slug=unique_slug(entry.slug or entry.title),
        title=entry.title,
        addressee=entry.addressee,
        language=entry.language,
        deadline=entry.deadline,
        status=entry.status,
        is_public=entry.public,
        created_by=owner,
        last_activity_at=now,
    )
    db.session.add(letter)
    db.session.add(TeamMember(letter=letter, user=owner, role=TeamRole.COORDINATOR, added_by=owner))
    db.session.flush()

    def account(email: str | None) -> User | None:
        return users.get(User.normalise_email(email)) if email else None

    missing = sorted({e for e in emails if e and account(e) is None})
    # First in the new letter's audit chain: where it came from.
    record_event(
        "letter.imported",
        letter_id=letter.id,
        actor=owner,
        revisions=len(entry.revisions),
        signatories=len(entry.signatories),
        approved_on_import=sum(1 for s in entry.signatories if _approves_on_import(s)),
        bundle_sha256=bundle_sha256,
        original_slug=entry.slug,
        authors_without_account=missing or None,
    )

    revisions: dict[int, Revision] = {}
    for item in entry.revisions:
        parent = revisions.get(item.number - 1)
        base = revisions.get(item.base_number) if item.has_base and item.base_number else None
        revision = Revision(
            letter=letter,
            number=item.number,
            parent_id=parent.id if parent else None,
            base_id=base.id if base else (parent.id if parent and not item.has_base else None),
            author=owner if entry.single_text else account(item.author_email),
            created_at=item.created_at or now,
            title=item.title,
            body_markdown=item.body_markdown,
            content_sha256=item.sha256,
            change_note=item.change_note,
            change_kind=item.change_kind,
            classified_by=account(item.classified_by_email),
            classified_at=item.classified_at,
            merged=item.merged,
        )
        db.session.add(revision)
        db.session.flush()
        record_revision(revision, REVISION_IMPORTED, actor=owner)
        revisions[item.number] = revision
    head = revisions[max(revisions)]
    approved_on_import = _add_signatories(letter, head, revisions, entry.signatories)
    db.session.flush()
    return ImportResult(letter, len(revisions), len(entry.signatories), approved_on_import, missing)


def import_signatories(letter: Letter, raw: list[Any]) -> int:
    """Add bundle-style signatories to an existing letter (checked first; all or nothing).

    Used by the demo. Returns how many were recorded as approving the current text.
    """
    revisions = {
        r.number: r
        for r in db.session.scalars(select(Revision).where(Revision.letter_id == letter.id))
    }
    c = _Checker()
    hashes = [
        RevisionEntry(number=n, title=r.title, body_markdown="", sha256=r.content_sha256)
        for n, r in revisions.items()
    ]
    entries = _check_signatories(c, raw, hashes)
    if c.problems:
        raise BundleError(c.problems)
    head = revisions[max(revisions)]
    return _add_signatories(letter, head, revisions, entries)


def _approves_on_import(item: SignatoryEntry) -> bool:
    """Approved, without an approval record: it approves the imported current text."""
    return item.status == SignatureStatus.APPROVED and not item.has_approval_record


def _add_signatories(
    letter: Letter,
    head: Revision,
    revisions: Mapping[int, Revision],
    entries: Sequence[SignatoryEntry],
) -> int:
    """Record each signatory. Returns how many were approved on import (no approval record).

    In bulk: the rows are written together once per kind (approved on import, restored;
    :func:`signon.core.bulk.add_numbered`, outside the unit of work for a large list), and
    their audit events are appended in one go, so the import costs a few statements per
    thousand signatories rather than several per signatory.
    """
    approving = [item for item in entries if _approves_on_import(item)]
    approved = signature_operations.approve_imported(
        letter,
        head,
        [
            signature_operations.ImportedApproval(
                _details(item),
                item.email,
                item.moderation,
                item.approved_at,
                source=item.source,
                domain_verified=item.domain_verified,
                last_activity_at=item.last_activity_at,
                logo_filename=item.logo.filename if item.logo else None,
            )
            for item in approving
        ],
    )
    # Signatories migrated from a list: each approves the imported current text.
    signatures = {item.index: s for item, s in zip(approving, approved, strict=True)}
    restoring = [item for item in entries if not _approves_on_import(item)]
    restored = [_restore_signature(letter, revisions, item, _details(item)) for item in restoring]
    add_numbered(restored)
    signatures.update(
        (item.index, signature) for item, signature in zip(restoring, restored, strict=True)
    )
    now = utcnow()
    history = [
        _imported_event(signature, revisions, item, now)
        for item, signature in zip(restoring, restored, strict=True)
        if item.events is None
    ]
    for item in entries:
        for event in item.events or []:
            revision = revisions.get(event.revision_number) if event.revision_number else None
            history.append(
                {
                    "signature_id": signatures[item.index].id,
                    "action": event.action,
                    "revision_id": revision.id if revision else None,
                    "email": event.email,
                    "details": event.details,
                    "created_at": event.created_at or now,
                }
            )
    insert_rows(SignatureEvent, history)
    for item in entries:
        if item.logo is not None:  # the rows name them; the files follow the commit
            transaction.after_commit(functools.partial(save_logo, item.logo))
    if restored:
        # Those approved on import were recorded by ``approve_imported``; these are here.
        record_event(
            "signatures.imported",
            letter_id=letter.id,
            actor_label="import",
            count=len(restored),
            printed=printed_records(*restored),
        )
    return len(approved)


def _details(item: SignatoryEntry) -> signature_operations.SignatoryDetails:
    return signature_operations.SignatoryDetails(
        name=item.name,
        kind=item.kind,
        sort_name=item.sort_name,
        country=item.country,
        representative_name=item.representative_name,
        representative_title=item.representative_title,
        website=item.website,
        authority_confirmed=item.authority_confirmed,
    )


def _restore_signature(
    letter: Letter,
    revisions: Mapping[int, Revision],
    item: SignatoryEntry,
    details: signature_operations.SignatoryDetails,
) -> Signature:
    """A signature exactly as the bundle describes it (not added yet)."""
    approved = revisions.get(item.approved_number) if item.approved_number else None
    signature = Signature(
        letter_id=letter.id,
        source=item.source,
        status=item.status,
        moderation=item.moderation,
        sort_name=details.sort_name,
        country=details.country,
        kind=details.kind,
        representative_name=details.representative_name,
        representative_title=details.representative_title,
        website=details.website,
        email=item.email,
        domain_verified=(
            item.domain_verified
            if item.domain_verified is not None
            else signature_operations.domain_matches(item.email, item.website)
        ),
        authority_confirmed=item.authority_confirmed,
        revision_id=approved.id if approved else None,
        approved_sha256=item.approved_sha256,
        approved_at=item.approved_at or (utcnow() if approved else None),
        decline_reason=item.decline_reason,
        withdrawn_at=item.withdrawn_at,
        withdraw_reason=item.withdraw_reason,
        last_activity_at=item.last_activity_at or utcnow(),
        logo_filename=item.logo.filename if item.logo else None,
    )
    signature.rename(details.name)
    return signature


def _imported_event(
    signature: Signature, revisions: Mapping[int, Revision], item: SignatoryEntry, now: datetime
) -> dict[str, Any]:
    """The history of a restored signature whose bundle entry brought none (a row of
    ``signature_events``; the signature has been flushed)."""
    approved = revisions.get(item.approved_number) if item.approved_number else None
    return {
        "signature_id": signature.id,
        "action": "imported",
        "revision_id": approved.id if approved else None,
        "email": item.email,
        "details": {"status": item.status.value},
        "created_at": now,
    }


def bundle_fingerprint(raw: bytes | IO[bytes]) -> str:
    """The SHA-256 of a bundle's bytes (a stream is read in chunks, then rewound)."""
    if isinstance(raw, bytes):
        return hashlib.sha256(raw).hexdigest()
    digest = hashlib.sha256()
    while chunk := raw.read(CHUNK):
        digest.update(chunk)
    raw.seek(0)
    return digest.hexdigest()


# --- Importing in the background (the web page) ----------------------------------------------

#: The job kind of an import started from the web page.
IMPORT_JOB = "bundle.import"
#: Uploaded bundles wait here (in the app's storage) until their job has imported them.
UPLOADS_FOLDER = "imports"


def start_import(upload: IO[bytes], owner: User) -> jobs.BackgroundJob:
    """Keep the uploaded bundle (a seekable stream, copied to storage in chunks) and queue
    its import (add and flush; the job runs after the commit). The bundle is checked by
    the job, which reports every problem."""
    name = f"{UPLOADS_FOLDER}/{owner.id}-{secrets.token_hex(16)}.json"
    fingerprint = bundle_fingerprint(upload)
    storage().put(name, upload)
    return jobs.enqueue(
        IMPORT_JOB,
        started_by_id=owner.id,
        stored_name=name,
        owner_id=owner.id,
        bundle_sha256=fingerprint,
    )


@jobs.job(IMPORT_JOB, label="Importing a letter bundle", retries=(10, 60))
def run_import(
    running: jobs.RunningJob, *, stored_name: str, owner_id: int, bundle_sha256: str
) -> None:
    """Import the stored bundle as a new letter, in one unit of work with the job's row
    (which then names the letter): a retry after that commit finds it and does nothing."""
    row = db.session.get(jobs.BackgroundJob, running.id)
    owner = db.session.get(User, owner_id)
    if row is None or owner is None:
        raise jobs.JobError("The account that started this import no longer exists.")
    if row.letter_id is not None:
        return  # an earlier attempt imported it
    try:
        raw = storage().get(stored_name)
    except NotStoredError:
        raise jobs.JobError("The uploaded bundle is no longer stored: upload it again.") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        storage().delete(stored_name)
        raise jobs.JobError(f"The file is not a JSON bundle ({error}).") from None
    running.progress(10)
    try:
        result = import_letter(data, owner, bundle_sha256=bundle_sha256)
    except BundleError as error:
        storage().delete(stored_name)
        shown = "; ".join(error.problems[:10])
        more = len(error.problems) - 10
        raise jobs.JobError(
            f"Nothing was imported: {shown}" + (f" (and {more} more problems)" if more > 0 else "")
        ) from None
    row.letter_id = result.letter.id
    row.target_id = result.letter.id
    transaction.commit()
    storage().delete(stored_name)


def import_job_of(user: User, job_id: int) -> jobs.BackgroundJob | None:
    """An import the user started (nobody else's)."""
    row = db.session.get(jobs.BackgroundJob, job_id)
    if row is None or row.kind != IMPORT_JOB or row.started_by_id != user.id:
        return None
    return row
