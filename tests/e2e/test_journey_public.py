"""Public sign-on in a real browser: a visitor signs on the public page, confirms from the
mailed link, a coordinator accepts in the moderation queue, and the name appears on the
public page and in the embed (framed by another page, as on a coalition's website).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from signon.core import transaction
from tests.e2e.conftest import PHONE, BrowserProblems, LiveServer, NewPage
from tests.e2e.helpers import (
    TestUser,
    axe_violations,
    create_user,
    login_directly,
    mail_from_signon,
    mailed_link,
)
from tests.factories import make_letter
from tests.smtp import MailCatcher

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]

VISITOR = "rosa@voces.example.org"
ORGANISATION = "Voces por la Justicia"


@dataclass(frozen=True)
class PublicLetter:
    slug: str
    title: str


def _public_letter(app: Flask, coordinator: TestUser) -> PublicLetter:
    with app.app_context():
        from signon.accounts.models import User
        from signon.extensions import db

        letter = make_letter(
            db.session.get(User, coordinator.id),
            title="Protect the Court's independence",
            body="We, the undersigned, **urge** all States to protect the Court.\n",
            is_public=True,
            addressee="The Assembly of States Parties",
        )
        created = PublicLetter(letter.slug, letter.title)
        transaction.commit()
    return created


@contextmanager
def coalition_site(html: str) -> Iterator[str]:
    """Another origin (a coalition's website) serving one page, on its own port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _fill_sign_form(page: Page) -> None:
    page.get_by_label(re.compile(r"^Name of the organisation")).fill(ORGANISATION)
    page.get_by_label(re.compile(r"^Country")).fill("Colombia")
    page.get_by_label(re.compile(r"^Type")).select_option(label="Network or coalition")
    page.get_by_label(re.compile(r"^Name of the person signing")).fill("Rosa Díaz")
    page.get_by_label(re.compile(r"^Their title")).fill("Coordinator")
    page.get_by_label(re.compile(r"^Website")).fill("voces.example.org")
    page.get_by_label(re.compile(r"^Your e-mail address")).fill(VISITOR)
    page.get_by_label(re.compile(r"may sign this letter on behalf")).check()


def test_a_visitor_signs_publicly_and_appears_once_accepted(
    app: Flask,
    live_server: LiveServer,
    new_page: NewPage,
    mail_catcher: MailCatcher,
    browser_problems: BrowserProblems,
) -> None:
    mail_catcher.clear()
    coordinator = create_user(app, name="Carla Coordinator")
    letter = _public_letter(app, coordinator)

    # A visitor on a phone reads the letter and asks to sign.
    visitor = new_page(viewport=PHONE)
    visitor.goto(f"/p/{letter.slug}")
    expect(visitor.get_by_role("heading", name=letter.title)).to_be_visible()
    # the addressee as the coordinators wrote it, never reworded ("Open letter to ...")
    expect(visitor.get_by_text("The Assembly of States Parties", exact=True)).to_be_visible()
    expect(visitor.locator("main")).not_to_contain_text("Open letter to")
    expect(visitor.locator("article.letter-text strong")).to_have_text("urge")
    expect(visitor.get_by_text("No signatories are listed yet")).to_be_visible()
    # a mistake first: nothing typed is lost
    visitor.get_by_label(re.compile(r"^Name of the organisation")).fill(ORGANISATION)
    visitor.get_by_role("button", name="Sign and confirm by e-mail").click()
    expect(visitor.get_by_text("Enter the country.")).to_be_visible()
    expect(visitor.get_by_label(re.compile(r"^Name of the organisation"))).to_have_value(
        ORGANISATION
    )
    _fill_sign_form(visitor)
    visitor.get_by_role("button", name="Sign and confirm by e-mail").click()
    expect(visitor.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    # The mailed link: a page with a button (the GET changes nothing), then confirmed.
    visitor.goto(mailed_link(mail_catcher, VISITOR, "/confirm/"))
    expect(visitor.get_by_role("heading", name="Confirm your signature")).to_be_visible()
    expect(visitor.get_by_text(ORGANISATION)).to_be_visible()
    visitor.get_by_role("button", name="Confirm and sign").click()
    expect(visitor.get_by_text("your e-mail address is confirmed")).to_be_visible()
    signatories = visitor.locator("#signatories")
    expect(signatories).not_to_contain_text(ORGANISATION)  # not before moderation
    assert "/sign/" in mailed_link(mail_catcher, VISITOR, "/sign/")  # their private link

    # The coordinator hears of it in the daily digest (the default), not at once.
    assert mail_catcher.to(coordinator.email) == []
    with live_server.app.app_context():
        from signon.letters.notices import send_digests

        assert send_digests() == 1
        transaction.commit()
    digest = mail_from_signon(mail_catcher, coordinator.email, "Signon: ")
    digest_text = " ".join(MailCatcher.text_of(digest).split())
    assert "public sign-ons waiting for moderation: " in digest_text, digest_text
    assert ORGANISATION in digest_text, digest_text

    # The coordinator accepts it in the moderation queue.
    coordinator_page = new_page()
    login_directly(coordinator_page, coordinator, f"/letters/{letter.slug}/moderation")
    item = coordinator_page.locator("article.moderation-item", has_text=ORGANISATION)
    expect(item).to_contain_text(VISITOR)
    expect(item).to_contain_text("Domain verified")
    expect(item).to_contain_text("Rosa Díaz, Coordinator")
    item.get_by_role("button", name="Accept and publish").click()
    expect(coordinator_page.get_by_text("is accepted and now listed publicly")).to_be_visible()
    expect(coordinator_page.get_by_text("No signature awaits moderation.")).to_be_visible()
    snippet = coordinator_page.get_by_label("Code to copy").input_value()
    assert snippet.startswith(f'<iframe src="{live_server.url}/p/{letter.slug}/embed"')
    assert "accepted" in " ".join(MailCatcher.text_of(m) for m in mail_catcher.to(VISITOR))

    # The name is on the public page...
    visitor.goto(f"/p/{letter.slug}")
    expect(visitor.locator("#signatories")).to_contain_text(ORGANISATION)
    expect(visitor.locator("#signatories")).to_contain_text("Colombia")
    expect(visitor.locator("#signatories")).not_to_contain_text("Rosa")

    # ... and in the embed, framed by another site; the full page refuses to be framed.
    browser_problems.allow(r"frame-ancestors|Refused to (display|frame)|ERR_BLOCKED_BY_RESPONSE")
    site = new_page()
    with coalition_site(
        "<!doctype html><title>Our coalition</title><h1>Our coalition</h1>"
        f'<iframe id="embed" title="Signatories" src="{live_server.url}/p/{letter.slug}/embed"'
        ' width="600" height="400"></iframe>'
        f'<iframe id="full" title="Full page" src="{live_server.url}/p/{letter.slug}"'
        ' width="600" height="400"></iframe>'
    ) as coalition:
        site.goto(coalition)
        embed = site.frame_locator("#embed")
        expect(embed.locator(".signatory-list")).to_contain_text(ORGANISATION)
        expect(embed.locator("[data-count]")).to_have_text("1")
        # a frame of another site's page: checked here (AxeOnEveryPage checks top pages)
        framed = site.frame(url=re.compile(r"/embed$"))
        assert framed is not None
        assert axe_violations(framed) == []
        sign_link = embed.get_by_role("link", name="Sign this letter")
        expect(sign_link).to_have_attribute("target", "_blank")
        with site.expect_popup() as popup:
            sign_link.click()
        expect(popup.value.get_by_role("heading", name=letter.title)).to_be_visible()
        full = site.frame_locator("#full")
        expect(full.locator("body")).not_to_contain_text(ORGANISATION)
