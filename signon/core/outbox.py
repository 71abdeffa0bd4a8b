"""The mail outbox: every e-mail is a row written in the transaction that caused it.

A request (or a CLI command) that changes something and mails about it writes the
message here with the change, in the same transaction: a rolled-back request leaves
no message, a committed one always has its message recorded. After the commit the
request tries to send it at once; whatever could not be sent stays here (with the
server's answer) until ``flask --app signon send-mail`` sends it, with back-off, or a
coordinator presses "retry now" on the letter's mail page.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from signon.db import Base, utcnow


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_unsent", "sent_at", "next_attempt_at"),
        # a sender finds the messages it claimed by their token: without it, a full scan
        Index("ix_outbox_messages_claim_token", "claim_token"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The letter the message is about, when there is one (for the coordinators' view).
    letter_id: Mapped[int | None] = mapped_column(
        ForeignKey("letters.id", ondelete="SET NULL"), index=True
    )
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: How many times sending was tried (successful or not).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: The mail server's answer to the last failed attempt.
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]
    #: Not tried again before this moment (back-off); ``None``: as soon as possible.
    next_attempt_at: Mapped[datetime | None]
    #: A sender took the message: nobody else sends it until it is done or the claim expires.
    claimed_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(64))

    @property
    def failed(self) -> bool:
        return self.sent_at is None and self.attempts > 0
