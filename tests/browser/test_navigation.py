"""The top bar: everyday pages in the bar, personal pages and administration in a menu each,
on one line for an administrator on a laptop, and usable by keyboard and on a phone."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from backend.db.models import Role
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_charging_in_browser import log_in_as


async def test_admin_menus_fit_and_work_by_keyboard(
    page: Any, live_server: LiveServer, make_user: Any
) -> None:
    admin = await make_user(Role.ADMIN)
    await log_in_as(page, admin.token, live_server)
    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.goto("/stations")
    bar = page.locator(".topbar-inner")
    await expect(page.get_by_test_id("nav-stations")).to_be_visible()
    box = await bar.bounding_box()
    assert box is not None and box["height"] < 70, box  # one line

    toggle = page.get_by_test_id("nav-group-admin")
    await expect(page.get_by_test_id("nav-logs")).to_be_hidden()
    await toggle.focus()
    await page.keyboard.press("Enter")
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    await expect(page.get_by_test_id("nav-logs")).to_be_visible()
    await screenshot(page, "nav-admin-menu")
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("nav-logs")).to_be_hidden()
    await expect(toggle).to_be_focused()

    await toggle.click()
    await page.get_by_test_id("nav-users").click()
    await expect(page).to_have_url(f"{live_server.url}/admin/users")
    await expect(page.get_by_test_id("nav-users")).to_be_hidden()  # closed after navigating
    await expect(toggle).to_have_class("nav-group-toggle current")


async def test_driver_menu_on_a_phone(page: Any, live_server: LiveServer, make_user: Any) -> None:
    driver = await make_user(Role.BASIC)
    await log_in_as(page, driver.token, live_server)
    await page.set_viewport_size({"width": 390, "height": 800})
    await page.goto("/")
    await expect(page.get_by_test_id("nav-profile")).to_be_hidden()
    await page.get_by_test_id("nav-toggle").click()
    await expect(page.get_by_test_id("nav-profile")).to_be_visible()
    await expect(page.get_by_test_id("nav-group-admin")).to_have_count(0)  # nothing to administer
    await screenshot(page, "nav-phone-open")
    await page.get_by_test_id("nav-cards").click()
    await expect(page).to_have_url(f"{live_server.url}/cards")
