"""The approvals-over-time chart, drawn on the server as inline SVG (no JavaScript).

:func:`approvals_per_day` turns signature events into a cumulative count per day
(an organisation counts once from its first approval, and leaves the count when it
withdraws or declines); :func:`render_chart` draws it as a step line
with axes, tick labels, a ``<title>`` and a ``<desc>``. The page pairs the chart
with a visually hidden table of the same figures for screen readers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from math import floor, log10

from markupsafe import Markup

from signon.core.timefmt import axis_label, date_text

#: The action that brings an organisation into the count; the others take it out.
UP = "approved"
DOWN = frozenset({"withdrawn", "declined"})

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 36, 16, 44
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
INK, MUTED, GRID, LINE = "#1d2330", "#4a5263", "#d5d9e0", "#1f4fa3"


@dataclass(frozen=True)
class DayCount:
    """One day with changes: how many came in, how many left, the total at the day's end."""

    day: date
    approved: int
    left: int
    total: int


def approvals_per_day(events: Iterable[tuple[int, str, datetime]], zone: tzinfo) -> list[DayCount]:
    """Cumulative approvals per day (in ``zone``), from (signature id, action, time) events.

    Events must come oldest first. A second approval by an organisation that is
    already counted (re-confirming a new revision) changes nothing; a withdrawal
    only counts for an organisation that was counted.
    """
    approved: set[int] = set()
    days: dict[date, list[int]] = {}
    for signature_id, action, at in events:
        day = at.astimezone(zone).date()
        if action == UP and signature_id not in approved:
            approved.add(signature_id)
            days.setdefault(day, [0, 0])[0] += 1
        elif action in DOWN and signature_id in approved:
            approved.discard(signature_id)
            days.setdefault(day, [0, 0])[1] += 1
    return _running_totals(days)


def daily_totals(changes: Iterable[tuple[datetime, int, int]], zone: tzinfo) -> list[DayCount]:
    """Cumulative approvals per day (in ``zone``) from counts already made per slot of
    time (:func:`signon.signatures.dashboard.queries.approval_changes`): the same days
    as :func:`approvals_per_day` over the events, without reading each event."""
    days: dict[date, list[int]] = {}
    for at, came, left in changes:
        counted = days.setdefault(at.astimezone(zone).date(), [0, 0])
        counted[0] += came
        counted[1] += left
    return _running_totals(days)


def _running_totals(days: dict[date, list[int]]) -> list[DayCount]:
    """Each day's approvals that came and left (``[came, left]``), in date order, with the
    running total after each day."""
    total = 0
    result = []
    for day in sorted(days):
        came, left = days[day]
        total += came - left
        result.append(DayCount(day, came, left, total))
    return result


