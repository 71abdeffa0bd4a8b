"""Co-signatories: invitations, approvals of a specific revision, public sign-on, reminders."""
