"""What does a diff of the formatted text cost, next to the plain word diffs? Prints figures.

    .venv/bin/python -m benchmarks.rendered_diff [--runs 5]

Issue 12 item 3: Compare, Changes, the invitee page and the re-confirmation mails show
the rendered letter with its changes marked inside it (``marked_diff``), where they
showed the word diff of the Markdown source (``word_diff``) or of the rendered text
as plain lines (``readable_diff``). For letters of several lengths (headings, bold,
links and lists, realistic prose), with a few words changed, one paragraph removed and
one list item added, it prints the median time of each, and each as a ratio of
``word_diff`` measured in the same run (the baseline: what Compare cost before).
``marked_diff`` renders both texts; ``stored`` is what ``marked_revisions`` (which the
pages and mails call) costs the first time, from the HTML each revision stores.

``--page`` measures the Changes page of a letter of about 50,000 characters with 20
revisions waiting (``OPTIONAL_DIFFS`` diffs shown), on a fresh SQLite database: its first
view in a new process when no diff is stored (what every process paid before diffs were
stored), the background job that stores them (once per save), and the first view in a
new process once they are stored (each view starts with an empty per-process cache).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial

from benchmarks.harness import load_average
from signon.core.markdown import render_markdown
from signon.letters import rendered_diff
from signon.letters.rendered_diff import marked_diff, readable_diff
from signon.letters.text import word_diff

SECTION = (
    "## Section {n}: climate finance\n\n"
    "**Dear Ministers**, we, the undersigned organisations, call on the *Assembly* to act "
    "on [cooperation](https://example.org/{n}) without delay. States must arrest the "
    "suspects and support the Court's mandate.\n\n"
    "- first demand of section {n}\n- second demand, with **bold** words\n"
    "- third demand\n\n"
)


def texts(length: int) -> tuple[str, str]:
    """An old text of about ``length`` characters and a new one with a few edits."""
    sections = max(1, length // len(SECTION))
    old = "".join(SECTION.format(n=n) for n in range(sections))
    new = old.replace("without delay", "at once", 3)
    new = new.replace("States must arrest the suspects and", "States must", 1)
    middle = SECTION.format(n=sections // 2)
    new = new.replace(middle, middle.replace("- third demand\n", "- third demand\n- a new one\n"))
    paragraph = middle.split("\n\n")[1] + "\n\n"
    return old, new.replace(paragraph, "", 1)


class Stored:
    """A revision's stored HTML."""

    def __init__(self, markdown: str) -> None:
        self.body_html = render_markdown(markdown)


def median_ms(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def changes_page(runs: int, length: int = 50_000, revisions: int = 20) -> None:
    """The Changes page's first view, with and without the stored diffs (see the doc)."""
    from benchmarks.harness import logged_in, settings
    from signon import create_app
    from signon.core import transaction
    from signon.letters.diff_store import store_missing_diffs
    from tests.factories import add_revision, make_letter, make_user

    old, _ = texts(length)
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(settings(f"sqlite:///{folder}/bench.db", folder))
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            user = make_user()
            letter = make_letter(user, body=old)
            for n in range(revisions):
                add_revision(letter, user, old.replace("without delay", f"within {n} days", 1))
            slug, session_id, letter_id = letter.slug, user.get_id(), letter.id
            transaction.commit()
        client = logged_in(app, session_id)
        path = f"/letters/{slug}/changes"

        def first_view() -> None:
            rendered_diff._kept.clear()  # a new process: nothing kept in memory
            assert client.get(path).status_code == 200

        before = median_ms(first_view, runs)
        with app.app_context():
            started = time.perf_counter()
            rendered_diff._kept.clear()
            stored = store_missing_diffs(letter_id)
            transaction.commit()
            job = (time.perf_counter() - started) * 1000
        after = median_ms(first_view, runs)
    print(
        f"\nChanges page, {len(old):,} characters, {revisions} revisions waiting, "
        f"first view in a new process (median of {runs}):\n"
        f"  diffs not stored: {before:,.0f} ms\n"
        f"  the job storing the {stored} diffs (once, in the background): {job:,.0f} ms\n"
        f"  diffs stored: {after:,.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--page", action="store_true", help="measure the Changes page")
    args = parser.parse_args()
    print(f"runs per figure: {args.runs} (median); load average: {load_average()}")
    if args.page:
        changes_page(args.runs)
        return
    print(
        f"{'characters':>10} {'word_diff ms':>13} {'readable ms':>12} {'marked ms':>10} "
        f"{'stored ms':>10} {'readable x':>10} {'marked x':>9} {'stored x':>9}"
    )
    for length in (5_000, 50_000, 200_000):
        old, new = texts(length)
        stored_old, stored_new = Stored(old), Stored(new)
        figures = [
            median_ms(partial(word_diff, old, new), args.runs),
            median_ms(partial(readable_diff, old, new), args.runs),
            median_ms(partial(marked_diff, old, new), args.runs),
            # below marked_revisions' per-process cache: each run diffs again
            median_ms(
                partial(rendered_diff._marked, stored_old.body_html, stored_new.body_html, False),
                args.runs,
            ),
        ]
        base = figures[0]
        print(
            f"{len(old):>10,} {figures[0]:>13.1f} {figures[1]:>12.1f} {figures[2]:>10.1f} "
            f"{figures[3]:>10.1f} {figures[1] / base:>10.2f} {figures[2] / base:>9.2f} "
            f"{figures[3] / base:>9.2f}"
        )


if __name__ == "__main__":
    main()
