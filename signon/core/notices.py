"""What the team is told about a letter: the kinds of notice, and how each can be delivered.

A *notice* is one thing that happened on a letter that its team may want to hear about
(an approval, a withdrawal, a change waiting to be classified...). Notices are rows of
``letters.models.Notice``, written in the transaction of the change they describe;
``letters.notices`` mails them at once or in the daily digest, following each person's
choice (``accounts.models.NotificationPreference``), and shows them as the letter's feed.

The kinds and their rules live here, at the bottom, because three layers need them:
accounts (the choice on the account page), letters (the table, the mail) and the
features that record them.
"""

from __future__ import annotations

import enum

from signon.core.permissions import Action, TeamRole, letter_role_allows


class NoticeKind(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    PUBLIC_PENDING = "public_pending"
    CHANGE_WAITING = "change_waiting"
    DEADLINE_NEAR = "deadline_near"
    MAIL_FAILED = "mail_failed"
    #: Someone wrote @name of this person in a comment: addressed to them alone.
    MENTIONED = "mentioned"
    #: An invited organisation commented on the text (through its invitation link).
    INVITEE_COMMENTED = "invitee_commented"
    SUGGESTED = "suggested"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def action(self) -> Action:
        """What a person's role must allow for them to see notices of this kind."""
        return _ACTIONS.get(self, Action.LETTER_VIEW)

    @property
    def blocks_freeze(self) -> bool:
        """A change waiting for classification keeps the text from being frozen."""
        return self == NoticeKind.CHANGE_WAITING


_LABELS = {
    NoticeKind.APPROVED: "Approvals",
    NoticeKind.DECLINED: "Declines",
    NoticeKind.WITHDRAWN: "Withdrawals",
    NoticeKind.PUBLIC_PENDING: "Public sign-ons waiting for moderation",
    NoticeKind.CHANGE_WAITING: "Changes waiting for classification",
    NoticeKind.DEADLINE_NEAR: "Deadlines near",
    NoticeKind.MAIL_FAILED: "Mail that could not be delivered",
    NoticeKind.MENTIONED: "Mentions of you in comments",
    NoticeKind.INVITEE_COMMENTED: "Comments from invited organisations",
    NoticeKind.SUGGESTED: "Suggested changes waiting for a decision",
}

#: Kinds that only some roles may see (the others: everyone on the team). A notice
#: tells no more than the page that shows the same thing, so each kind's action is the
#: one that page's route checks (tests/signatures/test_notices.py holds them together):
#: a role that may not open "Who has signed" or "Invitations" is not told who approved,
#: declined (and why) or withdrew either, by the feed or by mail.
_ACTIONS = {
    # the invitees' answers, with names and reasons: "Who has signed", "Invitations"
    NoticeKind.APPROVED: Action.INVITATION_SEND,
    NoticeKind.DECLINED: Action.INVITATION_SEND,
    NoticeKind.WITHDRAWN: Action.INVITATION_SEND,
    NoticeKind.PUBLIC_PENDING: Action.SIGNATURE_MODERATE,  # "Public sign-on"
    NoticeKind.MAIL_FAILED: Action.LETTER_MANAGE,  # "Mail problems"
    # those who accept or reject them
    NoticeKind.SUGGESTED: Action.LETTER_EDIT,
}


class Delivery(enum.StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"
    OFF = "off"

    @property
    def label(self) -> str:
        return {
            Delivery.IMMEDIATE: "Immediately",
            Delivery.DIGEST: "In the daily digest",
            Delivery.OFF: "Not at all",
        }[self]


def default_delivery(kind: NoticeKind, role: TeamRole | None) -> Delivery:
    """Without a choice of their own: coordinators get the daily digest, plus an
    immediate mail for withdrawals and for what blocks a freeze; other members nothing
    (they choose on their account page). A mention is addressed to one person, who is told
    at once whatever their role."""
    if kind == NoticeKind.MENTIONED and role is not None:
        return Delivery.IMMEDIATE
    if role != TeamRole.COORDINATOR:
        return Delivery.OFF
    if kind == NoticeKind.WITHDRAWN or kind.blocks_freeze:
        return Delivery.IMMEDIATE
    return Delivery.DIGEST


def delivery_for(
    kind: NoticeKind,
    role: TeamRole | None,
    chosen: Delivery | None,
    for_letter: Delivery | None = None,
) -> Delivery:
    """What a person gets for a notice of ``kind`` on a letter: the one rule.

    Never a notice their ``role`` on the letter may not see; otherwise their choice for
    this letter (``for_letter``, made on its page) if any, else their account's choice for
    ``kind`` (``chosen``) if any, else their role's default."""
    if not letter_role_allows(role, kind.action):
        return Delivery.OFF
    for choice in (for_letter, chosen):
        if choice is not None:
            return choice
    return default_delivery(kind, role)


def visible_kinds(role: TeamRole | None) -> list[NoticeKind]:
    """The kinds of notice a person with ``role`` may see in a letter's feed."""
    return [kind for kind in NoticeKind if letter_role_allows(role, kind.action)]
