"""A driver opens a site they belong to: its areas and stations, without the managers' details."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from backend.db.models import Role, SiteRole
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_charging_in_browser import log_in_as, make_place


async def test_driver_sees_the_stations_of_their_site(
    page: Any, live_server: LiveServer, sessionmaker: Any, make_user: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-SITE-1", "CP-SITE-2"), name="Depot")
    driver = await make_user(Role.BASIC, sites={place.site_id: SiteRole.MEMBER})
    await log_in_as(page, driver.token, live_server)
    await page.goto(f"/sites/{place.site_id}")
    rows = page.get_by_test_id("station-row")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("CP-SITE-1")
    # Firmware, OCPP version and last contact are for the site's managers.
    await expect(page.get_by_text("OCPP", exact=True)).to_have_count(0)
    await expect(page.locator("[data-kind=error]")).to_have_count(0)
    await screenshot(page, "site-driver")

    admin = await make_user(Role.ADMIN)
    await log_in_as(page, admin.token, live_server)
    await page.goto(f"/sites/{place.site_id}")
    await expect(page.get_by_test_id("station-row")).to_have_count(2)
    await expect(page.get_by_text("OCPP", exact=True)).to_have_count(2)
