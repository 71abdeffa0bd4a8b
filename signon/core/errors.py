"""Error pages that explain what happened, in the site's layout."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "You do not have permission to do this."),
    404: ("Not found", "There is nothing here, or you do not have access to it."),
    405: ("Method not allowed", "This address cannot be used this way."),
    413: ("Too large", "What you sent is larger than we accept."),
    429: ("Too many requests", "Please wait a moment before trying again."),
    500: ("Something went wrong", "Nothing was saved. Please try again."),
}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> tuple[str, int]:
        return (
            render_template(
                "core/error.html",
                code=400,
                title="Form expired",
                message="The form had expired or came from elsewhere. Go back, "
                "reload the page and try again; nothing was changed.",
            ),
            400,
        )

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        title, message = MESSAGES.get(code, (error.name, error.description or ""))
        if code == 400 and error.description != type(error).description:
            message = error.description or message  # our own refusal says why (input_guard)
        return render_template("core/error.html", code=code, title=title, message=message), code
