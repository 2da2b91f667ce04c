"""Statistics in Chromium: a driver's own totals (counted by hand in tests/statistics/world.py),
an administrator grouping by site, and a site's demand forecast."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from backend.db.base import utcnow
from backend.db.models import ChargingSession, SessionStatus
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_charging_in_browser import log_in_as
from tests.statistics.world import StatsWorld, build_stats_world

RANGE = "from=2026-01-01&to=2026-12-31"


async def _recent_mornings(sessionmaker: Any, world: StatsWorld) -> None:
    """Three weeks of weekday arrivals at Alpha, for a forecast worth looking at."""
    rng = random.Random(5)
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    async with sessionmaker() as db:
        for day in range(1, 22):
            start = today - timedelta(days=day)
            if start.weekday() >= 5:
                continue
            for n in range(rng.randint(3, 6)):
                at = start + timedelta(hours=rng.choice((6, 7, 7, 7, 8, 11, 12)), minutes=7 * n)
                db.add(
                    ChargingSession(
                        station_id=world.cs1 if n % 2 else world.cs2,
                        user_id=world.dora.id,
                        ocpp_transaction_id=f"recent-{day}-{n}",
                        status=SessionStatus.COMPLETED,
                        started_at=at,
                        stopped_at=at + timedelta(hours=2),
                        energy_wh=rng.randint(8_000, 25_000),
                    )
                )
        await db.commit()


async def test_a_driver_sees_their_own_totals(
    page: Any, live_server: LiveServer, sessionmaker: Any, make_user: Any
) -> None:
    world = await build_stats_world(sessionmaker, make_user)
    await log_in_as(page, world.dora.token, live_server)
    await page.goto("/")
    await page.get_by_test_id("nav-statistics").click()
    await expect(page).to_have_url(f"{live_server.url}/statistics")
    await page.goto(f"/statistics?period=TOTAL&{RANGE}")
    totals = page.get_by_test_id("stats-totals")
    # Sessions 1, 2 and 3 of the world: 10 + 15 + 5 kWh, 2 h + 3 h + 1 h 30 connected, of which
    # 30 min + 1 h idle; €3.60 + €5.40 and CHF 2.16.
    await expect(page.get_by_test_id("total-sessions")).to_have_text("3")
    await expect(page.get_by_test_id("total-energy")).to_have_text("30.00 kWh")
    await expect(page.get_by_test_id("total-connected")).to_have_text("6 h 30 min")
    await expect(page.get_by_test_id("total-charging")).to_have_text("5 h 00 min")
    await expect(page.get_by_test_id("total-inactivity")).to_have_text("1 h 30 min")
    await expect(page.get_by_test_id("total-cost")).to_have_text("CHF 2.16 · €9.00")
    await expect(totals).to_have_attribute("data-energy-wh", "30000")
    # A driver groups by place, never by person, and sees no forecast.
    options = await page.get_by_test_id("stats-group").locator("option").all_inner_texts()
    assert "Driver" not in options
    await expect(page.get_by_test_id("demand-section")).to_have_count(0)
    await expect(page.get_by_test_id("datascience-csv")).to_have_count(0)

    # By day: the session across midnight counts on March 1st, with session 1.
    await page.get_by_test_id("stats-period").select_option("DAY")
    await page.get_by_test_id("stats-apply").click()
    rows = page.get_by_test_id("stats-row")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("Mar 1, 2026")
    await expect(rows.first.get_by_test_id("stats-row-energy")).to_have_text("25.00 kWh")
    await expect(page.get_by_test_id("statistics-chart")).to_have_attribute("data-points", "15")
    await screenshot(page, "statistics-driver")
    await page.set_viewport_size({"width": 390, "height": 844})
    await screenshot(page, "statistics-driver-390")


async def test_an_admin_groups_by_site_and_sees_the_forecast(
    page: Any, live_server: LiveServer, sessionmaker: Any, make_user: Any
) -> None:
    world = await build_stats_world(sessionmaker, make_user)
    await _recent_mornings(sessionmaker, world)
    await log_in_as(page, world.ann.token, live_server)
    await page.goto(f"/statistics?{RANGE.replace('2026-12-31', '2026-04-30')}")
    await expect(page.get_by_test_id("stats-totals")).to_have_attribute("data-sessions", "5")
    await page.get_by_test_id("stats-group").select_option("SITE")
    await page.get_by_test_id("stats-period").select_option("MONTH")
    await page.get_by_test_id("stats-apply").click()
    rows = page.get_by_test_id("stats-row")
    await expect(rows).to_have_count(4)
    await expect(rows.first).to_contain_text("Alpha")
    labels = await page.get_by_test_id("stats-row-label").all_inner_texts()
    assert labels == ["Alpha", "Beta", "Alpha", "Beta"]
    energies = await page.get_by_test_id("stats-row-energy").all_inner_texts()
    # March: sessions 1 + 2 at Alpha, 3 at Beta; April: 6 at Alpha, 7 at Beta (Otto left out).
    assert energies == ["25.00 kWh", "5.00 kWh", "1.00 kWh", "4.00 kWh"]
    chart = page.get_by_test_id("statistics-chart")
    await expect(chart).to_have_attribute("data-series", "2")
    await expect(chart.locator("canvas")).to_have_count(1)
    # The address keeps the choices.
    assert "groupBy=SITE" in page.url and "period=MONTH" in page.url
    # The data-science export follows the range.
    href = await page.get_by_test_id("datascience-csv").get_attribute("href")
    assert href is not None and href.startswith("/export/datascience/sessions.csv?from=2026-01-01")

    demand = page.get_by_test_id("demand-section")
    await expect(demand.get_by_test_id("demand-chart")).to_have_attribute("data-hours", "168")
    await expect(demand.get_by_test_id("demand-site")).to_have_value(str(world.alpha))
    await demand.get_by_test_id("demand-table").locator("summary").click()
    # 7 x 24 h from the current hour, grouped by the site's local days: 8 of them, or 7 when
    # the forecast starts at local midnight.
    start = utcnow().replace(minute=0, second=0, microsecond=0)
    paris = ZoneInfo("Europe/Paris")  # Alpha's time zone in the world
    days = len({(start + timedelta(hours=h)).astimezone(paris).date() for h in range(168)})
    await expect(demand.get_by_test_id("demand-day")).to_have_count(days)
    await expect(page.locator("[data-kind=error]")).to_have_count(0)
    await screenshot(page, "statistics-admin")
    await page.set_viewport_size({"width": 390, "height": 844})
    await screenshot(page, "statistics-admin-390")


async def test_a_site_admin_sees_their_site(
    page: Any, live_server: LiveServer, sessionmaker: Any, make_user: Any
) -> None:
    world = await build_stats_world(sessionmaker, make_user)
    await log_in_as(page, world.sam.token, live_server)
    await page.goto(f"/statistics?groupBy=STATION&period=TOTAL&{RANGE}")
    await expect(page.get_by_test_id("stats-row")).to_have_count(2)
    labels = await page.get_by_test_id("stats-row-label").all_inner_texts()
    assert sorted(labels) == ["CS-1", "CS-2"]
    options = await page.get_by_test_id("stats-group").locator("option").all_inner_texts()
    assert "Driver" not in options
    # Alpha only: the forecast of their site, not Beta's.
    site_options = page.get_by_test_id("demand-site").locator("option")
    await expect(site_options).to_have_count(1)
    await expect(site_options).to_have_text("Alpha")
