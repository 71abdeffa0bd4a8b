"""The load test's simulated people (locust, headless; started by ``run.py``).

Run as its own process (locust patches the standard library with gevent when it is
imported). ``run.py`` passes everything through the environment:

- ``LOAD_SLUG``: the public letter; ``LOAD_REDIS_URL``: where the mail catcher leaves
  the confirmation links; ``LOAD_RESULTS``: the JSON file written at the end (who was
  accepted and who confirmed, for the checks against the database);
- ``LOAD_SIGNERS``, ``LOAD_READERS``, ``LOAD_COORDINATORS``: how many of each;
- ``LOAD_READER_WAIT``: a reader's pause between two pages, ``min,max`` seconds;
- ``LOAD_COORDINATOR_EMAIL``, ``LOAD_COORDINATOR_PASSWORD``; ``LOAD_MODERATION=1``: the
  coordinator also opens the moderation page.

Every simulated person comes from an address of their own, as behind one reverse proxy
(``X-Forwarded-For``; ``run.py`` sets ``SIGNON_TRUSTED_PROXIES=1``): the per-IP rate
limits (public sign-on, the API) count per person, as they would in production.

A **signer** is one person after another, each with new cookies: loads the public page
with the form, submits it, waits for the mail (polling the catcher's Redis key, as a
person checks their inbox), opens the confirmation link and presses "Confirm". A
**reader** loads the public page, the letter's API document or the first page of its
signatories. The **coordinator** logs in and works the dashboard (and, with
``LOAD_MODERATION=1``, the moderation page). ``BareUser`` is the baseline: one POST to
the bare endpoint after another.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import uuid
from typing import Any

import gevent
import redis
from locust import FastHttpUser, between, constant, events, task

SLUG = os.environ.get("LOAD_SLUG", "load-letter")
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/8")
RESULTS = os.environ.get("LOAD_RESULTS", "")
READER_WAIT = tuple(float(x) for x in os.environ.get("LOAD_READER_WAIT", "5,15").split(","))
MODERATION = os.environ.get("LOAD_MODERATION") == "1"
MAIL_WAIT_SECONDS = 60.0
LINK_PREFIX = "load:link:"

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REVISION = re.compile(r'name="revision_id"[^>]*value="(\d+)"')

#: What the run did, written to ``LOAD_RESULTS`` when locust stops.
accepted: list[str] = []
confirmed: list[str] = []
problems: list[str] = []
_store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


def _client_address() -> dict[str, str]:
    """A made-up client address for one simulated person (10.0.0.0/8)."""
    b, c, d = random.randrange(256), random.randrange(256), random.randrange(1, 255)
    return {"X-Forwarded-For": f"10.{b}.{c}.{d}"}


def _fields(html: str) -> tuple[str, str] | None:
    token, revision = CSRF.search(html), REVISION.search(html)
    if token is None or revision is None:
        return None
    return token.group(1), revision.group(1)


def _wait_for_link(address: str) -> str | None:
    deadline = time.monotonic() + MAIL_WAIT_SECONDS
    while time.monotonic() < deadline:
        link = _store.get(LINK_PREFIX + address)
        if link:
            return str(link)
        gevent.sleep(0.05)
    return None


class SignerUser(FastHttpUser):
    fixed_count = int(os.environ.get("LOAD_SIGNERS", "32"))
    wait_time = constant(0)

    @task
    def sign_on(self) -> None:
        self.client.cookiejar.clear()
        client = _client_address()
        person = uuid.uuid4().hex[:12]
        address = f"signer-{person}@load.example.org"
        with self.client.get(
            f"/p/{SLUG}", name="1 form (GET /p/<slug>)", headers=client, catch_response=True
        ) as r:
            fields = _fields(r.text or "") if r.status_code == 200 else None
            if fields is None:
                r.failure(f"no form ({r.status_code})")
                return
        token, revision = fields
        form = {
            "csrf_token": token,
            "revision_id": revision,
            "name": f"Load Test Organisation {person}",
            "country": "Kenya",
            "kind": "ngo",
            "representative_name": "Amina Otieno",
            "representative_title": "Director",
            "website": "",
            "email": address,
            "authority": "y",
        }
        with self.client.post(
            f"/p/{SLUG}/sign",
            data=form,
            name="2 submit (POST /p/<slug>/sign)",
            headers=client,
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code != 302 or "check-email" not in (r.headers.get("Location") or ""):
                r.failure(f"not accepted ({r.status_code})")
                return
        accepted.append(address)
        link = _wait_for_link(address)
        if link is None:
            problems.append(f"no confirmation mail for {address}")
            return
        with self.client.get(
            link, name="3 confirm page (GET link)", headers=client, catch_response=True
        ) as r:
            fields = _fields(r.text or "") if r.status_code == 200 else None
            if fields is None:
                r.failure(f"no confirm button ({r.status_code})")
                return
        token, revision = fields
        with self.client.post(
            link,
            data={"csrf_token": token, "revision_id": revision},
            name="4 confirm (POST link)",
            headers=client,
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code != 302:
                r.failure(f"not confirmed ({r.status_code})")
                return
        confirmed.append(address)


class ReaderUser(FastHttpUser):
    fixed_count = int(os.environ.get("LOAD_READERS", "200"))
    wait_time = between(READER_WAIT[0], READER_WAIT[-1])

    def on_start(self) -> None:
        self.address = _client_address()

    @task(2)
    def public_page(self) -> None:
        self.client.get(f"/p/{SLUG}", name="reader: public page", headers=self.address)

    @task(1)
    def api_letter(self) -> None:
        self.client.get(f"/api/v1/letters/{SLUG}", name="reader: API letter", headers=self.address)

    @task(1)
    def api_signatories(self) -> None:
        self.client.get(
            f"/api/v1/letters/{SLUG}/signatories",
            name="reader: API signatories",
            headers=self.address,
        )


class CoordinatorUser(FastHttpUser):
    fixed_count = int(os.environ.get("LOAD_COORDINATORS", "1"))
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.address = _client_address()
        page = self.client.get("/login", name="coordinator: login form", headers=self.address)
        token = CSRF.search(page.text or "")
        self.client.post(
            "/login",
            data={
                "csrf_token": token.group(1) if token else "",
                "email": os.environ.get("LOAD_COORDINATOR_EMAIL", ""),
                "password": os.environ.get("LOAD_COORDINATOR_PASSWORD", ""),
            },
            name="coordinator: log in",
            headers=self.address,
        )

    @task
    def work(self) -> None:
        """The dashboard; with ``LOAD_MODERATION=1`` the moderation page one time in four."""
        if MODERATION and random.random() < 0.25:
            self._page(f"/letters/{SLUG}/moderation", "coordinator: moderation")
        else:
            self._page(f"/letters/{SLUG}/signatories", "coordinator: dashboard")

    def _page(self, path: str, name: str) -> None:
        with self.client.get(
            path, name=name, headers=self.address, allow_redirects=False, catch_response=True
        ) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code} (not logged in?)")


class BareUser(FastHttpUser):
    fixed_count = int(os.environ.get("LOAD_SIGNERS", "32"))
    wait_time = constant(0)

    @task
    def insert(self) -> None:
        person = uuid.uuid4().hex[:12]
        self.client.post(
            "/insert",
            data={"email": f"bare-{person}@load.example.org", "name": f"Bare {person}"},
            name="bare: POST /insert",
        )


@events.quitting.add_listener
def _write_results(environment: Any, **_kwargs: Any) -> None:
    if RESULTS:
        with open(RESULTS, "w") as out:
            json.dump({"accepted": accepted, "confirmed": confirmed, "problems": problems}, out)
