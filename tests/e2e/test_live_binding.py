"""The live-editing binding (static/js/live.js) in Chromium, without a server: two editors
on one test page (tests/e2e/testapp.py), each bound to its own Y.Doc, with the updates
passed between the two documents by the test after a delay, as a network would, and held
back while "offline". The same binding runs on the letter editor over the WebSocket
(tests/e2e/test_live_editing.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.helpers import axe_violations, editor_button, editor_paste, editor_select_text
from tests.e2e.testapp import LIVE_BINDING_URL

pytestmark = pytest.mark.real_commits

START = "We call on the council to act.\n\nSecond paragraph stays."
PHONE_390 = {"width": 390, "height": 844}

#: Binds both textareas, each to its own document, and links the documents (and their
#: awareness) through a "network" that delivers each update after `delay` ms, or keeps it
#: until `liveTest.reconnect()` while `liveTest.online` is false.
SETUP = """([start, delay]) => {
  const { Y, awarenessProtocol } = window.SignonYjs;
  const areas = document.querySelectorAll("textarea[data-editor]");
  const docs = [new Y.Doc(), new Y.Doc()];
  docs[0].getText("markdown").insert(0, start);
  Y.applyUpdate(docs[1], Y.encodeStateAsUpdate(docs[0]), "remote");
  const awareness = docs.map((doc) => new awarenessProtocol.Awareness(doc));
  const test = { online: true, docs };
  docs.forEach((doc, i) => doc.on("update", (update, origin) => {
    if (origin === "remote" || !test.online) { return; }
    window.setTimeout(() => Y.applyUpdate(docs[1 - i], update, "remote"), delay);
  }));
  awareness.forEach((aw, i) => aw.on("update", ({ added, updated, removed }, origin) => {
    if (origin === "remote") { return; }
    const update = awarenessProtocol.encodeAwarenessUpdate(aw, added.concat(updated, removed));
    window.setTimeout(
      () => awarenessProtocol.applyAwarenessUpdate(awareness[1 - i], update, "remote"), delay);
  }));
  test.reconnect = () => {
    test.online = true;
    const [a, b] = docs;
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)), "remote");
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)), "remote");
  };
  test.shared = (i) => docs[i].getText("markdown").toString();
  window.SignonLive.bind(areas[0], docs[0].getText("markdown"), awareness[0], { name: "Ada" });
  window.SignonLive.bind(areas[1], docs[1].getText("markdown"), awareness[1], { name: "Ben" });
  window.liveTest = test;
}"""


def open_bound(page: Page, delay: int = 30) -> tuple[Locator, Locator]:
    page.goto(LIVE_BINDING_URL)
    first, second = page.locator("textarea[data-editor]").all()
    expect(first).to_have_attribute("data-editor-ready", "")
    expect(second).to_have_attribute("data-editor-ready", "")
    page.evaluate(SETUP, [START, delay])
    expect(first).to_have_value(START)
    expect(second).to_have_value(START)
    return first, second


def caret_at(area: Locator, index: int) -> None:
    area.evaluate("(ta, i) => { ta.focus(); ta.setSelectionRange(i, i); }", index)


def test_typing_in_both_editors_at_once_converges_and_loses_nothing(page: Page) -> None:
    first, second = open_bound(page)
    # Ada types at the start of the first paragraph, Ben before its full stop, one key
    # each in turn: each key's update is still on its way when the other types.
    ada_words, ben_words = "Today ", " without delay"
    caret_at(first, 0)
    caret_at(second, START.index("."))
    for i in range(max(len(ada_words), len(ben_words))):
        if i < len(ada_words):
            first.press(ada_words[i] if ada_words[i] != " " else "Space")
        if i < len(ben_words):
            second.press(ben_words[i] if ben_words[i] != " " else "Space")
    expected = "Today We call on the council to act without delay.\n\nSecond paragraph stays."
    expect(first).to_have_value(expected)
    expect(second).to_have_value(expected)
    assert page.evaluate("[liveTest.shared(0), liveTest.shared(1)]") == [expected, expected]


def test_a_remote_change_keeps_the_local_selection_on_the_same_words(page: Page) -> None:
    first, second = open_bound(page)
    editor_select_text(page, "paragraph", selector="#second-body")
    caret_at(first, 0)
    first.press_sequentially("Urgent: ")
    expect(second).to_have_value("Urgent: " + START)
    selected = second.evaluate("ta => ta.value.slice(ta.selectionStart, ta.selectionEnd)")
    assert selected == "paragraph"
    # And Ben's typing replaces his selection, where he sees it.
    second.press_sequentially("part")
    expect(first).to_have_value("Urgent: We call on the council to act.\n\nSecond part stays.")


def test_offline_edits_on_both_sides_merge_on_reconnect(page: Page) -> None:
    first, second = open_bound(page)
    page.evaluate("liveTest.online = false")
    caret_at(first, START.index("council") + len("council"))
    first.press_sequentially(" and the mayor")
    caret_at(second, len(START) - 1)
    second.press_sequentially(" as it is")
    page.wait_for_timeout(200)  # longer than the delay: nothing crossed
    expect(first).to_have_value(
        "We call on the council and the mayor to act.\n\nSecond paragraph stays."
    )
    expect(second).to_have_value(
        "We call on the council to act.\n\nSecond paragraph stays as it is."
    )
    page.evaluate("liveTest.reconnect()")
    merged = "We call on the council and the mayor to act.\n\nSecond paragraph stays as it is."
    expect(first).to_have_value(merged)
    expect(second).to_have_value(merged)


def test_the_other_persons_caret_and_selection_are_drawn_with_their_name(page: Page) -> None:
    first, second = open_bound(page)
    editor_select_text(page, "council", selector="#second-body")
    ben = page.locator(".live-frame").first.locator(".live-caret-name")
    expect(ben).to_have_text("Ben")
    expect(page.locator(".live-frame").first.locator(".live-selection")).to_have_text("council")
    # The caret is drawn on the first line of the first textarea, after "council".
    box, area = ben.bounding_box(), first.bounding_box()
    assert box is not None and area is not None
    assert area["x"] < box["x"] < area["x"] + area["width"]
    assert area["y"] - box["height"] <= box["y"] < area["y"] + 40
    # Ada sees Ben's caret move as he moves it.
    caret_at(second, len(START))
    expect(page.locator(".live-frame").first.locator(".live-selection")).to_have_count(0)
    expect(ben).to_have_count(1)


def test_toolbar_and_paste_edits_reach_the_other_editor(page: Page) -> None:
    _first, second = open_bound(page)
    editor_select_text(page, "council", selector="#first-body")
    editor_button(page, "Bold").first.click()
    expect(second).to_have_value("We call on the **council** to act.\n\nSecond paragraph stays.")
    editor_select_text(page, "stays", selector="#first-body")
    assert editor_paste(page, "<p>is <em>kept</em></p>", "is kept", selector="#first-body")
    expect(second).to_have_value(
        "We call on the **council** to act.\n\nSecond paragraph is *kept*."
    )


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, PHONE_390])
def test_the_bound_editors_pass_axe(new_page: NewPage, viewport: dict[str, int]) -> None:
    page = new_page(viewport=viewport)
    open_bound(page)
    editor_select_text(page, "council", selector="#second-body")
    expect(page.locator(".live-caret-name")).to_have_count(1)
    assert axe_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_undo_takes_back_ones_own_typing_only(page: Page) -> None:
    first, second = open_bound(page)
    caret_at(second, len(START))
    second.press_sequentially(" Ben")
    caret_at(first, 0)
    first.press_sequentially("Ada ")
    both = "Ada " + START + " Ben"
    expect(first).to_have_value(both)
    expect(second).to_have_value(both)
    first.press("Control+z")
    expect(first).to_have_value(START + " Ben")
    expect(second).to_have_value(START + " Ben")
    first.press("Control+Shift+z")
    expect(second).to_have_value(both)


#: Records every state each document's shared text takes, and the first textarea's
#: composition events, for the input method tests below.
RECORD = """() => {
  liveTest.states = [[], []];
  liveTest.docs.forEach((doc, i) => doc.getText("markdown").observe(
    () => liveTest.states[i].push(doc.getText("markdown").toString())));
  liveTest.events = [];
  const first = document.querySelectorAll("textarea[data-editor]")[0];
  ["compositionstart", "compositionend"].forEach((type) =>
    first.addEventListener(type, () => liveTest.events.push(type)));
}"""
#: What an input method shows while "nihon" is typed in Japanese, step by step, and the
#: word then picked.
KANA = ["n", "\u306b", "\u306bh", "\u306b\u307b", "\u306b\u307bn", "\u306b\u307b\u3093"]
PICKED = "\u65e5\u672c "


def other_types(page: Page, index: int, text: str) -> None:
    """A change made in the second document, as Ben's page would send it (his textarea
    is not focused: focusing it would end the first one's composition)."""
    page.evaluate("([i, t]) => liveTest.docs[1].getText('markdown').insert(i, t)", [index, text])


