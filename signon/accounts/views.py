"""Accounts blueprint: registration, login, password reset, settings, organisations.

STUB: to be filled in.
"""

from __future__ import annotations

from flask import Blueprint

from signon.core.access import public

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> str:
    return "login"


@bp.route("/register", methods=["GET", "POST"])
@public
def register() -> str:
    return "register"


@bp.post("/logout")
def logout() -> str:
    return "logout"


@bp.route("/account", methods=["GET", "POST"])
def settings() -> str:
    return "settings"


@bp.get("/organisations")
def organisations() -> str:
    return "organisations"
