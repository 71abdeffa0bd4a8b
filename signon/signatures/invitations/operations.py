"""Invitations: coordinators invite organisations; invitees read, approve, decline, withdraw.

Operations add and flush, write an audit event and queue mail; they never commit.
The approval state machine itself lives in :mod:`signon.signatures.approvals.operations`; the
functions here wrap it for the invitation link (locking the invitation, counting the
answer as "opened", storing the logo, mailing a receipt). How invitation mail is sent
and its outcome recorded: see :mod:`signon.signatures.invitations.notifications`.
"""

from __future__ import annotations

import csv
import enum
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from signon.accounts.models import User
from signon.audit.operations import record_event
from signon.core import fields
from signon.core.locks import lock_row
from signon.core.names import clean_name
from signon.core.paging import page_count
from signon.core.timefmt import is_valid_timezone
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter, Revision
from signon.signatures.approvals import operations
from signon.signatures.approvals.operations import SignatoryDetails, SignatureError
from signon.signatures.invitations import allowance, links, notifications
from signon.signatures.models import (
    Invitation,
    InvitationStatus,
    Signature,
    SignatureChange,
    SignatureStatus,
)
from signon.signatures.public_signon import changes as public_changes
from signon.signatures.uploads import ProcessedLogo, save_logo

#: At most this many lines (or CSV rows) per submission.
MAX_BULK_LINES = 2000
#: An uploaded CSV file may be at most this large.
MAX_CSV_BYTES = 1024 * 1024
#: A line longer than this is refused (a paste gone wrong, not an invitee).
MAX_LINE_CHARS = 1000
MAX_NAME_CHARS = 300

#: Invitations in these states have not been answered: re-sending starts them again.
UNANSWERED = (InvitationStatus.QUEUED, InvitationStatus.SENT, InvitationStatus.FAILED)


class InvitationError(Exception):
    """A coordinator's request cannot be done; the message says why."""


# --------------------------------------------------------------------------- e-mail addresses


