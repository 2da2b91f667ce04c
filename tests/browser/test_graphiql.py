"""GraphiQL is served by us to administrators, loads nothing from elsewhere, and runs queries."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from backend.db.models import Role
from tests.browser.conftest import LiveServer, screenshot


async def log_in_as(page: Any, token: str, live_server: LiveServer) -> None:
    await page.context.add_cookies(
        [{"name": "vev_session", "value": token, "url": live_server.url}]
    )


async def test_admin_runs_a_query_in_graphiql(
    page: Any, live_server: LiveServer, make_user: Any
) -> None:
    admin = await make_user(Role.ADMIN)
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((live_server.url, "ws://127.0.0.1", "data:", "blob:"))
            else outside.append(request.url)
        ),
    )
    await log_in_as(page, admin.token, live_server)
    await page.goto("/graphiql")
    await expect(page.locator(".graphiql-container")).to_be_visible()
    # Monaco fills the editors asynchronously: a click before the default query is in the
    # editor runs an empty document, so wait for it, and click again if the first run was lost.
    await expect(page.locator(".graphiql-query-editor")).to_contain_text("email", timeout=15_000)
    response = page.locator(".graphiql-response")
    for _ in range(5):
        await page.locator(".graphiql-execute-button").click()
        try:
            await expect(response).to_contain_text(admin.email, timeout=3_000)
            break
        except AssertionError:
            continue
    await expect(response).to_contain_text(admin.email)
    await screenshot(page, "graphiql")
    assert outside == []


async def test_graphiql_is_for_administrators(
    page: Any, live_server: LiveServer, make_user: Any
) -> None:
    driver = await make_user(Role.BASIC)
    response = await page.goto("/graphiql")
    assert "/login" in page.url  # anonymous: sent to log in first
    await log_in_as(page, driver.token, live_server)
    response = await page.goto("/graphiql")
    assert response.status == 403
