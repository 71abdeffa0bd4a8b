"""Where the machine's CPU went during a load-test phase, by component.

The load test runs everything on one machine: Signon's gunicorn workers, its ``flask
worker`` and ``flask scheduler``, PostgreSQL, Redis, and the harness (locust, the mail
catcher standing in for the signers' inboxes, the bare endpoint). The sign-on rate on 2
cores is bounded by the CPU all of them need per sign-on, so the report divides each
component's CPU time by the confirmed sign-ons: what the product costs, what the harness
costs, and what else ran on the machine (other people's work on a shared machine).

CPU time comes from ``/proc/<pid>/stat`` (user + system time, and the time of exited
children a process has reaped: gunicorn's arbiter reaps workers recycled by
``max_requests``, the postmaster its backends). Locust runs as a child of the load test
and has exited when the phase ends: its time is the growth of this process's
``RUSAGE_CHILDREN`` over the phase, taken by the caller.
"""

from __future__ import annotations

import os
import resource
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

TICK = float(os.sysconf("SC_CLK_TCK"))
PROC = Path("/proc")

#: Components in report order; "harness" ones are the load test's, not the product's.
PRODUCT = ("Signon web (gunicorn)", "flask worker", "flask scheduler", "PostgreSQL", "Redis")
HARNESS = ("locust", "mail catcher", "bare endpoint (gunicorn)")


def _is_ours(command: str, database: str, redis_port: int) -> str | None:
    """PostgreSQL or Redis, if the process is this run's (None: not one of ours)."""
    if command.startswith("postgres:"):
        # A backend names its database and client; the server's own processes (writer,
        # WAL writer, checkpointer...) work for every database and count here.
        backend = "(" in command or "[local]" in command
        return "PostgreSQL" if not backend or f" {database} " in command else None
    if command.startswith("redis-server") and f":{redis_port}" in command:
        return "Redis"
    return None


def _stat(pid: str) -> tuple[int, float]:
    """(parent pid, user + system time of the process and of the children it reaped)."""
    stat = (PROC / pid / "stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return int(fields[1]), (utime + stime + cutime + cstime) / TICK


def _command(pid: str) -> str:
    raw = (PROC / pid / "cmdline").read_bytes()
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def machine_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, which is counted in user already
    return (total - idle) / TICK, total / TICK


def snapshot(roots: dict[str, int], database: str, redis_port: int) -> dict[str, float]:
    """CPU seconds used so far by each component: a started process and its descendants
    (``roots``, by pid: gunicorn's arbiter and its workers), this run's PostgreSQL backends
    and server processes, and the Redis server on ``redis_port``."""
    parents: dict[int, int] = {}
    seconds: dict[int, float] = {}
    used: dict[str, float] = defaultdict(float)
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            pid = int(entry.name)
            parents[pid], seconds[pid] = _stat(entry.name)
            component = _is_ours(_command(entry.name), database, redis_port)
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue  # the process ended while it was read
        if component is not None:
            used[component] += seconds[pid]
    owner = {pid: name for name, pid in roots.items()}
    for pid, spent in seconds.items():
        ancestor = pid
        while ancestor > 1 and ancestor not in owner:
            ancestor = parents.get(ancestor, 0)
        if ancestor in owner:
            used[owner[ancestor]] += spent
    return dict(used)


def children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Usage:
    """CPU seconds per component over one phase, and the machine's busy and total time."""

    components: dict[str, float] = field(default_factory=dict)
    busy: float = 0.0
    total: float = 0.0

    @property
    def other(self) -> float:
        """Busy time no component accounts for: other people's work, the kernel's."""
        return max(0.0, self.busy - sum(self.components.values()))


class Meter:
    """Started before a phase, read after it: :class:`Usage` of the phase."""

    def __init__(self, roots: dict[str, int], database: str, redis_port: int) -> None:
        self.roots, self.database, self.redis_port = roots, database, redis_port
        self._start = snapshot(roots, database, redis_port)
        self._children = children_seconds()
        self._machine = machine_seconds()

    def read(self, child_label: str = "locust") -> Usage:
        end = snapshot(self.roots, self.database, self.redis_port)
        busy, total = machine_seconds()
        components = {
            name: max(0.0, end.get(name, 0.0) - self._start.get(name, 0.0))
            for name in (*PRODUCT, *HARNESS)
        }
        components[child_label] = children_seconds() - self._children
        return Usage(components, busy - self._machine[0], total - self._machine[1])


def report(usage: Usage, sign_ons: int, cpus: int) -> list[str]:
    """Lines: each component's CPU ms per confirmed sign-on and its share of the machine."""
    if sign_ons <= 0 or usage.total <= 0:
        return ["no confirmed sign-on in the phase: nothing to divide by"]
    lines = [f"{'component':28} {'CPU ms/sign-on':>15} {'% of machine':>13}"]

    def line(name: str, seconds: float) -> str:
        return f"{name:28} {seconds * 1000 / sign_ons:15.1f} {seconds / usage.total:13.1%}"

    product = sum(usage.components.get(name, 0.0) for name in PRODUCT)
    harness = sum(usage.components.get(name, 0.0) for name in HARNESS)
    lines += [line(name, usage.components.get(name, 0.0)) for name in PRODUCT]
    lines.append(line("= the product", product))
    lines += [line(name, usage.components.get(name, 0.0)) for name in HARNESS]
    lines.append(line("= the harness", harness))
    lines.append(line("other (not this run's)", usage.other))
    lines.append(line("idle", usage.total - usage.busy))
    per_sign_on = product / sign_ons
    if per_sign_on > 0:
        lines.append(
            f"capacity of {cpus} cores for the product alone (harness elsewhere, no readers' "
            f"share removed): {cpus / per_sign_on:.0f} sign-ons/s"
        )
    return lines