def normalise_invitee_email(raw: str) -> str:
    """A valid address, lower-cased (one invitation per address per letter).

    Raises :class:`InvitationError` with email-validator's explanation. Addresses
    with non-ASCII characters before the ``@`` are refused: most mail servers cannot
    deliver them.
    """
    try:
        result = validate_email(raw.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvitationError(str(exc)) from exc
    return fields.normalise_email(result.normalized)


# --------------------------------------------------------------------------- expiry


def default_expiry(letter: Letter, now: datetime | None = None) -> datetime:
    """The letter's deadline if it has one, else ``Settings.invitation_days`` from now."""
    now = now or utcnow()
    if letter.deadline is not None:
        return letter.deadline
    days: int = current_app.config["SIGNON"].invitation_days
    return now + timedelta(days=days)


def _check_expiry(letter: Letter, expires_at: datetime | None) -> datetime:
    expiry = expires_at or default_expiry(letter)
    if expiry <= utcnow():
        raise InvitationError(
            "The link would already have expired: choose a date in the future"
            + (" or extend the letter's deadline." if letter.deadline else ".")
        )
    return expiry


def _check_open(letter: Letter) -> None:
    if not letter.accepts_signatures:
        if letter.is_past_deadline:
            raise InvitationError(
                "The letter's deadline has passed, so nobody can sign any more. "
                "Extend the deadline in the letter's settings first."
            )
        raise InvitationError(f"The letter is {letter.status.label.lower()}: signing is closed.")


# --------------------------------------------------------------------------- bulk parsing


class LineProblem(enum.StrEnum):
    MISSING_NAME = "missing_name"
    BAD_EMAIL = "bad_email"
    DUPLICATE = "duplicate"
    ALREADY_INVITED = "already_invited"
    MALFORMED = "malformed"
    TOO_LONG = "too_long"
    OVER_ALLOWANCE = "over_allowance"

    @property
    def label(self) -> str:
        return {
            LineProblem.MISSING_NAME: "Missing name",
            LineProblem.BAD_EMAIL: "Bad e-mail address",
            LineProblem.DUPLICATE: "Duplicate",
            LineProblem.ALREADY_INVITED: "Duplicate",
            LineProblem.MALFORMED: "Not understood",
            LineProblem.TOO_LONG: "Too long",
            LineProblem.OVER_ALLOWANCE: "Not sent yet",
        }[self]

    @property
    def fixable(self) -> bool:
        """Worth giving back to the coordinator to correct (duplicates are not)."""
        return self not in (LineProblem.DUPLICATE, LineProblem.ALREADY_INVITED)


@dataclass
class InviteeLine:
    """One line of a pasted list or one row of a CSV file, as understood."""

    number: int
    raw: str
    organisation: str = ""
    email: str = ""
    problem: LineProblem | None = None
    detail: str = ""
    invitation_id: int | None = None

    def reject(self, problem: LineProblem, detail: str) -> None:
        self.problem, self.detail = problem, detail


@dataclass
class BulkReport:
    """What happened to each line: created, or refused with the reason."""

    lines: list[InviteeLine] = field(default_factory=list)
    #: Set when the allowance let only part of the list go: when the rest may go.
    rest_available_at: datetime | None = None

    @property
    def over_allowance(self) -> list[InviteeLine]:
        return [line for line in self.lines if line.problem == LineProblem.OVER_ALLOWANCE]

    @property
    def created(self) -> list[InviteeLine]:
        return [line for line in self.lines if line.problem is None]

    @property
    def refused(self) -> list[InviteeLine]:
        return [line for line in self.lines if line.problem is not None]

    @property
    def duplicates(self) -> list[InviteeLine]:
        return [line for line in self.refused if line.problem and not line.problem.fixable]

    @property
    def to_fix(self) -> list[InviteeLine]:
        return [line for line in self.refused if line.problem and line.problem.fixable]

    def text_to_fix(self) -> str:
        """The lines to correct, as typed, for the textarea (nothing typed is lost)."""
        return "\n".join(line.raw for line in self.to_fix)


_ANGLE = re.compile(r"^(?P<name>.*?)\s*<(?P<email>[^<>]*)>\s*[,;]?\s*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_HEADER_NAMES = {"organisation", "organization", "name", "organisation name", "organization name"}
_HEADER_EMAILS = {"email", "e-mail", "email address", "e-mail address", "mail"}


def _clean_name(value: str) -> str:
    value = _CONTROL.sub(" ", value)
    value = "".join(c for c in value if unicodedata.category(c) != "Cc")
    value = clean_name(value)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()
    return value


def _split(line: str, delimiter: str) -> list[str]:
    """One line as CSV fields (quotes allowed); raises ``csv.Error`` on broken quoting."""
    row = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True, strict=True), [])
    fields = [f.strip() for f in row]
    while fields and fields[-1] == "":
        fields.pop()
    return fields


def _fields_to_line(entry: InviteeLine, fields: list[str]) -> None:
    """Name and address from the fields of one line, in the forgiving ways people write them."""
    with_at = [i for i, value in enumerate(fields) if "@" in value]
    if not fields:
        entry.reject(LineProblem.MALFORMED, "Nothing to read on this line.")
        return
    if len(fields) == 1:
        if with_at:
            entry.email = fields[0]
            entry.reject(
                LineProblem.MISSING_NAME, "Give the organisation's name before the address."
            )
        else:
            entry.organisation = _clean_name(fields[0])
            entry.reject(LineProblem.BAD_EMAIL, "No e-mail address: write “Organisation, email”.")
        return
    if len(with_at) == 1 and with_at[0] == len(fields) - 1:
        # "Name, email", or a name with unquoted commas: "Lawyers, Inc., a@b.org".
        entry.organisation = _clean_name(", ".join(fields[:-1]))
        entry.email = fields[-1]
    elif len(with_at) == 1 and with_at[0] == 0 and len(fields) == 2:
        entry.email, entry.organisation = fields[0], _clean_name(fields[1])  # "email, Name"
    elif len(with_at) == 1 and with_at[0] == 1:
        # "Name, email, other columns…": the other columns are not ours to read.
        entry.organisation, entry.email = _clean_name(fields[0]), fields[1]
    elif not with_at and len(fields) == 2:
        entry.organisation, entry.email = _clean_name(fields[0]), fields[1]
    else:
        entry.reject(
            LineProblem.MALFORMED,
            "Expected “Organisation, email” (quote a name that contains commas).",
        )


