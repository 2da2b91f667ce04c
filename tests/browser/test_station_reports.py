"""The station page's "Recent reports" panel in Chromium: a station reports the progress of a
firmware update over a real websocket; an administrator opening its page sees it there, with
its level and status, and a link to the station's logs. A site administrator, who manages
the station but may not read the system logs, does not see the panel."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from playwright.async_api import expect

from backend.db.models import Role, SiteRole
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_charging_in_browser import log_in_as, make_place

IDENTITY = "CP-REPORTS"


async def report(live_server: LiveServer, *statuses: str) -> None:
    """The station tells us how its firmware update goes (OCPP 1.6 frames)."""
    async with websockets.connect(
        f"{live_server.ws_url}/ocpp/{IDENTITY}",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
    ) as ws:
        for n, status in enumerate(statuses):
            await ws.send(
                json.dumps([2, f"f{n}", "FirmwareStatusNotification", {"status": status}])
            )
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert reply == [3, f"f{n}", {}]


async def test_admin_sees_the_stations_reports_a_site_admin_does_not(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    place = await make_place(sessionmaker, (IDENTITY,), name="Reports HQ")
    station_id = place.stations[IDENTITY]
    admin = await make_user(Role.ADMIN)
    site_admin = await make_user(Role.BASIC, sites={place.site_id: SiteRole.SITE_ADMIN})
    await report(live_server, "Downloading", "Downloaded", "InstallationFailed")

    await log_in_as(page, admin.token, live_server)
    await page.goto(f"/stations/{station_id}")
    panel = page.get_by_test_id("station-reports")
    await expect(panel).to_be_visible()
    rows = panel.get_by_test_id("station-report")
    await expect(rows).to_have_count(3)
    # Newest first: the failure, a warning, then the earlier progress.
    newest = rows.nth(0)
    await expect(newest).to_have_attribute("data-event", "station.firmware")
    await expect(newest).to_have_attribute("data-level", "WARNING")
    await expect(newest.get_by_test_id("station-report-level")).to_have_text("⚠ Warning")
    await expect(newest.get_by_test_id("station-report-message")).to_have_text(
        "The station reported the progress of a firmware update."
    )
    await expect(newest.get_by_test_id("station-report-details")).to_have_text(
        "Status: InstallationFailed"
    )
    oldest = rows.nth(2)
    await expect(oldest).to_have_attribute("data-level", "INFO")
    await expect(oldest.get_by_test_id("station-report-details")).to_have_text(
        "Status: Downloading"
    )
    link = panel.get_by_test_id("station-reports-all")
    assert await link.get_attribute("href") == f"/admin/logs?stationId={station_id}"
    await screenshot(page, "station-reports")
    # The link opens the logs filtered by this station.
    await link.click()
    await expect(page).to_have_url(f"{live_server.url}/admin/logs?stationId={station_id}")
    await expect(
        page.get_by_test_id("logs-table").locator('[data-event="station.firmware"]')
    ).to_have_count(3)

    # A site administrator manages the station but does not see the system logs.
    await page.context.clear_cookies()
    await log_in_as(page, site_admin.token, live_server)
    await page.goto(f"/stations/{station_id}")
    await expect(page.get_by_test_id("station-password-panel")).to_be_visible()
    await expect(page.get_by_test_id("station-reports")).to_have_count(0)
