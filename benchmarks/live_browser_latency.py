"""Live co-editing as people see it: the time from a key pressed in one browser to the
change in the other editors' textareas (issue 13 item 5, browser side).

The app runs in this process on werkzeug's threaded server (as ``make run`` serves it:
the WebSocket is served by the app itself), on a throw-away SQLite database; Debian's
Chromium (through Playwright, as the e2e tests) opens the letter editor in ``--editors``
browser contexts, one person each. The first person types ``--keys`` characters at the
end of the text, one every ``--interval`` ms; each other editor records when its
textarea received each character. Both times are read in the browser
(``performance.timeOrigin + performance.now()``, one clock for every page of the browser):
from the keydown in the typist's page to the textarea's change in the reader's page, so
the figure holds the Yjs encoding, the socket to the server, the server's checks and
storage of the update, the relay to the other sockets and the binding's rewrite of the
textarea. Prints p50, p90, p99 and max in milliseconds, and the load average.

    .venv/bin/python -m benchmarks.live_browser_latency --editors 2 --keys 200
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

SETUP_TYPIST = """() => {
  const ta = document.querySelector("textarea[data-editor]");
  window.__sent = [];
  const now = () => performance.timeOrigin + performance.now();
  ta.addEventListener("keydown", () => { window.__sent.push(now()); }, true);
  ta.focus();
  ta.setSelectionRange(ta.value.length, ta.value.length);
  return ta.value.length;
}"""

SETUP_READER = """() => {
  const ta = document.querySelector("textarea[data-editor]");
  window.__got = [];
  ta.addEventListener("input", () => {
    window.__got.push([ta.value.length, performance.timeOrigin + performance.now()]);
  });
}"""


LENGTH = "document.querySelector('textarea[data-editor]').value.length"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--editors", type=int, default=2, help="browser contexts (people)")
    parser.add_argument("--keys", type=int, default=200, help="characters typed")
    parser.add_argument("--interval", type=float, default=100.0, help="ms between keys")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)

    from flask_migrate import upgrade
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from benchmarks.harness import settings
    from signon import create_app
    from signon.core.permissions import TeamRole
    from signon.core.transaction import commit
    from signon.drafting.live.hub import hub
    from tests.e2e import testapp
    from tests.e2e.conftest import CHROMIUM_ARGS, find_chromium
    from tests.factories import add_team_member, make_letter, make_user

    folder = Path(tempfile.mkdtemp(prefix="signon-live-bench-"))
    server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    url = f"http://127.0.0.1:{server.server_port}"
    app = create_app(settings(f"sqlite:///{folder / 'live.db'}", str(folder)).with_(base_url=url))
    app.register_blueprint(testapp.bp)  # /__test__/login/<id>: a session without the form
    with app.app_context():
        upgrade()
        people = [make_user(name=f"Editor {i + 1}") for i in range(args.editors)]
        letter = make_letter(people[0], body="## A letter\n\nWe call on the council to act.\n")
        for person in people[1:]:
            add_team_member(letter, role=TeamRole.DRAFTER, user=person)
        slug, ids = letter.slug, [p.id for p in people]
        commit()
    server.app = app  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    executable = find_chromium()
    assert executable, "Chromium is needed (/usr/bin/chromium)"
    load_before = os.getloadavg()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        pages = []
        for user_id in ids:
            page = browser.new_context(base_url=url).new_page()
            page.goto(testapp.login_url(user_id, f"/letters/{slug}/edit"))
            page.wait_for_selector(".live-panel[data-live-state=live]")
            pages.append(page)
        typist, readers = pages[0], pages[1:]
        start_length = int(typist.evaluate(SETUP_TYPIST))
        for reader in readers:
            reader.evaluate(SETUP_READER)
        for _ in range(args.keys):
            typist.keyboard.press("x")
            time.sleep(args.interval / 1000)
        deadline = time.monotonic() + 10
        target = start_length + args.keys
        for reader in readers:
            while reader.evaluate(LENGTH) < target:
                assert time.monotonic() < deadline, "the other editors did not receive every key"
                time.sleep(0.05)
        sent: list[float] = typist.evaluate("window.__sent")
        latencies: list[float] = []
        for reader in readers:
            got: list[list[float]] = reader.evaluate("window.__got")
            for i, pressed in enumerate(sent):
                arrived = next(t for length, t in got if length >= start_length + i + 1)
                latencies.append(arrived - pressed)
        browser.close()
    load_after = os.getloadavg()
    hub(app).stop()
    server.shutdown()

    print(
        f"editors={args.editors} keys={args.keys} interval={args.interval:g} ms "
        f"samples={len(latencies)}"
    )
    print(
        f"key -> other editors' textarea, ms: p50 {percentile(latencies, 0.5):.1f}  "
        f"p90 {percentile(latencies, 0.9):.1f}  p99 {percentile(latencies, 0.99):.1f}  "
        f"max {max(latencies):.1f}  mean {statistics.fmean(latencies):.1f}"
    )
    print(
        "load average (1, 5, 15 min): before "
        + " ".join(f"{x:.2f}" for x in load_before)
        + ", after "
        + " ".join(f"{x:.2f}" for x in load_after)
    )


if __name__ == "__main__":
    main()