def _guess_separator(line: str) -> str:
    if "\t" in line:
        return "\t"  # pasted from a spreadsheet
    if "," not in line and ";" in line:
        return ";"
    return ","


def parse_line(number: int, raw: str, delimiter: str | None = None) -> InviteeLine:
    """Understand one line: ``Organisation, email``, ``Organisation <email>`` or tab-separated."""
    entry = InviteeLine(number=number, raw=raw)
    line = raw.strip()
    if len(raw) > MAX_LINE_CHARS:
        entry.reject(
            LineProblem.TOO_LONG,
            f"The line has {len(raw):,} characters; at most {MAX_LINE_CHARS:,}.",
        )
        return entry
    if "\x00" in line:
        entry.reject(LineProblem.MALFORMED, "The line contains a null character.")
        return entry
    angle = _ANGLE.match(line)
    if angle and delimiter is None:
        entry.organisation = _clean_name(angle.group("name").rstrip(",;\t "))
        entry.email = angle.group("email").strip()
    else:
        separator = delimiter or _guess_separator(line)
        try:
            fields = _split(line, separator)
        except csv.Error:
            entry.reject(LineProblem.MALFORMED, "The quotes on this line do not match.")
            return entry
        _fields_to_line(entry, fields)
        if entry.problem is not None:
            return entry
    _check_entry(entry)
    return entry


def _check_entry(entry: InviteeLine) -> None:
    if "\x00" in entry.raw:  # a CSV row too (its columns skip parse_line); PostgreSQL refuses NUL
        entry.reject(LineProblem.MALFORMED, "The line contains a null character.")
        return
    if not entry.organisation:
        entry.reject(LineProblem.MISSING_NAME, "Give the organisation's name before the address.")
        return
    if len(entry.organisation) > MAX_NAME_CHARS:
        entry.reject(
            LineProblem.TOO_LONG,
            f"The name has {len(entry.organisation):,} characters; at most {MAX_NAME_CHARS}.",
        )
        return
    try:
        entry.email = normalise_invitee_email(entry.email)
    except InvitationError as error:
        entry.reject(LineProblem.BAD_EMAIL, str(error))


def _check_count(count: int) -> None:
    if count > MAX_BULK_LINES:
        raise InvitationError(
            f"The list has {count:,} lines; at most {MAX_BULK_LINES:,} can be sent at once. "
            "Nothing was sent: split the list and send it in parts."
        )


def parse_pasted(text: str) -> list[InviteeLine]:
    """Lines of ``Organisation, email`` (or ``Organisation <email>``, or tab-separated).

    Blank lines are skipped, and so is a first line that only names the columns
    (pasted from a spreadsheet with its header); line numbers are those of the text as
    pasted. Raises :class:`InvitationError` if there are more than
    :data:`MAX_BULK_LINES` lines.
    """
    text = text.removeprefix("\ufeff")
    numbered = [(n, raw) for n, raw in enumerate(text.splitlines(), start=1) if raw.strip()]
    if numbered and _is_header(numbered[0][1]):
        numbered = numbered[1:]
    _check_count(len(numbered))
    return [parse_line(n, raw) for n, raw in numbered]


def _header_columns(fields: list[str]) -> tuple[int, int] | None:
    """(name column, e-mail column) if this row is a header naming them."""
    keys = [f.strip().strip("\ufeff").lower() for f in fields]
    if any("@" in k for k in keys):
        return None
    name = next((i for i, k in enumerate(keys) if k in _HEADER_NAMES), None)
    email = next((i for i, k in enumerate(keys) if k in _HEADER_EMAILS), None)
    if name is None or email is None:
        return None
    return name, email


