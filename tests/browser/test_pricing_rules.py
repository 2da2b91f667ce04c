"""The house rules of pricing, for drivers: public, in their language, linked where costs show."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from backend.db.models import Language, Role
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_charging_in_browser import log_in_as


async def test_anyone_reads_how_charges_are_priced(
    page: Any, live_server: LiveServer, make_user: Any
) -> None:
    # Before signing up: the page is public.
    await page.goto("/pricing")
    rules = page.get_by_test_id("pricing-rule")
    await expect(rules).to_have_count(10)
    await expect(rules.nth(6)).to_contain_text("rounded down")
    await expect(page.locator("h1")).to_have_text("How your charge is priced")
    await screenshot(page, "pricing-rules")

    # A driver reaches it from their invoices, in their language.
    driver = await make_user(Role.BASIC, language=Language.FR)
    await log_in_as(page, driver.token, live_server)
    await page.goto("/invoices")
    await page.get_by_test_id("pricing-rules-link").click()
    await expect(page).to_have_url(f"{live_server.url}/pricing")
    await expect(page.locator("h1")).to_have_text("Comment votre charge est facturée")
    await expect(page.get_by_test_id("pricing-rule").nth(6)).to_contain_text("en votre faveur")
