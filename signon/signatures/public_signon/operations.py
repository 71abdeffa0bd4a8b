"""Public sign-on: the public page's data, double opt-in requests, and moderation.

A visitor asks to sign on the public page: a :class:`PublicSignRequest` keeps
what they typed (and the revision they were shown) until they open the link
mailed to them. Confirming creates their signature through
:func:`signon.signatures.approvals.operations.approve` with source ``PUBLIC`` and
moderation ``PENDING``, plus a private invitation link so that they can change
or withdraw it later. Nothing is shown publicly until a coordinator accepts it
(:func:`accept_signature`); they may also reject it or merge it into an
existing signatory.

Operations add and flush, write audit events and queue mail; they never commit.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, CompoundSelect, Select, bindparam, func, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from signon.accounts.models import User
from signon.audit.operations import EventDraft, record_event
from signon.audit.sealing import record_pending
from signon.core import fields, metrics
from signon.core.locks import lock_keys, lock_row, on_postgresql, share_row
from signon.core.mail import queue_mail
from signon.core.names import clean_name, name_key, skeleton
from signon.core.paging import page_count
from signon.core.tokens import hash_token, new_token
from signon.core.urls import canonical_url
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter, PublicSignatories, Revision
from signon.signatures import counts, duplicates
from signon.signatures.approvals.operations import (
    SignatoryDetails,
    SignatureError,
    StaleRevisionError,
    approve,
    domain_matches,
)
from signon.signatures.audit_records import plain_value, printed_records
from signon.signatures.invitations.links import assign_new_link, invitation_url
from signon.signatures.likeness import loose_key, mail_domain, website_host
from signon.signatures.listing import is_listed
from signon.signatures.models import (
    Invitation,
    InvitationStatus,
    Moderation,
    PublicSignRequest,
    SignatoryKind,
    Signature,
    SignatureEvent,
    SignatureSource,
    SignatureStatus,
    invitation_name_order,
)

#: How long the confirmation link of a public request works.
PUBLIC_REQUEST_HOURS = 48


class AlreadyListedError(SignatureError):
    """The organisation is already among the published signatories."""


class NameTakenError(SignatureError):
    """A signature under this name exists already (published or not)."""

    def __init__(self, message: str, *, listed: bool) -> None:
        super().__init__(message)
        self.listed = listed


class RequestProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


class RequestLinkError(SignatureError):
    def __init__(self, problem: RequestProblem) -> None:
        super().__init__(f"This confirmation link cannot be used ({problem.value}).")
        self.problem = problem


class RequestOutcome(enum.StrEnum):
    CREATED = "created"  # a new request, a confirmation link mailed
    RESENT = "resent"  # the same address and organisation again: a fresh link mailed
    NOTIFIED = "notified"  # the name is taken by an unpublished signature: they are told by mail


@dataclass(frozen=True)
class RequestResult:
    outcome: RequestOutcome
    #: The request (``None`` when the visitor was only told by mail why not).
    request: PublicSignRequest | None = None
    #: The confirmation token, as mailed (only its hash is stored).
    token: str | None = None


@dataclass(frozen=True)
class PublicRequestData:
    """What a visitor typed into "Sign this letter" (kept as JSON until they confirm)."""

    name: str
    country: str
    kind: SignatoryKind
    representative_name: str
    representative_title: str | None = None
    sort_name: str | None = None
    website: str | None = None
    authority_confirmed: bool = False
    affiliation: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sort_name": self.sort_name,
            "country": self.country,
            "kind": self.kind.value,
            "representative_name": self.representative_name,
            "representative_title": self.representative_title,
            "website": self.website,
            "authority_confirmed": self.authority_confirmed,
            "affiliation": self.affiliation,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PublicRequestData:
        try:
            kind = SignatoryKind(data.get("kind") or SignatoryKind.NGO.value)
        except ValueError:
            kind = SignatoryKind.OTHER
        return cls(
            name=str(data.get("name") or ""),
            sort_name=data.get("sort_name") or None,
            country=str(data.get("country") or ""),
            kind=kind,
            representative_name=str(data.get("representative_name") or ""),
            representative_title=data.get("representative_title") or None,
            website=data.get("website") or None,
            authority_confirmed=bool(data.get("authority_confirmed")),
            affiliation=data.get("affiliation") or None,
        )

    def details(self) -> SignatoryDetails:
        """What the signature stores (an individual sorted under their family name:
        :class:`SignatoryDetails` applies that rule)."""
        return SignatoryDetails(
            name=self.name,
            kind=self.kind,
            sort_name=self.sort_name,
            country=self.country,
            representative_name=self.representative_name,
            representative_title=self.representative_title,
            website=self.website,
            authority_confirmed=self.authority_confirmed,
            affiliation=self.affiliation,
        )


# --- Helpers ---------------------------------------------------------------------------------


def _lock_letter(letter: Letter) -> None:
    """Exclude every other change of the letter and of its signatures' names (a
    signatory's change of details: PostgreSQL row lock; SQLite locks at BEGIN)."""
    lock_row(Letter, letter.id)


