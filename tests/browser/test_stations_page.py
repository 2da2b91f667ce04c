"""The stations page past 100 sites: stations page by page ("Load more"), grouped by site, a
search that narrows the list, stations without a site for administrators, and the pending
stations paged too."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.async_api import expect

from backend.db.models import ChargingStation, RegistrationStatus, Role, Site, SiteArea, SiteRole
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_charging_in_browser import log_in_as

SITES = 120
PENDING = 25


async def make_fleet(sessionmaker: Any) -> list[uuid.UUID]:
    """SITES sites with a station each (CP-001 at Site 001, ...), a station without a site and
    PENDING stations waiting for approval, added in one go; the sites' ids in name order."""
    async with sessionmaker() as db:
        sites = [Site(name=f"Site {i:03d}") for i in range(1, SITES + 1)]
        db.add_all(sites)
        await db.flush()
        areas = [SiteArea(site_id=s.id, name="Car park", max_power_w=50_000) for s in sites]
        db.add_all(areas)
        await db.flush()
        stations = [
            ChargingStation(
                ocpp_identity=f"CP-{i:03d}",
                site_area_id=area.id,
                site_id=area.site_id,
                registration_status=RegistrationStatus.ACCEPTED,
            )
            for i, area in enumerate(areas, start=1)
        ]
        stations[41].vendor, stations[41].model = "Acme", "Volt 22"
        loose = ChargingStation(
            ocpp_identity="AA-LOOSE",
            description="Spare in the workshop",
            registration_status=RegistrationStatus.ACCEPTED,
        )
        waiting = [
            ChargingStation(
                ocpp_identity=f"NEW-{i:02d}", registration_status=RegistrationStatus.PENDING
            )
            for i in range(1, PENDING + 1)
        ]
        db.add_all([*stations, loose, *waiting])
        await db.commit()
        return [s.id for s in sites]


def card(page: Any, identity: str) -> Any:
    return page.locator(f"[data-testid=station-card][data-ocpp-identity='{identity}']")


async def test_admin_pages_through_searches_and_sees_stations_without_a_site(
    page: Any, live_server: LiveServer, sessionmaker: Any, make_user: Any
) -> None:
    await make_fleet(sessionmaker)
    admin = await make_user(Role.ADMIN)
    await log_in_as(page, admin.token, live_server)
    await page.goto("/stations")

    cards = page.get_by_test_id("station-card")
    await expect(cards).to_have_count(50)
    await expect(page.get_by_test_id("stations-count")).to_contain_text("50 of 121")
    # Grouped by site, in the order of the sites' names.
    groups = page.get_by_test_id("site-stations")
    await expect(groups.first).to_contain_text("Site 001")
    await expect(groups.first.get_by_test_id("station-card")).to_have_count(1)
    await expect(card(page, "CP-050")).to_be_visible()
    await expect(card(page, "CP-051")).to_have_count(0)

    # "Load more" brings the next page, then the last one with the station without a site.
    await page.get_by_test_id("stations-load-more").click()
    await expect(cards).to_have_count(100)
    await expect(card(page, "CP-100")).to_be_visible()
    await expect(card(page, "AA-LOOSE")).to_have_count(0)
    await page.get_by_test_id("stations-load-more").click()
    await expect(cards).to_have_count(121)
    await expect(page.get_by_test_id("stations-load-more")).to_have_count(0)
    await expect(page.get_by_test_id("stations-count")).to_contain_text("121 of 121")
    loose_group = page.locator("[data-testid=site-stations][data-site='']")
    await expect(loose_group).to_contain_text("Without a site")
    await expect(loose_group.get_by_test_id("station-card")).to_have_count(1)
    await expect(card(page, "AA-LOOSE")).to_contain_text("Spare in the workshop")
    # Pending stations are decided on above, not listed twice.
    await expect(card(page, "NEW-01")).to_have_count(0)

    # The pending stations: a page of them, their total, and the rest on demand.
    pending = page.get_by_test_id("pending-station")
    await expect(pending).to_have_count(20)
    await expect(page.get_by_test_id("pending-count")).to_contain_text("20 of 25")
    await page.get_by_test_id("pending-load-more").click()
    await expect(pending).to_have_count(PENDING)
    await expect(page.get_by_test_id("pending-load-more")).to_have_count(0)

    # The search narrows the list: by site name, by vendor and model, by description.
    search = page.get_by_test_id("stations-search")
    await search.fill("site 042")
    await expect(cards).to_have_count(1)
    await expect(card(page, "CP-042")).to_be_visible()
    await expect(page.get_by_test_id("site-stations")).to_contain_text("Site 042")
    await expect(page.get_by_test_id("stations-count")).to_contain_text("1 of 1")
    await screenshot(page, "stations-search")
    await search.fill("ACME VOLT")
    await expect(cards).to_have_count(1)
    await expect(card(page, "CP-042")).to_contain_text("Acme Volt 22")
    await search.fill("workshop")
    await expect(cards).to_have_count(1)
    await expect(loose_group.get_by_test_id("station-card")).to_have_count(1)
    await search.fill("CP-11")
    await expect(cards).to_have_count(10)  # CP-110 ... CP-119
    await search.fill("nothing like this")
    await expect(page.get_by_test_id("stations-no-match")).to_be_visible()
    await expect(cards).to_have_count(0)
    await search.fill("")
    await expect(cards).to_have_count(50)
    await expect(page.get_by_test_id("stations-load-more")).to_be_visible()


async def test_driver_sees_only_their_sites(
    page: Any, live_server: LiveServer, sessionmaker: Any, make_user: Any
) -> None:
    site_ids = await make_fleet(sessionmaker)
    driver = await make_user(
        Role.BASIC, sites={site_ids[2]: SiteRole.MEMBER, site_ids[104]: SiteRole.MEMBER}
    )
    await log_in_as(page, driver.token, live_server)
    await page.goto("/stations")
    cards = page.get_by_test_id("station-card")
    await expect(cards).to_have_count(2)
    await expect(card(page, "CP-003")).to_be_visible()
    await expect(card(page, "CP-105")).to_be_visible()
    await expect(page.get_by_test_id("stations-load-more")).to_have_count(0)
    await expect(page.get_by_test_id("pending-stations")).to_have_count(0)
    await expect(page.locator("[data-testid=site-stations][data-site='']")).to_have_count(0)
    await page.get_by_test_id("stations-search").fill("Site 042")
    await expect(page.get_by_test_id("stations-no-match")).to_be_visible()
    await page.get_by_test_id("stations-search").fill("site 105")
    await expect(cards).to_have_count(1)
    await expect(card(page, "CP-105")).to_be_visible()
