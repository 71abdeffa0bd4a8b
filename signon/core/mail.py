"""E-mail: every message has a plain-text and an HTML part, both from ``templates/emails/``.

Messages are queued during the request and sent only after the commit (see
:mod:`signon.core.transaction`). Without an SMTP server configured, Flask-Mailman's
file backend writes them to the outbox folder, and we print them to the console.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, render_template
from flask_mailman import EmailMultiAlternatives

from signon.core.transaction import after_commit

log = logging.getLogger(__name__)


def build_message(to: str, subject: str, template: str, **context: Any) -> EmailMultiAlternatives:
    """Render ``templates/emails/<template>.txt`` and ``.html`` into one message."""
    context.setdefault("subject", subject)
    text = render_template(f"emails/{template}.txt", **context)
    html = render_template(f"emails/{template}.html", **context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[to],
    )
    message.attach_alternative(html, "text/html")
    return message


def send_now(message: EmailMultiAlternatives) -> None:
    message.send()
    if current_app.config.get("MAIL_BACKEND") == "file" and not current_app.testing:
        print(
            f"\n--- e-mail to {', '.join(message.to)}: {message.subject}\n"
            f"{message.body}\n--- (saved in {current_app.config['MAIL_FILE_PATH']})\n",
            flush=True,
        )


def queue_mail(to: str, subject: str, template: str, **context: Any) -> None:
    """Render now (while the request context is there), send after the commit."""
    message = build_message(to, subject, template, **context)
    after_commit(lambda: send_now(message))
