"""Export settings per letter, and export records: exactly what went into each PDF."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from signon.accounts.models import User
from signon.db import TimestampMixin, enum_column, utcnow
from signon.extensions import db
from signon.letters.models import Letter, Revision


class Layout(enum.StrEnum):
    STATEMENT = "statement"
    LETTER = "letter"


class PageSize(enum.StrEnum):
    A4 = "A4"
    LETTER = "Letter"


class ExportStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportSettings(TimestampMixin, db.Model):  # type: ignore[name-defined,misc]
    """How a letter is exported (one row per letter; defaults until a coordinator changes them)."""

    __tablename__ = "export_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), unique=True
    )
    layout: Mapped[Layout] = mapped_column(enum_column(Layout), default=Layout.STATEMENT)
    page_size: Mapped[PageSize] = mapped_column(enum_column(PageSize), default=PageSize.A4)
    audit_page: Mapped[bool] = mapped_column(default=False)
    #: Everything else (ordering, grouping, tiers, Cc, columns, ...), validated by its form.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    letter: Mapped[Letter] = relationship()


class ExportRecord(db.Model):  # type: ignore[name-defined,misc]
    """One export: who, when, which revision, which signatures, and the file's hash.

    The PDF itself is kept (under the instance folder) so that the exact same file
    can be downloaded again later.
    """

    __tablename__ = "export_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[ExportStatus] = mapped_column(
        enum_column(ExportStatus), default=ExportStatus.PENDING
    )
    progress: Mapped[int] = mapped_column(default=0)  # percent
    error: Mapped[str | None] = mapped_column(Text)
    layout: Mapped[Layout] = mapped_column(enum_column(Layout))
    #: The settings used, frozen at export time.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    revision_sha256: Mapped[str] = mapped_column(String(64))
    #: The signature ids listed, in the printed order.
    signature_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    signatures_sha256: Mapped[str] = mapped_column(String(64))
    #: A fingerprint of every input (text, signatures, settings): equal means same PDF.
    input_sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: "pdf", or "docx" for the editable Word file (made on the spot, recorded the same way).
    file_format: Mapped[str] = mapped_column(String(8), default="pdf", server_default="pdf")
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(120))
    page_count: Mapped[int | None]
    duration_ms: Mapped[int | None]
    finished_at: Mapped[datetime | None]

    letter: Mapped[Letter] = relationship()
    revision: Mapped[Revision] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def is_word(self) -> bool:
        return self.file_format == "docx"

    def __repr__(self) -> str:
        return (
            f"<ExportRecord {self.id} letter={self.letter_id} rev={self.revision_id} {self.status}>"
        )
