"""A driver's goal on the session page, in Chromium: the departure time (in the browser's time
zone, stored in UTC) and the energy wanted are checked, saved through `updateSessionGoal` and
shown; smart charging's plan appears beside the live curve. The server's refusals are shown in
the user's language."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from backend.db.models import (
    ChargingSession,
    ChargingStation,
    Language,
    RegistrationStatus,
    RfidCard,
    Role,
    SessionPlan,
    Site,
    SiteArea,
    SiteRole,
)
from backend.simulator import StationSpec
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_charging_in_browser import BADGE, log_in_as, simulated
from tests.browser.test_session_cost import wait_for_session

PARIS = ZoneInfo("Europe/Paris")


@dataclass
class SmartPlace:
    site_id: uuid.UUID
    station_id: uuid.UUID


async def smart_place(sessionmaker: Any, identity: str) -> SmartPlace:
    """A site area with smart charging on, its limit (16 kW, 23 A per phase) below a 22 kW car's."""
    async with sessionmaker() as db:
        site = Site(name="Lyon", timezone="Europe/Paris")
        db.add(site)
        await db.flush()
        area = SiteArea(
            site_id=site.id,
            name="Garage",
            max_power_w=16_000,
            phases=3,
            voltage=230,
            access_control=True,
            smart_charging=True,
        )
        db.add(area)
        await db.flush()
        station = ChargingStation(
            ocpp_identity=identity,
            site_area_id=area.id,
            site_id=site.id,
            registration_status=RegistrationStatus.ACCEPTED,
        )
        db.add(station)
        await db.commit()
        return SmartPlace(site.id, station.id)


@pytest.fixture
async def paris_page(
    browser: Any, live_server: LiveServer, sessionmaker: Any
) -> AsyncIterator[Any]:
    """A browser in Paris: datetime-local values are Paris time, the API speaks UTC."""
    context = await browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 800},
        timezone_id="Europe/Paris",
    )
    page = await context.new_page()
    yield page
    await context.close()


def local_input(moment: datetime) -> str:
    """A datetime-local value: the moment in Paris time, to the minute."""
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


async def give_badge(sessionmaker: Any, driver_id: uuid.UUID) -> None:
    async with sessionmaker() as db:
        db.add(RfidCard(uid=BADGE, user_id=driver_id))
        await db.commit()


