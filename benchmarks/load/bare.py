"""The baseline: a bare Flask app whose one endpoint does a single INSERT into PostgreSQL.

Served by ``run.py`` under the same gunicorn settings as Signon, in the same run, so
that the sign-on rate can be read as a fraction of what this machine, this server and
this database do for the least a write request can do: parse a small form, one
transaction with one INSERT (of a row like a sign-on request: an address, a JSON
document, a time), answer.

    LOAD_BARE_DATABASE_URL=postgresql+psycopg://... gunicorn benchmarks.load.bare:app
"""

from __future__ import annotations

import json
import os

from flask import Flask, request
from sqlalchemy import create_engine, text

CREATE = (
    "CREATE TABLE IF NOT EXISTS load_bare_inserts (id bigserial PRIMARY KEY, "
    "email varchar(254) NOT NULL, data json NOT NULL, created_at timestamp NOT NULL)"
)
INSERT = text(
    "INSERT INTO load_bare_inserts (email, data, created_at) "
    "VALUES (:email, :data, now() at time zone 'utc')"
)

app = Flask(__name__)
engine = create_engine(os.environ.get("LOAD_BARE_DATABASE_URL", "sqlite://"), pool_pre_ping=True)


@app.post("/insert")
def insert() -> tuple[str, int]:
    email = request.form.get("email", "")
    data = json.dumps({"name": request.form.get("name", ""), "country": "Kenya"})
    with engine.begin() as connection:
        connection.execute(INSERT, {"email": email, "data": data})
    return "ok", 201
