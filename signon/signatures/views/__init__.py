"""The signatures blueprint. Each module adds its routes to ``bp``:

- ``invitations``: coordinators invite organisations, revoke, re-send;
- ``invitee``: the invitation link (``/sign/<token>``): read, approve, decline, withdraw;
- ``lifecycle``: classify revisions (editorial / substantive), freeze and unfreeze;
- ``public``: the public page, its embed, and public sign-on with double opt-in;
- ``moderation``: the coordinators' moderation queue;
- ``dashboard``: where every organisation stands, with CSV export.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("signatures", __name__)

from signon.signatures.views import (  # noqa: E402, F401  (routes register on import)
    dashboard,
    invitations,
    invitee,
    lifecycle,
    moderation,
    public,
)
