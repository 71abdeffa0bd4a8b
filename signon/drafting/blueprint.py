"""The drafting blueprint. Each sub-feature's ``views`` module adds its routes to ``bp``.

The endpoints keep the blueprint's name (``drafting.<view>``), wherever the view is.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("drafting", __name__)

# The routes register on import (one line per sub-feature's views module, below).
from signon.drafting.comments import views as _comments  # noqa: E402, F401
from signon.drafting.live import page as _live_page  # noqa: E402, F401
from signon.drafting.live import views as _live  # noqa: E402, F401
from signon.drafting.suggestions import views as _suggestions  # noqa: E402, F401
