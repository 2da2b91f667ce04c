"""An administrator nests site areas from the site page: a new area inside an existing one is
shown as nested, the form never offers a loop, and an area with areas inside is kept."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect
from sqlalchemy import select

from backend.db.models import Language, Role, SiteArea
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_charging_in_browser import log_in_as, make_place


def card(page: Any, name: str) -> Any:
    return page.get_by_test_id("area-card").filter(
        has=page.get_by_role("heading", name=name, exact=True)
    )


async def option_labels(page: Any) -> list[str]:
    labels = await page.get_by_test_id("area-parent").locator("option").all_inner_texts()
    return [label.strip() for label in labels]


async def test_an_admin_creates_an_area_inside_another(
    page: Any, live_server: LiveServer, sessionmaker: Any, make_user: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-NEST-1",), name="Nested depot")
    admin = await make_user(Role.ADMIN)
    await log_in_as(page, admin.token, live_server)
    await page.goto(f"/sites/{place.site_id}")
    await expect(page.get_by_test_id("area-card")).to_have_count(1)
    await expect(page.get_by_test_id("area-parent")).to_have_count(0)  # "Parking" is top level

    await page.get_by_test_id("area-new").click()
    form = page.get_by_test_id("area-form")
    await form.get_by_label("Name").fill("Row A")
    await form.get_by_label("Maximum power (kW)").fill("22")
    assert await option_labels(page) == ["None (directly on the site)", "Parking"]
    await page.get_by_test_id("area-parent").select_option(label="Parking")
    await page.get_by_test_id("area-save").click()
    await expect(page.get_by_test_id("area-form")).to_have_count(0)

    row = card(page, "Row A")
    await expect(row.get_by_test_id("area-parent")).to_have_text("Inside Parking")
    await expect(card(page, "Parking").get_by_test_id("area-parent")).to_have_count(0)
    async with sessionmaker() as db:
        areas = {a.name: a for a in await db.scalars(select(SiteArea))}
    assert areas["Row A"].parent_area_id == areas["Parking"].id
    assert areas["Row A"].max_power_w == 22_000
    await screenshot(page, "site-area-nesting")

    # Editing the outer area: neither itself nor the area inside it can enclose it.
    await card(page, "Parking").get_by_test_id("area-edit").click()
    assert await option_labels(page) == ["None (directly on the site)"]
    await page.get_by_test_id("area-cancel").click()

    # Editing the inner one keeps its parent selected, shown by its path.
    await card(page, "Row A").get_by_test_id("area-edit").click()
    await expect(page.get_by_test_id("area-parent").locator("option:checked")).to_have_text(
        "Parking"
    )
    await page.get_by_test_id("area-cancel").click()

    # The outer area cannot be deleted while an area is inside it.
    await card(page, "Parking").get_by_test_id("area-delete").click()
    await expect(page.locator("[data-kind=error]")).to_contain_text(
        "Areas are inside Parking (Row A): move or delete them first."
    )
    await expect(page.get_by_test_id("area-card")).to_have_count(2)

    # Another administrator, who reads French, sees the nesting too.
    french = await make_user(Role.ADMIN, language=Language.FR)
    await log_in_as(page, french.token, live_server)
    await page.goto(f"/sites/{place.site_id}")
    await expect(card(page, "Row A").get_by_test_id("area-parent")).to_have_text("Dans Parking")
