"""Every model, imported in one place so that Alembic and ``db check`` see them all."""

from signon.accounts.models import (
    CoordinatorMail,
    Membership,
    NotificationPreference,
    Organisation,
    OrganisationInvitation,
    RecoveryCode,
    User,
    UserToken,
)
from signon.api.models import ApiToken
from signon.audit.models import AuditCheckpoint, AuditEvent, PendingAuditEvent
from signon.core.jobs import BackgroundJob
from signon.core.outbox import OutboxMessage
from signon.drafting.comments.models import Comment, CommentSettings, CommentThread
from signon.drafting.live.models import LiveDocument, LiveUpdate
from signon.drafting.suggestions.models import Suggestion
from signon.exports.models import ExportRecord, ExportSettings
from signon.letters.models import (
    Letter,
    Notice,
    NoticeDigest,
    Revision,
    RevisionDiff,
    TeamInvitation,
    TeamMember,
    UnresolvedDraft,
)
from signon.signatures.models import (
    Invitation,
    PublicSignRequest,
    ReminderSent,
    SignatoryOrder,
    Signature,
    SignatureEvent,
)

__all__ = [
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "BackgroundJob",
    "Comment",
    "CommentSettings",
    "CommentThread",
    "CoordinatorMail",
    "ExportRecord",
    "ExportSettings",
    "Invitation",
    "Letter",
    "LiveDocument",
    "LiveUpdate",
    "Membership",
    "Notice",
    "NoticeDigest",
    "NotificationPreference",
    "Organisation",
    "OrganisationInvitation",
    "OutboxMessage",
    "PendingAuditEvent",
    "PublicSignRequest",
    "RecoveryCode",
    "ReminderSent",
    "Revision",
    "RevisionDiff",
    "SignatoryOrder",
    "Signature",
    "SignatureEvent",
    "Suggestion",
    "TeamInvitation",
    "TeamMember",
    "UnresolvedDraft",
    "User",
    "UserToken",
]
