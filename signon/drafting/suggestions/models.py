"""A suggested change of a letter's text: a passage of one revision and its replacement."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signon.accounts.models import User
from signon.db import enum_column, utcnow
from signon.drafting.anchors import Passage
from signon.extensions import db
from signon.letters.models import Letter, Revision


class SuggestionState(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    #: its words changed (or went) since its base revision: never applied to other words
    OUTDATED = "outdated"
    #: its author took it back before anyone decided
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class SuggestionTarget(enum.StrEnum):
    """What a suggestion changes: a passage of the text, or the letter's title (a
    revision holds both; the title is one line, suggested whole)."""

    BODY = "body"
    TITLE = "title"


class Suggestion(db.Model):  # type: ignore[name-defined,misc]
    """``quote`` (``base_revision``'s body from ``start`` to ``end``) to be replaced by
    ``replacement``. A pure insertion quotes the word before it (or after it, at the
    very start), so that it has words to be anchored by. A title suggestion
    (``target`` TITLE) quotes the base revision's whole title."""

    __tablename__ = "suggestions"
    __table_args__ = (Index("ix_suggestions_letter_state", "letter_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"))
    base_revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    start: Mapped[int]
    end: Mapped[int]
    quote: Mapped[str] = mapped_column(Text)
    replacement: Mapped[str] = mapped_column(Text)
    target: Mapped[SuggestionTarget] = mapped_column(
        enum_column(SuggestionTarget), default=SuggestionTarget.BODY, server_default="body"
    )
    state: Mapped[SuggestionState] = mapped_column(
        enum_column(SuggestionState), default=SuggestionState.OPEN
    )
    #: why it was flagged outdated, for the people deciding
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    #: the revision its acceptance made
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revisions.id", ondelete="SET NULL"))

    letter: Mapped[Letter] = relationship()
    base_revision: Mapped[Revision] = relationship(foreign_keys=[base_revision_id])
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    revision: Mapped[Revision | None] = relationship(foreign_keys=[revision_id])

    @property
    def passage(self) -> Passage:
        return Passage(self.start, self.end, self.quote)

    @property
    def is_title(self) -> bool:
        return self.target == SuggestionTarget.TITLE

    @property
    def author_name(self) -> str:
        return self.author.display_name if self.author is not None else "A former member"

    def __repr__(self) -> str:
        return f"<Suggestion {self.id} letter={self.letter_id} {self.state.value}>"