class InputMethod:
    """The browser's own input method events, through the Chrome DevTools Protocol:
    ``step`` is a composition update (compositionstart the first time, then an input
    event each), ``pick`` commits the chosen text (compositionend)."""

    def __init__(self, page: Page) -> None:
        self.cdp = page.context.new_cdp_session(page)

    def step(self, text: str) -> None:
        caret = {"selectionStart": len(text), "selectionEnd": len(text)}
        self.cdp.send("Input.imeSetComposition", {"text": text, **caret})

    def pick(self, text: str) -> None:
        self.cdp.send("Input.insertText", {"text": text})


def test_an_input_method_shares_only_the_composed_text(page: Page) -> None:
    first, second = open_bound(page)
    page.evaluate(RECORD)
    caret_at(first, START.index("council"))
    ime = InputMethod(page)
    for text in KANA:
        ime.step(text)
    page.wait_for_timeout(200)  # longer than the delay: a shared step would have crossed
    expect(first).to_have_value(START.replace("council", KANA[-1] + "council"))
    expect(second).to_have_value(START)
    ime.pick(PICKED)
    expected = START.replace("council", PICKED + "council")
    expect(second).to_have_value(expected)
    expect(first).to_have_value(expected)
    # One change each side, the picked word: no step of the composition was ever shared.
    assert page.evaluate("liveTest.states") == [[expected], [expected]]
    # Typing after it goes on as usual, after the picked word.
    first.press_sequentially("city ")
    expect(second).to_have_value(START.replace("council", PICKED + "city council"))


