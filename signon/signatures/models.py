"""Invitations, signatures (one per organisation per letter) and their history.

A signature approves one exact revision (its id and content hash are kept). It
is *current* when it approved the head, or when every revision since was
classified editorial; otherwise it awaits re-confirmation. That state is derived
(see :mod:`signon.signatures.state`), never stored, so it cannot drift.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    event,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from signon.accounts.models import User
from signon.core import names
from signon.db import TimestampMixin, enum_column, utcnow
from signon.extensions import db
from signon.letters.models import Letter, Revision
from signon.signatures import collation, likeness


class InvitationStatus(enum.StrEnum):
    """What happened to an invitation. "Expired" is derived from ``expires_at``."""

    QUEUED = "queued"  # created; the e-mail goes out after the commit
    SENT = "sent"
    FAILED = "failed"  # the mail server refused it (bounced / failed to send)
    OPENED = "opened"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return {
            InvitationStatus.QUEUED: "Sending",
            InvitationStatus.SENT: "Sent",
            InvitationStatus.FAILED: "Failed to send",
            InvitationStatus.OPENED: "Opened",
            InvitationStatus.APPROVED: "Approved",
            InvitationStatus.DECLINED: "Declined",
            InvitationStatus.WITHDRAWN: "Withdrawn",
            InvitationStatus.REVOKED: "Revoked",
        }[self]


#: States in which the invitee can still act on the invitation link.
LIVE_INVITATION_STATES = frozenset(
    {
        InvitationStatus.QUEUED,
        InvitationStatus.SENT,
        InvitationStatus.FAILED,
        InvitationStatus.OPENED,
        InvitationStatus.APPROVED,
        InvitationStatus.DECLINED,
        InvitationStatus.WITHDRAWN,
    }
)


#: States in which the organisation has answered: nothing to re-send or to expire.
ANSWERED_INVITATION_STATES = frozenset(
    {InvitationStatus.APPROVED, InvitationStatus.DECLINED, InvitationStatus.WITHDRAWN}
)


class SignatureStatus(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class SignatoryKind(enum.StrEnum):
    NGO = "ngo"
    NETWORK = "network"
    ACADEMIC = "academic"
    FAITH = "faith"
    UNION = "union"
    MEDIA = "media"
    BUSINESS = "business"
    GOVERNMENT = "government"
    INDIVIDUAL = "individual"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            SignatoryKind.NGO: "Non-governmental organisation",
            SignatoryKind.NETWORK: "Network or coalition",
            SignatoryKind.ACADEMIC: "Academic institution",
            SignatoryKind.FAITH: "Faith-based organisation",
            SignatoryKind.UNION: "Trade union",
            SignatoryKind.MEDIA: "Media organisation",
            SignatoryKind.BUSINESS: "Business",
            SignatoryKind.GOVERNMENT: "Government or public body",
            SignatoryKind.INDIVIDUAL: "Individual",
            SignatoryKind.OTHER: "Other",
        }[self]


class SignatureSource(enum.StrEnum):
    INVITATION = "invitation"
    PUBLIC = "public"
    IMPORT = "import"


class Moderation(enum.StrEnum):
    """Public sign-on requests wait for a coordinator; invited signatures need none."""

    NOT_NEEDED = "not_needed"
    PENDING = "pending"
    ACCEPTED = "accepted"
    #: Never listed, or (after a coordinator's removal, see ``public_changes``) no longer.
    REJECTED = "rejected"


class ChangeStatus(enum.StrEnum):
    """A public signatory's change to its printed details, held for the coordinators."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    #: Taken back by the signatory (they submitted the listed details again) or made moot
    #: by the signature's removal.
    CANCELLED = "cancelled"


