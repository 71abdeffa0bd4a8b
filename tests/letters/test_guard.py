"""Every route that names a letter in its URL loads it through ``@letter_route``."""

from __future__ import annotations

from flask import Flask

from signon.core.permissions import Action
from signon.letters.guard import guard_of

#: ``<slug>`` routes with a guard of their own, and why they do not need ``@letter_route``.
OWN_GUARD = {
    # the public sign-on pages: anyone may see a published letter (public.py::_public_letter)
    "signatures.public_page": "public page",
    "signatures.public_sign": "public page",
    "signatures.public_check_email": "public page",
    "signatures.public_confirm": "public page",
    "signatures.public_embed": "public page",
    "signatures.public_logo": "public page",
    # the JSON API: a bearer token or a published letter (api/views.py::_readable_letter)
    "api.letter": "API token",
    "api.signatories": "API token",
}


def _letter_endpoints(app: Flask) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if "slug" in rule.arguments}


def test_every_letter_route_is_guarded(app: Flask) -> None:
    """Walk the URL map: a new ``<slug>`` route fails here until it names its permission."""
    unguarded = sorted(
        endpoint
        for endpoint in _letter_endpoints(app) - OWN_GUARD.keys()
        if guard_of(app.view_functions[endpoint]) is None
    )
    assert unguarded == []


def test_the_own_guard_list_names_real_routes(app: Flask) -> None:
    """An exception for a route that is gone (or now guarded) is stale: drop it."""
    letter_endpoints = _letter_endpoints(app)
    assert {e for e in OWN_GUARD if e not in letter_endpoints} == set()
    assert {e for e in OWN_GUARD if guard_of(app.view_functions[e]) is not None} == set()


def test_the_guard_is_found_under_a_rate_limit(app: Flask) -> None:
    """``@limiter.limit`` wraps the guarded view; the guard is still found (and checked)."""
    assert guard_of(app.view_functions["letters.team_add_user"]) is Action.LETTER_MANAGE_TEAM
    assert guard_of(app.view_functions["letters.show"]) is Action.LETTER_VIEW
    assert guard_of(app.view_functions["exports.signatories_csv"]) is Action.LETTER_EXPORT
