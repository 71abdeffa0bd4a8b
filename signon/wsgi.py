"""The WSGI entry point for gunicorn: ``gunicorn signon.wsgi:app`` (see ``gunicorn.conf.py``).

Builds the app from the environment and nothing more: it never migrates the database
(``flask --app signon db upgrade`` runs once, before the app servers start; see
docs/deploy.md), so any number of workers can import it at once.
"""

from __future__ import annotations

from signon import create_app

app = create_app()
