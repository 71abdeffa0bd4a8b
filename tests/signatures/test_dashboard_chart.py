"""The approvals chart: the cumulative count per day, and the SVG drawn from it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from signon.extensions import db
from signon.signatures.approvals import operations
from signon.signatures.dashboard import queries
from signon.signatures.dashboard.chart import (
    DayCount,
    approvals_per_day,
    daily_totals,
    render_chart,
)
from signon.signatures.models import (
    Moderation,
    Signature,
    SignatureEvent,
    SignatureSource,
    SignatureStatus,
)
from tests.conftest import login
from tests.factories import make_letter, make_user
from tests.signatures.dashboard_data import (
    bulk_signatories,
    every_state,
    three_revision_letter,
)

SVG = "{http://www.w3.org/2000/svg}"


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=UTC)


# --- The count per day ----------------------------------------------------------------------


def test_first_approval_counts_once_and_withdrawals_take_off() -> None:
    events = [
        (1, "approved", at(1)),
        (2, "approved", at(1)),
        (1, "approved", at(2)),  # re-confirmation of a new revision: not a new approval
        (3, "approved", at(3)),
        (2, "withdrawn", at(3)),
        (2, "approved", at(5)),  # approved again after withdrawing: back in
        (4, "declined", at(5)),  # declined without approving: nothing to take off
        (3, "declined", at(6)),  # declined after approving: off
        (5, "withdrawn", at(6)),  # a withdrawal we never saw approved: ignored
    ]
    assert approvals_per_day(events, UTC) == [
        DayCount(date(2025, 3, 1), 2, 0, 2),
        DayCount(date(2025, 3, 3), 1, 1, 2),
        DayCount(date(2025, 3, 5), 1, 0, 3),
        DayCount(date(2025, 3, 6), 0, 1, 2),
    ]


def test_days_are_the_readers_days() -> None:
    events = [(1, "approved", at(1, 23)), (2, "approved", at(2, 1))]
    assert [d.day.day for d in approvals_per_day(events, UTC)] == [1, 2]
    # in Tokyo (UTC+9) both happened on the 2nd
    assert approvals_per_day(events, ZoneInfo("Asia/Tokyo")) == [
        DayCount(date(2025, 3, 2), 2, 0, 2)
    ]


def test_no_events() -> None:
    assert approvals_per_day([], UTC) == []


# --- The SVG --------------------------------------------------------------------------------


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own output, parsed to prove it is XML
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert root.get("viewBox") == "0 0 720 260"
    return root


def texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter(f"{SVG}text")]


def line_points(root: ET.Element) -> list[tuple[float, float]]:
    """The corners of the step line (absolute M/H/V commands)."""
    path = root.find(f".//{SVG}path[@class='chart-line']")
    assert path is not None
    x = y = 0.0
    points = []
    for command, value in re.findall(r"([MHV])([-\d. ]+)", path.get("d") or ""):
        numbers = [float(v) for v in value.split()]
        if command == "M":
            x, y = numbers
        elif command == "H":
            x = numbers[0]
        else:
            y = numbers[0]
        points.append((x, y))
    return points


def test_empty_chart() -> None:
    root = parse(render_chart([], today=date(2025, 3, 1)))
    assert "No approvals yet" in texts(root)
    assert root.find(f".//{SVG}path") is None
    assert "No organisation has approved" in (root.find(f"{SVG}desc").text or "")


def test_one_day() -> None:
    root = parse(render_chart([DayCount(date(2025, 3, 1), 4, 0, 4)], today=date(2025, 3, 1)))
    points = line_points(root)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    assert xs == sorted(xs) and xs[0] == 56 and xs[-1] == 720 - 36  # across the whole plot
    assert max(ys) == 216 and min(ys) == 16  # from zero up to the top tick
    assert 56 < points[1][0] < 684  # the step is inside the plot, not on its edge
    labels = texts(root)
    assert "28 Feb" in labels and "1 Mar" in labels  # the day before, at zero, and the day
    assert "4" in labels  # the y axis ends at the total (a tick), and the last value
    assert len(root.findall(f".//{SVG}circle")) == 1
    desc = root.find(f"{SVG}desc").text or ""
    assert "from 1 March 2025 to 1 March 2025" in desc and "4 at the end" in desc


def test_line_continues_to_today() -> None:
    days = [DayCount(date(2025, 3, 1), 1, 0, 1), DayCount(date(2025, 3, 3), 2, 1, 2)]
    root = parse(render_chart(days, today=date(2025, 3, 20)))
    points = line_points(root)
    assert points[-1][0] == 684 and points[-1][1] == points[-2][1]  # flat until today
    assert "to 20 March 2025" in (root.find(f"{SVG}desc").text or "")


def test_a_year_of_data() -> None:
    start = date(2024, 3, 1)
    days, total = [], 0
    for n in range(365):
        came, left = (n % 7) + 1, n % 3
        total += came - left
        days.append(DayCount(start + timedelta(days=n), came, left, total))
    root = parse(render_chart(days, today=days[-1].day))
    x_labels = [
        el.text for el in root.iter(f"{SVG}text") if re.fullmatch(r"\w{3} \d{4}", el.text or "")
    ]
    assert 4 <= len(x_labels) <= 9, x_labels  # months, not 365 labels
    assert x_labels[0] == "Mar 2024" and x_labels[-1] == "Jan 2025"  # every other month
    axis = root.find(f".//{SVG}g[@class='chart-y-axis']")
    assert max(int(t.text or "") for t in axis.iter(f"{SVG}text")) >= total
    assert root.findall(f".//{SVG}circle") == []  # too many days for dots
    points = line_points(root)
    assert len(points) == 2 + 2 * 365
    assert all(56 <= x <= 684 and 16 <= y <= 216 for x, y in points)


def test_a_few_weeks_get_day_labels() -> None:
    days = [DayCount(date(2025, 3, 1) + timedelta(days=n), 1, 0, n + 1) for n in range(30)]
    root = parse(render_chart(days, today=date(2025, 3, 30)))
    labels = [t for t in texts(root) if re.fullmatch(r"\d{1,2} \w{3}", t)]
    assert 2 <= len(labels) <= 9


@pytest.mark.parametrize("peak", [1, 3, 7, 10, 99, 1234])
def test_y_axis_reaches_the_peak_with_round_ticks(peak: int) -> None:
    root = parse(render_chart([DayCount(date(2025, 3, 1), peak, 0, peak)], today=date(2025, 3, 1)))
    axis = root.find(f".//{SVG}g[@class='chart-y-axis']")
    ticks = [int(t.text or "") for t in axis.iter(f"{SVG}text")]
    assert ticks[0] == 0 and ticks[-1] >= peak
    steps = {b - a for a, b in pairwise(ticks)}
    assert len(steps) == 1 and len(ticks) <= 6


def test_text_is_escaped() -> None:
    svg = render_chart([], today=date(2025, 3, 1), title='Approvals <script>&"')
    root = parse(svg)
    assert root.find(f"{SVG}title").text == 'Approvals <script>&"'
    assert "<script>" not in svg


# --- On the page ----------------------------------------------------------------------------


@pytest.mark.usefixtures("app_context")
def test_chart_on_the_page_counts_only_signatories(client: FlaskClient) -> None:
    coordinator = make_user()
    world = every_state(coordinator)
    login(client, coordinator)
    html = client.get(f"/letters/{world.letter.slug}/signatories").get_data(as_text=True)
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    root = parse(svg)
    # approved: current, unverified, carried, earlier, tampered, imported (6), and withdrawn
    # approved then withdrew; the public sign-ons awaiting moderation or rejected don't count
    assert "6 at the end" in (root.find(f"{SVG}desc").text or "")
    hidden = re.search(r'<div class="visually-hidden">.*?</table>', html, re.S).group(0)
    assert "<caption>Approvals per day</caption>" in hidden
    cells = re.findall(r"<td>(\d+)</td>", hidden)
    assert cells == ["7", "1", "6"]  # one day: 7 came, 1 left, 6 in all


@pytest.mark.usefixtures("app_context")
def test_accepted_public_sign_on_counts() -> None:
    coordinator = make_user()
    world = every_state(coordinator)
    world.signatures["pending"].moderation = Moderation.ACCEPTED
    operations.withdraw(world.signatures["current"], reason=None, email=None)
    db.session.flush()
    events = queries.approval_events(world.letter)
    days = approvals_per_day(events, UTC)
    assert days[-1].total == 6  # +1 accepted, -1 withdrawn


@pytest.mark.usefixtures("app_context")
def test_chart_over_months_of_bulk_data(client: FlaskClient) -> None:
    coordinator = make_user()
    letter = three_revision_letter(coordinator)
    bulk_signatories(letter, 400, seed=3, days=200)
    events = queries.approval_events(letter)
    approved_now = sum(
        1
        for row in queries.signatory_rows(letter).rows
        if row.state.value in ("approved_current", "approved_earlier")
    )
    login(client, coordinator)
    html = client.get(f"/letters/{letter.slug}/signatories").get_data(as_text=True)
    days = approvals_per_day(events, UTC)
    assert len(days) > 60
    # the last point of the line is the number of organisations approving today
    assert days[-1].total == approved_now
    parse(re.search(r"<svg.*?</svg>", html, re.S).group(0))


@pytest.mark.usefixtures("app_context")
def test_signatures_restored_from_a_bundle_count_when_imported_approved() -> None:
    coordinator = make_user()
    letter = make_letter(coordinator)
    head = letter.head()
    for name, status in (
        ("Restored NGO", SignatureStatus.APPROVED),
        ("Gone NGO", SignatureStatus.WITHDRAWN),
    ):
        signature = Signature(
            letter=letter,
            source=SignatureSource.IMPORT,
            status=status,
            name=name,
            name_key=Signature.key_for(name),
            revision_id=head.id,
            approved_sha256=head.content_sha256,
        )
        db.session.add(signature)
        db.session.add(
            SignatureEvent(
                signature=signature,
                action="imported",
                revision_id=head.id,
                details={"status": status.value},
                created_at=at(4),
            )
        )
    db.session.flush()
    events = queries.approval_events(letter)
    assert [action for _, action, _ in events] == ["approved", "imported"]
    assert approvals_per_day(events, UTC) == [DayCount(date(2025, 3, 4), 1, 0, 1)]


@pytest.mark.usefixtures("app_context")
@pytest.mark.parametrize(
    "zone", ["UTC", "Asia/Tokyo", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham"]
)
def test_counts_made_in_sql_give_the_days_of_the_events(zone: str) -> None:
    """The page's chart (per 15-minute slot in SQL) is the chart of every event (in Python),
    for zones a quarter or half an hour off UTC too."""
    coordinator = make_user()
    letter = three_revision_letter(coordinator)
    bulk_signatories(letter, 300, seed=5, days=120)
    # one organisation that approves twice, withdraws twice, comes back and declines
    signature = Signature(
        letter=letter,
        source=SignatureSource.IMPORT,
        status=SignatureStatus.DECLINED,
        name="Back and forth NGO",
        name_key=Signature.key_for("Back and forth NGO"),
    )
    db.session.add(signature)
    start = datetime(2025, 3, 1, 23, 40, tzinfo=UTC)
    for hours, action in enumerate(
        ["approved", "approved", "withdrawn", "withdrawn", "approved", "declined", "declined"]
    ):
        db.session.add(
            SignatureEvent(
                signature=signature, action=action, created_at=start + timedelta(hours=hours * 7)
            )
        )
    db.session.flush()
    reader = ZoneInfo(zone)
    expected = approvals_per_day(queries.approval_events(letter), reader)
    assert len(expected) > 30
    assert daily_totals(queries.approval_changes(letter), reader) == expected
