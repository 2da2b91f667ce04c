"""Tariffs in Chromium: an administrator builds a night/day tariff with the editor, watches the
preview follow the form (and agree with the pure pricing engine), then edits, schedules and
retires it; a site administrator sees and writes only what the server lets them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import expect
from sqlalchemy import update

from backend.db.models import (
    ChargingStation,
    RegistrationStatus,
    Role,
    Site,
    SiteArea,
    SiteMember,
    SiteRole,
    TariffScope,
)
from backend.domain.billing.tariffs import TariffData, Tariffs
from backend.domain.viewer import Viewer
from backend.pricing import (
    MeterSample,
    PriceComponent,
    Tariff,
    TariffDimension,
    TariffElement,
    TariffRestrictions,
    build_profile,
    price_session,
)
from tests.browser.conftest import SCREENSHOTS, LiveServer, open_from_nav, screenshot

PARIS = "Europe/Paris"

# What the test types into the editor, as the engine's model.
NIGHT_AND_DAY = Tariff(
    "EUR",
    Decimal(20),
    (
        TariffElement(
            (PriceComponent(TariffDimension.ENERGY, Decimal("0.20")),),
            TariffRestrictions(start_time=time(22), end_time=time(6)),
        ),
        TariffElement(
            (
                PriceComponent(TariffDimension.ENERGY, Decimal("0.30")),
                PriceComponent(TariffDimension.PARKING_TIME, Decimal(6), 900),
            )
        ),
    ),
)


def engine_total(local_start: datetime, charging_min: int, energy_wh: int, idle_min: int) -> str:
    """The pure engine's price (incl. VAT) for the preview's session: charging at constant
    power, then idle while still plugged in."""
    started = local_start.astimezone(UTC)
    stopped = started + timedelta(minutes=charging_min)
    profile = build_profile(
        started_at=started,
        samples=[MeterSample(stopped, Decimal(energy_wh))],
        meter_start_wh=Decimal(0),
        stopped_at=stopped,
        available_at=stopped + timedelta(minutes=idle_min),
    )
    return str(price_session(NIGHT_AND_DAY, profile, PARIS).total_incl_vat)


@dataclass
class Sites:
    paris: uuid.UUID
    lyon: uuid.UUID
    station: uuid.UUID


async def make_sites(sessionmaker: Any) -> Sites:
    async with sessionmaker() as db:
        paris = Site(name="Paris", timezone=PARIS)
        lyon = Site(name="Lyon", timezone=PARIS)
        db.add_all([paris, lyon])
        await db.flush()
        area = SiteArea(site_id=paris.id, name="P1", max_power_w=100_000)
        db.add(area)
        await db.flush()
        station = ChargingStation(
            ocpp_identity="PAR-1",
            site_id=paris.id,
            site_area_id=area.id,
            registration_status=RegistrationStatus.ACCEPTED,
        )
        db.add(station)
        await db.commit()
        return Sites(paris.id, lyon.id, station.id)


async def log_in_as(page: Any, token: str, live_server: LiveServer) -> None:
    await page.context.add_cookies(
        [{"name": "vev_session", "value": token, "url": live_server.url}]
    )


async def whole_page(page: Any, name: str, width: int = 1280) -> None:
    """A screenshot of the whole page with a viewport as tall as the page, so that sticky bars
    sit where they rest rather than over the middle of the picture."""
    await page.set_viewport_size({"width": width, "height": 800})
    height = await page.evaluate("document.documentElement.scrollHeight")
    await page.set_viewport_size({"width": width, "height": height})
    await screenshot(page, name)
    await page.set_viewport_size({"width": 1280, "height": 800})


async def fill_preview(page: Any, *, day: str, at: str, minutes: int, kwh: str, kw: str) -> None:
    await page.get_by_test_id("preview-date").fill(day)
    await page.get_by_test_id("preview-time").fill(at)
    await page.get_by_test_id("preview-duration").fill(str(minutes))
    await page.get_by_test_id("preview-energy").fill(kwh)
    await page.get_by_test_id("preview-power").fill(kw)


async def test_admin_builds_previews_edits_schedules_and_retires_a_tariff(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    sites = await make_sites(sessionmaker)
    admin = await make_user(Role.ADMIN)
    await log_in_as(page, admin.token, live_server)

    await page.goto("/tariffs")
    await expect(page.get_by_test_id("tariffs-empty")).to_be_visible()
    await open_from_nav(page, "nav-tariffs")  # the nav leads here too
    await page.get_by_test_id("tariff-new").click()
    await expect(page.get_by_test_id("tariff-form")).to_be_visible()

    # The preview waits for a valid tariff.
    await expect(page.get_by_test_id("preview-waiting")).to_be_visible()

    await page.get_by_test_id("tariff-name").fill("Night and day")
    await expect(page.get_by_test_id("tariff-currency")).to_have_value("EUR")
    await page.get_by_test_id("tariff-vat").fill("20")
    await page.get_by_test_id("tariff-scope").select_option("SITE")
    await page.get_by_test_id("tariff-site").select_option(label="Paris")
    await expect(page.get_by_test_id("preview-zone")).to_have_value(PARIS)

    # Element 1: night energy, 22:00-06:00 (over midnight).
    night = page.get_by_test_id("tariff-element").nth(0)
    await night.get_by_test_id("component-price").fill("0,20")  # a decimal comma is fine
    await night.get_by_test_id("element-restrictions").locator("summary").click()
    await night.get_by_test_id("restriction-start-time").fill("22:00")
    await night.get_by_test_id("restriction-end-time").fill("06:00")
    # Element 2: day energy and parking per started 15 minutes.
    await page.get_by_test_id("element-add").click()
    day = page.get_by_test_id("tariff-element").nth(1)
    await day.get_by_test_id("component-price").fill("0.30")
    await day.get_by_test_id("component-add").click()
    parking = day.get_by_test_id("price-component").nth(1)
    await parking.get_by_test_id("component-type").select_option("PARKING_TIME")
    await parking.get_by_test_id("component-price").fill("6")
    await parking.get_by_test_id("component-step").fill("900")
    await expect(parking.locator("[id$='-step-hint']")).to_contain_text("15 min")

    # A session at 23:00 in Paris: 10 kWh at 10 kW (1 h), then 20 + 10 minutes idle.
    await fill_preview(page, day="2026-03-04", at="23:00", minutes=80, kwh="10", kw="10")
    await page.get_by_test_id("preview-idle").fill("10")
    await expect(page.get_by_test_id("preview-plan")).to_contain_text("1 h 00")
    night_total = engine_total(datetime(2026, 3, 4, 23, tzinfo=ZoneInfo(PARIS)), 60, 10_000, 30)
    assert night_total == "6.00"  # 2.00 energy + 3.00 parking (2 x 15 min), + 20 % VAT
    total = page.get_by_test_id("preview-total")
    await expect(total).to_have_attribute("data-total-incl-vat", night_total)
    await expect(total).to_contain_text("6.00 EUR")
    lines = page.get_by_test_id("preview-line")
    await expect(lines).to_have_count(2)
    await expect(lines.nth(0)).to_have_attribute("data-dimension", "ENERGY")
    await expect(lines.nth(1)).to_have_attribute("data-dimension", "PARKING_TIME")

    # The same charge at noon costs the day price: the preview follows as we type.
    await page.get_by_test_id("preview-time").fill("12:00")
    day_total = engine_total(datetime(2026, 3, 4, 12, tzinfo=ZoneInfo(PARIS)), 60, 10_000, 30)
    assert day_total == "7.20"
    await expect(total).to_have_attribute("data-total-incl-vat", day_total)
    # ... and so does the tariff being edited (not saved yet).
    await day.get_by_test_id("component-price").first.fill("0.40")
    await expect(total).to_have_attribute("data-total-incl-vat", "8.40")
    await day.get_by_test_id("component-price").first.fill("0.30")
    await expect(total).to_have_attribute("data-total-incl-vat", day_total)
    # Too much energy for the power and time: said next to the field, no preview call.
    await page.get_by_test_id("preview-energy").fill("100")
    await expect(page.get_by_test_id("preview-energy-error")).to_be_visible()
    await page.get_by_test_id("preview-energy").fill("10")
    await expect(total).to_have_attribute("data-total-incl-vat", day_total)

    # Client-side checks mirror the server's, next to the field.
    await night.get_by_test_id("component-price").fill("-1")
    await night.get_by_test_id("restriction-end-time").fill("22:00")
    await expect(page.get_by_test_id("preview-waiting")).to_be_visible()
    await page.get_by_test_id("tariff-save").click()
    await expect(night.get_by_test_id("component-price-error")).to_contain_text("negative")
    await expect(night.get_by_test_id("restriction-start-time-error")).to_be_visible()
    await expect(page.get_by_test_id("tariff-message")).to_have_attribute("data-kind", "error")
    await night.get_by_test_id("component-price").fill("0.20")
    await night.get_by_test_id("restriction-end-time").fill("06:00")
    await expect(total).to_have_attribute("data-total-incl-vat", day_total)
    await expect(page.get_by_test_id("tariff-message")).not_to_have_attribute("data-kind", "error")
    await whole_page(page, "tariff-editor")
    await whole_page(page, "tariff-editor-390", width=390)
    # On a phone the preview is far below: the sticky save bar carries its total.
    await page.set_viewport_size({"width": 390, "height": 844})
    await night.get_by_test_id("element-restrictions").scroll_into_view_if_needed()
    await expect(page.get_by_test_id("preview-bar")).to_contain_text("7.20 EUR")
    await expect(page.get_by_test_id("preview-bar")).to_be_in_viewport()
    await page.screenshot(path=str(SCREENSHOTS / "tariff-editor-390-scrolled.png"))
    await page.set_viewport_size({"width": 1280, "height": 800})

    await page.get_by_test_id("tariff-save").click()
    await expect(page.get_by_test_id("tariffs-message")).to_contain_text("Night and day")
    row = page.get_by_test_id("tariff-row")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-status", "ACTIVE")
    await expect(row.get_by_test_id("tariff-target")).to_have_text("Paris")
    await expect(row).to_contain_text("22:00–06:00")
    tariff_id = uuid.UUID(await row.get_attribute("data-tariff-id") or "")
    async with sessionmaker() as db:
        stored = await Tariffs(db).get(Viewer(user_id=admin.id, role=Role.ADMIN), tariff_id)
        assert stored.site_id == sites.paris and stored.scope is TariffScope.SITE
        assert stored.elements[0]["price_components"][0]["price"] == "0.20"
        assert stored.elements[0]["restrictions"] == {"start_time": "22:00", "end_time": "06:00"}
        assert stored.elements[1]["price_components"][1] == {
            "type": "PARKING_TIME",
            "price": "6",
            "step_size": 900,
        }

    # Edit: reorder the elements, then put them back; schedule the tariff for later.
    await row.get_by_test_id("tariff-link").click()
    await expect(page.get_by_test_id("tariff-status")).to_have_attribute("data-status", "ACTIVE")
    first = page.get_by_test_id("tariff-element").nth(0)
    await expect(first.get_by_test_id("restriction-start-time")).to_have_value("22:00")
    await first.get_by_test_id("element-down").click()
    await expect(
        page.get_by_test_id("tariff-element").nth(1).get_by_test_id("restriction-start-time")
    ).to_have_value("22:00")
    await page.get_by_test_id("tariff-element").nth(1).get_by_test_id("element-up").click()
    await page.get_by_test_id("tariff-name").fill("Night and day 2027")
    await page.get_by_test_id("tariff-valid-from").fill("2099-01-01T00:00")
    await page.get_by_test_id("tariff-valid-until").fill("2098-01-01T00:00")
    await page.get_by_test_id("tariff-save").click()
    await expect(page.get_by_test_id("tariff-valid-until-error")).to_be_visible()
    await page.get_by_test_id("tariff-valid-until").fill("")
    await page.get_by_test_id("tariff-save").click()
    await expect(row).to_have_attribute("data-status", "SCHEDULED")
    await expect(row).to_have_attribute("data-name", "Night and day 2027")
    await whole_page(page, "tariffs-list")
    await whole_page(page, "tariffs-list-390", width=390)

    # Retire, with a confirmation.
    await row.get_by_test_id("tariff-link").click()
    await page.get_by_test_id("tariff-retire").click()
    dialog = page.get_by_test_id("confirm-dialog")
    await expect(dialog).to_contain_text("Night and day 2027")
    await dialog.get_by_test_id("confirm-ok").click()
    await expect(page.get_by_test_id("tariff-status")).to_have_attribute("data-status", "RETIRED")
    await expect(page.get_by_test_id("tariff-retire")).to_have_count(0)
    await page.get_by_test_id("tariffs-back").click()
    await expect(row).to_have_attribute("data-status", "RETIRED")
    await page.get_by_test_id("filter-retired").uncheck()
    await expect(page.get_by_test_id("tariffs-empty")).to_be_visible()


async def test_site_admin_sees_and_writes_only_their_sites_tariffs(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    sites = await make_sites(sessionmaker)
    admin = await make_user(Role.ADMIN)
    manager = await make_user(sites={sites.paris: SiteRole.SITE_ADMIN})
    admin_viewer = Viewer(user_id=admin.id, role=Role.ADMIN)
    energy = [{"price_components": [{"type": "ENERGY", "price": "0.25"}]}]
    async with sessionmaker() as db:
        for name, scope, target in (
            ("Standard", TariffScope.ORGANIZATION, None),
            ("Paris day", TariffScope.SITE, sites.paris),
            ("Lyon day", TariffScope.SITE, sites.lyon),
        ):
            await Tariffs(db).create(
                admin_viewer, TariffData(name, "EUR", "20", energy, scope=scope, target_id=target)
            )
    await log_in_as(page, manager.token, live_server)

    await page.goto("/tariffs")
    rows = page.get_by_test_id("tariff-row")
    await expect(rows).to_have_count(2)
    names = sorted(await rows.evaluate_all("rows => rows.map(r => r.dataset.name)"))
    assert names == ["Paris day", "Standard"]  # the organization's is public to drivers
    await page.get_by_test_id("filter-site").select_option(label="Paris")
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-name", "Paris day")
    assert await page.get_by_test_id("filter-site").locator("option").all_inner_texts() == [
        "All sites",
        "Paris",
    ]

    # The organization's tariff: readable, not writable.
    await page.get_by_test_id("filter-site").select_option("")
    await (
        page.locator("[data-testid=tariff-row][data-name=Standard]")
        .get_by_test_id("tariff-link")
        .click()
    )
    await expect(page.get_by_test_id("tariff-readonly")).to_be_visible()
    await expect(page.get_by_test_id("tariff-save")).to_have_count(0)
    await expect(page.get_by_test_id("tariff-retire")).to_have_count(0)
    await expect(page.get_by_test_id("tariff-name")).to_be_disabled()
    await expect(page.get_by_test_id("preview-total")).to_be_visible()  # previews still work

    # A new tariff: no organization scope, only their site.
    await page.get_by_test_id("tariffs-back").click()
    await page.get_by_test_id("tariff-new").click()
    await expect(page.get_by_test_id("tariff-scope").locator("option")).to_have_count(3)
    scopes = (
        await page.get_by_test_id("tariff-scope")
        .locator("option")
        .evaluate_all("options => options.map(o => o.value)")
    )
    assert scopes == ["SITE", "SITE_AREA", "STATION"]
    await expect(page.get_by_test_id("tariff-site")).to_have_value(str(sites.paris))
    assert await page.get_by_test_id("tariff-site").locator("option").count() == 2
    await page.get_by_test_id("tariff-name").fill("Paris station")
    await page.get_by_test_id("tariff-scope").select_option("STATION")
    await page.get_by_test_id("tariff-save").click()
    await expect(page.get_by_test_id("tariff-station-error")).to_be_visible()  # no station yet
    await page.get_by_test_id("tariff-station").select_option(label="PAR-1 (P1)")
    await page.get_by_test_id("tariff-element").get_by_test_id("component-price").fill("0.35")

    # The server has the last word: the station left the site meanwhile (its error shows next
    # to the field), then the user lost their rights (the refusal shows on the form).
    async with sessionmaker() as db:
        await db.execute(
            update(ChargingStation).where(ChargingStation.id == sites.station).values(site_id=None)
        )
        await db.commit()
    await page.get_by_test_id("tariff-save").click()
    await expect(page.get_by_test_id("tariff-station-error")).to_contain_text("no site")
    async with sessionmaker() as db:
        await db.execute(
            update(ChargingStation)
            .where(ChargingStation.id == sites.station)
            .values(site_id=sites.paris)
        )
        await db.execute(
            update(SiteMember).where(SiteMember.user_id == manager.id).values(role=SiteRole.MEMBER)
        )
        await db.commit()
    await page.get_by_test_id("tariff-save").click()
    message = page.get_by_test_id("tariff-message")
    await expect(message).to_have_attribute("data-kind", "error")
    await expect(message).to_contain_text("not allowed")
    await expect(page.get_by_test_id("preview-total")).to_be_visible()
    await whole_page(page, "tariff-editor-site-admin")


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