def _hold_open(letter: Letter) -> None:
    """Read the letter again under its shared lock and check that it takes sign-ons.

    Public sign-ons on one letter do not wait for each other: each holds the letter's
    row ``FOR KEY SHARE`` (:func:`signon.core.locks.share_row`) to its commit, so a
    freeze, close, deadline or public-page change (which take the row ``FOR UPDATE``)
    commits either before (and the sign-on sees it here and is refused) or after every
    sign-on that passed this check. What must not happen twice is guarded by keys of
    its own (:func:`_address_key`, :func:`_name_keys`).
    """
    share_row(letter)
    _check_open(letter)


def _address_key(letter: Letter, email: str) -> str:
    """Requests and confirmations of one address on one letter take turns (an address
    has one pending request per organisation, and one private link per letter)."""
    return f"public-sign:{letter.id}:address:{email}"


def _name_keys(letter: Letter, name: str) -> tuple[str, str]:
    """Confirmations of one name (or look-alikes) on one letter take turns, so that the
    second one sees the first's signature (:func:`_signature_named`)."""
    return (
        f"public-sign:{letter.id}:name:{Signature.key_for(name)}",
        f"public-sign:{letter.id}:skeleton:{skeleton(name)}",
    )


def _lock_signature(signature: Signature) -> None:
    lock_row(Signature, signature.id)
    db.session.refresh(signature)


def _signature_named(letter: Letter, data: PublicRequestData) -> Signature | None:
    """The signature that keeps an organisation from signing under ``data.name``: one whose
    name equals it or looks like it, a published one first.

    The one home of the rule "no two signatures under one name", which holds for
    organisations only: two people may share a name, so an individual is never refused
    for it (moderation shows the pair as possible duplicates instead).
    """
    if data.kind == SignatoryKind.INDIVIDUAL:
        return None
    found = duplicates.look_alikes(letter, data.name)
    return next((s for s in found if is_listed(s)), found[0] if found else None)


def _listed_message(existing: Signature, name: str) -> str:
    """Why a name is refused on the public page: it is (or looks like) a listed one."""
    if existing.name_key == name_key(name):
        return f"“{existing.name}” is already listed among the signatories of this letter."
    return (
        f"“{clean_name(name)}” looks the same as “{existing.name}”, which is already listed "
        "among the signatories of this letter. If yours is another organisation, please "
        "write its name so that readers can tell the two apart."
    )


def signature_event(signature: Signature, action: str, **details: object) -> None:
    """One entry of the signature's own history (details that are None are left out)."""
    db.session.add(
        SignatureEvent(
            signature=signature,
            action=action,
            revision_id=signature.revision_id,
            details={k: v for k, v in details.items() if v is not None},
        )
    )


def record_decision(
    signature: Signature,
    moderation: Moderation,
    action: str,
    *,
    moderator: User,
    reason: str | None = None,
) -> None:
    """A coordinator's decision on a public signature (accept, reject, remove): its new
    moderation state, the signature's history entry ``action`` and the audit event
    ``signature.<action>``, both naming the moderator and the reason. The one shape of every
    moderation decision; the caller checks first that the decision applies."""
    signature.moderation = moderation
    signature.last_activity_at = utcnow()
    signature_event(signature, action, moderator=moderator.email, reason=reason or None)
    record_event(
        f"signature.{action}",
        letter_id=signature.letter_id,
        actor=moderator,
        signature=signature.name,
        reason=reason or None,
        printed=printed_records(signature),
    )
    db.session.flush()


def mail_signatory(signature: Signature, subject: str, template: str, **context: Any) -> None:
    """Tell a signatory about a decision on their signature, if they gave an address (the
    template gets the letter, the signature, the public page's address while it is on, and
    ``context``)."""
    if signature.email:
        letter = signature.letter
        queue_mail(
            signature.email,
            subject,
            template,
            letter=letter,
            signature=signature,
            page_url=public_url(letter) if letter.is_public else None,
            **context,
        )


def public_url(letter: Letter) -> str:
    return canonical_url("signatures.public_page", slug=letter.slug)


def embed_url(letter: Letter) -> str:
    return canonical_url("signatures.public_embed", slug=letter.slug)


def private_link(signature: Signature) -> str | None:
    """The signatory's own link (to change or withdraw), if they have a usable one."""
    invitation = signature.invitation
    if invitation is None or not invitation.is_usable:
        return None
    return invitation_url(invitation)


def invitation_expiry(letter: Letter) -> datetime:
    """Like every invitation: the letter's deadline, or a set number of days from now."""
    if letter.deadline is not None:
        return letter.deadline
    days: int = current_app.config["SIGNON"].invitation_days
    return utcnow() + timedelta(days=days)