class OrderMode(enum.StrEnum):
    """How a letter's signatory list is ordered (chosen by its coordinators)."""

    ALPHABETICAL = "alphabetical"
    COUNTRY = "country"
    KIND = "kind"
    DRAFTERS_FIRST = "drafters_first"
    CUSTOM = "custom"

    @property
    def label(self) -> str:
        return {
            OrderMode.ALPHABETICAL: "Alphabetical",
            OrderMode.COUNTRY: "By country",
            OrderMode.KIND: "By type of signatory",
            OrderMode.DRAFTERS_FIRST: "Drafting organisations first",
            OrderMode.CUSTOM: "Custom order (set by a coordinator)",
        }[self]


class SignatoryOrder(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """The order the coordinators chose for a letter's signatory list (one row per letter;
    alphabetical until they choose). Read and written by :mod:`signon.signatures.listing`
    only; every output, the exports included, reads it through that module."""

    __tablename__ = "signatory_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), unique=True
    )
    mode: Mapped[OrderMode] = mapped_column(enum_column(OrderMode), default=OrderMode.ALPHABETICAL)
    #: Signature ids, first to last, for ``CUSTOM`` (others follow, alphabetically).
    custom_order: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: The groups: ``none``, ``country``, ``kind`` or ``tier`` (a first tier, then the others).
    grouping: Mapped[str] = mapped_column(String(16), default="none")
    #: Signature ids of the first tier (for ``tier``).
    first_tier: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: Signatories who approved on or after this day form a "new since" group.
    new_since: Mapped[date | None]
    #: Individuals form the last group (the PDF counts them instead of naming them).
    count_individuals: Mapped[bool] = mapped_column(default=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class LetterCounts(db.Model):  # type: ignore[name-defined,misc]
    """A letter's counts under its current text, maintained by
    :mod:`signon.signatures.counts` (refreshed from the indexed counts every few seconds,
    never incremented by a request): the public page, the embed and the API read them."""

    __tablename__ = "letter_counts"

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True
    )
    #: Listed signatories (what the public page counts).
    listed: Mapped[int]
    #: Approvals of an earlier text that count again once re-confirmed.
    awaiting_reconfirmation: Mapped[int]
    #: When the counts were taken: they are used for ``counts.FRESH_FOR`` after it.
    refreshed_at: Mapped[datetime]
    #: What they were counted from (``counts.stamp``): while it is unchanged, a refresh
    #: only moves ``refreshed_at``.
    stamp: Mapped[str | None] = mapped_column(String(64))
    #: When they were last counted (``refreshed_at`` also moves when nothing changed).
    counted_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<LetterCounts {self.letter_id} {self.listed} at {self.refreshed_at}>"


class ApprovalSlot(db.Model):  # type: ignore[name-defined,misc]
    """The dashboard chart's change in one 15-minute slot, kept with the letter's
    :class:`LetterCounts` (refreshed with them, used while that row is fresh)."""

    __tablename__ = "letter_approval_slots"

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True
    )
    #: The slot's number since 1970 (:class:`signon.db.quarter_hour`).
    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    counted_in: Mapped[int]
    taken_out: Mapped[int]


