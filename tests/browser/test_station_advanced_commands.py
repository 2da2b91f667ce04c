"""The "Advanced" station commands in Chromium: a site administrator sets, reads back and clears
charging profiles on a simulated station (which holds them and answers GetCompositeSchedule
from them), and updates the firmware of a station that records what it receives."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import websockets
from ocpp.routing import on
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as r201
from ocpp.v201.enums import Action as A201
from playwright.async_api import expect

from backend.db.models import Role, SiteRole
from backend.simulator import StationSpec
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_charging_in_browser import log_in_as, make_place, simulated

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# The simulated station's own maximum, 22 kW, as the amps per phase it reports (230 V, 3
# phases, rounded down to 0.1 A).
STATION_MAX_A = "31.8"


async def eventually(check: Callable[[], bool], timeout_s: float = 10) -> None:
    """Wait until the station's side of a command shows (the page's answer may be an earlier
    one for a moment)."""
    for _ in range(int(timeout_s * 20)):
        if check():
            return
        await asyncio.sleep(0.05)
    assert check()


async def open_advanced(page: Any) -> Any:
    panel = page.get_by_test_id("advanced-commands")
    # Folded away by default, so that the everyday commands stay simple.
    await expect(panel.get_by_test_id("adv-schedule-send")).to_be_hidden()
    await panel.get_by_test_id("advanced-commands-toggle").click()
    await expect(panel.get_by_test_id("adv-schedule-send")).to_be_visible()
    return panel


async def composite_schedule(panel: Any, connector: str, unit: str) -> Any:
    await panel.get_by_test_id("adv-schedule-connector").select_option(connector)
    await panel.get_by_test_id("adv-schedule-duration").fill("3600")
    await panel.get_by_test_id("adv-schedule-unit").select_option(unit)
    await panel.get_by_test_id("adv-schedule-send").click()
    await expect(panel.get_by_test_id("adv-schedule-result")).to_have_attribute(
        "data-kind", "success"
    )
    table = panel.get_by_test_id("adv-schedule-table")
    await expect(table).to_have_attribute("data-unit", unit)
    return table.get_by_test_id("adv-schedule-row")


async def test_site_admin_sets_reads_and_clears_charging_profiles(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-PROFILES",))
    manager = await make_user(Role.BASIC, sites={place.site_id: SiteRole.SITE_ADMIN})
    await log_in_as(page, manager.token, live_server)
    spec = StationSpec("CP-PROFILES", connectors=2, max_power_w=22_000)
    async with simulated(live_server, spec) as (station,):
        await page.goto(f"/stations/{place.stations['CP-PROFILES']}")
        await expect(page.get_by_test_id("station-online")).to_have_attribute("data-online", "true")
        await expect(page.get_by_test_id("connector-row")).to_have_count(2)
        panel = await open_advanced(page)

        # Before any profile, the station's own maximum for the whole hour.
        rows = await composite_schedule(panel, "1", "A")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_have_attribute("data-start", "0")
        await expect(rows.first).to_have_attribute("data-limit", STATION_MAX_A)
        await expect(rows.first).to_contain_text("0:00:00")

        # A default limit of 10 A for half an hour on connector 1.
        await panel.get_by_test_id("adv-profile-connector").select_option("1")
        await panel.get_by_test_id("adv-profile-limit").fill("10")
        await panel.get_by_test_id("adv-profile-unit").select_option("A")
        await panel.get_by_test_id("adv-profile-duration").fill("1800")
        await panel.get_by_test_id("adv-profile-id").fill("5")
        await panel.get_by_test_id("adv-profile-send").click()
        result = panel.get_by_test_id("adv-setProfile-result")
        await expect(result).to_have_attribute("data-kind", "success")
        await expect(result).to_contain_text("Accepted")
        (held,) = station.profiles
        assert (held.id, held.purpose, held.connector, held.unit) == (
            5,
            "TxDefaultProfile",
            1,
            "A",
        )
        assert held.periods == ((0.0, 10.0),)
        assert held.duration_s == 1800
        assert held.scheduled and abs((datetime.now(UTC) - held.start).total_seconds()) < 30

        # The station's composite schedule now starts at 10 A, back to its maximum when the
        # profile ends (half an hour after it was set, a few seconds ago).
        rows = await composite_schedule(panel, "1", "A")
        await expect(rows).to_have_count(2)
        await expect(rows.nth(0)).to_have_attribute("data-limit", "10")
        await expect(rows.nth(1)).to_have_attribute("data-limit", STATION_MAX_A)
        assert 1740 <= int(await rows.nth(1).get_attribute("data-start")) <= 1800
        await expect(panel.get_by_test_id("adv-schedule-caption")).to_contain_text("(connector 1)")
        await screenshot(page, "station-advanced-commands")
        await page.set_viewport_size({"width": 375, "height": 800})
        await screenshot(page, "station-advanced-commands-375")
        await page.set_viewport_size({"width": 1280, "height": 800})

        # Cleared by its id (the form offers the id just set).
        await expect(panel.get_by_test_id("adv-clear-id")).to_have_value("5")
        await panel.get_by_test_id("adv-clear-send").click()
        cleared = panel.get_by_test_id("adv-clearProfile-result")
        await expect(cleared).to_have_attribute("data-kind", "success")
        assert station.profiles == []
        # Again: the station holds no such profile any more, and says so.
        await panel.get_by_test_id("adv-clear-send").click()
        await expect(cleared).to_have_attribute("data-kind", "error")
        await expect(cleared).to_contain_text("no such profile")

        # A limit in watts for the whole station, shown on connector 2 in watts...
        await panel.get_by_test_id("adv-profile-connector").select_option("0")
        await panel.get_by_test_id("adv-profile-limit").fill("7400")
        await panel.get_by_test_id("adv-profile-unit").select_option("W")
        await panel.get_by_test_id("adv-profile-duration").fill("")
        await panel.get_by_test_id("adv-profile-id").fill("6")
        await panel.get_by_test_id("adv-profile-send").click()
        await eventually(lambda: [p.id for p in station.profiles] == [6])
        await expect(result).to_contain_text("Accepted")
        (held,) = station.profiles
        assert (held.id, held.connector, held.unit, held.periods, held.duration_s) == (
            6,
            0,
            "W",
            ((0.0, 7400.0),),
            None,
        )
        rows = await composite_schedule(panel, "2", "W")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_have_attribute("data-limit", "7400")

        # ...then every default profile of the whole station cleared at once.
        await panel.get_by_test_id("adv-clear-by-connector").check()
        await panel.get_by_test_id("adv-clear-connector").select_option("0")
        await panel.get_by_test_id("adv-clear-send").click()
        await expect(cleared).to_have_attribute("data-kind", "success")
        await expect(cleared).to_contain_text("Accepted")
        assert station.profiles == []
        rows = await composite_schedule(panel, "2", "W")
        await expect(rows.first).to_have_attribute("data-limit", "22000")

        # Mistakes are caught in the form, and nothing is sent.
        await panel.get_by_test_id("adv-profile-limit").fill("ten")
        await panel.get_by_test_id("adv-profile-id").fill("90000")
        await panel.get_by_test_id("adv-profile-send").click()
        await expect(panel.get_by_test_id("adv-profile-limit-error")).to_be_visible()
        await expect(panel.get_by_test_id("adv-profile-id-error")).to_contain_text("smart charging")
        await expect(result).to_have_attribute("data-kind", "error")
        await panel.get_by_test_id("adv-schedule-duration").fill("0")
        await panel.get_by_test_id("adv-schedule-send").click()
        await expect(panel.get_by_test_id("adv-schedule-duration-error")).to_be_visible()
        await expect(panel.get_by_test_id("adv-schedule-table")).to_be_visible()  # kept
        await asyncio.sleep(0.3)
        assert station.profiles == []


class FirmwareStation(Cp201):
    """An OCPP 2.0.1 station that records the commands it receives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, dict[str, Any]]] = []

    @on(A201.update_firmware)
    async def firmware(self, **kw: Any) -> Any:
        self.received.append(("UpdateFirmware", kw))
        return r201.UpdateFirmware(status="Accepted")

    @on(A201.get_composite_schedule)
    async def composite(self, **kw: Any) -> Any:
        self.received.append(("GetCompositeSchedule", kw))
        return r201.GetCompositeSchedule(status="Rejected")