def set_public_page(
    letter: Letter,
    *,
    enabled: bool,
    user: User,
    signatories: PublicSignatories | None = None,
) -> bool:
    """Switch the letter's public page on or off, and choose who it takes (``None``: as
    it is). Returns whether anything changed.

    Under the letter's exclusive lock: sign-ons in flight commit first, later ones see it.
    """
    _lock_letter(letter)
    db.session.refresh(letter, ["is_public", "public_signatories"])
    changed = False
    if letter.is_public != enabled:
        letter.is_public = enabled
        record_event(
            "letter.public_page_enabled" if enabled else "letter.public_page_disabled",
            letter_id=letter.id,
            actor=user,
        )
        changed = True
    if signatories is not None and letter.public_signatories != signatories:
        record_event(
            "letter.public_signatories_changed",
            letter_id=letter.id,
            actor=user,
            before=letter.public_signatories.value,
            after=signatories.value,
        )
        letter.public_signatories = signatories
        changed = True
    db.session.flush()
    return changed


# --- Asking to sign (double opt-in) ------------------------------------------------------------


def _check_open(letter: Letter) -> None:
    if not letter.is_public:
        raise SignatureError("This letter has no public page.")
    if not letter.accepts_signatures:
        raise SignatureError("Signing is closed for this letter.")


def request_public_signature(
    letter: Letter,
    revision: Revision,
    data: PublicRequestData,
    *,
    email: str,
    client_ip: str | None = None,
) -> RequestResult:
    """A visitor asks to sign ``revision`` (the text they were shown): mail them a link.

    The same address asking again for the same organisation while its request is
    pending gets a fresh link (the earlier one stops working) instead of a second
    request. A name already published raises :class:`AlreadyListedError`. A name
    taken by a signature that is not published (awaiting moderation, declined...)
    is explained by e-mail only, so that the page reveals nothing about it.
    """
    if revision.letter_id != letter.id:
        raise SignatureError("This text does not belong to this letter.")
    if not data.name.strip():
        raise SignatureError("The name is required.")
    individual = data.kind == SignatoryKind.INDIVIDUAL
    takes = letter.public_signatories
    if not (takes.takes_individuals if individual else takes.takes_organisations):
        raise SignatureError(
            "This letter takes signatures of organisations only."
            if individual
            else "This letter takes signatures of individuals only."
        )
    email = fields.normalise_email(email)
    _hold_open(letter)
    lock_keys(_address_key(letter, email))
    existing = _signature_named(letter, data)
    if existing is not None:
        if is_listed(existing):
            raise AlreadyListedError(_listed_message(existing, data.name))
        queue_mail(
            email,
            f"Your request to sign “{letter.title}”",
            "signatures/public_notice",
            letter=letter,
            name=data.name,
            own_request=(
                existing.email is not None
                and fields.normalise_email(existing.email) == email
                and existing.source == SignatureSource.PUBLIC
                and existing.moderation == Moderation.PENDING
            ),
            page_url=public_url(letter),
        )
        return RequestResult(RequestOutcome.NOTIFIED)

    now = utcnow()
    key = Signature.key_for(data.name)
    pending = next(
        (
            candidate
            for candidate in db.session.scalars(
                _pending_statement(), {"letter_id": letter.id, "email": email, "now": now}
            )
            if Signature.key_for(str(candidate.data.get("name", ""))) == key
        ),
        None,
    )
    token = new_token()
    if pending is not None:
        outcome = RequestOutcome.RESENT
        request = pending
        request.token_hash = hash_token(token)
        request.data = data.to_json()
        request.revision_id = revision.id
        request.expires_at = now + timedelta(hours=PUBLIC_REQUEST_HOURS)
        request.client_ip = client_ip
    else:
        outcome = RequestOutcome.CREATED
        request = PublicSignRequest(
            letter=letter,
            email=email,
            token_hash=hash_token(token),
            data=data.to_json(),
            revision_id=revision.id,
            created_at=now,
            expires_at=now + timedelta(hours=PUBLIC_REQUEST_HOURS),
            client_ip=client_ip,
        )
        db.session.add(request)
    record_pending(
        [
            EventDraft(
                "public_signature.requested",
                {
                    "organisation": data.name,
                    "revision": revision.number,
                    "resent": outcome is RequestOutcome.RESENT or None,
                },
                actor_label=email,
            )
        ],
        letter_id=letter.id,
    )
    queue_mail(
        email,
        f"Please confirm: signing “{letter.title}”",
        "signatures/public_confirm",
        letter=letter,
        data=data,
        link=canonical_url("signatures.public_confirm", slug=letter.slug, token=token),
        valid_for=f"{PUBLIC_REQUEST_HOURS} hours",
        resent=outcome is RequestOutcome.RESENT,
    )
    metrics.count_after_commit(metrics.PUBLIC_SIGNONS, stage="requested")
    db.session.flush()  # the request, its audit event and its mail: one pass, one flush
    return RequestResult(outcome, request, token)


