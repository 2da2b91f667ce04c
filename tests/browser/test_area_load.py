"""A site area's live load per phase on the site page, in Chromium, against a simulated station:
a single-phase car shows up on L1 only, with its amps against the area's limit per phase."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from backend.db.models import (
    ChargingSession,
    ChargingStation,
    MeterSample,
    RegistrationStatus,
    RfidCard,
    Role,
    SessionStatus,
    Site,
    SiteArea,
    SiteRole,
)
from backend.simulator import Behaviour, Car, SimulatedStation, StationSpec, ocpp_url
from tests.browser.conftest import LiveServer, screenshot

BADGE = "A11CE0A0"
CAR_POWER_W = 7_400.0  # a single-phase car: 7.4 kW on L1, about 32 A at 230 V


@dataclass
class Place:
    site_id: uuid.UUID
    garage_id: uuid.UUID
    smart_id: uuid.UUID


async def make_place(sessionmaker: Any) -> Place:
    async with sessionmaker() as db:
        site = Site(name="Depot", timezone="Europe/Berlin")
        db.add(site)
        await db.flush()
        # 44 kW over 3 x 230 V: 63.77 A per phase. No smart charging: shown only while used.
        garage = SiteArea(site_id=site.id, name="Garage", max_power_w=44_000, phases=3, voltage=230)
        # Smart charging on: always shown, even idle.
        smart = SiteArea(
            site_id=site.id,
            name="Fleet",
            max_power_w=11_000,
            phases=3,
            voltage=230,
            smart_charging=True,
        )
        db.add_all([garage, smart])
        await db.flush()
        db.add(
            ChargingStation(
                ocpp_identity="CP-LOAD",
                site_area_id=garage.id,
                site_id=site.id,
                registration_status=RegistrationStatus.ACCEPTED,
            )
        )
        await db.commit()
        return Place(site.id, garage.id, smart.id)


def single_phase_car(rng: random.Random) -> Car:
    return Car(battery_wh=60_000, soc=20, target_soc=95, max_power_w=CAR_POWER_W, phases=1)


@contextlib.asynccontextmanager
async def simulated(live_server: LiveServer, spec: StationSpec) -> AsyncIterator[SimulatedStation]:
    behaviour = Behaviour(
        server_url=ocpp_url(live_server.url),
        interval_s=0.5,
        speed=1,
        first_car_s=(1e9, 1e9),  # the car arrives when the test says
        between_cars_s=(1e9, 1e9),
        idle_after_full_s=(1e9, 1e9),
        seed=7,
        car_factory=single_phase_car,
    )
    station = SimulatedStation(spec, behaviour)
    task = asyncio.create_task(station.run())
    try:
        await asyncio.wait_for(station.connected.wait(), 10)
        yield station
    finally:
        await station.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_site_admin_sees_the_live_load_per_phase(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    place = await make_place(sessionmaker)
    manager = await make_user(sites={place.site_id: SiteRole.SITE_ADMIN})
    driver = await make_user(Role.BASIC, sites={place.site_id: SiteRole.MEMBER})
    async with sessionmaker() as db:
        db.add(RfidCard(uid=BADGE, user_id=driver.id))
        await db.commit()
    await page.context.add_cookies(
        [{"name": "vev_session", "value": manager.token, "url": live_server.url}]
    )

    await page.goto(f"/sites/{place.site_id}")
    fleet = page.locator(f"[data-testid=area-load][data-area-id='{place.smart_id}']")
    garage = page.locator(f"[data-testid=area-load][data-area-id='{place.garage_id}']")
    # The smart-charging area is shown idle, with its limit: 11 kW / (3 x 230 V) = 15.9 A.
    await expect(fleet).to_be_visible()
    l1 = fleet.locator("[data-testid=phase-load][data-phase=L1]")
    await expect(l1).to_have_attribute("data-amps", "0")
    await expect(l1).to_have_attribute("data-limit", "15.94")
    await expect(l1.get_by_test_id("phase-value")).to_have_text("0.0 A of 15.9 A (0 %)")
    await expect(fleet.get_by_test_id("phase-load")).to_have_count(3)
    await expect(garage).to_have_count(0)  # no session, no smart charging: nothing to show

    async with simulated(live_server, StationSpec("CP-LOAD")) as station:
        assert station.remote_start(BADGE, 1)  # a car arrives and badges
        # The page polls: the garage appears with the car on L1 only, without a reload.
        await expect(garage).to_be_visible(timeout=20_000)
        await expect(garage).to_have_attribute("data-active-sessions", "1")
        g1 = garage.locator("[data-testid=phase-load][data-phase=L1]")
        g2 = garage.locator("[data-testid=phase-load][data-phase=L2]")
        g3 = garage.locator("[data-testid=phase-load][data-phase=L3]")
        await expect(g1).not_to_have_attribute("data-amps", "0", timeout=20_000)
        amps = float(await g1.get_attribute("data-amps") or "0")
        # 7.4 kW (± 1 %) on one phase at 230 V (± 3 V).
        assert 31.0 < amps < 33.5, amps
        await expect(g2).to_have_attribute("data-amps", "0")
        await expect(g3).to_have_attribute("data-amps", "0")
        await expect(g1).to_have_attribute("data-limit", "63.77")
        await expect(g1.get_by_test_id("phase-value")).to_contain_text("A of 63.8 A")

        # What the page shows is what the station reported last (the server's latest sample).
        async with sessionmaker() as db:
            charge = await db.scalar(
                select(ChargingSession).where(ChargingSession.status == SessionStatus.ACTIVE)
            )
            assert charge is not None
            reported = {
                float(s.current_a_l1 or 0)
                for s in await db.scalars(
                    select(MeterSample).where(MeterSample.session_id == charge.id)
                )
            }
        assert amps in reported
        await asyncio.sleep(0.5)
        await screenshot(page, "area-load")
        await page.set_viewport_size({"width": 390, "height": 844})
        await garage.scroll_into_view_if_needed()
        await screenshot(page, "area-load-390")
        await page.set_viewport_size({"width": 1280, "height": 800})


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