@contextlib.asynccontextmanager
async def firmware_station(server: LiveServer, identity: str) -> AsyncIterator[FirmwareStation]:
    ws = await websockets.connect(
        f"{server.ws_url}/ocpp/{identity}",
        subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
    )
    cp = FirmwareStation(identity, ws, response_timeout=10)
    task = asyncio.create_task(cp.start())
    try:
        # Seen online, and held in the station registry, once this is answered.
        await cp.call(call201.Heartbeat())
        yield cp
    finally:
        task.cancel()
        await ws.close()


async def test_admin_updates_the_firmware_of_a_station(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-FIRMWARE",))
    admin = await make_user(Role.ADMIN)
    await log_in_as(page, admin.token, live_server)
    async with firmware_station(live_server, "CP-FIRMWARE") as station:
        await page.goto(f"/stations/{place.stations['CP-FIRMWARE']}")
        await expect(page.get_by_test_id("station-online")).to_have_attribute("data-online", "true")
        panel = await open_advanced(page)
        result = panel.get_by_test_id("adv-firmware-result")

        # The download time is now unless changed.
        shown = await panel.get_by_test_id("adv-firmware-retrieve").input_value()
        drift = await page.evaluate("v => Math.abs(Date.now() - new Date(v).getTime())", shown)
        assert drift < 5 * 60_000, shown

        # Not a URL the station can download from: refused in the form, nothing sent.
        location = panel.get_by_test_id("adv-firmware-location")
        for wrong in ("", "file:///etc/firmware.bin", "fw.example.com/v2.bin", "https://"):
            await location.fill(wrong)
            await panel.get_by_test_id("adv-firmware-send").click()
            await expect(panel.get_by_test_id("adv-firmware-location-error")).to_be_visible()
            await expect(result).to_have_attribute("data-kind", "error")
        await location.fill("HTTPS://fw.example.com/v2.bin")
        await panel.get_by_test_id("adv-firmware-retries").fill("many")
        await panel.get_by_test_id("adv-firmware-send").click()
        await expect(panel.get_by_test_id("adv-firmware-retries-error")).to_be_visible()
        await expect(panel.get_by_test_id("adv-firmware-location-error")).to_have_count(0)
        assert station.received == []

        await panel.get_by_test_id("adv-firmware-retrieve").fill("2030-01-02T03:04")
        await panel.get_by_test_id("adv-firmware-retries").fill("3")
        await panel.get_by_test_id("adv-firmware-send").click()
        await expect(result).to_have_attribute("data-kind", "success")
        await expect(result).to_contain_text("Update firmware: the station answered “Accepted”.")
        ((action, payload),) = station.received
        assert action == "UpdateFirmware"
        assert payload["firmware"]["location"] == "https://fw.example.com/v2.bin"
        assert payload["retries"] == 3
        # The browser's local time, as the instant it means.
        expected = await page.evaluate("new Date('2030-01-02T03:04').toISOString()")
        sent = payload["firmware"]["retrieve_date_time"].replace("Z", "+00:00")
        assert datetime.fromisoformat(sent) == datetime.fromisoformat(
            expected.replace("Z", "+00:00")
        )

        # A station that refuses to give its schedule: said so, and no table.
        await panel.get_by_test_id("adv-schedule-send").click()
        refused = panel.get_by_test_id("adv-schedule-result")
        await expect(refused).to_have_attribute("data-kind", "error")
        await expect(refused).to_contain_text("Rejected")
        await expect(panel.get_by_test_id("adv-schedule-table")).to_have_count(0)
        assert station.received[-1][0] == "GetCompositeSchedule"
        assert station.received[-1][1]["duration"] == 3600

    # The station gone, a command fails at once and says why.
    await expect(page.get_by_test_id("station-online")).to_have_attribute(
        "data-online", "false", timeout=10_000
    )
    await panel.get_by_test_id("adv-firmware-send").click()
    await expect(result).to_have_attribute("data-kind", "error")
    await expect(result).to_contain_text("offline")


async def test_drivers_do_not_get_the_advanced_commands(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-DRIVER",))
    driver = await make_user(Role.BASIC, sites={place.site_id: SiteRole.MEMBER})
    await log_in_as(page, driver.token, live_server)
    await page.goto(f"/stations/{place.stations['CP-DRIVER']}")
    await expect(page.get_by_test_id("station-sessions-link")).to_be_visible()
    await expect(page.get_by_test_id("command-panel")).to_have_count(0)
    await expect(page.get_by_test_id("advanced-commands")).to_have_count(0)