@cache
def _pending_statement() -> Select[tuple[PublicSignRequest]]:
    """The address's pending requests on the letter, newest first (bind parameters
    ``letter_id``, ``email``, ``now``): built once, as every statement of a sign-on's step."""
    return (
        select(PublicSignRequest)
        .where(
            PublicSignRequest.letter_id == bindparam("letter_id"),
            PublicSignRequest.email == bindparam("email"),
            PublicSignRequest.confirmed_at.is_(None),
            PublicSignRequest.expires_at > bindparam("now"),
        )
        .order_by(PublicSignRequest.id.desc())
    )


def find_request(letter: Letter, token: str) -> PublicSignRequest | None:
    """The request of this letter that ``token`` confirms, whatever its state."""
    return db.session.scalar(
        select(PublicSignRequest).where(
            PublicSignRequest.letter_id == letter.id, confirmed_by(token)
        )
    )


def confirmed_by(token: str) -> ColumnElement[bool]:
    """WHERE clause: the request that ``token`` (from a mailed link) confirms (none for a
    token no link has); the caller adds the letter, as :func:`find_request` does."""
    return PublicSignRequest.token_hash == confirmation_hash(token)


def confirmation_hash(token: str) -> str:
    """What the request of ``token`` (from a mailed link) stores: its SHA-256. For a token
    no link has (empty, over 200 characters) "", which no request stores (each holds 64
    hex digits): a comparison that matches no row, yet an ordinary one (a bare FALSE as
    a join's ON clause left SQLAlchemy unable to place the confirmation page's next join)."""
    if not token or len(token) > 200:
        return ""
    return hash_token(token)


def request_problem(request: PublicSignRequest | None) -> RequestProblem | None:
    if request is None:
        return RequestProblem.UNKNOWN
    if request.confirmed_at is not None:
        return RequestProblem.USED
    if request.expires_at <= utcnow():
        return RequestProblem.EXPIRED
    return None


def _private_invitation(
    letter: Letter, email: str, name: str, revision: Revision
) -> tuple[Invitation | None, bool]:
    """The invitation that gives a public signatory their private link, and whether it
    was created now.

    One invitation per address per letter: if this address was invited already and
    has not answered, that invitation is used; if it has answered (for another
    organisation) or was revoked, the signature gets no private link.
    """
    params = {"letter_id": letter.id, "email": email}
    new_id: int | None = None
    if on_postgresql():
        # one statement: whether the address has an invitation, and the id a new one gets
        # (so that its link, whose HMAC names the id, is in its INSERT: no UPDATE after)
        existing_id, new_id = db.session.execute(_invitation_and_next_id(), params).one()
        existing = db.session.get(Invitation, existing_id) if existing_id is not None else None
    else:
        existing = db.session.scalar(
            select(Invitation).where(Invitation.id.in_(_same_address())), params
        )
    if existing is not None:
        return (existing if existing.signature is None and existing.is_usable else None), False
    invitation = Invitation(
        id=new_id,
        letter=letter,
        organisation_name=clean_name(name),
        # the letter's language is at hand (read under its lock): no read for the INSERT
        name_order=invitation_name_order(clean_name(name), letter.language),
        email=email,
        status=InvitationStatus.SENT,
        expires_at=invitation_expiry(letter),
        sent_at=utcnow(),
        last_seen_revision_id=revision.id,
    )
    assign_new_link(invitation)
    set_committed_value(invitation, "signature", None)  # new: none to load when one is set
    return invitation, True


@cache
def _same_address() -> Select[tuple[int]]:
    """The letter's invitation of an address (bind parameters ``letter_id``, ``email``)."""
    return select(Invitation.id).where(
        Invitation.letter_id == bindparam("letter_id"),
        func.lower(Invitation.email) == bindparam("email"),
    )


@cache
def _invitation_and_next_id() -> Select[tuple[int | None, int]]:
    """:func:`_same_address` and the id a new invitation gets, in one statement
    (PostgreSQL), built once: every confirmation runs it."""
    return select(
        _same_address().scalar_subquery(),
        func.nextval(func.pg_get_serial_sequence(Invitation.__tablename__, "id")),
    )


