"""Letters, their drafting team, their immutable revisions and unresolved drafts."""

from __future__ import annotations

import enum
from datetime import date, datetime
from functools import cache

from flask import g, has_app_context
from markupsafe import Markup
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Select,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    exists,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, QueryableAttribute, mapped_column, relationship, validates
from sqlalchemy.sql.elements import ColumnElement

from signon.accounts.models import Membership, Organisation, User
from signon.core.markdown import render_markdown
from signon.core.notices import Delivery, NoticeKind
from signon.core.permissions import Action, TeamRole, letter_role_allows
from signon.core.tokens import sha256_text
from signon.db import TimestampMixin, enum_column, utcnow
from signon.extensions import db


class LetterStatus(enum.StrEnum):
    DRAFTING = "drafting"
    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return {
            LetterStatus.DRAFTING: "Drafting",
            LetterStatus.OPEN: "Open for signature",
            LetterStatus.CLOSED: "Closed",
            LetterStatus.PUBLISHED: "Published",
        }[self]


class ChangeKind(enum.StrEnum):
    """How a revision changed the text; classified by a coordinator (see the signatures feature)."""

    EDITORIAL = "editorial"
    SUBSTANTIVE = "substantive"


class PublicSignatories(enum.StrEnum):
    """Who may ask to sign on a letter's public page (organisations: the behaviour before
    the choice existed, so it is the default)."""

    ORGANISATIONS = "organisations"
    INDIVIDUALS = "individuals"
    BOTH = "both"

    @property
    def label(self) -> str:
        return {
            PublicSignatories.ORGANISATIONS: "Organisations only",
            PublicSignatories.INDIVIDUALS: "Individuals only",
            PublicSignatories.BOTH: "Organisations and individuals",
        }[self]

    @property
    def takes_organisations(self) -> bool:
        return self is not PublicSignatories.INDIVIDUALS

    @property
    def takes_individuals(self) -> bool:
        return self is not PublicSignatories.ORGANISATIONS


LANGUAGES: dict[str, str] = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "ar": "Arabic",
    "pt": "Portuguese",
    "ru": "Russian",
    "zh": "Chinese",
    "de": "German",
    "it": "Italian",
    "nl": "Dutch",
    "sw": "Swahili",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "he": "Hebrew",
    "el": "Greek",
    "ja": "Japanese",
    "ko": "Korean",
    "fa": "Persian",
    "hi": "Hindi",
    "id": "Indonesian",
}


#: Languages written right to left (of :data:`LANGUAGES`, and a few more a letter may have).
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "yi", "ps", "dv", "ckb"})


