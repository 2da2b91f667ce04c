"""Charging in Chromium against simulated stations: live connector status, a charge started and
stopped from the app with its live curve, the sessions history filtered and exported as CSV, and
a command sent to a station by an administrator."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from backend.db.models import (
    ChargingSession,
    ChargingStation,
    RegistrationStatus,
    RfidCard,
    Role,
    SessionStatus,
    Site,
    SiteArea,
    SiteRole,
)
from backend.simulator import Behaviour, SimulatedStation, StationSpec, ocpp_url
from tests.browser.conftest import LiveServer, screenshot

BADGE = "B0B0CAFE"


@dataclass
class Place:
    site_id: uuid.UUID
    stations: dict[str, uuid.UUID]


async def log_in_as(page: Any, token: str, live_server: LiveServer) -> None:
    await page.context.add_cookies(
        [{"name": "vev_session", "value": token, "url": live_server.url}]
    )


async def make_place(sessionmaker: Any, identities: tuple[str, ...], name: str = "HQ") -> Place:
    async with sessionmaker() as db:
        site = Site(name=name, latitude=45.19, longitude=5.72)
        db.add(site)
        await db.flush()
        area = SiteArea(site_id=site.id, name="Parking", max_power_w=100_000, access_control=True)
        db.add(area)
        await db.flush()
        stations = {
            identity: ChargingStation(
                ocpp_identity=identity,
                site_area_id=area.id,
                site_id=site.id,
                registration_status=RegistrationStatus.ACCEPTED,
            )
            for identity in identities
        }
        db.add_all(stations.values())
        await db.commit()
        return Place(site.id, {k: v.id for k, v in stations.items()})


@contextlib.asynccontextmanager
async def simulated(live_server: LiveServer, *specs: StationSpec) -> AsyncIterator[list[Any]]:
    behaviour = Behaviour(
        server_url=ocpp_url(live_server.url),
        interval_s=0.4,
        speed=20,
        first_car_s=(2.5, 2.5),
        between_cars_s=(1e9, 1e9),
        idle_after_full_s=(1e9, 1e9),
        seed=3,
    )
    stations = [SimulatedStation(spec, behaviour) for spec in specs]
    tasks = [asyncio.create_task(s.run()) for s in stations]
    try:
        for station in stations:
            await asyncio.wait_for(station.connected.wait(), 10)
        yield stations
    finally:
        for station in stations:
            await station.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_driver_sees_live_status_starts_follows_and_stops_a_charge(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-BADGE", "CP-APP"))
    driver = await make_user(Role.BASIC, sites={place.site_id: SiteRole.MEMBER}, first_name="Dora")
    async with sessionmaker() as db:
        db.add(RfidCard(uid=BADGE, user_id=driver.id))
        await db.commit()
    await log_in_as(page, driver.token, live_server)

    # Nobody badges on their own: cars arrive when the test says (CP-BADGE) or the app starts them.
    specs = (StationSpec("CP-BADGE"), StationSpec("CP-APP", "2.0.1"))
    async with simulated(live_server, *specs) as stations:
        await page.goto("/stations")
        badge_card = page.locator("[data-testid=station-card][data-ocpp-identity=CP-BADGE]")
        await expect(badge_card.get_by_test_id("station-online")).to_have_attribute(
            "data-online", "true"
        )
        await page.evaluate("window.__notReloaded = true")
        # The car arrives: the status changes on screen through the subscription, no reload.
        row = badge_card.get_by_test_id("connector-row").first
        await expect(row).to_have_attribute("data-status", "Available")
        await asyncio.sleep(0.5)  # the subscription is open
        assert stations[0].remote_start(BADGE, 1)  # a car arrives and the driver badges
        await expect(row).to_have_attribute("data-status", "Charging", timeout=15_000)
        await expect(badge_card.get_by_test_id("connector-session-link")).to_contain_text("kW")
        assert await page.evaluate("window.__notReloaded === true")
        await expect(page.get_by_test_id("sites-map").get_by_test_id("map-marker")).to_have_count(1)
        await screenshot(page, "stations-list")
        await page.set_viewport_size({"width": 375, "height": 800})
        await screenshot(page, "stations-list-375")
        await page.set_viewport_size({"width": 1280, "height": 800})

        # Start a charge from the app on CP-APP.
        await (
            page.locator("[data-testid=station-card][data-ocpp-identity=CP-APP]")
            .get_by_test_id("station-link")
            .click()
        )
        await expect(page.get_by_test_id("station-connectors")).to_be_visible()
        await page.get_by_test_id("connector-start").first.click()
        await expect(page.get_by_test_id("charge-message")).to_have_attribute(
            "data-kind", "success"
        )
        link = page.get_by_test_id("connector-session-link")
        await expect(link).to_be_visible(timeout=15_000)
        await screenshot(page, "station-detail-driver")
        await link.click()

        # The session page: the curve grows live.
        chart = page.get_by_test_id("charging-chart")
        await expect(chart).to_be_visible()
        await expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "live")
        first = int(await chart.get_attribute("data-points"))
        await expect(chart).not_to_have_attribute("data-points", str(first), timeout=10_000)
        for _ in range(100):
            if int(await chart.get_attribute("data-points")) >= first + 3:
                break
            await asyncio.sleep(0.1)
        assert int(await chart.get_attribute("data-points")) >= first + 3
        await expect(page.get_by_test_id("session-energy")).not_to_have_text("0.00 kWh")
        await expect(page.get_by_test_id("chart-summary")).to_contain_text("kWh")
        await asyncio.sleep(1.5)
        await screenshot(page, "session-live")
        await page.set_viewport_size({"width": 375, "height": 800})
        await screenshot(page, "session-live-375")
        await page.set_viewport_size({"width": 1280, "height": 800})

        await page.get_by_test_id("session-stop").click()
        await expect(page.get_by_test_id("session-status")).to_have_attribute(
            "data-status", "COMPLETED", timeout=15_000
        )
        await expect(page.get_by_test_id("session-stop")).to_have_count(0)

        # Its history lists both charges (the badge one still running).
        await page.goto("/sessions")
        await expect(page.get_by_test_id("session-row")).to_have_count(2)
        await screenshot(page, "sessions-mine")


async def test_admin_filters_the_history_and_exports_it(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    north = await make_place(sessionmaker, ("N-1", "N-2"), name="North")
    south = await make_place(sessionmaker, ("S-1",), name="South")
    driver = await make_user(Role.BASIC, first_name="Hugo", last_name="Moreau")
    admin = await make_user(Role.ADMIN)
    now = datetime.now(UTC).replace(microsecond=0)
    async with sessionmaker() as db:
        for n, (station, days_ago, wh) in enumerate(
            [
                (north.stations["N-1"], 1, 12_000),
                (north.stations["N-1"], 3, 8_000),
                (north.stations["N-2"], 2, 20_500),
                (north.stations["N-2"], 40, 5_000),
                (south.stations["S-1"], 1, 30_000),
            ]
        ):
            started = now - timedelta(days=days_ago, hours=1)
            db.add(
                ChargingSession(
                    station_id=station,
                    user_id=driver.id,
                    id_tag=BADGE,
                    ocpp_transaction_id=str(1000 + n),
                    status=SessionStatus.COMPLETED,
                    started_at=started,
                    stopped_at=started + timedelta(minutes=50),
                    energy_wh=wh,
                    stop_reason="EVDisconnected",
                )
            )
        await db.commit()
    await log_in_as(page, admin.token, live_server)

    await page.goto("/sessions")
    await expect(page.get_by_test_id("session-row")).to_have_count(5)
    await page.get_by_test_id("filter-site").select_option(label="North")
    await page.get_by_test_id("filter-from").fill((now - timedelta(days=10)).strftime("%Y-%m-%d"))
    await page.get_by_test_id("filter-apply").click()
    await expect(page.get_by_test_id("session-row")).to_have_count(3)
    await expect(page).to_have_url(re.compile(r"siteId="))
    await screenshot(page, "sessions-history")

    href = await page.get_by_test_id("sessions-export").get_attribute("href")
    assert f"siteId={north.site_id}" in href and "from=" in href
    async with page.expect_download() as info:
        await page.get_by_test_id("sessions-export").click()
    download = await info.value
    text = await asyncio.to_thread(Path(await download.path()).read_text, encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted(r["energy_wh"] for r in rows) == ["12000", "20500", "8000"]
    assert {r["site"] for r in rows} == {"North"}
    assert {r["user_name"] for r in rows} == {"Hugo Moreau"}

    await page.get_by_test_id("filter-reset").click()
    await expect(page.get_by_test_id("session-row")).to_have_count(5)


async def test_admin_sends_commands_and_reads_the_answers(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-CMD",))
    admin = await make_user(Role.ADMIN)
    await log_in_as(page, admin.token, live_server)
    async with simulated(live_server, StationSpec("CP-CMD", connectors=2)):
        await page.goto(f"/stations/{place.stations['CP-CMD']}")
        await expect(page.get_by_test_id("station-online")).to_have_attribute("data-online", "true")
        result = page.get_by_test_id("command-result")

        await page.get_by_test_id("cmd-get-configuration").click()
        await expect(page.get_by_test_id("config-table")).to_be_visible()
        row = page.locator("[data-testid=config-row][data-key=MeterValueSampleInterval]")
        await expect(row).to_be_visible()
        await expect(result).to_have_attribute("data-kind", "success")
        await row.get_by_test_id("config-value").fill("5")
        await row.get_by_test_id("config-save").click()
        await expect(result).to_contain_text("Accepted")

        await page.get_by_test_id("cmd-unlock").click()
        await expect(result).to_contain_text("Unlocked")
        await page.get_by_test_id("cmd-clear-cache").click()
        await expect(result).to_contain_text("Accepted")
        await screenshot(page, "station-commands")

    # The station gone, a command says so clearly.
    await expect(page.get_by_test_id("station-online")).to_have_attribute(
        "data-online", "false", timeout=10_000
    )
    await page.get_by_test_id("cmd-reset-soft").click()
    await expect(result).to_have_attribute("data-kind", "error")
    await expect(result).to_contain_text("offline")


@pytest.fixture(autouse=True)
def _no_outside_requests(page: Any, live_server: LiveServer) -> Any:
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((live_server.url, "ws://127.0.0.1", "data:", "blob:"))
            else outside.append(request.url)
        ),
    )
    yield
    assert outside == []