def confirm_public_request(request: PublicSignRequest, revision: Revision | int) -> Signature:
    """They opened the mailed link and approve ``revision`` (which must be the head), or
    the revision of this id (what the confirmation form sends: the head is read once,
    under the letter's lock, and compared).

    Creates the signature (approved, awaiting moderation) and their private link.
    Raises :class:`RequestLinkError` for a used or expired request,
    :class:`StaleRevisionError` when the text changed since they were shown it
    (they must look at the changes and confirm the current text), and
    :class:`NameTakenError` when a signature under that name exists meanwhile.
    """
    letter = request.letter
    if isinstance(revision, Revision) and revision.letter_id != letter.id:
        raise SignatureError("This text does not belong to this letter.")
    chosen = revision if isinstance(revision, int) else revision.id
    _hold_open(letter)
    # one statement for every key: the name as asked (only the same address can change it)
    keys = _name_keys(letter, str(request.data.get("name") or ""))
    lock_keys(_address_key(letter, request.email), *keys)
    db.session.refresh(request)
    problem = request_problem(request)
    if problem is not None:
        raise RequestLinkError(problem)
    data = PublicRequestData.from_json(request.data)
    if _name_keys(letter, data.name) != keys:  # the same address asked again meanwhile
        raise SignatureError("Your request changed meanwhile. Please use the latest link.")
    head = letter.head()
    if head is None or head.id != chosen:
        raise StaleRevisionError(
            "The text changed after you asked to sign. Please read the changes and "
            "confirm the current text."
        )
    revision = head
    existing = _signature_named(letter, data)
    if existing is not None:
        if is_listed(existing):
            raise NameTakenError(
                _listed_message(existing, data.name),
                listed=True,
            )
        raise NameTakenError(
            f"A signature under the name “{data.name}” is already recorded for this letter. "
            "If it is your organisation's, use the link you received by e-mail then, or "
            "contact the coordinators of the letter.",
            listed=False,
        )
    try:
        with db.session.begin_nested():
            invitation, created = _private_invitation(letter, request.email, data.name, revision)
            signature = approve(
                letter,
                revision,
                data.details(),
                email=request.email,
                invitation=invitation,
                source=SignatureSource.PUBLIC,
                moderation=Moderation.PENDING,
                require_current=False,  # checked above, under the letter's shared lock
                invitation_created_here=created,
                audit_later=True,
            )
            request.confirmed_at = utcnow()
            request.signature_id = signature.id
            shown = db.session.get(Revision, request.revision_id)
            signature_event(
                signature,
                "public_request_confirmed",
                request=request.id,
                shown_revision=shown.number if shown else None,
                asked_at=request.created_at.isoformat(),
            )
            queue_mail(
                request.email,
                f"Thank you: your signature of “{letter.title}” awaits review",
                "signatures/public_received",
                letter=letter,
                signature=signature,
                revision=revision,
                private_link=private_link(signature),
                page_url=public_url(letter),
            )
            # the savepoint's end flushes these with approve()'s history, audit and notice,
            # and the mail: one pass of the unit of work for all of them
    except IntegrityError as exc:  # another confirmation took the address or the name
        raise SignatureError(
            "Someone confirmed the same signature at the same moment. Please reload the page."
        ) from exc
    metrics.count_after_commit(metrics.PUBLIC_SIGNONS, stage="confirmed")
    return signature


# --- Moderation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duplicate:
    signature: Signature
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class QueueItem:
    signature: Signature
    duplicates: list[Duplicate]


#: Pending sign-ons shown on one page of the moderation queue (oldest first).
QUEUE_PAGE_SIZE = 25
#: Signatures the merge search offers at most.
MERGE_SEARCH_LIMIT = 20


@dataclass(frozen=True)
class ModerationQueue:
    #: The pending sign-ons of this page, oldest first, with their possible duplicates.
    items: list[QueueItem]
    #: All pending sign-ons (confirmed, not withdrawn), on every page.
    pending_total: int
    #: The page shown (1-based) and how many pending sign-ons a page holds.
    page: int
    page_size: int
    #: Recent decisions on public signatures, newest first, with the deciding event.
    recent: list[tuple[Signature, SignatureEvent | None]]
    #: Requests whose e-mail is not confirmed yet (and still could be).
    unconfirmed: int
    revision_numbers: dict[int, int]

    @property
    def pages(self) -> int:
        return page_count(self.pending_total, self.page_size)


class DuplicateIndex:
    """The letter's signatures by what makes two look like the same organisation (the
    loose name, the website's host, the e-mail domain), built once: finding the
    possible duplicates of each pending signature then costs its matches, not a pass
    over every signature of the letter (at 5,000 signatures and a hundred pending, the
    moderation page took 25-40 s of one web worker's CPU in the load test)."""

    def __init__(self, candidates: Sequence[Signature]) -> None:
        self.candidates = candidates
        self.by_name: dict[str, list[int]] = defaultdict(list)
        self.by_host: dict[str, list[int]] = defaultdict(list)
        self.by_domain: dict[str, list[int]] = defaultdict(list)
        for position, other in enumerate(candidates):
            if other.moderation == Moderation.REJECTED:
                continue
            self.by_name[loose_key(other.name)].append(position)
            host, domain = website_host(other.website), mail_domain(other.email)
            if host:
                self.by_host[host].append(position)
            if domain:
                self.by_domain[domain].append(position)

    def duplicates_of(self, signature: Signature) -> list[Duplicate]:
        """Other signatures that may be the same organisation, with why, in the order of
        the candidates."""
        reasons: dict[int, list[str]] = defaultdict(list)
        for position in self.by_name.get(loose_key(signature.name), ()):
            reasons[position].append("similar name")
        host, domain = website_host(signature.website), mail_domain(signature.email)
        for position in self.by_host.get(host, ()) if host else ():
            reasons[position].append("same website")
        for position in self.by_domain.get(domain, ()) if domain else ():
            reasons[position].append("same e-mail domain")
        return [
            Duplicate(self.candidates[position], tuple(why))
            for position, why in sorted(reasons.items())
            if self.candidates[position].id != signature.id
        ]


