"""A driver opens a site they belong to: its areas and stations, without the managers' details."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect
from sqlalchemy import select

from backend.db.models import ChargingStation, Connector, Role, SiteRole
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


async def test_a_site_admin_keeps_track_of_registration_tokens(
    page: Any, live_server: LiveServer, sessionmaker: Any, make_user: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-TOK-1",), name="Token yard")
    manager = await make_user(Role.BASIC, sites={place.site_id: SiteRole.SITE_ADMIN})
    await log_in_as(page, manager.token, live_server)
    await page.goto(f"/sites/{place.site_id}")
    section = page.get_by_test_id("registration-tokens")
    await section.locator("summary").click()
    await expect(section.get_by_test_id("token-none")).to_be_visible()
    await section.get_by_test_id("token-description").fill("Installer, Tuesday")
    await section.get_by_test_id("token-create").click()
    secret = await section.get_by_test_id("token-secret").inner_text()
    assert len(secret) >= 20
    await expect(section.get_by_test_id("token-row")).to_have_count(1)

    # On a later visit the token is still listed, its secret is not shown again, and it can
    # be revoked.
    await page.reload()
    section = page.get_by_test_id("registration-tokens")
    await section.locator("summary").click()
    row = section.get_by_test_id("token-row")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Installer, Tuesday")
    await expect(section.get_by_test_id("token-secret")).to_have_count(0)
    assert secret not in await page.content()
    await row.get_by_test_id("token-revoke").click()
    await expect(row.get_by_test_id("token-state")).to_be_visible()
    await page.reload()
    section = page.get_by_test_id("registration-tokens")
    await section.locator("summary").click()
    await expect(section.get_by_test_id("token-row").get_by_test_id("token-state")).to_be_visible()
    await expect(section.get_by_test_id("token-revoke")).to_have_count(0)
    await expect(page.locator("[data-kind=error]")).to_have_count(0)
    await screenshot(page, "site-registration-tokens")


async def test_a_site_admin_puts_a_sloppy_station_in_lenient_mode(
    page: Any, live_server: LiveServer, sessionmaker: Any, make_user: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-SLOPPY",), name="Lenient yard")
    manager = await make_user(Role.BASIC, sites={place.site_id: SiteRole.SITE_ADMIN})
    await log_in_as(page, manager.token, live_server)
    await page.goto(f"/sites/{place.site_id}")
    await page.get_by_test_id("station-edit").click()
    lenient = page.get_by_test_id("station-lenient")
    await expect(lenient).not_to_be_checked()
    await lenient.check()
    await page.get_by_test_id("station-save").click()
    await expect(page.get_by_test_id("station-form")).to_have_count(0)
    async with sessionmaker() as db:
        station = await db.get_one(ChargingStation, place.stations["CP-SLOPPY"])
        assert station.lenient is True
    await page.reload()
    await page.get_by_test_id("station-edit").click()
    await expect(page.get_by_test_id("station-lenient")).to_be_checked()
    await expect(page.locator("[data-kind=error]")).to_have_count(0)


async def test_a_site_admin_sets_a_connectors_plug_and_power(
    page: Any, live_server: LiveServer, sessionmaker: Any, make_user: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-PLUG",), name="Plug yard")
    async with sessionmaker() as db:
        db.add(Connector(station_id=place.stations["CP-PLUG"], status="Available"))
        await db.commit()
    manager = await make_user(Role.BASIC, sites={place.site_id: SiteRole.SITE_ADMIN})
    await log_in_as(page, manager.token, live_server)
    await page.goto(f"/stations/{place.stations['CP-PLUG']}")
    settings = page.get_by_test_id("connector-settings")
    await settings.locator("summary").click()
    row = settings.get_by_test_id("connector-settings-row").first
    await row.get_by_test_id("connector-power").fill("0")
    await row.get_by_test_id("connector-save").click()
    await expect(row.get_by_test_id("connector-error")).to_be_visible()  # refused in the form
    await row.get_by_test_id("connector-type").select_option("Type2")
    await row.get_by_test_id("connector-power").fill("11")
    await row.get_by_test_id("connector-phases").select_option("3")
    await row.get_by_test_id("connector-save").click()
    table_row = page.get_by_test_id("connector-row").first
    await expect(table_row).to_contain_text("Type 2 socket")
    await expect(table_row).to_contain_text("11")
    async with sessionmaker() as db:
        stored = await db.scalar(
            select(Connector).where(Connector.station_id == place.stations["CP-PLUG"])
        )
        assert stored is not None
        assert (stored.type, stored.max_power_w, stored.phases) == ("Type2", 11_000, 3)


async def test_a_station_without_a_password_says_so_until_it_has_one(
    page: Any, live_server: LiveServer, sessionmaker: Any, make_user: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-NOPASS",), name="Password yard")
    manager = await make_user(Role.BASIC, sites={place.site_id: SiteRole.SITE_ADMIN})
    await log_in_as(page, manager.token, live_server)
    station_id = place.stations["CP-NOPASS"]
    await page.goto(f"/stations/{station_id}")
    await expect(page.get_by_test_id("station-password-missing")).to_contain_text("CP-NOPASS")
    await page.get_by_test_id("station-password-generate").click()
    await page.get_by_test_id("confirm-ok").click()
    secret = await page.get_by_test_id("station-password").inner_text()
    await expect(page.get_by_test_id("station-password-missing")).to_have_count(0)
    async with sessionmaker() as db:
        station = await db.get_one(ChargingStation, station_id)
        assert station.password_hash and secret not in station.password_hash
    await page.reload()
    await expect(page.get_by_test_id("station-password-panel")).to_be_visible()
    await expect(page.get_by_test_id("station-password-missing")).to_have_count(0)
    await expect(page.get_by_test_id("station-password")).to_have_count(0)  # shown once
