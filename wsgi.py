"""The WSGI entry point for gunicorn: ``gunicorn wsgi:app`` (see ``gunicorn.conf.py``).

At the repository's root, not inside the ``signon`` package: importing it builds the app
from the environment, which tools that import every module of ``signon`` must not do.

Builds the app from the environment and nothing more: it never migrates the database
(``flask --app signon db upgrade`` runs once, before the app servers start; see
docs/deploy.md), so any number of workers can import it at once.
"""

from __future__ import annotations

from signon import create_app

app = create_app()