def test_a_remote_change_waits_for_the_composition_and_nothing_is_lost(page: Page) -> None:
    first, second = open_bound(page)
    page.evaluate(RECORD)
    caret_at(first, START.index("council"))
    ime = InputMethod(page)
    for text in KANA[:3]:
        ime.step(text)
    # Ben types before Ada's words and at the end while she is still composing.
    other_types(page, 0, "Urgent: ")
    other_types(page, len("Urgent: " + START), " Now.")
    page.wait_for_timeout(200)  # delivered to Ada's document, held from her textarea
    assert page.evaluate("liveTest.states[0].length") > 0
    expect(first).to_have_value(START.replace("council", KANA[2] + "council"))
    for text in KANA[3:]:  # her composition goes on: it was not broken
        ime.step(text)
    assert page.evaluate("liveTest.events") == ["compositionstart"]
    ime.pick(PICKED)
    expected = "Urgent: " + START.replace("council", PICKED + "council") + " Now."
    expect(first).to_have_value(expected)
    expect(second).to_have_value(expected)
    assert page.evaluate("liveTest.events") == ["compositionstart", "compositionend"]
    # Her caret is after the picked word, and Ben's document never saw a step of it.
    caret = first.evaluate("ta => [ta.selectionStart, ta.selectionEnd]")
    assert caret == [expected.index("council")] * 2
    assert not any(KANA[1] in state for state in page.evaluate("liveTest.states[1]"))


def test_a_composition_over_a_selection_replaces_it_once(page: Page) -> None:
    first, second = open_bound(page)
    page.evaluate(RECORD)
    editor_select_text(page, "council", selector="#first-body")
    ime = InputMethod(page)
    ime.step("\u8b70")
    other_types(page, 0, "Urgent: ")
    page.wait_for_timeout(200)
    ime.pick("\u8b70\u4f1a")
    expected = "Urgent: " + START.replace("council", "\u8b70\u4f1a")
    expect(first).to_have_value(expected)
    expect(second).to_have_value(expected)