def _is_header(line: str) -> bool:
    try:
        return _header_columns(_split(line, _guess_separator(line))) is not None
    except csv.Error:
        return False


def _sniff_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def parse_csv(data: bytes) -> list[InviteeLine]:
    """Rows of a CSV file: ``organisation,email`` (a header row is optional).

    UTF-8 with or without a byte-order mark; comma, semicolon or tab separated. Each
    physical line is read on its own, so a broken line (unmatched quotes) is reported
    without swallowing the lines after it. Raises :class:`InvitationError` for a file
    that is too large, not UTF-8 text, or has too many rows.
    """
    if len(data) > MAX_CSV_BYTES:
        raise InvitationError(
            f"The file is larger than {MAX_CSV_BYTES // 1024:,} KB; split it into smaller files."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvitationError(
            "The file is not UTF-8 text. In your spreadsheet, save it as “CSV UTF-8” and try again."
        ) from exc
    delimiter = _sniff_delimiter(text)
    numbered = [(n, raw) for n, raw in enumerate(text.splitlines(), start=1) if raw.strip()]
    columns: tuple[int, int] | None = None
    if numbered:
        try:
            columns = _header_columns(_split(numbered[0][1], delimiter))
        except csv.Error:
            columns = None
        if columns is not None:
            numbered = numbered[1:]
    _check_count(len(numbered))
    lines: list[InviteeLine] = []
    for number, raw in numbered:
        if columns is None:
            lines.append(parse_line(number, raw, delimiter))
            continue
        entry = InviteeLine(number=number, raw=raw)
        try:
            fields = _split(raw, delimiter)
        except csv.Error:
            entry.reject(LineProblem.MALFORMED, "The quotes on this line do not match.")
            lines.append(entry)
            continue
        name_col, email_col = columns
        entry.organisation = _clean_name(fields[name_col]) if name_col < len(fields) else ""
        entry.email = fields[email_col] if email_col < len(fields) else ""
        if len(raw) > MAX_LINE_CHARS:
            entry.reject(
                LineProblem.TOO_LONG,
                f"The line has {len(raw):,} characters; at most {MAX_LINE_CHARS:,}.",
            )
        elif not entry.email:
            entry.reject(LineProblem.BAD_EMAIL, "No e-mail address in this row.")
        else:
            _check_entry(entry)
        lines.append(entry)
    return lines


# --------------------------------------------------------------------------- creating


def _existing_emails(letter: Letter, emails: Iterable[str]) -> dict[str, Invitation]:
    wanted = sorted(set(emails))
    found: dict[str, Invitation] = {}
    for start in range(0, len(wanted), 500):
        for invitation in db.session.scalars(
            select(Invitation).where(
                Invitation.letter_id == letter.id, Invitation.email.in_(wanted[start : start + 500])
            )
        ):
            found[invitation.email] = invitation
    return found


def _already(invitation: Invitation) -> str:
    return (
        f"{invitation.email} was already invited for {invitation.organisation_name} "
        f"({_status_words(invitation)})."
    )


def _status_words(invitation: Invitation) -> str:
    return display_status(invitation)[1].lower()


def _new_invitation(
    letter: Letter, organisation: str, email: str, expires_at: datetime, invited_by: User
) -> Invitation:
    invitation = Invitation(
        letter=letter,
        organisation_name=clean_name(organisation),
        email=email,
        expires_at=expires_at,
        created_by=invited_by,
        status=InvitationStatus.QUEUED,
        # placeholders, unique until assign_new_link replaces them after the insert
        link_nonce="",
        token_hash=secrets.token_hex(32),
        send_attempts=0,
    )
    db.session.add(invitation)
    return invitation


def _mark_duplicates(letter: Letter, report: BulkReport) -> None:
    # only the addresses of usable lines reach the database (a refused line's may hold a NUL)
    checked = (None, LineProblem.DUPLICATE, LineProblem.ALREADY_INVITED)
    existing = _existing_emails(
        letter, (line.email for line in report.lines if line.email and line.problem in checked)
    )
    first_seen: dict[str, int] = {}
    for line in report.lines:
        if line.problem in (
            LineProblem.DUPLICATE,
            LineProblem.ALREADY_INVITED,
            LineProblem.OVER_ALLOWANCE,
        ):
            line.problem, line.detail = None, ""
        if line.problem is not None:
            continue
        if line.email in existing:
            line.reject(LineProblem.ALREADY_INVITED, _already(existing[line.email]))
        elif line.email in first_seen:
            line.reject(
                LineProblem.DUPLICATE,
                f"{line.email} is already on line {first_seen[line.email]} of this list.",
            )
        else:
            first_seen[line.email] = line.number


@dataclass(frozen=True)
class BulkPreview:
    """What a bulk send would do, shown to the coordinator before it is confirmed."""

    #: Mails the list would send (valid lines that are not duplicates).
    new: int
    #: How many of them the allowances let go now.
    allowed: int
    #: When the others may go (``None`` if all may go now).
    rest_available_at: datetime | None

    @property
    def held_back(self) -> int:
        return self.new - self.allowed


def preview_invitations(
    letter: Letter, lines: Sequence[InviteeLine], *, invited_by: User
) -> BulkPreview:
    """Count the mails a bulk send would queue, and what the allowances let go now."""
    report = BulkReport(lines=list(lines))
    _mark_duplicates(letter, report)
    new = len(report.created)
    allowed = min(new, allowance.standing(invited_by, letter).remaining)
    rest_at = (
        allowance.available_at(invited_by, letter, new - allowed, utcnow())
        if allowed < new
        else None
    )
    return BulkPreview(new=new, allowed=allowed, rest_available_at=rest_at)


def needs_confirmation(preview: BulkPreview) -> bool:
    """A large send, or one the allowances would cut short, is confirmed first.

    One that the allowances refuse entirely is not: it is refused at once, with when
    it may go.
    """
    threshold: int = current_app.config["SIGNON"].bulk_confirm_threshold
    if preview.allowed == 0:
        return False
    return preview.new > threshold or preview.allowed < preview.new


def _hold_back(report: BulkReport, granted: int) -> None:
    """Lines beyond what the allowances let go now: not sent, given back to the box."""
    for line in report.created[granted:]:
        line.reject(LineProblem.OVER_ALLOWANCE, "Over the daily allowance: not sent yet.")


def _take_allowance(letter: Letter, report: BulkReport, invited_by: User, *, partial: bool) -> None:
    wanted = len(report.created)
    try:
        granted = allowance.take(
            invited_by, letter, wanted, kind=allowance.MailKind.INVITATION, partial=partial
        )
    except allowance.AllowanceExceededError as exc:
        kept = " Your list is kept below." if wanted > 1 else ""
        raise InvitationError(f"{exc}{kept}") from exc
    _hold_back(report, granted)


def create_invitations(
    letter: Letter,
    lines: Sequence[InviteeLine],
    *,
    invited_by: User,
    expires_at: datetime | None = None,
    partial: bool = False,
) -> BulkReport:
    """Invite every valid line; report the others (nothing is half-created).

    Duplicates (the same address twice in the list, or already invited to this
    letter) are refused per line; the first occurrence wins. If another coordinator
    invites one of the same addresses at the same moment, the unique constraint
    fires, the batch is retried once and that address is reported as a duplicate.

    Each mail counts against the daily allowances (:mod:`signon.signatures.invitations.allowance`).
    When they do not leave room for every line, nothing is sent (InvitationError), or
    with ``partial`` (a confirmed bulk send) the first lines that fit are sent and the
    others reported as :attr:`LineProblem.OVER_ALLOWANCE`, with when they may go.
    """
    _check_open(letter)
    expiry = _check_expiry(letter, expires_at)
    _lock_letter(letter.id)
    report = BulkReport(lines=list(lines))
    _check_count(len(report.lines))
    created: list[tuple[InviteeLine, Invitation]] = []
    for attempt in range(2):
        _mark_duplicates(letter, report)
        try:
            with db.session.begin_nested():
                _take_allowance(letter, report, invited_by, partial=partial)
                created = [
                    (
                        line,
                        _new_invitation(letter, line.organisation, line.email, expiry, invited_by),
                    )
                    for line in report.created
                ]
                db.session.flush()
        except IntegrityError:
            if attempt == 1:
                raise
            continue  # someone invited one of these addresses meanwhile: look again
        break
    invitations = []
    for line, invitation in created:
        links.assign_new_link(invitation)
        line.invitation_id = invitation.id
        invitations.append(invitation)
    if invitations:
        record_event(
            "invitations.created",
            letter_id=letter.id,
            actor=invited_by,
            count=len(invitations),
            emails=[i.email for i in invitations],
            expires_at=expiry.isoformat(),
        )
        notifications.queue_invitation_mails(letter, invitations, invited_by)
    if report.over_allowance:
        report.rest_available_at = allowance.available_at(
            invited_by, letter, len(report.over_allowance)
        )
    return report


def invite_organisation(
    letter: Letter,
    *,
    organisation_name: str,
    email: str,
    invited_by: User,
    expires_at: datetime | None = None,
) -> Invitation:
    """Invite one organisation (raises :class:`InvitationError` for a duplicate or bad input)."""
    line = InviteeLine(number=1, raw=f"{organisation_name}, {email}")
    line.organisation, line.email = _clean_name(organisation_name), email
    _check_entry(line)
    if line.problem is not None:
        raise InvitationError(line.detail)
    report = create_invitations(letter, [line], invited_by=invited_by, expires_at=expires_at)
    if report.refused:
        raise InvitationError(report.refused[0].detail)
    invitation = db.session.get(Invitation, report.created[0].invitation_id)
    assert invitation is not None
    return invitation


def revoke_invitation(invitation: Invitation, *, by: User) -> bool:
    """Stop the link from working. Returns False if it was already revoked.

    An answer already given (an approval, a decline) stays: revoking only closes the link.
    """
    _lock_invitation(invitation)
    if invitation.status == InvitationStatus.REVOKED:
        return False
    invitation.status = InvitationStatus.REVOKED
    invitation.revoked_at = utcnow()
    invitation.last_activity_at = utcnow()
    record_event(
        "invitation.revoked",
        letter_id=invitation.letter_id,
        actor=by,
        email=invitation.email,
        organisation=invitation.organisation_name,
    )
    db.session.flush()
    return True


def resend_invitation(invitation: Invitation, *, by: User) -> bool:
    """Mail the invitation again. Returns True if the link is a new one.

    A revoked invitation gets a new link (the old one stays dead) and starts again
    as QUEUED; a live one is mailed the same link. An expired one gets the default
    expiry again (the letter's deadline, or ``invitation_days`` from now).
    """
    letter = invitation.letter
    _check_open(letter)
    _lock_invitation(invitation)
    if invitation.answered:
        raise InvitationError(
            f"{invitation.organisation_name} has already answered: "
            "there is nothing to send again (their link still works)."
        )
    try:
        allowance.take(by, letter, 1, kind=allowance.MailKind.RESEND)
    except allowance.AllowanceExceededError as exc:
        raise InvitationError(str(exc)) from exc
    new_link = invitation.status == InvitationStatus.REVOKED or invitation.revoked_at is not None
    if invitation.is_expired:
        invitation.expires_at = _check_expiry(letter, None)
    if new_link:
        links.assign_new_link(invitation)
        invitation.status = InvitationStatus.QUEUED
        invitation.revoked_at = None
    elif invitation.status in UNANSWERED:
        invitation.status = InvitationStatus.QUEUED
    invitation.last_activity_at = utcnow()
    record_event(
        "invitation.resent",
        letter_id=invitation.letter_id,
        actor=by,
        email=invitation.email,
        new_link=new_link,
    )
    db.session.flush()
    notifications.queue_invitation_mails(letter, [invitation], by)
    return new_link


# --------------------------------------------------------------------------- the invitee


def _lock_letter(letter_id: int) -> None:
    """Take the letter's row lock now, before inserting anything that refers to the letter.

    PostgreSQL: inserting a row with a foreign key to the letter takes a KEY SHARE lock
    on it, and the audit chain then asks for FOR UPDATE on the same row. Two
    transactions doing both would deadlock; taking FOR UPDATE first makes them queue.
    (SQLite serialises writers at BEGIN IMMEDIATE.) Always letter first, then invitation.
    """
    lock_row(Letter, letter_id)


def _lock_invitation(invitation: Invitation, *, with_letter: bool = True) -> None:
    """Lock the invitation's row (after its letter's) until the commit, and reload it."""
    db.session.flush()  # refresh() would otherwise drop changes not yet flushed
    if db.session.get_bind().dialect.name == "postgresql":
        if with_letter:
            _lock_letter(invitation.letter_id)
        lock_row(Invitation, invitation.id)
    db.session.refresh(invitation)


def _count_as_opened(invitation: Invitation) -> None:
    now = utcnow()
    if invitation.opened_at is None:
        invitation.opened_at = now
    invitation.last_activity_at = now


def record_seen(invitation: Invitation, revision: Revision, zone: str | None = None) -> None:
    """The invitee's browser showed them ``revision``: OPENED; the next diff starts here.
    ``zone``, the browser's time zone, is kept for later mail to them (when it is one)."""
    if revision.letter_id != invitation.letter_id:
        raise SignatureError("This version belongs to another letter.")
    _lock_invitation(invitation, with_letter=False)
    if zone and is_valid_timezone(zone):
        invitation.timezone = zone
    first_time = invitation.opened_at is None
    if invitation.status in UNANSWERED:
        invitation.status = InvitationStatus.OPENED
    _count_as_opened(invitation)
    if first_time:
        record_event(
            "invitation.opened",
            letter_id=invitation.letter_id,
            actor_label=invitation.email,
            email=invitation.email,
            organisation=invitation.organisation_name,
            revision=revision.number,
        )
    seen = invitation.last_seen_revision
    if seen is None or seen.number < revision.number:
        invitation.last_seen_revision_id = revision.id
    db.session.flush()


@dataclass(frozen=True)
class Approval:
    signature: Signature
    #: False when the same approval was submitted again (nothing new recorded).
    recorded: bool
    #: Details a public signatory changed after acceptance, held for the coordinators.
    held_change: SignatureChange | None = None


def approve_invitation(
    invitation: Invitation,
    revision: Revision,
    details: SignatoryDetails,
    *,
    logo: ProcessedLogo | None = None,
) -> Approval:
    """Record the organisation's approval of exactly ``revision``.

    Raises :class:`~signon.signatures.approvals.operations.StaleRevisionError` if the text
    changed meanwhile and :class:`SignatureError` for any other refusal. The same
    form submitted twice records one approval; the logo file is written only when
    the approval was recorded, and the receipt is mailed once. A public signatory
    accepted by the coordinators approves with its listed details; what it changed is
    held for review (:mod:`signon.signatures.public_signon.changes`).
    """
    letter = invitation.letter
    _lock_invitation(invitation)
    previous = invitation.signature
    held = public_changes.holds_changes(previous)
    recorded_details = (
        public_changes.listed_details(previous, details)
        if held and previous is not None
        else details
    )
    repeated = (
        previous is not None
        and previous.status == SignatureStatus.APPROVED
        and previous.revision_id == revision.id
        and previous.name == clean_name(recorded_details.name)
    )
    signature = operations.approve(
        letter,
        revision,
        recorded_details,
        email=invitation.email,
        invitation=invitation,
        logo_filename=None if repeated or held or logo is None else logo.filename,
    )
    change = (
        public_changes.propose_change(
            signature,
            details,
            logo_filename=logo.filename if logo is not None else None,
            email=invitation.email,
        )
        if held
        else None
    )
    _count_as_opened(invitation)
    if logo is not None and (change is not None or not (repeated or held)):
        save_logo(logo)
    db.session.flush()
    if not repeated:
        notifications.mail_approval_receipt(invitation, signature, revision)
    return Approval(signature, recorded=not repeated, held_change=change)


def decline_invitation(invitation: Invitation, *, reason: str | None) -> Signature:
    """The organisation does not sign. Refused after an approval: that is a withdrawal."""
    _lock_invitation(invitation)
    existing = invitation.signature
    if existing is not None and existing.status == SignatureStatus.APPROVED:
        raise SignatureError(
            "You have approved this letter. To take your approval back, withdraw it below."
        )
    signature = operations.decline(
        invitation.letter, invitation, reason=reason, email=invitation.email
    )
    _count_as_opened(invitation)
    db.session.flush()
    return signature


def withdraw_invitation(invitation: Invitation, *, reason: str | None) -> bool:
    """Take the approval back (kept in the history). False if it was already withdrawn."""
    _lock_invitation(invitation)
    signature = invitation.signature
    if signature is not None and signature.status == SignatureStatus.WITHDRAWN:
        return False
    if signature is None or signature.status != SignatureStatus.APPROVED:
        raise SignatureError("There is no approval to withdraw.")
    operations.withdraw(signature, reason=reason, email=invitation.email)
    _count_as_opened(invitation)
    db.session.flush()
    notifications.mail_withdrawal_receipt(invitation, signature)
    return True


# --------------------------------------------------------------------------- lookups


def display_status(invitation: Invitation, now: datetime | None = None) -> tuple[str, str]:
    """(key, label) shown to coordinators: the status, or "expired" while unanswered."""
    now = now or utcnow()
    if invitation.status == InvitationStatus.REVOKED:
        return "revoked", InvitationStatus.REVOKED.label
    if invitation.expires_at <= now and not invitation.answered:
        return "expired", "Expired"
    return invitation.status.value, invitation.status.label


INVITATIONS_PER_PAGE = 100


@dataclass(frozen=True)
class InvitationPage:
    invitations: list[Invitation]
    total: int
    page: int
    pages: int
    counts: dict[str, int]


def invitations_page(letter: Letter, page: int = 1) -> InvitationPage:
    """One page of the letter's invitations, newest first, with counts by status (3 queries)."""
    total = (
        db.session.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.letter_id == letter.id)
        )
        or 0
    )
    pages = page_count(total, INVITATIONS_PER_PAGE)
    page = min(max(1, page), pages)
    invitations = list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.letter_id == letter.id)
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
            .limit(INVITATIONS_PER_PAGE)
            .offset((page - 1) * INVITATIONS_PER_PAGE)
            .options(
                selectinload(Invitation.signature).selectinload(Signature.revision),
            )
        )
    )
    now = utcnow()
    counts: dict[str, int] = {}
    expired = Invitation.expires_at <= bindparam("now", now, type_=Invitation.expires_at.type)
    for status, expires_at, n in db.session.execute(
        select(Invitation.status, expired, func.count())
        .where(Invitation.letter_id == letter.id)
        .group_by(Invitation.status, expired)
    ):
        answered = status in (
            InvitationStatus.APPROVED,
            InvitationStatus.DECLINED,
            InvitationStatus.WITHDRAWN,
            InvitationStatus.REVOKED,
        )
        key = "expired" if expires_at and not answered else InvitationStatus(status).value
        counts[key] = counts.get(key, 0) + n
    return InvitationPage(invitations, total, page, pages, counts)


def invitation_in(letter: Letter, invitation_id: int) -> Invitation | None:
    """The invitation, if it belongs to this letter."""
    return db.session.scalar(
        select(Invitation).where(Invitation.letter_id == letter.id, Invitation.id == invitation_id)
    )


def signature_in(letter: Letter, signature_id: int) -> Signature | None:
    """The signature, if it belongs to this letter."""
    return db.session.scalar(
        select(Signature).where(Signature.letter_id == letter.id, Signature.id == signature_id)
    )
