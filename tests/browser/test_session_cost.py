"""The session page's cost in Chromium: a simulated station charges under a tariff, the running
cost and the cost curve grow live without a reload, and once the car has left (stop, then the
connector Available) the breakdown shows a line per component with the session's stored cost."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import expect
from sqlalchemy import select

from backend.db.models import (
    ChargingSession,
    RfidCard,
    Role,
    SessionStatus,
    SiteRole,
    TariffScope,
)
from backend.domain.billing.costs import from_minor
from backend.domain.billing.tariffs import TariffData, Tariffs
from backend.domain.viewer import Viewer
from backend.simulator import StationSpec
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_charging_in_browser import BADGE, log_in_as, make_place, simulated

# Dear enough that a few seconds of charging show in cents.
TARIFF = [
    {"type": "FLAT", "price": "0.50"},
    {"type": "ENERGY", "price": "2.40", "step_size": 1},
    {"type": "TIME", "price": "1.20", "step_size": 60},
    {"type": "PARKING_TIME", "price": "6", "step_size": 60},
]


async def price_site(sessionmaker: Any, site_id: uuid.UUID, admin_id: uuid.UUID) -> None:
    async with sessionmaker() as db:
        await Tariffs(db).create(
            Viewer(user_id=admin_id, role=Role.ADMIN),
            TariffData(
                name="HQ public",
                currency="EUR",
                vat_percent="20",
                elements=[{"price_components": TARIFF}],
                scope=TariffScope.SITE,
                target_id=site_id,
            ),
        )


async def wait_for_session(sessionmaker: Any, station_id: uuid.UUID) -> ChargingSession:
    for _ in range(100):
        async with sessionmaker() as db:
            found = await db.scalar(
                select(ChargingSession).where(ChargingSession.station_id == station_id)
            )
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("no session started")


async def number_attribute(locator: Any, name: str) -> float:
    return float(await locator.get_attribute(name))


async def test_the_cost_grows_live_and_the_breakdown_matches_the_stored_cost(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-COST",))
    admin = await make_user(Role.ADMIN)
    await price_site(sessionmaker, place.site_id, admin.id)
    driver = await make_user(Role.BASIC, sites={place.site_id: SiteRole.MEMBER}, first_name="Cléo")
    async with sessionmaker() as db:
        db.add(RfidCard(uid=BADGE, user_id=driver.id))
        await db.commit()
    await log_in_as(page, driver.token, live_server)

    async with simulated(live_server, StationSpec("CP-COST")) as stations:
        assert stations[0].remote_start(BADGE, 1)
        charge = await wait_for_session(sessionmaker, place.stations["CP-COST"])
        await page.goto(f"/sessions/{charge.id}")
        await expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "live")
        await page.evaluate("window.__notReloaded = true")
        await expect(page.get_by_test_id("session-tariff")).to_contain_text("HQ public")

        # The running total and the cost curve grow as readings arrive, without a reload.
        cost = page.get_by_test_id("session-cost")
        await expect(cost).to_be_visible(timeout=10_000)
        await expect(cost).to_have_attribute("data-final", "false")
        await expect(page.get_by_test_id("session-cost-total")).to_contain_text("€")
        first = await number_attribute(cost, "data-incl-vat")
        chart = page.get_by_test_id("cost-chart")
        points = int(await chart.get_attribute("data-points"))
        for _ in range(150):
            if (
                await number_attribute(cost, "data-incl-vat") > first
                and int(await chart.get_attribute("data-points")) >= points + 3
            ):
                break
            await asyncio.sleep(0.1)
        assert await number_attribute(cost, "data-incl-vat") > first
        assert int(await chart.get_attribute("data-points")) >= points + 3
        await expect(page.get_by_test_id("cost-chart-summary")).to_contain_text("incl. VAT")
        await expect(page.get_by_test_id("cost-pending")).to_be_visible()
        await expect(page.get_by_test_id("cost-breakdown")).to_have_count(0)
        assert await page.evaluate("window.__notReloaded === true")
        await asyncio.sleep(1.0)  # let uPlot draw the latest points
        await screenshot(page, "session-cost-live")
        await page.set_viewport_size({"width": 390, "height": 844})
        await screenshot(page, "session-cost-live-390")
        await page.set_viewport_size({"width": 1280, "height": 800})

        # The driver stops; the station stops the transaction, then the connector is Available:
        # the cost is final and explains itself, line by line.
        await page.get_by_test_id("session-stop").click()
        breakdown = page.get_by_test_id("cost-breakdown")
        await expect(breakdown).to_be_visible(timeout=20_000)
        await expect(cost).to_have_attribute("data-final", "true")
        assert await page.evaluate("window.__notReloaded === true")

    async with sessionmaker() as db:
        stored = await db.get(ChargingSession, charge.id)
    assert stored is not None and stored.status is SessionStatus.COMPLETED
    assert stored.available_at is not None and stored.cost_incl_vat_minor is not None
    assert stored.cost_excl_vat_minor is not None and stored.cost_vat_minor is not None
    total_incl = from_minor(stored.cost_incl_vat_minor, "EUR")
    total = page.get_by_test_id("cost-total-incl")
    await expect(total).to_have_attribute("data-amount", str(total_incl))
    await expect(total).to_have_text(f"€{total_incl:,.2f}")
    await expect(page.get_by_test_id("cost-total-excl")).to_have_attribute(
        "data-amount", str(from_minor(stored.cost_excl_vat_minor, "EUR"))
    )
    await expect(page.get_by_test_id("cost-total-vat")).to_have_attribute(
        "data-amount", str(from_minor(stored.cost_vat_minor, "EUR"))
    )
    await expect(page.get_by_test_id("session-cost-total")).to_have_text(f"€{total_incl:,.2f}")
    lines = stored.cost_lines or []
    assert {"FLAT", "ENERGY", "TIME"} <= {line["dimension"] for line in lines}
    rows = page.get_by_test_id("cost-line")
    await expect(rows).to_have_count(len(lines))
    for line in lines:
        row = page.locator(f"[data-testid=cost-line][data-dimension={line['dimension']}]")
        await expect(row.locator("[data-amount]").nth(0)).to_have_attribute(
            "data-amount", line["amount_excl_vat"]
        )
        await expect(row.locator("[data-amount]").nth(2)).to_have_attribute(
            "data-amount", line["amount_incl_vat"]
        )
    energy = page.locator("[data-testid=cost-line][data-dimension=ENERGY]")
    await expect(energy).to_contain_text("Energy")
    await expect(energy).to_contain_text("€2.40 / kWh")
    await expect(energy).to_contain_text("20%")
    # The table is a real table: a caption and column headers for screen readers.
    await expect(breakdown.locator("caption")).to_contain_text("EUR")
    await expect(breakdown.locator("thead th")).to_have_count(7)
    await asyncio.sleep(0.5)
    await screenshot(page, "session-cost-final")
    await page.set_viewport_size({"width": 390, "height": 844})
    await screenshot(page, "session-cost-final-390")
    # Nothing wider than the screen at 390 px.
    overflow = await page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 390


async def test_a_session_without_tariff_says_so(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-FREE",))
    driver = await make_user(Role.BASIC, sites={place.site_id: SiteRole.MEMBER})
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    async with sessionmaker() as db:
        charge = ChargingSession(
            station_id=place.stations["CP-FREE"],
            user_id=driver.id,
            ocpp_transaction_id="77",
            status=SessionStatus.COMPLETED,
            started_at=started,
            stopped_at=started + timedelta(minutes=40),
            energy_wh=9_000,
        )
        db.add(charge)
        await db.commit()
    await log_in_as(page, driver.token, live_server)
    await page.goto(f"/sessions/{charge.id}")
    await expect(page.get_by_test_id("no-tariff")).to_contain_text("not priced")
    await expect(page.get_by_test_id("session-cost")).to_have_count(0)
    await expect(page.get_by_test_id("cost-chart")).to_have_count(0)
    # A session that is over has no goal form.
    await expect(page.get_by_test_id("goal-form")).to_have_count(0)
