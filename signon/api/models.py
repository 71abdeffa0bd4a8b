"""The API's own table: read-only tokens, one letter each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signon.accounts.models import User
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import Letter


class ApiToken(db.Model):  # type: ignore[name-defined,misc]
    """A read-only API token for one letter, created and revoked by a coordinator."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters, shown so that coordinators can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    letter: Mapped[Letter] = relationship()
    created_by: Mapped[User | None] = relationship()