class Letter(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    addressee: Mapped[str] = mapped_column(String(500), default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    deadline: Mapped[datetime | None]
    status: Mapped[LetterStatus] = mapped_column(
        enum_column(LetterStatus), default=LetterStatus.DRAFTING
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Time of the last change to the text or the settings; shown in lists.
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: A public page shows the letter and its published signatories, and anyone may ask to sign.
    is_public: Mapped[bool] = mapped_column(default=False)
    #: Who the public page's "Sign this letter" form takes.
    public_signatories: Mapped[PublicSignatories] = mapped_column(
        enum_column(PublicSignatories, 16),
        default=PublicSignatories.ORGANISATIONS,
        server_default=PublicSignatories.ORGANISATIONS.value,
    )

    created_by: Mapped[User | None] = relationship()
    team: Mapped[list[TeamMember]] = relationship(
        back_populates="letter", cascade="all, delete-orphan", order_by="TeamMember.id"
    )

    def __repr__(self) -> str:
        return f"<Letter {self.id} {self.slug}>"

    @property
    def is_past_deadline(self) -> bool:
        return self.deadline is not None and self.deadline <= utcnow()

    @property
    def accepts_signatures(self) -> bool:
        """Organisations may approve, decline or ask to sign (withdrawing is always possible)."""
        return (
            self.status in (LetterStatus.DRAFTING, LetterStatus.OPEN) and not self.is_past_deadline
        )

    @property
    def language_name(self) -> str:
        return LANGUAGES.get(self.language, self.language)

    @property
    def text_direction(self) -> str:
        """``rtl`` for a letter in a right-to-left script (Arabic, Hebrew, Persian...),
        else ``ltr``: the ``dir`` of every element that shows its text or a diff of it."""
        return "rtl" if self.language in RTL_LANGUAGES else "ltr"

    def role_of(self, user: object, *, cached: bool = False) -> TeamRole | None:
        """The strongest role the user holds, directly or through an organisation.

        Every lookup is remembered for the rest of the request; ``cached=True``
        (used by page furniture such as the letter's tabs) reuses it instead of
        asking the database again.
        """
        if not isinstance(user, User) or not user.is_authenticated:
            return None
        memo: dict[tuple[int, int], TeamRole | None] | None = (
            g.setdefault("_letter_roles", {}) if has_app_context() else None
        )
        key = (self.id, user.id)
        if cached and memo is not None and key in memo:
            return memo[key]
        roles = db.session.scalars(
            select(TeamMember.role).where(
                TeamMember.letter_id == self.id, TeamMember.reaches_user(user.id)
            )
        ).all()
        role = max(roles, key=lambda r: r.rank) if roles else None
        if memo is not None:
            memo[key] = role
        return role

    def can(self, user: object, action: Action) -> bool:
        return letter_role_allows(self.role_of(user), action)

    def head(self) -> Revision | None:
        """The current revision: the one with the highest number."""
        return db.session.scalar(_head_statement(), {"letter_id": self.id})

    @staticmethod
    def head_of(
        letter_id: int | ColumnElement[int] | QueryableAttribute[int],
    ) -> Select[tuple[Revision]]:
        """The select of a letter's current revision (the highest number); with
        ``Letter.id``, a correlated subquery for a statement that reads the letter."""
        return (
            select(Revision)
            .where(Revision.letter_id == letter_id)
            .order_by(Revision.number.desc())
            .limit(1)
        )

    @staticmethod
    def visible_to(user_id: int) -> ColumnElement[bool]:
        """A WHERE clause: letters on whose team the user is, directly or via an organisation."""
        return exists(
            select(TeamMember.id).where(
                TeamMember.letter_id == Letter.id, TeamMember.reaches_user(user_id)
            )
        )


class TeamMember(db.Model):  # type: ignore[name-defined,misc]
    """A user or an organisation on a letter's drafting team, with a role."""

    __tablename__ = "team_members"
    __table_args__ = (
        UniqueConstraint("letter_id", "user_id"),
        UniqueConstraint("letter_id", "organisation_id"),
        CheckConstraint(
            "(user_id IS NULL) <> (organisation_id IS NULL)", name="user_xor_organisation"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE")
    )
    role: Mapped[TeamRole] = mapped_column(enum_column(TeamRole))
    #: Drafting organisations appear on the letterhead and as the PDF's author.
    is_drafting_organisation: Mapped[bool] = mapped_column(default=False)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    letter: Mapped[Letter] = relationship(back_populates="team")
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    organisation: Mapped[Organisation | None] = relationship()
    added_by: Mapped[User | None] = relationship(foreign_keys=[added_by_id])

    def __repr__(self) -> str:
        who = f"user={self.user_id}" if self.user_id else f"org={self.organisation_id}"
        return f"<TeamMember letter={self.letter_id} {who} {self.role}>"

    @property
    def display_name(self) -> str:
        if self.user is not None:
            return self.user.display_name
        assert self.organisation is not None
        return self.organisation.name

    @staticmethod
    def reaches_user(user_id: int) -> ColumnElement[bool]:
        """The member is this user, or an organisation this user belongs to."""
        return or_(
            TeamMember.user_id == user_id,
            TeamMember.organisation_id.in_(
                select(Membership.organisation_id).where(Membership.user_id == user_id)
            ),
        )


class TeamInvitation(db.Model):  # type: ignore[name-defined,misc]
    """A role on a letter's team waiting for whoever proves they own an e-mail address.

    Every person added by address is invited, whether or not an account uses it, so that
    the coordinator learns nothing about who has an account. The role is taken when an
    account confirms the address (``core.signals.email_confirmed``) or, for an account
    that confirmed it already, when its owner accepts. The row goes away when the
    invitation is taken or revoked; the audit trail keeps the story.
    """

    __tablename__ = "team_invitations"
    __table_args__ = (UniqueConstraint("letter_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    #: Normalised (``User.normalise_email``).
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[TeamRole] = mapped_column(enum_column(TeamRole))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    letter: Mapped[Letter] = relationship()
    invited_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<TeamInvitation letter={self.letter_id} {self.email} {self.role}>"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()


class Revision(db.Model):  # type: ignore[name-defined,misc]
    """An immutable version of a letter's text. Numbers are unique per letter."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("letter_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    number: Mapped[int]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    #: The revision the author was editing when they saved. Differs from the parent
    #: when someone else saved meanwhile and the two edits were merged.
    base_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    title: Mapped[str] = mapped_column(String(300))
    body_markdown: Mapped[str] = mapped_column(Text)
    #: ``body_markdown`` rendered to sanitised HTML when the revision is made: the text
    #: never changes, and rendering costs up to seconds for a long pathological text,
    #: so no page view renders it again. Read it through :attr:`body_html`.
    html: Mapped[str] = mapped_column(Text, server_default="")
    content_sha256: Mapped[str] = mapped_column(String(64))
    change_note: Mapped[str] = mapped_column(String(500), default="")
    change_kind: Mapped[ChangeKind | None] = mapped_column(enum_column(ChangeKind))
    classified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    classified_at: Mapped[datetime | None]
    merged: Mapped[bool] = mapped_column(default=False)

    letter: Mapped[Letter] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    classified_by: Mapped[User | None] = relationship(foreign_keys=[classified_by_id])
    parent: Mapped[Revision | None] = relationship(remote_side=[id], foreign_keys=[parent_id])

    def __repr__(self) -> str:
        return f"<Revision {self.letter_id}#{self.number} {self.content_sha256[:8]}>"

    @validates("body_markdown")
    def _render_once(self, key: str, body_markdown: str) -> str:
        """Whoever sets the text (save, merge, import) stores its HTML with it."""
        self.html = str(render_markdown(body_markdown))
        return body_markdown

    @property
    def body_html(self) -> Markup:
        """The text as sanitised HTML, for every page, PDF and mail that shows it."""
        return Markup(self.html)  # noqa: S704 - sanitised by render_markdown when stored

    @staticmethod
    def hash_content(title: str, body_markdown: str) -> str:
        """SHA-256 over the title and the text, as the signatories will approve them."""
        return sha256_text(f"{title}\n\n{body_markdown}")

    def text_matches_hash(self) -> bool:
        """The stored title and text still hash to the stored SHA-256.

        False means the row was changed outside Signon (revisions are immutable): such a
        text must not be exported or vouched for.
        """
        return Revision.hash_content(self.title, self.body_markdown) == self.content_sha256


class RevisionDiff(db.Model):  # type: ignore[name-defined,misc]
    """The diff of two revisions as readers see it (:func:`signon.letters.rendered_diff.
    marked_revisions`: sanitised HTML and word counts), stored once it is made.

    Revisions never change, so neither does their diff; made in the background when a
    revision is saved (``letters.diff_store``), it saves every later page the diff's cost
    (up to a second for a long letter, and the Changes page shows twenty).
    """

    __tablename__ = "revision_diffs"

    old_revision_id: Mapped[int] = mapped_column(
        ForeignKey("revisions.id", ondelete="CASCADE"), primary_key=True
    )
    new_revision_id: Mapped[int] = mapped_column(
        ForeignKey("revisions.id", ondelete="CASCADE"), primary_key=True
    )
    #: The version of the diff that made it (``rendered_diff.DIFF_VERSION``): an older
    #: one is made again rather than shown.
    version: Mapped[int]
    html: Mapped[str] = mapped_column(Text)
    words_added: Mapped[int]
    words_removed: Mapped[int]

    def __repr__(self) -> str:
        return f"<RevisionDiff {self.old_revision_id}->{self.new_revision_id}>"


class UnresolvedDraft(db.Model):  # type: ignore[name-defined,misc]
    """A text that could not be saved because it conflicted with someone else's edit.

    Kept until its author resolves the conflict, so that nothing typed is lost even
    if they close the browser on the conflict page.
    """

    __tablename__ = "unresolved_drafts"
    __table_args__ = (Index("ix_unresolved_drafts_letter_author", "letter_id", "author_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    base_revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    conflicting_revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    title: Mapped[str] = mapped_column(String(300))
    body_markdown: Mapped[str] = mapped_column(Text)
    change_note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]

    letter: Mapped[Letter] = relationship()
    author: Mapped[User] = relationship()
    base_revision: Mapped[Revision] = relationship(foreign_keys=[base_revision_id])
    conflicting_revision: Mapped[Revision] = relationship(foreign_keys=[conflicting_revision_id])

    def __repr__(self) -> str:
        return f"<UnresolvedDraft {self.id} letter={self.letter_id} author={self.author_id}>"


class Notice(db.Model):  # type: ignore[name-defined,misc]
    """One thing that happened on a letter that its team may want to hear about.

    Written in the transaction of the change it describes (``letters.notices.notify``);
    mailed at once or in the daily digest by each person's choice, and listed as the
    letter's feed. ``summary`` is plain text, escaped wherever it is shown.
    """

    __tablename__ = "notices"
    __table_args__ = (
        # one notice per occasion for what a periodic run may find twice (deadline points)
        UniqueConstraint("letter_id", "dedup_key"),
        Index("ix_notices_letter_id_id", "letter_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    kind: Mapped[NoticeKind] = mapped_column(enum_column(NoticeKind))
    summary: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    dedup_key: Mapped[str | None] = mapped_column(String(120))
    #: A notice addressed to one person (a mention): only they are told, and only they
    #: see it in the feed and their digest. ``None``: the team, by kind and role.
    for_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    letter: Mapped[Letter] = relationship()

    def __repr__(self) -> str:
        return f"<Notice {self.id} letter={self.letter_id} {self.kind}>"

    @staticmethod
    def shown_to(user_id: int | None) -> ColumnElement[bool]:
        """A WHERE clause: notices for the whole team, or addressed to this person."""
        if user_id is None:
            return Notice.for_user_id.is_(None)
        return or_(Notice.for_user_id.is_(None), Notice.for_user_id == user_id)


class LetterNotificationChoice(db.Model):  # type: ignore[name-defined,misc]
    """How a person wants to hear of every notice on one letter, overriding the choices on
    their account page (``accounts.models.NotificationPreference``). No row: those."""

    __tablename__ = "letter_notification_choices"
    __table_args__ = (UniqueConstraint("letter_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    delivery: Mapped[Delivery] = mapped_column(enum_column(Delivery))

    def __repr__(self) -> str:
        who = f"letter={self.letter_id} user={self.user_id}"
        return f"<LetterNotificationChoice {who} {self.delivery}>"


class NoticeDigest(db.Model):  # type: ignore[name-defined,misc]
    """The last daily digest a person was sent: the day and the newest notice it held."""

    __tablename__ = "notice_digests"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    sent_on: Mapped[date]
    last_notice_id: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<NoticeDigest user={self.user_id} {self.sent_on} through={self.last_notice_id}>"


@cache
def _head_statement() -> Select[tuple[Revision]]:
    """:meth:`Letter.head`'s statement (bind parameter ``letter_id``), built once: a public
    sign-on's confirmation reads the head under the letter's lock."""
    return Letter.head_of(bindparam("letter_id"))
