"""Where each organisation stands: signon.signatures.state.coverage() and state_of().

Most cases use unsaved model objects (the functions are pure); the last ones build
real rows through the operations, so that the derived state is checked end to end.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from signon.db import utcnow
from signon.letters import queries
from signon.letters.models import ChangeKind, Revision
from signon.signatures.approvals.operations import withdraw
from signon.signatures.models import (
    Invitation,
    InvitationStatus,
    Moderation,
    Signature,
    SignatureStatus,
)
from signon.signatures.state import Coverage, SignatoryState, coverage, state_of
from tests.factories import add_revision, make_letter, make_user
from tests.signatures.factories import approve_through, classify, make_invitation

E, S = ChangeKind.EDITORIAL, ChangeKind.SUBSTANTIVE
NOW = utcnow()


def revisions(*kinds: ChangeKind | None) -> list[Revision]:
    """Revision 1, then one revision per kind (None: not classified yet)."""
    first = Revision(number=1, change_kind=None)
    return [first] + [Revision(number=n, change_kind=k) for n, k in enumerate(kinds, start=2)]


def invitation(status: InvitationStatus = InvitationStatus.SENT, **fields) -> Invitation:
    fields.setdefault("expires_at", NOW + timedelta(days=3))
    return Invitation(status=status, **fields)


def signature(
    status: SignatureStatus = SignatureStatus.APPROVED,
    moderation: Moderation = Moderation.NOT_NEEDED,
) -> Signature:
    return Signature(status=status, moderation=moderation)


# --- coverage() ------------------------------------------------------------------------


def test_coverage_of_a_single_revision() -> None:
    cover = coverage(revisions())
    assert cover == Coverage(target_number=1, floor=1, unclassified=())
    assert cover.covers(1)
    assert not cover.covers(None)


def test_coverage_of_no_revision_covers_nothing() -> None:
    cover = coverage([])
    assert not cover.covers(1) and not cover.covers(None)


def test_a_substantive_revision_raises_the_floor() -> None:
    cover = coverage(revisions(E, S, E))  # 2 editorial, 3 substantive, 4 editorial
    assert (cover.target_number, cover.floor) == (4, 3)
    assert [n for n in range(1, 5) if cover.covers(n)] == [3, 4]


def test_an_unclassified_revision_counts_as_not_editorial() -> None:
    cover = coverage(revisions(E, None, E))
    assert cover.floor == 3
    assert cover.unclassified == (3,)
    assert not cover.covers(2) and cover.covers(3)


def test_editorial_changes_carry_an_approval_across_several_revisions() -> None:
    cover = coverage(revisions(E, E, E, E))
    assert cover.floor == 1
    assert all(cover.covers(n) for n in range(1, 6))


def test_coverage_ignores_the_order_it_is_given() -> None:
    assert coverage(list(reversed(revisions(S, E)))) == coverage(revisions(S, E))


def test_coverage_of_an_earlier_target_ignores_later_revisions() -> None:
    revs = revisions(E, S, None)
    cover = coverage(revs, target_number=2)
    assert (cover.target_number, cover.floor, cover.unclassified) == (2, 1, ())
    assert cover.covers(1) and cover.covers(2)
    assert not cover.covers(3), "an approval of a later revision does not cover an earlier one"


def test_unclassified_lists_only_revisions_up_to_the_target() -> None:
    assert coverage(revisions(None, E, None)).unclassified == (2, 4)
    assert coverage(revisions(None, E, None), target_number=3).unclassified == (2,)


# --- state_of() -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kinds", "approved", "expected"),
    [
        ((), 1, SignatoryState.APPROVED_CURRENT),
        ((S,), 2, SignatoryState.APPROVED_CURRENT),
        ((S,), 1, SignatoryState.APPROVED_EARLIER),
        ((None,), 1, SignatoryState.APPROVED_EARLIER),
        ((E, E, E), 1, SignatoryState.APPROVED_CURRENT),
        ((E, S, E), 1, SignatoryState.APPROVED_EARLIER),
        ((E, S, E), 3, SignatoryState.APPROVED_CURRENT),
        ((E, None, E), 2, SignatoryState.APPROVED_EARLIER),
    ],
    ids=[
        "only revision",
        "approved the substantive head",
        "substantive since",
        "unclassified since",
        "editorial carry-forward",
        "substantive among editorial",
        "approved after the substantive change",
        "unclassified among editorial",
    ],
)
def test_approvals(
    kinds: tuple[ChangeKind | None, ...], approved: int, expected: SignatoryState
) -> None:
    cover = coverage(revisions(*kinds))
    assert state_of(signature(), invitation(), approved, cover, now=NOW) == expected
    # an approval needs no invitation (public sign-on, imports)
    assert state_of(signature(), None, approved, cover, now=NOW) == expected


def test_approval_without_a_known_revision_is_not_current() -> None:
    cover = coverage(revisions())
    assert state_of(signature(), None, None, cover, now=NOW) == SignatoryState.APPROVED_EARLIER


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (SignatureStatus.DECLINED, SignatoryState.DECLINED),
        (SignatureStatus.WITHDRAWN, SignatoryState.WITHDRAWN),
    ],
)
def test_declined_and_withdrawn(status: SignatureStatus, expected: SignatoryState) -> None:
    cover = coverage(revisions())
    # the signature wins over the invitation's own state, even an expired one
    expired = invitation(expires_at=NOW - timedelta(days=1))
    assert state_of(signature(status), expired, 1, cover, now=NOW) == expected


@pytest.mark.parametrize(
    ("moderation", "status", "expected"),
    [
        (Moderation.PENDING, SignatureStatus.APPROVED, SignatoryState.PENDING_MODERATION),
        (Moderation.REJECTED, SignatureStatus.APPROVED, SignatoryState.REJECTED),
        (Moderation.ACCEPTED, SignatureStatus.APPROVED, SignatoryState.APPROVED_CURRENT),
        (Moderation.ACCEPTED, SignatureStatus.WITHDRAWN, SignatoryState.WITHDRAWN),
    ],
)
def test_moderation(
    moderation: Moderation, status: SignatureStatus, expected: SignatoryState
) -> None:
    cover = coverage(revisions())
    assert state_of(signature(status, moderation), None, 1, cover, now=NOW) == expected


@pytest.mark.parametrize(
    ("status", "expires_in", "expected"),
    [
        (InvitationStatus.QUEUED, 3, SignatoryState.INVITED),
        (InvitationStatus.SENT, 3, SignatoryState.INVITED),
        (InvitationStatus.OPENED, 3, SignatoryState.OPENED),
        (InvitationStatus.SENT, -1, SignatoryState.NO_RESPONSE),
        (InvitationStatus.OPENED, -1, SignatoryState.NO_RESPONSE),
        (InvitationStatus.REVOKED, 3, SignatoryState.REVOKED),
        (InvitationStatus.REVOKED, -1, SignatoryState.REVOKED),
        (InvitationStatus.FAILED, 3, SignatoryState.SEND_FAILED),
        (InvitationStatus.FAILED, -1, SignatoryState.SEND_FAILED),
    ],
)
def test_invitations_without_an_answer(
    status: InvitationStatus, expires_in: int, expected: SignatoryState
) -> None:
    cover = coverage(revisions())
    row = invitation(status, expires_at=NOW + timedelta(days=expires_in))
    assert state_of(None, row, None, cover, now=NOW) == expected


def test_expiry_is_judged_at_the_given_time() -> None:
    cover = coverage(revisions())
    row = invitation(expires_at=NOW + timedelta(hours=1))
    assert state_of(None, row, None, cover, now=NOW) == SignatoryState.INVITED
    later = NOW + timedelta(hours=2)
    assert state_of(None, row, None, cover, now=later) == SignatoryState.NO_RESPONSE


def test_every_state_has_a_label() -> None:
    assert all(state.label for state in SignatoryState)


# --- End to end, with real rows -------------------------------------------------------------


@pytest.mark.usefixtures("app_context")
def test_states_follow_real_approvals_and_classifications() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator, body="We call on the States.\n")
    early = make_invitation(letter)
    late = make_invitation(letter)
    quitter = make_invitation(letter)
    silent = make_invitation(letter)
    early_sig = approve_through(early)
    quitter_sig = approve_through(quitter)
    withdraw(quitter_sig, reason="Changed our mind", email=quitter.email)
    r2 = add_revision(letter, coordinator, "We call upon the States.\n")
    late_sig = approve_through(late)
    r3 = add_revision(letter, coordinator, "We call upon all States.\n")

    def states() -> dict[str, SignatoryState]:
        revs = queries.revisions_of(letter)
        cover = coverage(revs)
        numbers = {r.id: r.number for r in revs}
        return {
            "early": state_of(early_sig, early, numbers[early_sig.revision_id], cover),
            "late": state_of(late_sig, late, numbers[late_sig.revision_id], cover),
            "quitter": state_of(quitter_sig, quitter, numbers[quitter_sig.revision_id], cover),
            "silent": state_of(None, silent, None, cover),
        }

    assert states() == {
        "early": SignatoryState.APPROVED_EARLIER,  # revisions 2 and 3 unclassified
        "late": SignatoryState.APPROVED_EARLIER,  # revision 3 unclassified
        "quitter": SignatoryState.WITHDRAWN,
        "silent": SignatoryState.INVITED,
    }
    classify(r3, E)
    assert states()["late"] == SignatoryState.APPROVED_CURRENT
    assert states()["early"] == SignatoryState.APPROVED_EARLIER
    classify(r2, E)
    assert states()["early"] == SignatoryState.APPROVED_CURRENT
    classify(r2, S)
    assert states()["early"] == SignatoryState.APPROVED_EARLIER
    assert states()["late"] == SignatoryState.APPROVED_CURRENT
