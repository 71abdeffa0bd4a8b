"""What does keeping comments on their passages cost? Prints figures.

    .venv/bin/python -m benchmarks.comment_anchors [--runs 5]

Issue 13 item 1: a comment thread is anchored to a passage and carried to each revision
when that revision is saved (``drafting.comments.operations.carry_threads``: one word diff
of the parent and the new text, then each thread mapped through it, ``anchors.carry_all``),
so a page view diffs nothing. For letters of about 3, 30 and 90 pages (3,000 characters a
page) with a few words changed in the middle, and 10, 100 and 500 threads spread over the
text, it prints the median time of:

- ``save``: what a save adds (one diff, every thread carried: ``carry_all``);
- ``per thread``: the same with one diff per thread (``carry`` in a loop), for comparison;
- ``view, 20 revisions behind``: what a page would cost if it re-anchored the threads
  through every revision since they were made (20 diffs), which Signon does not do.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections.abc import Callable
from functools import partial

from benchmarks.harness import load_average
from signon.drafting.anchors import Passage, carry, carry_all, locate

PAGE = 3000
PARAGRAPH = (
    "Paragraph {n}. We, the undersigned organisations, call on the **Assembly** of States "
    "Parties to act on [cooperation](https://example.org/{n}) without delay; States must "
    "arrest the suspects named in warrant {n} and support the Court's mandate.\n\n"
)


def text(pages: int) -> str:
    count = max(1, pages * PAGE // len(PARAGRAPH.format(n=0)))
    return "".join(PARAGRAPH.format(n=n) for n in range(count))


def edited(body: str, n: int) -> str:
    """A few words changed near the middle of the text (a new revision)."""
    middle = body.count("Paragraph ") // 2 + n
    return body.replace(f"warrant {middle} and", f"warrant {middle}, promptly, and", 1)


def passages(body: str, count: int) -> list[Passage]:
    total = body.count("Paragraph ")
    found = []
    for k in range(count):
        n = k * total // count
        passage = locate(body, f"suspects named in warrant {n} ")
        assert passage is not None
        found.append(passage)
    return found


def median_ms(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def carry_one_by_one(anchored: list[Passage], old: str, new: str) -> None:
    for passage in anchored:
        carry(passage, old, new)


def carry_through(anchored: list[Passage], chain: list[str]) -> None:
    current = list(anchored)
    for before, after in itertools.pairwise(chain):
        current = [p for p in carry_all(current, before, after) if p is not None]


def measure(pages: int, count: int, chain: list[str], new: str, runs: int) -> str:
    """One row of the table."""
    old = chain[0]
    anchored = passages(old, count)
    assert all(p is not None for p in carry_all(anchored, old, new))
    save = median_ms(partial(carry_all, anchored, old, new), runs)
    one_by_one = (
        median_ms(partial(carry_one_by_one, anchored, old, new), max(1, runs // 2))
        if count <= 100
        else float("nan")
    )
    behind = median_ms(partial(carry_through, anchored, chain), max(1, runs // 2))
    return f"| {pages} | {count} | {save:.1f} | {one_by_one:.1f} | {behind:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print(f"load average before: {load_average()}")
    print("| pages | threads | save ms | per thread ms | view, 20 revisions behind ms |")
    print("|------:|--------:|--------:|--------------:|-----------------------------:|")
    for pages in (3, 30, 90):
        old = text(pages)
        new = edited(old, 0)
        chain = [old]
        for n in range(20):
            chain.append(edited(chain[-1], n))
        for count in (10, 100, 500):
            print(measure(pages, count, chain, new, runs))
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
