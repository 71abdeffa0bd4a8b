"""Data for the dashboard's tests and benchmark.

Two kinds of builders:

- :func:`every_state`: one organisation in every state the dashboard knows, made
  through the real operations (``assign_new_link``, ``approve``, ``decline``,
  ``withdraw``) so the rows look exactly as production makes them;
- :func:`bulk_signatories`: thousands of organisations in a realistic mix of states,
  inserted with SQLAlchemy Core (``INSERT … RETURNING`` in batches), for the
  query-count test and ``benchmarks/dashboard.py``.

Everything adds and flushes; nothing commits.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from signon.accounts.models import User
from signon.db import utcnow
from signon.extensions import db
from signon.letters.models import ChangeKind, Letter, Revision
from signon.signatures.approvals import operations
from signon.signatures.approvals.operations import SignatoryDetails
from signon.signatures.invitations.links import assign_new_link
from signon.signatures.models import (
    Invitation,
    InvitationStatus,
    Moderation,
    SignatoryKind,
    Signature,
    SignatureEvent,
    SignatureSource,
    SignatureStatus,
)
from signon.signatures.state import SignatoryState
from tests.factories import add_revision, make_letter


def invite(
    letter: Letter,
    name: str,
    email: str | None = None,
    *,
    status: InvitationStatus = InvitationStatus.SENT,
    expires_at: datetime | None = None,
    created_by: User | None = None,
) -> Invitation:
    """An invitation with a real link (``assign_new_link``), in the given status."""
    now = utcnow()
    invitation = Invitation(
        letter=letter,
        organisation_name=name,
        email=email or f"{name.lower().replace(' ', '.')}@example.org",
        status=status,
        expires_at=expires_at or now + timedelta(days=30),
        created_by=created_by,
        sent_at=now if status != InvitationStatus.QUEUED else None,
        opened_at=now if status == InvitationStatus.OPENED else None,
        revoked_at=now if status == InvitationStatus.REVOKED else None,
    )
    assign_new_link(invitation)
    return invitation


def approve_invited(
    letter: Letter,
    invitation: Invitation,
    *,
    name: str | None = None,
    website: str | None = None,
    email: str | None = None,
    **details: Any,
) -> Signature:
    """The invited organisation approves the current text (``operations.approve``)."""
    head = letter.head()
    assert head is not None
    return operations.approve(
        letter,
        head,
        SignatoryDetails(
            name=name or invitation.organisation_name,
            website=website,
            authority_confirmed=True,
            **details,
        ),
        email=email or invitation.email,
        invitation=invitation,
    )


def sign_without_invitation(
    letter: Letter,
    name: str,
    *,
    source: SignatureSource,
    email: str | None = None,
    moderation: Moderation = Moderation.NOT_NEEDED,
    **details: Any,
) -> Signature:
    """A public sign-on or an imported signature of the current text."""
    head = letter.head()
    assert head is not None
    return operations.approve(
        letter,
        head,
        SignatoryDetails(name=name, authority_confirmed=True, **details),
        email=email,
        source=source,
        moderation=moderation,
    )


def classify(revision: Revision, kind: ChangeKind) -> None:
    revision.change_kind = kind
    revision.classified_at = utcnow()
    db.session.flush()


@dataclass(frozen=True)
class EveryState:
    letter: Letter
    #: The organisation's name for each state it illustrates (see :func:`every_state`).
    names: dict[str, str]
    signatures: dict[str, Signature]


#: What :func:`every_state` builds: key → (name, the state its row must show).
EVERY_STATE: dict[str, tuple[str, SignatoryState]] = {
    "current": ("Amnesty International", SignatoryState.APPROVED_CURRENT),
    "unverified": ("Human Rights Watch", SignatoryState.APPROVED_CURRENT),
    "carried": ("Al-Haq", SignatoryState.APPROVED_CURRENT),
    "earlier": ("REDRESS", SignatoryState.APPROVED_EARLIER),
    "withdrawn": ("Institute for Security Studies", SignatoryState.WITHDRAWN),
    "declined": ("No Peace Without Justice", SignatoryState.DECLINED),
    "invited": ("International Justice Project", SignatoryState.INVITED),
    "opened": ("FIDH (International Federation of Human Rights)", SignatoryState.OPENED),
    "no_response": ("Kenyans for Peace with Truth and Justice", SignatoryState.NO_RESPONSE),
    "send_failed": ("Bounced Foundation", SignatoryState.SEND_FAILED),
    "revoked": ("Revoked Network", SignatoryState.REVOKED),
    "pending": ("Öffentliche Initiative", SignatoryState.PENDING_MODERATION),
    "rejected": ("Spam Org", SignatoryState.REJECTED),
    "imported": ("the Moroccan Coalition for the ICC", SignatoryState.APPROVED_CURRENT),
    "tampered": ("the Nigerian Coalition for the ICC", SignatoryState.APPROVED_CURRENT),
}


def every_state(coordinator: User) -> EveryState:
    """A letter with three revisions (2 substantive, 3 editorial) and one organisation in
    every state. Revision 3 is the head.

    - ``earlier`` approved revision 1 (revision 2 is substantive: awaits re-confirmation);
    - ``carried`` approved revision 2 (revision 3 is editorial: still current);
    - ``current`` approved revision 3 with an address of its website's domain;
      ``unverified`` with an address of another domain;
    - ``withdrawn`` approved revision 1 and withdrew; ``declined`` declined;
    - invitations only: ``invited``, ``opened``, ``no_response`` (expired),
      ``send_failed``, ``revoked``;
    - without invitation: ``pending`` (public, awaiting moderation), ``rejected``
      (public, rejected), ``imported`` (no e-mail);
    - ``tampered``: approved revision 3 but its stored hash was altered.
    """
    letter = make_letter(coordinator, title="Cooperation statement", body="One.\n\nTwo.\n")
    names = {key: name for key, (name, _) in EVERY_STATE.items()}
    signatures: dict[str, Signature] = {}
    past = utcnow() - timedelta(days=1)

    def invited(key: str, **kwargs: Any) -> Invitation:
        return invite(letter, names[key], f"{key}@{key}.example.org", **kwargs)

    # revision 1
    signatures["earlier"] = approve_invited(
        letter, invited("earlier"), country="United Kingdom", sort_name="Redress"
    )
    signatures["withdrawn"] = approve_invited(letter, invited("withdrawn"), country="South Africa")
    operations.withdraw(
        signatures["withdrawn"], reason="Board decision", email="withdrawn@withdrawn.example.org"
    )
    rev2 = add_revision(letter, coordinator, "One, substantively changed.\n\nTwo.\n")
    classify(rev2, ChangeKind.SUBSTANTIVE)
    signatures["carried"] = approve_invited(
        letter,
        invited("carried"),
        website="https://carried.example.org",
        country="Palestine",
        kind=SignatoryKind.NGO,
    )
    rev3 = add_revision(letter, coordinator, "One, substantively changed.\n\nTwo, typo fixed.\n")
    classify(rev3, ChangeKind.EDITORIAL)
    signatures["current"] = approve_invited(
        letter,
        invited("current"),
        website="https://www.current.example.org",
        country="United Kingdom",
        kind=SignatoryKind.NETWORK,
    )
    signatures["unverified"] = approve_invited(
        letter,
        invited("unverified"),
        email="someone@gmail.example",
        website="https://unverified.example.org",
        country="United States",
    )
    tampered = approve_invited(letter, invited("tampered"), country="Nigeria")
    tampered.approved_sha256 = "0" * 64
    signatures["tampered"] = tampered
    signatures["declined"] = operations.decline(
        letter, invited("declined"), reason="Not our mandate", email="declined@declined.example.org"
    )
    invited("invited")
    invited("opened", status=InvitationStatus.OPENED)
    invited("no_response", expires_at=past)
    invited("send_failed", status=InvitationStatus.FAILED)
    invited("revoked", status=InvitationStatus.REVOKED)
    signatures["pending"] = sign_without_invitation(
        letter,
        names["pending"],
        source=SignatureSource.PUBLIC,
        email="kontakt@initiative.example.de",
        moderation=Moderation.PENDING,
        country="Deutschland",
    )
    signatures["rejected"] = sign_without_invitation(
        letter,
        names["rejected"],
        source=SignatureSource.PUBLIC,
        email="=cmd|'/c calc'!A1@spam.example",
        moderation=Moderation.REJECTED,
        country="+Nowhere",
    )
    signatures["imported"] = sign_without_invitation(
        letter,
        names["imported"],
        source=SignatureSource.IMPORT,
        sort_name="Moroccan Coalition for the ICC, the",
        country="Morocco",
    )
    db.session.flush()
    return EveryState(letter, names, signatures)


# --- Bulk data (Core inserts) ------------------------------------------------------------

#: The mix of a letter a few weeks into signing: (share, kind of row).
MIX: tuple[tuple[float, str], ...] = (
    (0.47, "approved_current"),
    (0.08, "approved_carried"),  # approved revision 2; revision 3 is editorial
    (0.10, "approved_earlier"),  # approved revision 1; revision 2 is substantive
    (0.04, "declined"),
    (0.03, "withdrawn"),
    (0.12, "invited"),
    (0.06, "opened"),
    (0.04, "no_response"),
    (0.01, "send_failed"),
    (0.01, "revoked"),
    (0.02, "pending"),
    (0.01, "rejected"),
    (0.01, "imported"),
)

_WORDS = (
    "Human Rights",
    "Justice",
    "Peace",
    "Droits de l'Homme",
    "Derechos Humanos",
    "Права человека",
    "Δικαιοσύνη",
    "حقوق الإنسان",
    "Solidarität",
    "Women's Rights",
    "Environment",
    "Children",
)
_COUNTRIES = (
    "Kenya",
    "France",
    "Argentina",
    "Morocco",
    "Nigeria",
    "Ukraine",
    "Greece",
    "Palestine",
    "Germany",
    "Brazil",
    "India",
    "Indonesia",
    None,
)
_KINDS = tuple(SignatoryKind)
BATCH = 1000


def three_revision_letter(coordinator: User, **fields: Any) -> Letter:
    """A letter whose revision 2 is substantive and revision 3 (the head) editorial."""
    letter = make_letter(coordinator, body="One.\n\nTwo.\n", **fields)
    rev2 = add_revision(letter, coordinator, "One, changed.\n\nTwo.\n")
    classify(rev2, ChangeKind.SUBSTANTIVE)
    rev3 = add_revision(letter, coordinator, "One, changed.\n\nTwo, fixed.\n")
    classify(rev3, ChangeKind.EDITORIAL)
    return letter


def _insert_returning_ids(table: Any, rows: Sequence[dict[str, Any]]) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(rows), BATCH):
        result = db.session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True),
            rows[start : start + BATCH],
        )
        ids.extend(row[0] for row in result)
    return ids


def _insert(table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(table), rows[start : start + BATCH])


def bulk_signatories(
    letter: Letter, count: int, *, seed: int = 1, days: int = 120, prefix: str = ""
) -> dict[str, int]:
    """``count`` organisations on ``letter`` in the :data:`MIX` of states; returns the
    number of rows of each kind.

    The letter needs three revisions (:func:`three_revision_letter`). Approvals are
    spread over the last ``days`` days, with their signature events (a fifth of the
    current approvals re-confirmed an earlier approval), so the chart has a history.
    """
    revisions = sorted(
        db.session.scalars(select(Revision).where(Revision.letter_id == letter.id)),
        key=lambda r: r.number,
    )
    assert len(revisions) >= 3, "use three_revision_letter()"
    rev1, rev2, head = revisions[0], revisions[1], revisions[-1]
    rng = random.Random(seed)
    now = utcnow()
    shares = [share for share, _ in MIX]
    kinds = rng.choices([kind for _, kind in MIX], weights=shares, k=count)
    tally: dict[str, int] = {}
    invitation_rows: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []
    for i, kind in enumerate(kinds):
        tally[kind] = tally.get(kind, 0) + 1
        name = f"{prefix}{rng.choice(_WORDS)} Organisation {i:05d}"
        domain = f"org{i:05d}.example.org"
        email = f"contact@{domain}" if rng.random() < 0.8 else f"org{i:05d}@mail.example.com"
        started = now - timedelta(days=rng.uniform(1, days), minutes=rng.uniform(0, 600))
        plan: dict[str, Any] = {
            "kind": kind,
            "name": name,
            "email": email,
            "domain": domain,
            "at": started,
        }
        plans.append(plan)
        if kind in ("pending", "rejected", "imported"):
            continue
        invitation_status = {
            "opened": InvitationStatus.OPENED,
            "send_failed": InvitationStatus.FAILED,
            "revoked": InvitationStatus.REVOKED,
            "declined": InvitationStatus.DECLINED,
            "withdrawn": InvitationStatus.WITHDRAWN,
            "invited": InvitationStatus.SENT,
            "no_response": InvitationStatus.SENT,
        }.get(kind, InvitationStatus.APPROVED)
        plan["invitation_index"] = len(invitation_rows)
        invitation_rows.append(
            {
                "letter_id": letter.id,
                "organisation_name": name,
                "email": email,
                "link_nonce": secrets.token_hex(16),
                "token_hash": secrets.token_hex(32),
                "status": invitation_status,
                "created_at": started,
                "expires_at": now - timedelta(days=1)
                if kind == "no_response"
                else now + timedelta(days=30),
                "sent_at": started,
                "send_attempts": 1,
                "opened_at": started if kind == "opened" else None,
                "revoked_at": now if kind == "revoked" else None,
                "last_activity_at": started,
            }
        )
    invitation_ids = _insert_returning_ids(Invitation.__table__, invitation_rows)

    signature_rows: list[dict[str, Any]] = []
    signed: list[dict[str, Any]] = []
    for plan in plans:
        kind = plan["kind"]
        if kind in ("invited", "opened", "no_response", "send_failed", "revoked"):
            continue
        approved = {
            "approved_current": head,
            "approved_carried": rev2,
            "approved_earlier": rev1,
            "withdrawn": rev1,
            "pending": head,
            "rejected": head,
            "imported": head,
        }.get(kind)
        at = plan["at"] + timedelta(hours=rng.uniform(1, 72))
        at = min(at, now)
        invitation_index = plan.get("invitation_index")
        status = {
            "declined": SignatureStatus.DECLINED,
            "withdrawn": SignatureStatus.WITHDRAWN,
        }.get(kind, SignatureStatus.APPROVED)
        email = None if kind == "imported" else plan["email"]
        signature_rows.append(
            {
                "letter_id": letter.id,
                "invitation_id": invitation_ids[invitation_index]
                if invitation_index is not None
                else None,
                "source": {
                    "pending": SignatureSource.PUBLIC,
                    "rejected": SignatureSource.PUBLIC,
                    "imported": SignatureSource.IMPORT,
                }.get(kind, SignatureSource.INVITATION),
                "status": status,
                "moderation": {
                    "pending": Moderation.PENDING,
                    "rejected": Moderation.REJECTED,
                }.get(kind, Moderation.NOT_NEEDED),
                "name": plan["name"],
                "name_key": Signature.key_for(plan["name"]),
                "sort_name": None,
                "country": rng.choice(_COUNTRIES),
                "kind": rng.choice(_KINDS),
                "representative_name": "A. Representative",
                "representative_title": "Director",
                "website": f"https://{plan['domain']}",
                "email": email,
                "domain_verified": bool(email and email.endswith("@" + plan["domain"])),
                "authority_confirmed": True,
                "revision_id": approved.id if approved is not None else None,
                "approved_sha256": approved.content_sha256 if approved is not None else None,
                "approved_at": at if approved is not None else None,
                "withdrawn_at": now if kind == "withdrawn" else None,
                "last_activity_at": at,
                "created_at": at,
                "updated_at": at,
            }
        )
        signed.append({"kind": kind, "at": at, "approved": approved, "email": email})
    signature_ids = _insert_returning_ids(Signature.__table__, signature_rows)

    event_rows: list[dict[str, Any]] = []
    for signature_id, sig in zip(signature_ids, signed, strict=True):
        approved, at, kind = sig["approved"], sig["at"], sig["kind"]
        if kind == "declined":
            event_rows.append(_event(signature_id, "declined", head.id, sig["email"], at))
            continue
        if kind == "approved_current" and rng.random() < 0.2:
            first = at - timedelta(days=rng.uniform(1, 10))
            event_rows.append(_event(signature_id, "approved", rev1.id, sig["email"], first))
        event_rows.append(_event(signature_id, "approved", approved.id, sig["email"], at))
        if kind == "withdrawn":
            later = min(now, at + timedelta(days=rng.uniform(1, 20)))
            event_rows.append(_event(signature_id, "withdrawn", approved.id, sig["email"], later))
    _insert(SignatureEvent.__table__, event_rows)
    db.session.flush()
    return tally


def _event(
    signature_id: int, action: str, revision_id: int, email: str | None, at: datetime
) -> dict[str, Any]:
    return {
        "signature_id": signature_id,
        "action": action,
        "revision_id": revision_id,
        "email": email,
        "details": {},
        "created_at": at,
    }


#: The state each kind of bulk row shows on the dashboard.
BULK_STATES: dict[str, SignatoryState] = {
    "approved_current": SignatoryState.APPROVED_CURRENT,
    "approved_carried": SignatoryState.APPROVED_CURRENT,
    "approved_earlier": SignatoryState.APPROVED_EARLIER,
    "declined": SignatoryState.DECLINED,
    "withdrawn": SignatoryState.WITHDRAWN,
    "invited": SignatoryState.INVITED,
    "opened": SignatoryState.OPENED,
    "no_response": SignatoryState.NO_RESPONSE,
    "send_failed": SignatoryState.SEND_FAILED,
    "revoked": SignatoryState.REVOKED,
    "pending": SignatoryState.PENDING_MODERATION,
    "rejected": SignatoryState.REJECTED,
    "imported": SignatoryState.APPROVED_CURRENT,
}