def find_duplicates(signature: Signature, candidates: Sequence[Signature]) -> list[Duplicate]:
    """Other signatures of the letter that may be the same organisation, with why."""
    return DuplicateIndex(candidates).duplicates_of(signature)


MODERATION_ACTIONS = ("moderation_accepted", "moderation_rejected", "merged", "removed")


def _candidate_ids(letter: Letter, signatures: Sequence[Signature]) -> CompoundSelect[tuple[int]]:
    """The ids of the letter's signatures that :class:`DuplicateIndex` may match with any
    of ``signatures``: those that share a loose name, a website host or a mail domain with
    one of them. One indexed lookup per key (:mod:`signon.signatures.likeness`), united: an
    OR of the three would scan the letter's rows."""
    hosts = {host for s in signatures if (host := website_host(s.website))}
    domains = {domain for s in signatures if (domain := mail_domain(s.email))}
    lookups = [
        (Signature.loose_key, {loose_key(s.name) for s in signatures}),
        (Signature.website_host, hosts),
        (Signature.mail_domain, domains),
    ]
    return union(
        *(
            select(Signature.id).where(Signature.letter_id == letter.id, column.in_(values))
            for column, values in lookups
            if values
        )
    )


def duplicates_of_page(
    letter: Letter, signatures: Sequence[Signature]
) -> dict[int, list[Duplicate]]:
    """The possible duplicates of a few signatures (a page of the queue), by their id, in
    one query that looks only for rows sharing their loose name, website or mail domain
    (not a pass over every signature of the letter)."""
    if not signatures:
        return {}
    candidates = list(
        db.session.scalars(
            select(Signature)
            .where(
                Signature.id.in_(_candidate_ids(letter, signatures)),
                Signature.moderation != Moderation.REJECTED,
            )
            .order_by(Signature.id)
        )
    )
    index = DuplicateIndex(candidates)
    return {s.id: index.duplicates_of(s) for s in signatures}


def _pending_signatures() -> ColumnElement[bool]:
    return (Signature.moderation == Moderation.PENDING) & (
        Signature.status == SignatureStatus.APPROVED
    )


