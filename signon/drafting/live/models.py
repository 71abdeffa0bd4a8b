"""The stored live document of a letter: a compacted snapshot and the updates after it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signon.accounts.models import User
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter, Revision


class LiveDocument(db.Model):  # type: ignore[name-defined,misc]
    """One per letter being (or once) edited live; its row is the lock of saves.

    The document is ``snapshot`` (one Yjs update) plus every :class:`LiveUpdate` row of
    the letter: the rows are the updates not yet in a revision. It was seeded from, and
    is saved against, ``base_revision``. A save merges the rows it read into the
    snapshot and deletes exactly those (Yjs updates are idempotent and commute, so a row
    that another server commits meanwhile stays, and nothing depends on the order).
    """

    __tablename__ = "live_documents"

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True
    )
    base_revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    snapshot: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    letter: Mapped[Letter] = relationship()
    base_revision: Mapped[Revision] = relationship()

    def __repr__(self) -> str:
        return f"<LiveDocument letter={self.letter_id} base={self.base_revision_id}>"


class LiveUpdate(db.Model):  # type: ignore[name-defined,misc]
    """One accepted Yjs update, in its own short transaction, with who sent it.

    ``author`` is None for the server's own updates (a merge with the classic editor).
    """

    __tablename__ = "live_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(
        ForeignKey("live_documents.letter_id", ondelete="CASCADE"), index=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<LiveUpdate {self.id} letter={self.letter_id} bytes={len(self.data)}>"