async def test_a_driver_sets_a_goal_and_sees_the_plan(
    paris_page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    page = paris_page
    place = await smart_place(sessionmaker, "CP-GOAL")
    driver = await make_user(Role.BASIC, sites={place.site_id: SiteRole.MEMBER})
    await give_badge(sessionmaker, driver.id)
    await log_in_as(page, driver.token, live_server)

    async with simulated(live_server, StationSpec("CP-GOAL")) as stations:
        assert stations[0].remote_start(BADGE, 1)
        charge = await wait_for_session(sessionmaker, place.station_id)
        await page.goto(f"/sessions/{charge.id}")
        await expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "live")
        form = page.get_by_test_id("goal-form")
        await expect(form).to_be_visible()
        await expect(page.get_by_test_id("goal-summary")).to_contain_text("No goal set")
        await expect(form).to_contain_text("Europe/Paris")
        departure = page.get_by_test_id("goal-departure-input")
        energy = page.get_by_test_id("goal-energy-input")
        save = page.get_by_test_id("goal-save")

        # Bad values: said next to their field, nothing sent.
        await energy.fill("lots")
        await save.click()
        await expect(page.get_by_test_id("goal-energy-input-error")).to_contain_text(
            "Enter a number of kWh"
        )
        await expect(energy).to_have_attribute("aria-invalid", "true")
        await expect(page.get_by_test_id("goal-message")).to_have_attribute("data-kind", "error")
        await energy.fill("250")
        await departure.fill(local_input(datetime.now(UTC) - timedelta(hours=1)))
        await save.click()
        await expect(page.get_by_test_id("goal-energy-input-error")).to_contain_text(
            "at most 200 kWh"
        )
        await expect(page.get_by_test_id("goal-departure-input-error")).to_contain_text(
            "must be in the future"
        )
        async with sessionmaker() as db:
            unchanged = await db.get(ChargingSession, charge.id)
        assert unchanged is not None and unchanged.energy_wanted_wh is None

        # A good goal: 12.5 kWh (a decimal comma is fine), leaving in three hours, Paris time.
        leaving = (datetime.now(UTC) + timedelta(hours=3)).replace(second=0, microsecond=0)
        await departure.fill(local_input(leaving))
        await energy.fill("12,5")
        goal_saved_at = datetime.now(UTC) - timedelta(seconds=1)
        await save.click()
        await expect(page.get_by_test_id("goal-message")).to_have_attribute("data-kind", "success")
        await expect(page.get_by_test_id("goal-energy-input-error")).to_have_count(0)
        await expect(page.get_by_test_id("goal-energy")).to_contain_text("12.50 kWh")
        await expect(page.get_by_test_id("goal-departure")).to_contain_text("Leaving at")
        async with sessionmaker() as db:
            saved = await db.get(ChargingSession, charge.id)
        assert saved is not None and saved.energy_wanted_wh == 12_500
        assert saved.departure_at == leaving  # sent as UTC

        # Smart charging planned the session again towards the goal: the page reads the new
        # plan and draws it over the actual power.
        chart = page.get_by_test_id("charging-chart")

        async def replanned() -> int:
            """Periods of the plan made after the goal change (0: none yet)."""
            async with sessionmaker() as db:
                plan = await db.scalar(
                    select(SessionPlan).where(SessionPlan.session_id == charge.id)
                )
            if plan is None or not plan.schedule or plan.planned_at < goal_saved_at:
                return 0
            return len(plan.schedule)

        shown = -1
        for _ in range(100):
            periods = await replanned()
            shown = int(await chart.get_attribute("data-planned"))
            if periods and shown == periods:
                break
            await asyncio.sleep(0.2)
        assert periods and shown == periods, (periods, shown)
        await expect(page.get_by_test_id("toggle-plan")).to_be_checked()
        await expect(page.get_by_test_id("chart-summary")).to_contain_text("Smart charging plans")
        await asyncio.sleep(1.0)
        await screenshot(page, "session-goal")
        await page.set_viewport_size({"width": 390, "height": 844})
        await screenshot(page, "session-goal-390")
        overflow = await page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 390
        await page.set_viewport_size({"width": 1280, "height": 800})

        # Read again: the saved goal fills the form, in Paris time.
        await page.reload()
        await expect(page.get_by_test_id("goal-departure-input")).to_have_value(
            local_input(leaving)
        )
        await expect(page.get_by_test_id("goal-energy-input")).to_have_value("12.5")
        await page.get_by_test_id("toggle-plan").uncheck()
        await expect(chart).to_have_attribute("data-planned", "0")


async def test_the_servers_refusal_is_shown_in_the_users_language(
    paris_page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    page = paris_page
    place = await smart_place(sessionmaker, "CP-GOAL-FR")
    driver = await make_user(
        Role.BASIC, sites={place.site_id: SiteRole.MEMBER}, language=Language.FR
    )
    await give_badge(sessionmaker, driver.id)
    await log_in_as(page, driver.token, live_server)
    # The browser's clock is two hours late: a departure it finds ahead is past for the server.
    real_now = datetime.now(UTC)
    await page.clock.set_system_time(real_now - timedelta(hours=2))
    async with simulated(live_server, StationSpec("CP-GOAL-FR")) as stations:
        assert stations[0].remote_start(BADGE, 1)
        charge = await wait_for_session(sessionmaker, place.station_id)
        await page.goto(f"/sessions/{charge.id}")
        form = page.get_by_test_id("goal-form")
        await expect(form).to_be_visible()
        await expect(page.get_by_test_id("goal-summary")).to_contain_text("Aucun objectif")
        await page.get_by_test_id("goal-departure-input").fill(
            local_input(real_now - timedelta(minutes=30))
        )
        await page.get_by_test_id("goal-save").click()
        await expect(page.get_by_test_id("goal-departure-input-error")).to_have_text(
            "L’heure de départ doit être dans le futur."
        )
        await expect(page.get_by_test_id("goal-message")).to_have_attribute("data-kind", "error")
        async with sessionmaker() as db:
            unchanged = await db.get(ChargingSession, charge.id)
        assert unchanged is not None and unchanged.departure_at is None
        await screenshot(page, "session-goal-refused-fr")
