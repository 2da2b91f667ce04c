"""Browser tests: the real server on a local port, driven by Debian's Chromium via Playwright."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from backend.settings import Settings
from tests.live_server import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[LiveServer]:
    if not (settings.frontend_dist / "index.html").exists():
        pytest.fail("the web app is not built: run scripts/bootstrap.sh (or npm run build)")
    server = LiveServer(settings)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    # The async API shares the tests' event loop, so async fixtures (database) work beside it.
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Any, live_server: LiveServer, sessionmaker: Any) -> AsyncIterator[Any]:
    # `sessionmaker` empties the database before each test.
    context = await browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 800}
    )
    page = await context.new_page()
    yield page
    await context.close()


async def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def open_from_nav(page: Any, testid: str) -> None:
    """Follow a link of the top bar as a person would: personal pages and administration sit
    in a menu (a dropdown on wide screens, the ☰ menu on small ones), opened first."""
    link = page.get_by_test_id(testid)
    # The bar is drawn once the app knows who is logged in: wait for it before looking.
    await expect(page.locator("#main-nav > ul")).to_have_count(1)
    if not await link.is_visible():
        toggle = page.get_by_test_id("nav-toggle")
        if await toggle.is_visible():
            await toggle.click()
        group = page.locator(f".nav-group:has([data-testid='{testid}']) .nav-group-toggle")
        if await group.is_visible():
            await group.click()
    await link.click()
