"""Live co-editing of a letter in Chromium (issue 13 items 3 and 6): several people in the
letter editor at once, each in their own browser context, over the real WebSocket of the
live server (static/js/live.js, signon/drafting/live).

The texts converge and nothing typed is lost with two and three people typing into the
same paragraph at once; a dropped connection reconnects and what was typed offline is
merged; each person sees the others and where they are; "Save version" makes the shared
text a revision; a viewer cannot write, not even through a forged socket message, and
follows the live text read only on its own page as it is typed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Locator, Page, WebSocketRoute, expect
from pycrdt import Doc, Text
from sqlalchemy import select

from signon.core import transaction
from signon.core.permissions import TeamRole
from signon.drafting.live import protocol
from signon.extensions import db
from signon.letters.models import Letter, Revision
from tests.e2e.conftest import DESKTOP, BrowserProblems, LiveServer, NewPage
from tests.e2e.helpers import TestUser, axe_violations, editor, login_directly, preview
from tests.factories import add_team_member, make_letter, make_user

pytestmark = pytest.mark.real_commits

PARAGRAPH = "We call on the council to act."
TEXT = "## Our call\n\n" + PARAGRAPH + "\n\nSigned by the undersigned.\n"
PHONE_390 = {"width": 390, "height": 844}
NAMES = ("Ada Coordinator", "Ben Drafter", "Cleo Drafter")


@dataclass(frozen=True)
class Team:
    slug: str
    people: tuple[TestUser, ...]  # a coordinator, then drafters
    viewer: TestUser


def make_team(app: Flask) -> Team:
    with app.app_context():
        users = [make_user(name=name) for name in NAMES]
        viewer = make_user(name="Vic Viewer")
        letter = make_letter(users[0], body=TEXT)
        for drafter in users[1:]:
            add_team_member(letter, role=TeamRole.DRAFTER, user=drafter)
        add_team_member(letter, role=TeamRole.VIEWER, user=viewer)
        team = Team(
            letter.slug,
            tuple(TestUser(u.id, u.email, "", u.display_name) for u in users),
            TestUser(viewer.id, viewer.email, "", viewer.display_name),
        )
        transaction.commit()
    return team


def panel(page: Page) -> Locator:
    return page.locator(".live-panel")


def open_live(page: Page, team: Team, user: TestUser) -> Locator:
    """The letter editor, bound to the shared text (the panel says "Live")."""
    login_directly(page, user, f"/letters/{team.slug}/edit")
    area = editor(page)
    expect(panel(page)).to_have_attribute("data-live-state", "live")
    expect(panel(page)).to_contain_text("Live: your changes are shared as you type.")
    # The classic form's buttons and change note are put away: "Save version" saves.
    expect(page.get_by_role("button", name="Save revision")).to_be_hidden()
    expect(page.get_by_role("button", name="Suggest instead")).to_be_hidden()
    expect(page.get_by_label(re.compile(r"^Change note"))).to_be_hidden()
    expect(page.get_by_role("button", name="Save version")).to_be_visible()
    return area


def caret_at(area: Locator, index: int) -> None:
    area.evaluate("(ta, i) => { ta.focus(); ta.setSelectionRange(i, i); }", index)


def head_body(app: Flask, slug: str) -> tuple[int, str]:
    with app.app_context():
        letter = db.session.scalars(select(Letter).where(Letter.slug == slug)).one()
        revision = db.session.scalars(
            select(Revision)
            .where(Revision.letter_id == letter.id)
            .order_by(Revision.number.desc())
            .limit(1)
        ).one()
        found = (revision.number, revision.body_markdown)
        db.session.remove()
    return found


def type_together(pages: list[Page], words: list[str]) -> None:
    """Each page types its words one key at a time, in turn: every key's change is still
    on its way to the others when the next person presses theirs."""
    for i in range(max(len(w) for w in words)):
        for page, word in zip(pages, words, strict=True):
            if i < len(word):
                page.keyboard.press("Space" if word[i] == " " else word[i])


@pytest.mark.parametrize("people", [2, 3])
def test_people_typing_into_one_paragraph_at_once_converge_and_lose_nothing(
    app: Flask, live_server: LiveServer, new_page: NewPage, people: int
) -> None:
    team = make_team(app)
    pages = [new_page() for _ in range(people)]
    areas = [open_live(page, team, user) for page, user in zip(pages, team.people, strict=False)]
    # Each types into the same paragraph: at its start, before "council", before its stop.
    start = TEXT.index(PARAGRAPH)
    spots = [start, TEXT.index("council"), TEXT.index(" to act.")][:people]
    words = ["Today ", "city ", " now"][:people]
    for area, spot in zip(areas, spots, strict=True):
        caret_at(area, spot)
    type_together(pages, words)

    expected = TEXT
    for spot, word in sorted(zip(spots, words, strict=True), reverse=True):
        expected = expected[:spot] + word + expected[spot:]
    for area in areas:
        expect(area).to_have_value(expected)

    # "Save version" makes the shared text revisions: one per person who typed.
    pages[-1].get_by_role("button", name="Save version").click()
    expect(panel(pages[-1])).to_contain_text(
        f"Saved as revisions 2\u2013{people + 1}, one for each person's changes."
    )
    assert head_body(app, team.slug) == (people + 1, expected)


def test_after_save_version_who_wrote_what_names_each_person_for_their_words(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    team = make_team(app)
    ada, ben, cleo = (new_page() for _ in range(3))
    open_live(ada, team, team.people[0])
    areas = [
        open_live(page, team, user)
        for page, user in ((ben, team.people[1]), (cleo, team.people[2]))
    ]
    caret_at(areas[0], TEXT.index("council"))
    caret_at(areas[1], TEXT.index("Signed"))
    type_together([ben, cleo], ["city ", "Gladly "])
    expected = TEXT.replace("council", "city council").replace("Signed", "Gladly Signed")
    for area in [*areas, editor(ada)]:
        expect(area).to_have_value(expected)
    # Ada, who typed nothing, saves: Ben's and Cleo's words are theirs, not hers.
    ada.get_by_role("button", name="Save version").click()
    expect(panel(ada)).to_contain_text(
        "Saved as revisions 2\u20133, one for each person's changes."
    )
    ada.goto(f"/letters/{team.slug}/authorship")
    rows = ada.get_by_role("row")
    expect(rows.filter(has_text="Our call")).to_contain_text("Revision 1")
    expect(rows.filter(has_text="Our call")).to_contain_text("Ada Coordinator")
    expect(rows.filter(has_text="city council")).to_contain_text("Ben Drafter")
    expect(rows.filter(has_text="Gladly Signed")).to_contain_text("Cleo Drafter")
    expect(rows.filter(has_text="Ada Coordinator")).to_have_count(1)
    ada.goto(f"/letters/{team.slug}/revisions")
    expect(ada.get_by_role("main")).to_contain_text(
        "changes by Ben Drafter, saved by Ada Coordinator"
    )


def test_each_person_sees_who_else_is_in_the_text_and_where(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    team = make_team(app)
    ada, ben = new_page(), new_page()
    ada_area = open_live(ada, team, team.people[0])
    ben_area = open_live(ben, team, team.people[1])
    expect(ada.locator("[data-live-person]")).to_have_text(["Ben Drafter \u2014 reading"])
    caret_at(ben_area, TEXT.index("Signed"))
    expect(ada.locator("[data-live-person]")).to_have_text(["Ben Drafter \u2014 line 5"])
    flag = ada.locator(".live-caret-name")
    expect(flag).to_have_text("Ben Drafter")
    # Ben's caret is drawn inside Ada's textarea, and follows him.
    box, area = flag.bounding_box(), ada_area.bounding_box()
    assert box is not None and area is not None
    assert area["x"] <= box["x"] < area["x"] + area["width"]
    assert area["y"] <= box["y"] + box["height"] <= area["y"] + area["height"]
    # The arrival was announced to screen readers, and so is a departure.
    expect(ada.locator("[data-live-announce]")).to_have_text("Ben Drafter joined the text.")
    ben.context.close()
    expect(ada.locator("[data-live-announce]")).to_have_text("Ben Drafter left the text.")
    expect(ada.locator("[data-live-person]")).to_have_count(0)
    expect(flag).to_have_count(0)


def allow_offline(browser_problems: BrowserProblems) -> None:
    """Chromium logs each refused attempt to reconnect while offline, and the preview
    (a request to the server) fails too until the network is back."""
    browser_problems.allow(r"WebSocket connection to .* failed")
    browser_problems.allow(r"ERR_INTERNET_DISCONNECTED")


def ada_and_ben(app: Flask, new_page: NewPage) -> tuple[Team, Page, Locator, Page, Locator]:
    """A new team; the coordinator (Ada) and a drafter (Ben) in the live editor."""
    team = make_team(app)
    ada, ben = new_page(), new_page()
    ada_area, ben_area = open_live(ada, team, team.people[0]), open_live(ben, team, team.people[1])
    return team, ada, ada_area, ben, ben_area


def go_offline(context: BrowserContext, page: Page) -> None:
    """Cut the network and the open socket, as a train going into a tunnel does.

    The provider is first pointed at an address of the same server that is no socket (the
    page's Content-Security-Policy allows only its own origin) until :func:`go_online`, and
    its socket is closed while the network is still up: Chromium's offline emulation did not
    always stop the next WebSocket, and a close sent after it may wait for a closing
    handshake that never comes (the page then stayed "live": 3 failures in 15 loaded runs,
    and once more in a full run). Only then is the network cut, for the page's requests.
    """
    page.evaluate(
        r"""() => {
            const provider = window.SignonLive.sessions[0].provider;
            provider.signonServerUrl = provider.signonServerUrl || provider.serverUrl;
            const origin = provider.signonServerUrl.replace(/\/letters\/.*$/, "");
            provider.serverUrl = origin + "/no-socket-here";
            if (provider.ws) { provider.ws.close(); }
        }"""
    )
    expect(panel(page)).to_have_attribute("data-live-state", "offline")
    context.set_offline(True)


def go_online(context: BrowserContext, page: Page) -> None:
    """The network is back: the provider's next attempt reaches the server again."""
    page.evaluate(
        """() => {
            const provider = window.SignonLive.sessions[0].provider;
            provider.serverUrl = provider.signonServerUrl || provider.serverUrl;
        }"""
    )
    context.set_offline(False)


def test_a_dropped_connection_reconnects_and_merges_what_was_typed_offline(
    app: Flask, live_server: LiveServer, new_page: NewPage, browser_problems: BrowserProblems
) -> None:
    allow_offline(browser_problems)
    _, ada, ada_area, ben, ben_area = ada_and_ben(app, new_page)

    go_offline(ada.context, ada)
    expect(panel(ada)).to_contain_text("Offline: keep typing")
    caret_at(ada_area, TEXT.index("council"))
    ada.keyboard.type("city ")
    caret_at(ben_area, TEXT.index("Signed"))
    ben.keyboard.type("Gladly ")
    ada.wait_for_timeout(500)
    assert "Gladly" not in ada_area.input_value()
    assert "city" not in ben_area.input_value()

    go_online(ada.context, ada)
    expect(panel(ada)).to_have_attribute("data-live-state", "live", timeout=15_000)
    merged = TEXT.replace("council", "city council").replace("Signed", "Gladly Signed")
    expect(ada_area).to_have_value(merged)
    expect(ben_area).to_have_value(merged)


def forged_update() -> bytes:
    """A y-websocket "update" message inserting FORGED at the start of the text."""
    doc: Doc[Text] = Doc()
    text = doc.get("markdown", type=Text)
    text.insert(0, "FORGED ")
    update = doc.get_update()
    length, header = len(update), bytearray([0, 2])  # messageSync, messageYjsUpdate
    while length > 0x7F:
        header.append(0x80 | (length & 0x7F))
        length >>= 7
    header.append(length)
    return bytes(header) + update


SEND_RAW = """async ([path, bytes]) => {
  const url = new URL(path, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url.href);
  ws.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const closed = new Promise((resolve) => {
    ws.onclose = (event) => resolve(event.code);
    setTimeout(() => resolve("still open"), 5000);
  });
  ws.send(new Uint8Array(bytes));
  return await closed;
}"""


def test_a_viewer_cannot_write_even_through_a_forged_socket_message(
    app: Flask, live_server: LiveServer, new_page: NewPage, browser_problems: BrowserProblems
) -> None:
    browser_problems.allow(r"/edit: Failed to load resource: .* 403")  # the viewer's try
    team = make_team(app)
    ada = new_page()
    ada_area = open_live(ada, team, team.people[0])
    viewer = new_page()
    login_directly(viewer, team.viewer, f"/letters/{team.slug}/edit")
    expect(viewer.get_by_role("heading", name="Edit the text")).to_have_count(0)  # 403
    expect(viewer.locator("textarea")).to_have_count(0)
    # From a page of the site (same origin, the viewer's cookie), a raw socket sends an
    # update as the editor would: the server closes it, and nobody's text changes.
    viewer.goto(f"/letters/{team.slug}")
    code = viewer.evaluate(SEND_RAW, [f"/letters/{team.slug}/live", list(forged_update())])
    # Closed by the server at once: 1008 (policy), behind werkzeug's dev server too.
    assert code == 1008
    # Ada types after it: her change reaches Ben, the forged one never does. (Save version
    # saves what the server holds: Ben's copy says the server has all of Ada's keys.)
    ben = new_page()
    ben_area = open_live(ben, team, team.people[1])
    caret_at(ada_area, len(TEXT))
    ada.keyboard.type("Ada was here.")
    expect(ben_area).to_have_value(TEXT + "Ada was here.")
    ada.get_by_role("button", name="Save version").click()
    expect(panel(ada)).to_contain_text("Saved as revision 2.")
    number, body = head_body(app, team.slug)
    assert number == 2
    assert "Ada was here." in body and "FORGED" not in body
    assert "FORGED" not in ada_area.input_value()


#: Every state of the page's shared text, recorded from now on.
RECORD_STATES = """() => {
  const live = window.SignonLive.sessions[0];
  window.liveStates = [];
  live.text.observe(() => window.liveStates.push(live.text.toString()));
}"""


def test_an_input_method_sends_only_the_composed_words_while_another_types(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    """Ada types Japanese through the browser's input method (composition events, as an
    IME sends them, through the DevTools protocol) while Ben types: Ben receives her
    picked words only, never a step of the composition, and nothing either typed is lost."""
    team = make_team(app)
    ada, ben = new_page(), new_page()
    ada_area = open_live(ada, team, team.people[0])
    ben_area = open_live(ben, team, team.people[1])
    ben.evaluate(RECORD_STATES)
    caret_at(ada_area, TEXT.index("council"))
    caret_at(ben_area, TEXT.index("Signed"))
    ime = ada.context.new_cdp_session(ada)
    steps = ["n", "\u306b", "\u306bh", "\u306b\u307b", "\u306b\u307bn", "\u306b\u307b\u3093"]
    for i, step in enumerate(steps):
        caret = {"selectionStart": len(step), "selectionEnd": len(step)}
        ime.send("Input.imeSetComposition", {"text": step, **caret})
        ben.keyboard.press("ABCDEF"[i])  # Ben's keys reach Ada's page while she composes
    ime.send("Input.insertText", {"text": "\u65e5\u672c "})
    expected = TEXT.replace("council", "\u65e5\u672c council").replace("Signed", "ABCDEFSigned")
    expect(ada_area).to_have_value(expected)
    expect(ben_area).to_have_value(expected)
    states = ben.evaluate("window.liveStates")
    assert not any(step in state for state in states for step in steps[1:])
    ada.get_by_role("button", name="Save version").click()
    expect(panel(ada)).to_contain_text(
        "Saved as revisions 2\u20133, one for each person's changes."
    )
    assert head_body(app, team.slug) == (3, expected)
    with app.app_context():  # no revision ever held a step of the composition
        letter_id = select(Letter.id).where(Letter.slug == team.slug).scalar_subquery()
        bodies = db.session.scalars(
            select(Revision.body_markdown).where(Revision.letter_id == letter_id)
        ).all()
        db.session.remove()
    assert not any(step in body for body in bodies for step in steps[1:])


SEND_ON_THE_PAGES_SOCKET = """(bytes) => new Promise((resolve) => {
  const ws = window.SignonLive.sessions[0].provider.ws;
  ws.addEventListener("close", (event) => resolve(event.code));
  setTimeout(() => resolve("still open"), 5000);
  ws.send(new Uint8Array(bytes));
})"""


def test_a_viewer_follows_the_live_text_read_only_as_it_is_typed(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    team = make_team(app)
    ada = new_page()
    ada_area = open_live(ada, team, team.people[0])
    viewer = new_page()
    login_directly(viewer, team.viewer, f"/letters/{team.slug}/")
    viewer.get_by_role("link", name="Follow the live text").click()
    expect(panel(viewer)).to_have_attribute("data-live-state", "live")
    expect(panel(viewer)).to_contain_text("Live: the text follows the editors' changes")
    expect(viewer.get_by_role("note")).to_contain_text("Unsaved live text.")
    expect(viewer.get_by_role("note")).to_contain_text("The last saved version is revision 1")
    area = viewer.get_by_label("Live text, not saved yet (Markdown)")
    expect(area).to_have_js_property("readOnly", True)
    expect(viewer.get_by_role("toolbar")).to_have_count(0)
    expect(viewer.locator("[data-live-person]")).to_have_text(["Ada Coordinator \u2014 reading"])

    # Ada types; the viewer's page shows it within a few seconds, and where she is.
    caret_at(ada_area, len(TEXT))
    ada.keyboard.type("Ada was here.")
    expect(area).to_have_value(TEXT + "Ada was here.", timeout=3_000)
    expect(preview(viewer)).to_contain_text("Ada was here.")
    expect(viewer.locator("[data-live-person]")).to_have_text(
        [re.compile(r"Ada Coordinator \u2014 line \d+")]
    )
    # Ada sees the viewer as following, read only.
    expect(ada.locator("[data-live-person]")).to_have_text(
        ["Vic Viewer \u2014 following (read only)"]
    )
    assert axe_violations(viewer) == []

    # The viewer's keys change nothing, and the page's own socket cannot write either.
    area.focus()
    viewer.keyboard.type("Vic")
    expect(area).to_have_value(TEXT + "Ada was here.")
    code = viewer.evaluate(SEND_ON_THE_PAGES_SOCKET, list(forged_update()))
    assert code == 1008
    # Refused: the page says so and does not reconnect (it would be refused again); once
    # reloaded it follows again.
    expect(panel(viewer)).to_have_attribute("data-live-state", "closed")
    expect(panel(viewer)).to_contain_text("this page may not change the text")
    ada.keyboard.type(" Again.")
    viewer.reload()
    expect(panel(viewer)).to_have_attribute("data-live-state", "live")
    expect(area).to_have_value(TEXT + "Ada was here. Again.", timeout=10_000)
    assert "FORGED" not in ada_area.input_value()
    assert "Vic" not in ada_area.input_value()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE_390])
def test_the_live_editor_passes_axe_and_fits(
    app: Flask, live_server: LiveServer, new_page: NewPage, viewport: dict[str, int]
) -> None:
    team = make_team(app)
    ada, ben = new_page(viewport=viewport), new_page(viewport=viewport)
    open_live(ada, team, team.people[0])
    ben_area = open_live(ben, team, team.people[1])
    caret_at(ben_area, TEXT.index("council"))
    expect(ada.locator(".live-caret-name")).to_have_text("Ben Drafter")
    assert axe_violations(ada) == []
    assert ada.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def remove_from_team(page: Page, team: Team, name: str) -> None:
    """The coordinator removes ``name`` on the team page (confirming the browser's question)."""
    login_directly(page, team.people[0], f"/letters/{team.slug}/team")
    page.once("dialog", lambda dialog: dialog.accept())
    row = page.get_by_role("row").filter(has_text=name)
    row.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("row").filter(has_text=name)).to_have_count(0)


