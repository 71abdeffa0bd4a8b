"""Run callables in threads at once, and report their failures in the test's own thread."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_together(workers: list[Callable[[], None]], timeout: float = 120) -> None:
    """Start every worker in its own thread, wait for all, and fail on any error or hang."""
    errors: list[BaseException] = []

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # reported in the main thread
                errors.append(exc)

        return run

    threads = [threading.Thread(target=wrap(w)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert not errors, errors
