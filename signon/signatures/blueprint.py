"""The signatures blueprint. Each sub-feature's ``views`` module adds its routes to ``bp``:

- ``invitations``: coordinators invite organisations, revoke, re-send;
- ``approvals``: the invitation link (``/sign/<token>``): read, approve, decline, withdraw;
- ``lifecycle``: classify revisions (editorial / substantive), freeze and unfreeze;
- ``public_signon``: the public page, its embed, and public sign-on with double opt-in;
- ``moderation``: the coordinators' moderation queue;
- ``dashboard``: where every organisation stands, with CSV export.

The endpoints keep the blueprint's name (``signatures.dashboard``...), wherever the view is.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("signatures", __name__)

# The routes register on import.
from signon.signatures.approvals import views as _approvals  # noqa: E402, F401
from signon.signatures.dashboard import views as _dashboard  # noqa: E402, F401
from signon.signatures.invitations import views as _invitations  # noqa: E402, F401
from signon.signatures.lifecycle import views as _lifecycle  # noqa: E402, F401
from signon.signatures.moderation import views as _moderation  # noqa: E402, F401
from signon.signatures.public_signon import views as _public_signon  # noqa: E402, F401
