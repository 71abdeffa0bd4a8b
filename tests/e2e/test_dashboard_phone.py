"""The signatories dashboard's chart at phone width (390 px), in Chromium."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import expect

from signon.core import transaction
from signon.demo import COORDINATOR_EMAIL, DEMO_PASSWORD, DEMO_SLUG, seed_demo
from tests.e2e.conftest import PHONE, LiveServer, NewPage
from tests.e2e.helpers import login_via_form

pytestmark = [pytest.mark.real_commits, pytest.mark.axe_every_page]


def test_the_chart_fits_a_phone_and_its_labels_stay_readable(
    app: Flask, live_server: LiveServer, new_page: NewPage
) -> None:
    with app.app_context():
        seed_demo()
        transaction.commit()
    page = new_page(viewport=PHONE)
    login_via_form(page, live_server.url, COORDINATOR_EMAIL, DEMO_PASSWORD)
    page.goto(f"/letters/{DEMO_SLUG}/signatories")
    chart = page.locator("figure.chart-figure svg.chart")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box  # nothing cut off
    figure = page.locator("figure.chart-figure")
    assert figure.evaluate("f => f.scrollWidth <= f.clientWidth"), "the chart scrolls sideways"
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    # the axis labels, scaled down with the chart, are still at least 9 px tall
    label = chart.locator("text").first
    label_box = label.bounding_box()
    assert label_box is not None and label_box["height"] >= 9, label_box