def moderation_queue(
    letter: Letter, *, page: int = 1, page_size: int = QUEUE_PAGE_SIZE, recent_limit: int = 20
) -> ModerationQueue:
    """Everything the moderation page shows, in a fixed number of queries that read one
    page of the pending sign-ons (oldest first), not the letter's whole list."""
    page = max(1, page)
    pending_total = db.session.scalar(
        select(func.count(Signature.id)).where(
            Signature.letter_id == letter.id, _pending_signatures()
        )
    )
    pending = list(
        db.session.scalars(
            select(Signature)
            .where(Signature.letter_id == letter.id, _pending_signatures())
            .order_by(func.coalesce(Signature.approved_at, Signature.created_at), Signature.id)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    )
    found = duplicates_of_page(letter, pending)
    items = [QueueItem(s, found[s.id]) for s in pending]
    decided = list(
        db.session.scalars(
            select(Signature)
            .where(
                Signature.letter_id == letter.id,
                Signature.source == SignatureSource.PUBLIC,
                Signature.moderation.in_((Moderation.ACCEPTED, Moderation.REJECTED)),
            )
            .order_by(Signature.updated_at.desc(), Signature.id.desc())
            .limit(recent_limit)
        )
    )
    decisions: dict[int, SignatureEvent] = {}
    if decided:
        for event in db.session.scalars(
            select(SignatureEvent)
            .where(
                SignatureEvent.signature_id.in_([s.id for s in decided]),
                SignatureEvent.action.in_(MODERATION_ACTIONS),
            )
            .order_by(SignatureEvent.id)
        ):
            decisions[event.signature_id] = event  # the latest one wins
    unconfirmed = db.session.scalar(
        select(func.count(PublicSignRequest.id)).where(
            PublicSignRequest.letter_id == letter.id,
            PublicSignRequest.confirmed_at.is_(None),
            PublicSignRequest.expires_at > utcnow(),
        )
    )
    numbers = {
        revision_id: number
        for revision_id, number in db.session.execute(
            select(Revision.id, Revision.number).where(Revision.letter_id == letter.id)
        ).tuples()
    }
    return ModerationQueue(
        items=items,
        pending_total=int(pending_total or 0),
        page=page,
        page_size=page_size,
        recent=[(s, decisions.get(s.id)) for s in decided],
        unconfirmed=int(unconfirmed or 0),
        revision_numbers=numbers,
    )


def merge_target(letter: Letter, signature: Signature, target_id: int | None) -> Signature | None:
    """The signature ``signature`` may be merged into under this id: another one of the
    same letter, not rejected; None otherwise."""
    if target_id is None or target_id == signature.id:
        return None
    target = signature_of(letter, target_id)
    if target is None or target.moderation == Moderation.REJECTED:
        return None
    return target


def search_merge_targets(
    letter: Letter, signature: Signature, text: str, *, limit: int = MERGE_SEARCH_LIMIT
) -> list[Signature]:
    """Signatures whose name starts with ``text`` (case and spacing aside) that
    ``signature`` may be merged into, at most ``limit``, by name."""
    prefix = name_key(text)
    if not prefix:
        return []
    return list(
        db.session.scalars(
            select(Signature)
            .where(
                Signature.letter_id == letter.id,
                Signature.id != signature.id,
                Signature.moderation != Moderation.REJECTED,
                Signature.name_key.startswith(prefix, autoescape=True),
            )
            .order_by(Signature.name_key, Signature.id)
            .limit(limit)
        )
    )


def signature_of(letter: Letter, signature_id: int) -> Signature | None:
    """A signature, looked up within its letter."""
    return db.session.scalar(
        select(Signature).where(Signature.letter_id == letter.id, Signature.id == signature_id)
    )


def _require_pending(signature: Signature) -> None:
    if signature.moderation != Moderation.PENDING:
        raise SignatureError(f"“{signature.name}” has already been moderated.")


def accept_signature(signature: Signature, *, moderator: User) -> None:
    """Publish a public signature; mail the signatory."""
    _lock_signature(signature)
    _require_pending(signature)
    if signature.status != SignatureStatus.APPROVED:
        raise SignatureError(f"“{signature.name}” withdrew meanwhile: there is nothing to publish.")
    record_decision(signature, Moderation.ACCEPTED, "moderation_accepted", moderator=moderator)
    counts.outdate(signature.letter_id)
    letter = signature.letter
    mail_signatory(
        signature,
        f"“{signature.name}” is now listed under “{letter.title}”",
        "signatures/public_accepted",
        private_link=private_link(signature),
    )


def reject_signature(signature: Signature, *, moderator: User, reason: str | None) -> None:
    """Never publish it. The reason stays within the team; nobody is mailed."""
    _lock_signature(signature)
    _require_pending(signature)
    record_decision(
        signature, Moderation.REJECTED, "moderation_rejected", moderator=moderator, reason=reason
    )


@dataclass(frozen=True)
class SelectionOutcome:
    """What a decision on a selection did: how many it decided, and how many it left (decided
    meanwhile by someone else, withdrawn, or not a signature of this letter)."""

    decided: int
    skipped: int


def moderate_selection(
    letter: Letter,
    signature_ids: Sequence[int],
    *,
    accept: bool,
    moderator: User,
    reason: str | None = None,
) -> SelectionOutcome:
    """Accept (or reject) each of the letter's pending public signatures among
    ``signature_ids``, as :func:`accept_signature` (or :func:`reject_signature`) one by one,
    in id order (so two coordinators' selections lock their rows in the same order). A
    signature the decision no longer applies to is skipped, not an error: another
    coordinator may have decided it since the page was shown."""
    wanted = set(signature_ids)
    decided = 0
    for signature in db.session.scalars(
        select(Signature)
        .where(Signature.letter_id == letter.id, Signature.id.in_(wanted))
        .order_by(Signature.id)
    ):
        try:
            if accept:
                accept_signature(signature, moderator=moderator)
            else:
                reject_signature(signature, moderator=moderator, reason=reason)
        except SignatureError:
            continue
        decided += 1
    return SelectionOutcome(decided=decided, skipped=len(wanted) - decided)


MERGED_FIELDS = (
    "name",
    "sort_name",
    "country",
    "kind",
    "representative_name",
    "representative_title",
    "website",
)


def _snapshot(signature: Signature) -> dict[str, Any]:
    return {field: plain_value(getattr(signature, field)) for field in MERGED_FIELDS}


def _merge(duplicate: Signature, target: Signature, *, moderator: User, take_details: bool) -> None:
    previous = duplicate.moderation
    duplicate.moderation = Moderation.REJECTED
    duplicate.last_activity_at = utcnow()
    signature_event(
        duplicate,
        "merged",
        moderator=moderator.email,
        merged_into=target.id,
        merged_into_name=target.name,
        took_details=take_details,
        previous_moderation=previous.value,
    )
    before = _snapshot(target)
    if take_details:
        target.rename(duplicate.name)
        target.sort_name = duplicate.sort_name
        target.country = duplicate.country
        target.kind = duplicate.kind
        target.representative_name = duplicate.representative_name
        target.representative_title = duplicate.representative_title
        target.website = duplicate.website
        target.domain_verified = domain_matches(target.email, target.website)
    target.last_activity_at = utcnow()
    signature_event(
        target,
        "merge_received",
        moderator=moderator.email,
        merged_from=duplicate.id,
        merged_from_name=duplicate.name,
        merged_from_email=duplicate.email,
        took_details=take_details,
        before=before if take_details else None,
        after=_snapshot(target) if take_details else None,
    )
    db.session.flush()


def merge_signature(
    duplicate: Signature, target: Signature, *, moderator: User, take_details: bool
) -> None:
    """``duplicate`` is the same organisation as ``target``: reject it as merged.

    ``duplicate`` is a public signature awaiting moderation, or any signature whose
    name collides with the target's (a possible duplicate, see
    :mod:`signon.signatures.duplicates`). With ``take_details`` the existing
    signatory takes over the newer printed details (name, sort name, country, type,
    representative, website); its approval, e-mail and private link stay as they
    are. :func:`undo_merge` takes it back.
    """
    if duplicate.letter_id != target.letter_id or duplicate.id == target.id:
        raise SignatureError("Choose another signatory of this letter to merge into.")
    _lock_signature(duplicate)
    _lock_signature(target)
    if duplicate.moderation != Moderation.PENDING and not duplicates.collide(duplicate, target):
        raise SignatureError(
            f"“{duplicate.name}” is neither awaiting moderation nor a possible duplicate of "
            f"“{target.name}”."
        )
    if duplicate.moderation == Moderation.REJECTED:
        raise SignatureError(f"“{duplicate.name}” was rejected already.")
    if target.moderation == Moderation.REJECTED:
        raise SignatureError(f"“{target.name}” was rejected: merge into another signatory.")
    _merge(duplicate, target, moderator=moderator, take_details=take_details)
    record_event(
        "signature.merged",
        letter_id=duplicate.letter_id,
        actor=moderator,
        signature=duplicate.name,
        merged_into=target.name,
        took_details=take_details,
        printed=printed_records(duplicate, target),
    )
    db.session.flush()


def _last_merge(signature: Signature) -> SignatureEvent | None:
    """The event that merged ``signature`` away, unless that merge was undone since."""
    latest = db.session.scalar(
        select(SignatureEvent)
        .where(
            SignatureEvent.signature_id == signature.id,
            SignatureEvent.action.in_(("merged", "merge_undone")),
        )
        .order_by(SignatureEvent.id.desc())
        .limit(1)
    )
    return latest if latest is not None and latest.action == "merged" else None


def _details_taken(duplicate: Signature, target: Signature) -> SignatureEvent | None:
    """The target's record of the merge, when it took over the duplicate's details."""
    received = db.session.scalars(
        select(SignatureEvent)
        .where(SignatureEvent.signature_id == target.id, SignatureEvent.action == "merge_received")
        .order_by(SignatureEvent.id.desc())
    )
    event = next((e for e in received if e.details.get("merged_from") == duplicate.id), None)
    return event if event is not None and event.details.get("took_details") else None


def _restore_details(target: Signature, received: SignatureEvent) -> None:
    """Give the target back the details it had before it took the duplicate's."""
    if _snapshot(target) != received.details.get("after"):
        raise SignatureError(
            f"“{target.name}” changed since the merge: correct its details first, then undo."
        )
    before: dict[str, Any] = received.details["before"]
    target.rename(str(before["name"]))
    target.sort_name = before.get("sort_name")
    target.country = before.get("country")
    target.kind = SignatoryKind(before.get("kind") or SignatoryKind.NGO.value)
    target.representative_name = before.get("representative_name")
    target.representative_title = before.get("representative_title")
    target.website = before.get("website")
    target.domain_verified = domain_matches(target.email, target.website)


def undo_merge(duplicate: Signature, *, moderator: User) -> Signature:
    """Take a merge back: the duplicate gets its moderation state again, the target its
    details (if it took them over). Audited. Returns the target."""
    _lock_signature(duplicate)
    merged = _last_merge(duplicate)
    if merged is None or duplicate.moderation != Moderation.REJECTED:
        raise SignatureError(f"“{duplicate.name}” is not merged into another signatory.")
    target = signature_of(duplicate.letter, int(merged.details["merged_into"]))
    if target is None:
        raise SignatureError("The signatory it was merged into no longer exists.")
    _lock_signature(target)
    received = _details_taken(duplicate, target)
    if received is not None:
        _restore_details(target, received)
    duplicate.moderation = Moderation(merged.details.get("previous_moderation", "pending"))
    duplicate.last_activity_at = target.last_activity_at = utcnow()
    signature_event(duplicate, "merge_undone", moderator=moderator.email, merged_into=target.id)
    signature_event(target, "merge_undone", moderator=moderator.email, merged_from=duplicate.id)
    record_event(
        "signature.merge_undone",
        letter_id=duplicate.letter_id,
        actor=moderator,
        signature=duplicate.name,
        merged_into=target.name,
        details_restored=received is not None,
        printed=printed_records(duplicate, target),
    )
    db.session.flush()
    return target
