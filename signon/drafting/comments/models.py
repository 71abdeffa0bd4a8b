"""Comment threads on a passage, their comments, and each letter's comment settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signon.accounts.models import User
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter, Revision
from signon.signatures.models import Invitation


class CommentThread(db.Model):  # type: ignore[name-defined,misc]
    """A discussion of one passage of the text.

    The passage is ``[anchor_start, anchor_end)`` of ``anchor_revision``'s Markdown body,
    holding ``quote``; saving a revision carries it there. When its words are deleted,
    ``removed_in`` is the revision that deleted them and ``quote`` keeps the old text.
    """

    __tablename__ = "comment_threads"
    __table_args__ = (Index("ix_comment_threads_letter_id_id", "letter_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    #: ``None``: a thread of the drafting team; else the invited organisation's own.
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), index=True
    )
    started_on_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    anchor_revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    anchor_start: Mapped[int | None]
    anchor_end: Mapped[int | None]
    quote: Mapped[str] = mapped_column(Text)
    removed_in_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Set when the invited organisation resolved its own thread (through its link).
    resolved_by_invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="SET NULL")
    )

    letter: Mapped[Letter] = relationship()
    invitation: Mapped[Invitation | None] = relationship(foreign_keys=[invitation_id])
    started_on: Mapped[Revision] = relationship(foreign_keys=[started_on_id])
    anchor_revision: Mapped[Revision] = relationship(foreign_keys=[anchor_revision_id])
    removed_in: Mapped[Revision | None] = relationship(foreign_keys=[removed_in_id])
    resolved_by: Mapped[User | None] = relationship()
    comments: Mapped[list[Comment]] = relationship(
        back_populates="thread", cascade="all, delete-orphan", order_by="Comment.id"
    )

    def __repr__(self) -> str:
        return f"<CommentThread {self.id} letter={self.letter_id}>"

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def resolver_name(self) -> str | None:
        """Who resolved it, as the page says: the person, or the invited organisation."""
        if self.resolved_by is not None:
            return self.resolved_by.display_name
        if self.resolved_by_invitation_id is not None and self.invitation is not None:
            return self.invitation.organisation_name
        return None

    @property
    def passage_removed(self) -> bool:
        return self.removed_in_id is not None


class Comment(db.Model):  # type: ignore[name-defined,misc]
    """One comment of a thread: by a person on the team, or by an invited organisation.

    ``body`` is plain text as typed (escaped wherever it is shown, never rendered as HTML).
    """

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("comment_threads.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Set when the invited organisation wrote it (through its link, without an account).
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE")
    )
    #: The name shown, as it was when written.
    author_name: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    thread: Mapped[CommentThread] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Comment {self.id} thread={self.thread_id}>"


class CommentSettings(db.Model):  # type: ignore[name-defined,misc]
    """A letter's choices about comments; no row: the defaults (all off)."""

    __tablename__ = "comment_settings"

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True
    )
    #: Invited organisations may comment while this revision is the current text.
    invitees_revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id"))
    #: Comments stay open while the text is frozen for signature.
    on_frozen: Mapped[bool] = mapped_column(default=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    invitees_revision: Mapped[Revision | None] = relationship()

    def __repr__(self) -> str:
        return f"<CommentSettings letter={self.letter_id}>"