def _nice_step(raw: float) -> int:
    """1, 2 or 5 times a power of ten, at least ``raw`` (and at least 1)."""
    if raw <= 1:
        return 1
    magnitude = 10 ** floor(log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return int(factor * magnitude)
    return int(10 * magnitude)  # pragma: no cover - the loop always returns


def _y_ticks(peak: int) -> list[int]:
    step = _nice_step(peak / 4)
    top = max(step, -(-peak // step) * step)
    return list(range(0, top + 1, step))


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def _x_ticks(start: date, end: date) -> list[tuple[date, str]]:
    """Dates to mark on the time axis (at most about eight), with their labels."""
    span = (end - start).days
    if span <= 62:
        step = next(s for s in (1, 2, 7, 14, 21) if span / s <= 8)
        first = start if step < 7 else start + timedelta(days=(7 - start.weekday()) % 7)
        ticks = [first + timedelta(days=n) for n in range(0, span + 1, step)]
        return [(d, axis_label(d, with_year=False)) for d in ticks if d <= end]
    months = span / 30.4
    step = next((s for s in (1, 2, 3, 6, 12, 24, 60) if months / s <= 8), 120)
    first = _add_months(start, 1) if start.day != 1 else start
    first = _add_months(first, (step - (first.month - 1) % step) % step)
    ticks = []
    current = first
    while current <= end:
        ticks.append(current)
        current = _add_months(current, step)
    return [(d, axis_label(d, with_year=True)) for d in ticks]


def _fmt(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _human(day: date) -> str:
    return date_text(day)


def _el(name: str, *children: Markup | str, **attrs: object) -> Markup:
    """An SVG element, attribute values and text escaped (``stroke_width``: ``stroke-width``)."""
    attributes = Markup("").join(
        Markup(' {}="{}"').format(key.rstrip("_").replace("_", "-"), value)
        for key, value in attrs.items()
        if value is not None
    )
    if not children:
        return Markup("<{}{}/>").format(name, attributes)
    return Markup("<{0}{1}>{2}</{0}>").format(name, attributes, Markup("").join(children))


def render_chart(
    days: Sequence[DayCount],
    *,
    today: date,
    title: str = "Approvals over time",
    id_prefix: str = "approvals-chart",
) -> Markup:
    """An accessible inline SVG of the cumulative approvals, from the day before the first
    approval up to ``today`` (or the last day with data, if later)."""
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    if not days:
        description = "No organisation has approved the letter yet."
    else:
        last = days[-1]
        peak = max(days, key=lambda d: d.total)
        description = (
            f"Cumulative number of organisations that approved the letter, per day, from "
            f"{_human(days[0].day)} to {_human(max(today, last.day))}. "
            f"{last.total} at the end; highest {peak.total} on {_human(peak.day)}."
        )
    parts: list[Markup] = [
        _el("title", title, id=title_id),
        _el("desc", description, id=desc_id),
    ]
    add = parts.append
    x0, y0, x1 = LEFT, TOP + PLOT_H, LEFT + PLOT_W
    axes = [
        _el("line", x1=x0, y1=TOP, x2=x0, y2=y0, stroke=MUTED),
        _el("line", x1=x0, y1=y0, x2=x1, y2=y0, stroke=MUTED),
    ]
    if not days:
        parts.extend(axes)
        add(
            _el(
                "text",
                "No approvals yet",
                x=_fmt(LEFT + PLOT_W / 2),
                y=_fmt(TOP + PLOT_H / 2),
                text_anchor="middle",
                fill=MUTED,
                font_size=14,
            )
        )
        return _svg(parts, title_id, desc_id)

    # one slot per day, from the day before the first approval (at zero) to today;
    # a day's total is drawn at the middle of its slot
    start = days[0].day - timedelta(days=1)
    end = max(today, days[-1].day)
    slots = (end - start).days + 1
    y_ticks = _y_ticks(max(d.total for d in days))
    y_top = y_ticks[-1]

    def x(day: date) -> str:
        return _fmt(LEFT + ((day - start).days + 0.5) / slots * PLOT_W)

    def y(value: int) -> str:
        return _fmt(TOP + PLOT_H - value / y_top * PLOT_H)

    # horizontal grid lines and the count axis
    add(
        _el(
            "g",
            *(
                _el("line", x1=x0, y1=y(tick), x2=x1, y2=y(tick), stroke=GRID)
                + _el("text", str(tick), x=x0 - 6, y=y(tick), dy="0.32em")
                for tick in y_ticks
            ),
            class_="chart-y-axis",
            fill=MUTED,
            text_anchor="end",
        )
    )
    middle = _fmt(TOP + PLOT_H / 2)
    add(
        _el(
            "text",
            "Organisations",
            x=14,
            y=middle,
            fill=MUTED,
            text_anchor="middle",
            transform=f"rotate(-90 14 {middle})",
        )
    )
    parts.extend(axes)
    add(
        _el(
            "g",
            *(
                _el("line", x1=x(day), y1=y0, x2=x(day), y2=y0 + 5, stroke=MUTED)
                + _el("text", label, x=x(day), y=y0 + 18)
                for day, label in _x_ticks(start, end)
            ),
            class_="chart-x-axis",
            fill=MUTED,
            text_anchor="middle",
        )
    )
    # the step line: flat until a day with changes, then up (or down) to that day's total
    path = [f"M{x0} {y(0)}"]
    path.extend(f"H{x(point.day)}V{y(point.total)}" for point in days)
    path.append(f"H{x1}")
    add(
        _el(
            "path",
            class_="chart-line",
            d="".join(path),
            fill="none",
            stroke=LINE,
            stroke_width="2.5",
            stroke_linejoin="round",
        )
    )
    if len(days) <= 60:  # a dot (with a tooltip) per day with changes, while they fit
        add(
            _el(
                "g",
                *(
                    _el(
                        "circle",
                        _el("title", f"{_human(point.day)}: {point.total}"),
                        cx=x(point.day),
                        cy=y(point.total),
                        r="3.5",
                    )
                    for point in days
                ),
                class_="chart-points",
                fill=LINE,
            )
        )
    last = days[-1]
    add(
        _el(
            "text",
            str(last.total),
            x=x1,
            y=_fmt(max(TOP + 10, float(y(last.total)) - 8)),
            text_anchor="end",
            fill=INK,
            font_weight="600",
        )
    )
    return _svg(parts, title_id, desc_id)


def _svg(parts: list[Markup], title_id: str, desc_id: str) -> Markup:
    return _el(
        "svg",
        *parts,
        xmlns="http://www.w3.org/2000/svg",
        class_="chart",
        viewBox=f"0 0 {WIDTH} {HEIGHT}",
        role="img",
        aria_labelledby=f"{title_id} {desc_id}",
        font_family="system-ui, -apple-system, Segoe UI, Noto Sans, sans-serif",
        font_size=12,
    )