class Invitation(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("letter_id", "email"),
        Index("ix_invitations_letter_name_order", "letter_id", "name_order", "id"),
        # the dashboard's counts per state, from the index alone (dashboard.queries)
        Index("ix_invitations_letter_state", "letter_id", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"), index=True)
    organisation_name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str] = mapped_column(String(254))
    #: The link's token is HMAC(secret key, id + nonce); only its SHA-256 is stored.
    #: A new nonce (re-send after a revocation) makes every earlier link stop working.
    link_nonce: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[InvitationStatus] = mapped_column(
        enum_column(InvitationStatus), default=InvitationStatus.QUEUED
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    expires_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    send_attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    opened_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    #: The latest revision the invitee was shown: the next visit shows the diff since.
    last_seen_revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The invitee's browser time zone, sent when their page is shown: later mail to this
    #: address shows times in it (:func:`signon.signatures.invitations.links.mail_zone`).
    timezone: Mapped[str | None] = mapped_column(String(64))
    #: The organisation's name collated in the letter's language
    #: (:func:`signon.signatures.collation.stored_name_order`): the dashboard sorts on it.
    name_order: Mapped[bytes | None] = mapped_column(
        LargeBinary, default=lambda context: _invitation_name_order_of_inserted(context)
    )

    letter: Mapped[Letter] = relationship()
    created_by: Mapped[User | None] = relationship()
    last_seen_revision: Mapped[Revision | None] = relationship()
    signature: Mapped[Signature | None] = relationship(back_populates="invitation", uselist=False)

    def __repr__(self) -> str:
        return f"<Invitation {self.id} letter={self.letter_id} {self.email} {self.status}>"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    @property
    def answered(self) -> bool:
        """Approved, declined or withdrew: the organisation has its link and used it."""
        return self.status in ANSWERED_INVITATION_STATES

    @property
    def is_usable(self) -> bool:
        return (
            self.status in LIVE_INVITATION_STATES
            and self.revoked_at is None
            and not self.is_expired
        )


def _skeleton_of_inserted_name(context: DefaultExecutionContext) -> str:
    """For rows inserted without :meth:`Signature.rename` (bulk inserts of fixtures)."""
    inserted = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return names.skeleton(str(inserted["name"]))


def _letter_language(connection: Connection, letter_id: int, cache: dict[int, str]) -> str:
    if letter_id not in cache:
        language = connection.scalar(select(Letter.language).where(Letter.id == letter_id))
        cache[letter_id] = language or "en"
    return cache[letter_id]


def _inserted_language(context: DefaultExecutionContext) -> str:
    """The language of the inserted row's letter (read once per statement)."""
    inserted = context.get_current_parameters()  # type: ignore[no-untyped-call]
    cache: dict[int, str] = context.__dict__.setdefault("_signon_languages", {})
    return _letter_language(context.root_connection, int(inserted["letter_id"]), cache)


def _name_order_of_inserted(context: DefaultExecutionContext) -> bytes:
    inserted = context.get_current_parameters()  # type: ignore[no-untyped-call]
    language = _inserted_language(context)
    return collation.stored_name_order(str(inserted["name"]), inserted.get("sort_name"), language)


def invitation_name_order(organisation_name: str, language: str) -> bytes:
    """An invitation's stored sort key (the dashboard sorts invitations with signatures)."""
    return collation.stored_name_order(organisation_name, None, language)


def _invitation_name_order_of_inserted(context: DefaultExecutionContext) -> bytes:
    inserted = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return invitation_name_order(str(inserted["organisation_name"]), _inserted_language(context))


def _country_order_of_inserted(context: DefaultExecutionContext) -> bytes:
    inserted = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return collation.stored_country_order(inserted.get("country"), _inserted_language(context))


def _country_place_of_inserted(context: DefaultExecutionContext) -> bytes:
    inserted = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return collation.stored_country_place(inserted.get("country"))


def _loose_key_of_inserted(context: DefaultExecutionContext) -> str:
    inserted = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return likeness.loose_key(str(inserted["name"]))


def _website_host_of_inserted(context: DefaultExecutionContext) -> str | None:
    inserted = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return likeness.website_host(inserted.get("website"))


def _mail_domain_of_inserted(context: DefaultExecutionContext) -> str | None:
    inserted = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return likeness.mail_domain(inserted.get("email"))


#: The listing's rank of a signature's group: 2 for an individual (listed after the
#: organisations), 0 otherwise. Written out with its values, never with bound parameters, so
#: that SQLite and PostgreSQL match the ORDER BY to the expression index
#: ``ix_signatures_letter_list_group_name_order`` and read a page along it instead of sorting
#: the whole letter (``signatures.listing``; the index's expression is this text).
LIST_GROUP_RANK_SQL = "CASE WHEN (kind = 'individual') THEN 2 ELSE 0 END"


class Signature(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """An organisation's (or an individual's) answer to a letter, from exactly one source.

    Names may collide (the same name, or a look-alike): both signatures are kept and
    the coordinators see them as possible duplicates (:mod:`signon.signatures.duplicates`).
    """

    __tablename__ = "signatures"
    __table_args__ = (
        Index("ix_signatures_letter_status", "letter_id", "status"),
        # with the states a collision counts in: the colliding names are found in the index
        Index(
            "ix_signatures_letter_skeleton", "letter_id", "name_skeleton", "moderation", "status"
        ),
        Index("ix_signatures_letter_name_order", "letter_id", "name_order", "id"),
        # the listing's default order: organisations, then individuals, each by name
        Index(
            "ix_signatures_letter_list_group_name_order",
            "letter_id",
            text(f"({LIST_GROUP_RANK_SQL})"),
            "name_order",
            "id",
        ),
        # the moderation page: a page of the pending ones (and of the accepted ones, by
        # name); colliding names and merge targets; possible duplicates by their likeness
        Index("ix_signatures_letter_moderation", "letter_id", "moderation", "status", "name_key"),
        Index("ix_signatures_letter_name_key", "letter_id", "name_key", "moderation", "status"),
        Index("ix_signatures_letter_loose_key", "letter_id", "loose_key"),
        Index("ix_signatures_letter_website_host", "letter_id", "website_host"),
        Index("ix_signatures_letter_mail_domain", "letter_id", "mail_domain"),
        # the stamp of the letter's kept counts (signon.signatures.counts), from the index
        Index("ix_signatures_letter_updated_at", "letter_id", "updated_at"),
        # the dashboard's counts per state and its answered invitations, from the index
        # alone (dashboard.queries.state_counts, _unanswered)
        Index(
            "ix_signatures_letter_state",
            "letter_id",
            "moderation",
            "status",
            "revision_id",
            "invitation_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="SET NULL"), unique=True
    )
    source: Mapped[SignatureSource] = mapped_column(enum_column(SignatureSource))
    status: Mapped[SignatureStatus] = mapped_column(enum_column(SignatureStatus))
    moderation: Mapped[Moderation] = mapped_column(
        enum_column(Moderation), default=Moderation.NOT_NEEDED
    )
    #: The name exactly as it must be printed (cleaned once, by :meth:`rename`).
    name: Mapped[str] = mapped_column(String(300))
    #: Case- and space-folded name (:func:`signon.core.names.name_key`): exact collisions.
    name_key: Mapped[str] = mapped_column(String(300))
    #: Confusable skeleton (:func:`signon.core.names.skeleton`): look-alike collisions.
    name_skeleton: Mapped[str] = mapped_column(String(1200), default=_skeleton_of_inserted_name)
    #: Optional sort key ("Moroccan Coalition for the ICC, the").
    sort_name: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[SignatoryKind] = mapped_column(
        enum_column(SignatoryKind), default=SignatoryKind.NGO
    )
    representative_name: Mapped[str | None] = mapped_column(String(200))
    representative_title: Mapped[str | None] = mapped_column(String(200))
    #: An individual's organisation or institution, printed "for identification only".
    affiliation: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(500))
    #: Server-generated file name of the re-encoded logo under the uploads folder.
    logo_filename: Mapped[str | None] = mapped_column(String(80))
    #: The e-mail address that confirmed (the proof that they hold the invitation).
    email: Mapped[str | None] = mapped_column(String(254))
    #: The e-mail's domain matches the website's: otherwise the coordinator checks.
    domain_verified: Mapped[bool] = mapped_column(default=False)
    authority_confirmed: Mapped[bool] = mapped_column(default=False)
    #: The revision approved, and its content hash at the time (for approvals).
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    approved_sha256: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None]
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Stored sort keys (:mod:`signon.signatures.collation`), kept by :func:`_keep_orders`
    #: and the column defaults: the list is sorted and paginated in SQL on them.
    name_order: Mapped[bytes | None] = mapped_column(LargeBinary, default=_name_order_of_inserted)
    country_order: Mapped[bytes | None] = mapped_column(
        LargeBinary, default=_country_order_of_inserted
    )
    country_place: Mapped[bytes | None] = mapped_column(
        LargeBinary, default=_country_place_of_inserted
    )

    #: What possible duplicates are matched on (:mod:`signon.signatures.likeness`), kept
    #: like the sort keys: the column defaults, and :func:`_keep_likeness` on update.
    loose_key: Mapped[str | None] = mapped_column(String(300), default=_loose_key_of_inserted)
    website_host: Mapped[str | None] = mapped_column(String(253), default=_website_host_of_inserted)
    mail_domain: Mapped[str | None] = mapped_column(String(253), default=_mail_domain_of_inserted)

    letter: Mapped[Letter] = relationship()
    invitation: Mapped[Invitation | None] = relationship(back_populates="signature")
    revision: Mapped[Revision | None] = relationship()
    events: Mapped[list[SignatureEvent]] = relationship(
        back_populates="signature", order_by="SignatureEvent.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Signature {self.id} letter={self.letter_id} {self.name!r} {self.status}>"

    def individual_details(
        self,
        identification_only: str = "(for identification only)",
        isolate: Callable[[str], str] | None = None,
    ) -> str:
        """An individual's title, then their affiliation marked ``identification_only``
        ("Professor of Law, University of Nairobi (for identification only)"): the one
        wording of every list (the PDF passes the mark in the letter's language, and
        ``isolate``, which sets a right-to-left title or affiliation apart from its
        neighbours so that the parts keep their order on a left-to-right line)."""
        keep = isolate or (lambda text: text)
        title = " ".join((self.representative_title or "").split())
        parts = [keep(title) if title else ""]
        affiliation = " ".join((self.affiliation or "").split())
        if affiliation:
            parts.append(f"{keep(affiliation)} {identification_only}".strip())
        return ", ".join(part for part in parts if part)

    @staticmethod
    def key_for(name: str) -> str:
        return names.name_key(name)

    def rename(self, name: str) -> None:
        """Store ``name`` cleaned, with the keys it is compared by: the one way to set it."""
        self.name = names.clean_name(name)
        self.name_key = names.name_key(name)
        self.name_skeleton = names.skeleton(name)


class SignatureEvent(db.Model):  # type: ignore[name-defined,misc]
    """The history of a signature: every approval, decline, withdrawal, kept for good."""

    __tablename__ = "signature_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(40))
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    email: Mapped[str | None] = mapped_column(String(254))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    signature: Mapped[Signature] = relationship(back_populates="events")
    revision: Mapped[Revision | None] = relationship()

    def __repr__(self) -> str:
        return f"<SignatureEvent {self.id} sig={self.signature_id} {self.action}>"


class SignatureChange(db.Model):  # type: ignore[name-defined,misc]
    """Printed details proposed by a public signatory after acceptance, awaiting review.

    The signature row keeps the accepted details (and is what every list prints) until
    a coordinator accepts the change; at most one change per signature is pending.
    """

    __tablename__ = "signature_changes"
    #: the moderation page: the held (pending) ones, oldest first, without reading the rest
    __table_args__ = (Index("ix_signature_changes_status_proposed", "status", "proposed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    signature_id: Mapped[int] = mapped_column(
        ForeignKey("signatures.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[ChangeStatus] = mapped_column(
        enum_column(ChangeStatus), default=ChangeStatus.PENDING
    )
    #: The proposed printed fields (see ``public_changes.CHANGE_FIELDS``), as plain values.
    proposed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: A new logo (already stored under the uploads folder), if they sent one.
    logo_filename: Mapped[str | None] = mapped_column(String(80))
    proposed_by_email: Mapped[str | None] = mapped_column(String(254))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)

    signature: Mapped[Signature] = relationship()
    decided_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<SignatureChange {self.id} sig={self.signature_id} {self.status}>"


class ReminderSent(db.Model):  # type: ignore[name-defined,misc]
    """One reminder per invitation per point before the deadline, ever (a unique row)."""

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("invitation_id", "hours_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"))
    hours_before: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class PublicSignRequest(db.Model):  # type: ignore[name-defined,misc]
    """A public "sign this letter" request waiting for its e-mail to be confirmed."""

    __tablename__ = "public_sign_requests"
    # a new request looks for an earlier one of the same address, under the letter's lock
    __table_args__ = (Index("ix_public_sign_requests_letter_email", "letter_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The form as submitted (name, sort name, country, kind, representative, website).
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="SET NULL")
    )
    client_ip: Mapped[str | None] = mapped_column(String(64))

    letter: Mapped[Letter] = relationship()
    revision: Mapped[Revision] = relationship()


# --- Stored sort keys --------------------------------------------------------------------

_ORDER_INPUTS = ("name", "sort_name", "country")


def store_orders(signature: Signature, language: str) -> None:
    """Compute ``signature``'s stored sort keys for ``language``."""
    signature.name_order = collation.stored_name_order(
        signature.name, signature.sort_name, language
    )
    signature.country_order = collation.stored_country_order(signature.country, language)
    signature.country_place = collation.stored_country_place(signature.country)


@event.listens_for(Signature, "before_update")
def _keep_orders(_mapper: Mapper[Signature], connection: Connection, target: Signature) -> None:
    """A renamed signature (or a new sort name or country) is re-keyed in the same UPDATE;
    new rows get theirs from the column defaults (also for bulk inserts)."""
    state: Any = inspect(target)
    if any(state.attrs[name].history.has_changes() for name in _ORDER_INPUTS):
        store_orders(target, _letter_language(connection, target.letter_id, {}))


def store_likeness(signature: Signature) -> None:
    """The keys possible duplicates are matched on, from the signature's name, website and
    e-mail address."""
    signature.loose_key = likeness.loose_key(signature.name)
    signature.website_host = likeness.website_host(signature.website)
    signature.mail_domain = likeness.mail_domain(signature.email)


@event.listens_for(Signature, "before_update")
def _keep_likeness(_mapper: Mapper[Signature], _connection: Connection, target: Signature) -> None:
    """A renamed signature (or a new website or address) is re-keyed in the same UPDATE."""
    state: Any = inspect(target)
    if any(state.attrs[name].history.has_changes() for name in ("name", "website", "email")):
        store_likeness(target)


def rekey_letter(connection: Connection, letter_id: int, language: str) -> int:
    """Recompute every stored sort key of a letter (its language changed, or a repair).
    Returns how many signatures were re-keyed."""
    _rekey_invitations(connection, letter_id, language)
    table = Signature.__table__
    rows = connection.execute(
        select(table.c.id, table.c.name, table.c.sort_name, table.c.country).where(
            table.c.letter_id == letter_id
        )
    ).all()
    if not rows:
        return 0
    values = [
        {
            "row_id": row.id,
            "name_order": collation.stored_name_order(row.name, row.sort_name, language),
            "country_order": collation.stored_country_order(row.country, language),
            "country_place": collation.stored_country_place(row.country),
        }
        for row in rows
    ]
    connection.execute(
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(
            name_order=bindparam("name_order"),
            country_order=bindparam("country_order"),
            country_place=bindparam("country_place"),
        ),
        values,
    )
    return len(rows)


def _rekey_invitations(connection: Connection, letter_id: int, language: str) -> None:
    """Recompute the stored name keys of a letter's invitations (the dashboard's order)."""
    table = Invitation.__table__
    rows = connection.execute(
        select(table.c.id, table.c.organisation_name).where(table.c.letter_id == letter_id)
    ).all()
    if rows:
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(name_order=bindparam("name_order")),
            [
                {
                    "row_id": row.id,
                    "name_order": invitation_name_order(row.organisation_name, language),
                }
                for row in rows
            ],
        )


@event.listens_for(Letter, "after_update")
def _rekey_on_language_change(
    _mapper: Mapper[Letter], connection: Connection, target: Letter
) -> None:
    """Names collate by the letter's language: a new language re-keys its signatures."""
    if inspect(target).attrs["language"].history.has_changes():
        rekey_letter(connection, target.id, target.language or "en")
