"""Withdrawals after the list was final: recorded, and a task for the coordinators.

An organisation can always withdraw its approval (see the invitation link), also
after signing closed, after the deadline or after publication. By then the
coordinators may already have sent or printed the list, so such a withdrawal is
flagged (a :class:`SignatureEvent` ``withdrawal_needs_action``) and shown on the
dashboard until a coordinator acknowledges it (``withdrawal_acknowledged``, audited).
A later withdrawal of the same signature (after re-approving) is flagged again.
Add and flush only.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from signon.accounts.models import User
from signon.audit.operations import record_event
from signon.core.locks import lock_row
from signon.extensions import db
from signon.letters.models import Letter, LetterStatus
from signon.signatures.models import Signature, SignatureEvent, SignatureStatus

#: SignatureEvent actions.
NEEDS_ACTION = "withdrawal_needs_action"
ACKNOWLEDGED = "withdrawal_acknowledged"
#: Audit action of the acknowledgement.
AUDIT_ACKNOWLEDGED = "signature.withdrawal_acknowledged"


def list_is_final(letter: Letter) -> bool:
    """Signing closed, the deadline passed or the letter is published: the list may be in use."""
    return letter.status in (LetterStatus.CLOSED, LetterStatus.PUBLISHED) or letter.is_past_deadline


def flag_if_late(signature: Signature, letter: Letter, email: str | None) -> bool:
    """Called by every withdrawal: flag it when the list was already final."""
    if not list_is_final(letter):
        return False
    db.session.add(
        SignatureEvent(
            signature=signature,
            action=NEEDS_ACTION,
            revision_id=signature.revision_id,
            email=email,
            details={"letter_status": letter.status.value},
        )
    )
    return True


def _unacknowledged() -> ColumnElement[bool]:
    """WHERE clause: the signature has a flag with no acknowledgement after it."""
    flag = aliased(SignatureEvent)
    ack = aliased(SignatureEvent)
    return exists(
        select(flag.id).where(
            flag.signature_id == Signature.id,
            flag.action == NEEDS_ACTION,
            ~exists(
                select(ack.id).where(
                    and_(
                        ack.signature_id == Signature.id,
                        ack.action == ACKNOWLEDGED,
                        ack.id > flag.id,
                    )
                )
            ),
        )
    )


def needing_action(letter: Letter) -> list[Signature]:
    """Withdrawn signatures of the letter whose late withdrawal nobody acknowledged (1 query)."""
    return list(
        db.session.scalars(
            select(Signature)
            .where(
                Signature.letter_id == letter.id,
                Signature.status == SignatureStatus.WITHDRAWN,
                _unacknowledged(),
            )
            .order_by(Signature.withdrawn_at, Signature.id)
        )
    )


def acknowledge(signature: Signature, user: User) -> bool:
    """The coordinator has dealt with it (e.g. corrected a sent list). False if nothing to do.

    The signature's row is locked first, so that two coordinators acknowledging at once
    record it once: the second sees the first's acknowledgement once the first commits.
    """
    lock_row(Signature, signature.id)
    pending = db.session.scalar(
        select(Signature.id).where(Signature.id == signature.id, _unacknowledged())
    )
    if pending is None or signature.status != SignatureStatus.WITHDRAWN:
        return False
    db.session.add(
        SignatureEvent(
            signature=signature,
            action=ACKNOWLEDGED,
            revision_id=signature.revision_id,
            email=user.email,
        )
    )
    record_event(
        AUDIT_ACKNOWLEDGED,
        letter_id=signature.letter_id,
        actor=user,
        signature=signature.name,
        withdrawn_at=signature.withdrawn_at.isoformat() if signature.withdrawn_at else None,
    )
    db.session.flush()
    return True
