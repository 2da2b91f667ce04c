"""System logs in Chromium: a station sends a malformed frame (cut in the middle of a badge
number) over a real websocket and someone fails to log in; an administrator finds both on
/admin/logs, opens an entry's details, filters by category, and loads more. Neither the wrong
password, the badge number nor the person's email appears in the page or in the database; the
page fits a phone."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets
from playwright.async_api import expect
from sqlalchemy import insert

from backend.db.base import utcnow
from backend.db.models import LogCategory, LogLevel, Role, SystemLogEntry
from tests.browser.conftest import LiveServer, open_from_nav, screenshot
from tests.browser.test_charging_in_browser import log_in_as, make_place
from tests.system_logs.helpers import dump, rows, wait_for

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WRONG_PASSWORD = "Wr0ng-Browser-Secret!"
BADGE = "ZQBADGE9931"


async def shot(page: Any, name: str) -> None:
    await page.set_viewport_size(DESKTOP)
    await asyncio.sleep(0.3)
    await screenshot(page, name)
    await page.set_viewport_size(PHONE)
    await asyncio.sleep(0.3)
    await screenshot(page, f"{name}-390")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.set_viewport_size(DESKTOP)


async def test_admin_browses_and_filters_system_logs(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-LOGS",), name="Logs HQ")
    admin = await make_user(Role.ADMIN, first_name="Lola", last_name="Admin")
    driver = await make_user(first_name="Dina", last_name="Driver")

    # A station's frame cut short in the middle of a badge number, then a call we do not know.
    async with websockets.connect(
        f"{live_server.ws_url}/ocpp/CP-LOGS",
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
    ) as ws:
        await ws.send(f'[2, "m1", "Authorize", {{"idTag": "{BADGE}"')
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert reply[0] == 4
        await ws.send(json.dumps([2, "m2", "FlyToTheMoon", {"token": "tok-" + BADGE}]))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert reply[2] == "NotImplemented"
    # Someone tries the driver's account with a wrong password.
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        response = await client.post(
            "/graphql",
            json={
                "query": "mutation($e: String!, $p: String!) "
                "{ logIn(input: {email: $e, password: $p}) { token } }",
                "variables": {"e": driver.email, "p": WRONG_PASSWORD},
            },
        )
        assert response.json()["errors"]
    await wait_for(sessionmaker, "ocpp.malformed_frame", ocpp_identity="CP-LOGS")
    await wait_for(sessionmaker, "ocpp.unknown_action", ocpp_identity="CP-LOGS")
    await wait_for(sessionmaker, "security.login_failed", user_id=driver.id)

    await log_in_as(page, admin.token, live_server)
    await page.goto("/")
    await open_from_nav(page, "nav-logs")
    await expect(page).to_have_url(f"{live_server.url}/admin/logs")
    table = page.get_by_test_id("logs-table")
    malformed = table.locator('[data-event="ocpp.malformed_frame"]')
    await expect(malformed).to_have_count(1)
    await expect(malformed.get_by_test_id("log-level")).to_have_text("⚠ Warning")
    await expect(malformed.get_by_test_id("log-message")).to_have_text(
        "The station sent a frame that is not valid OCPP-J."
    )
    station_link = malformed.get_by_test_id("log-station")
    await expect(station_link).to_have_text("CP-LOGS")
    assert await station_link.get_attribute("href") == f"/stations/{place.stations['CP-LOGS']}"
    failed = table.locator('[data-event="security.login_failed"]')
    await expect(failed).to_have_count(1)
    await expect(failed.get_by_test_id("log-category")).to_have_text("Security")
    assert await failed.get_by_test_id("log-user").get_attribute("href") == (
        f"/admin/users/{driver.id}"
    )
    # Details open on demand.
    details = malformed.get_by_test_id("log-details")
    await details.locator("summary").click()
    await expect(details.locator("pre")).to_contain_text('"code": "FormationViolation"')
    await shot(page, "system-logs")

    # Filter by category: only security events remain, and the address remembers it.
    await page.get_by_test_id("log-filter-category").select_option("SECURITY")
    await page.get_by_test_id("log-filter-apply").click()
    await expect(table.locator('[data-event="ocpp.malformed_frame"]')).to_have_count(0)
    await expect(table.locator('[data-event="security.login_failed"]')).to_have_count(1)
    categories = await table.get_by_test_id("log-category").all_inner_texts()
    assert categories and set(categories) == {"Security"}
    await expect(page).to_have_url(f"{live_server.url}/admin/logs?category=SECURITY")
    await page.get_by_test_id("log-filter-category").select_option("OCPP")
    await page.get_by_test_id("log-filter-apply").click()
    await expect(table.locator('[data-event="security.login_failed"]')).to_have_count(0)
    await expect(table.locator('[data-event="ocpp.unknown_action"]')).to_have_count(1)

    # Nothing secret or personal, in the page or in the rows.
    content = await page.content()
    page_text = await page.locator("body").inner_text()
    stored = dump(await rows(sessionmaker))
    for secret in (WRONG_PASSWORD, BADGE, driver.email, admin.token):
        assert secret not in content and secret not in page_text and secret not in stored

    # Many entries: the page loads them 50 at a time.
    async with sessionmaker() as db:
        await db.execute(
            insert(SystemLogEntry),
            [
                {
                    "at": utcnow(),
                    "level": LogLevel.ERROR,
                    "category": LogCategory.SYSTEM,
                    "event": "system.test",
                    "message": f"Entry {n}",
                    "details": {},
                }
                for n in range(60)
            ],
        )
        await db.commit()
    await page.get_by_test_id("log-filter-reset").click()
    await expect(page).to_have_url(f"{live_server.url}/admin/logs")
    await expect(page.get_by_test_id("log-row")).to_have_count(50)
    await page.get_by_test_id("logs-more").click()
    await expect(page.get_by_test_id("logs-more")).to_have_count(0)
    shown = await page.get_by_test_id("log-row").count()
    assert shown > 60
    await expect(page.get_by_test_id("logs-count")).to_have_text(f"{shown} of {shown} shown")