def test_a_drafter_removed_while_editing_is_told_why_and_the_page_stops_reconnecting(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    """The refusal's reason arrives before the close (y-protocols' "permission denied"), so
    the page says why and opens no new socket. Behind Werkzeug too: it used to write an HTTP
    answer after the close frame, which Chromium reported as "Invalid frame header" (1006),
    and the page stayed "Offline", trying again."""
    team = make_team(app)
    ada, ben = new_page(), new_page()
    ben_area = open_live(ben, team, team.people[1])
    attempts: list[str] = []
    ben.on("websocket", lambda socket: attempts.append(socket.url))
    remove_from_team(ada, team, "Ben Drafter")
    expect(panel(ben)).to_have_attribute("data-live-state", "closed")
    expect(panel(ben)).to_contain_text("You can no longer edit this letter here")
    expect(ben.locator("[data-live-announce]")).to_contain_text("You can no longer edit")
    expect(ben_area).not_to_be_editable()
    expect(ben.get_by_role("button", name="Save version")).to_be_disabled()
    ben.wait_for_timeout(3000)  # y-websocket would have tried again within 0.1-5 s
    assert attempts == []


def test_a_refused_reconnection_after_a_dropped_connection_stops_and_says_so(
    app: Flask, live_server: LiveServer, new_page: NewPage, browser_problems: BrowserProblems
) -> None:
    """Removed while offline: the handshake is refused (404) when the page comes back, which
    the page cannot tell from a dropped network; it asks its own address, which answers 404
    instead of the page, and stops, where before it stayed 'Offline' and kept trying."""
    allow_offline(browser_problems)
    browser_problems.allow(r"status of 404")
    team = make_team(app)
    ada, ben = new_page(), new_page()
    ben_area = open_live(ben, team, team.people[1])
    go_offline(ben.context, ben)
    remove_from_team(ada, team, "Ben Drafter")
    attempts: list[str] = []
    ben.on("websocket", lambda socket: attempts.append(socket.url))
    go_online(ben.context, ben)
    expect(panel(ben)).to_have_attribute("data-live-state", "closed", timeout=15_000)
    expect(panel(ben)).to_contain_text("you may no longer edit this text")
    expect(ben_area).not_to_be_editable()
    tried = len(attempts)
    ben.wait_for_timeout(3000)
    assert len(attempts) == tried  # no more attempts


KEPT_IN_BROWSER = "() => Object.keys(localStorage).some(k => k.startsWith('signon-live-unsent:'))"


def test_what_was_typed_offline_survives_closing_the_page_and_arrives_on_the_next_visit(
    app: Flask, live_server: LiveServer, new_page: NewPage, browser_problems: BrowserProblems
) -> None:
    allow_offline(browser_problems)
    team, ada, ada_area, ben, ben_area = ada_and_ben(app, new_page)
    # Online, a change is kept in the browser only until the server confirms it.
    caret_at(ben_area, len(TEXT))
    ben.keyboard.type("Online.")
    expect(ada_area).to_have_value(TEXT + "Online.")
    ben.wait_for_function(f"() => !({KEPT_IN_BROWSER})()")

    go_offline(ben.context, ben)
    caret_at(ben_area, TEXT.index("Signed"))
    ben.keyboard.type("Typed in the tunnel. ")
    ben.wait_for_function(KEPT_IN_BROWSER)  # kept in this browser
    context = ben.context
    ben.close()  # the tab is closed before the connection returns
    ada.wait_for_timeout(500)
    assert "tunnel" not in ada_area.input_value()

    context.set_offline(False)
    again = context.new_page()
    again.goto(live_server(f"/letters/{team.slug}/edit"))
    expect(panel(again)).to_have_attribute("data-live-state", "live")
    expected = TEXT.replace("Signed", "Typed in the tunnel. Signed") + "Online."
    expect(editor(again)).to_have_value(expected)
    expect(ada_area).to_have_value(expected)  # the other editor gets it
    expect(again.locator("[data-live-save-status]")).to_contain_text("typed here earlier")
    # Confirmed by the server: the browser's copy is cleared; saved, it is in the revision.
    again.wait_for_function(f"() => !({KEPT_IN_BROWSER})()")
    again.get_by_role("button", name="Save version").click()
    expect(again.locator("[data-live-save-status]")).to_contain_text("Saved as revision")
    assert head_body(app, team.slug)[1] == expected + "\n"  # a revision ends its last line


class HeldRelay:
    """The follower page's socket routed through the test (Playwright's WebSocket route):
    while :attr:`holding`, the document's changes the server sends the page are held back
    (its "saved" messages and presence pass), as when the saving request's thread overtakes
    the typist's socket. :attr:`shadow` applies every change the server sent (a change is
    stored before it is relayed: the shadow's text is stored)."""

    def __init__(self) -> None:
        self.holding = False
        self.held: list[bytes] = []
        self.saved = 0
        self.shadow: Doc[Text] = Doc()
        self.shadow_text = self.shadow.get("markdown", type=Text)
        self.page: WebSocketRoute | None = None

    def route(self, page: WebSocketRoute) -> None:
        self.page = page
        server = page.connect_to_server()
        page.on_message(server.send)
        server.on_message(self._from_server)

    def _from_server(self, message: str | bytes) -> None:
        assert self.page is not None and isinstance(message, bytes)
        if message[:1] == protocol.varuint(protocol.SAVED):
            self.saved += 1
        elif message[:1] == b"\x00":  # sync: step 1, step 2 or update
            parsed = protocol.parse(message)
            if parsed.kind.writes:
                self.shadow.apply_update(parsed.payload)
            if self.holding:
                self.held.append(message)
                return
        self.page.send(message)

    def release(self) -> None:
        assert self.page is not None
        self.holding = False
        for message in self.held:
            self.page.send(message)
        self.held = []


def wait_until(page: Page, check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` while Playwright delivers the routed socket's messages."""
    for _ in range(200):
        if check():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"not within 10 s: {what}")


def test_the_followers_unsaved_line_follows_the_saves_whichever_arrives_first(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    """Issue 13: the read-only page's "unsaved changes" line was right only as of its load;
    the server now tells the page when a version is saved, and the text's changes after it
    make it unsaved again. The "saved" message leaves from the saving request's thread and
    can reach the page before the last keystrokes Ada's socket relays (which the revision
    holds): here they are held back until the save is announced, and the line still says
    the text is the same as the revision (it said "changes not in revision 2 yet" until
    the next save when the page took its text at the message for the saved one)."""
    team = make_team(app)
    ada = new_page()
    ada_area = open_live(ada, team, team.people[0])
    viewer = new_page()
    relay = HeldRelay()
    viewer.route_web_socket(re.compile(r"/live$"), relay.route)
    login_directly(viewer, team.viewer, f"/letters/{team.slug}/live/follow")
    expect(panel(viewer)).to_have_attribute("data-live-state", "live")
    line = viewer.locator("[data-live-unsaved]")
    last = viewer.locator("[data-live-last-saved]")
    expect(line).to_have_text(
        "When this page was opened, the live text was the same as revision 1."
    )

    caret_at(ada_area, len(TEXT))
    ada.keyboard.type("Ada was")
    expect(line).to_have_text("The live text has changes that are not in revision 1 yet.")
    expect(editor(viewer)).to_have_value(TEXT + "Ada was")

    # The last keystrokes are stored (the server relayed them) but held on their way to
    # the follower; Ada saves; the follower hears of revision 2 first.
    relay.holding = True
    ada.keyboard.type(" here.")
    wait_until(viewer, lambda: str(relay.shadow_text) == TEXT + "Ada was here.", "stored")
    ada.get_by_role("button", name="Save version").click()
    expect(ada.locator("[data-live-save-status]")).to_contain_text("revision 2")
    # Announced twice: once saved, once more after the save's own edit (the final newline).
    wait_until(viewer, lambda: relay.saved == 2, "both announcements of revision 2")
    expect(line).to_have_text("The live text is the same as revision 2.")
    assert editor(viewer).input_value() == TEXT + "Ada was"  # held back

    relay.release()
    expect(editor(viewer)).to_have_value(TEXT + "Ada was here.\n")  # a revision ends its line
    expect(line).to_have_text("The live text is the same as revision 2.")
    # as the server writes it, in the viewer's account's zone (UTC): "5 December 2026, 03:35 UTC"
    expect(last).to_have_text(
        re.compile(
            r"The last saved version is revision 2, saved \d{1,2} [A-Z][a-z]+ \d{4}, "
            r"\d\d:\d\d UTC by Ada Coordinator\."
        )
    )
    expect(last.get_by_role("link", name="revision 2")).to_have_attribute(
        "href", f"/letters/{team.slug}/revisions/2"
    )

    # Typing after the save makes the text unsaved; taking it back makes it the same again.
    expect(ada_area).to_have_value(TEXT + "Ada was here.\n")
    caret_at(ada_area, len(TEXT + "Ada was here."))
    ada.keyboard.type(" Again.")
    expect(line).to_have_text("The live text has changes that are not in revision 2 yet.")
    for _ in " Again.":
        ada.keyboard.press("Backspace")
    expect(editor(viewer)).to_have_value(TEXT + "Ada was here.\n")
    expect(line).to_have_text("The live text is the same as revision 2.")
    assert axe_violations(viewer) == []
    assert live_server.errors == []
