"""What does one anonymous view of a public page cost? Prints figures; asserts nothing.

    .venv/bin/python -m benchmarks.render_cost [--runs 5]

Issue 9 item 12: 200,000 characters of ``![`` cost 4.5 s of server time per view of
``/p/<slug>``, because every view rendered the Markdown again. Now each revision's
HTML is rendered once, when the revision is made, and stored.

For each text (realistic prose and pathological Markdown, at the length bound and at
the old bound of 200,000 characters) it prints, on a fresh SQLite database in a
temporary folder:

- ``render s``: one Markdown render (markdown-it-py + nh3), the cost every view paid
  before and the cost each save pays now, once;
- ``view ms``: the median server time of ``GET /p/<slug>`` through the test client,
  with the stored HTML (after);
- ``before/after``: (view + render) / view, what storing the HTML saves per view.

Wall-clock times on a shared machine are noisy; the ratios, measured in the same run,
say more than the absolute numbers.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

OLD_BOUND = 200_000


def texts(length: int) -> dict[str, str]:
    """Realistic and pathological letter texts of ``length`` characters."""
    prose = (
        "We, the undersigned organisations, call on the *Assembly* to act "
        "[without delay](https://example.org/report) on the **findings** of the court.\n\n"
    )
    patterns = {
        "prose": prose,
        "![ repeated": "![",
        "[ repeated": "[",
        "*a repeated": "*a",
        "[a]( repeated": "[a](",
        "< repeated": "<",
    }
    return {name: (unit * (length // len(unit) + 1))[:length] for name, unit in patterns.items()}


def median_seconds(function: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="views per text (median)")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from signon import create_app
    from signon.config import Settings
    from signon.core.markdown import render_markdown
    from signon.core.transaction import commit
    from tests.signatures.factories import make_public_letter

    folder = Path(tempfile.mkdtemp(prefix="signon-bench-"))
    app = create_app(
        Settings(
            secret_key="benchmark",  # noqa: S106 - a throwaway app
            database_url=f"sqlite:///{folder / 'bench.db'}",
            storage_dir=str(folder / "storage"),
            ratelimit_enabled=False,
        )
    )
    bound = app.config["SIGNON"].max_body_chars
    print(f"length bound (max_body_chars): {bound:,} characters; old bound {OLD_BOUND:,}\n")
    print(f"{'text':16} {'chars':>8} {'render s':>9} {'view ms':>8} {'before/after':>13}")
    with app.app_context():
        upgrade()
        client = app.test_client()
        for length in (bound, OLD_BOUND):
            for name, text in texts(length).items():
                render = median_seconds(partial(render_markdown, text), 1)
                letter = make_public_letter(body=text)  # stores the HTML: one render
                commit()
                path = f"/p/{letter.slug}"
                assert client.get(path).status_code == 200  # warm-up
                view = median_seconds(partial(client.get, path), args.runs)
                ratio = (view + render) / view
                print(f"{name:16} {length:>8,} {render:>9.3f} {view * 1000:>8.1f} {ratio:>12.0f}x")


if __name__ == "__main__":
    main()
