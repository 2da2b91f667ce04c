"""A person signs up, verifies their email, consents, logs in and edits their profile —
in Chromium, against the real server, with the mail read from a real SMTP server."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import LiveServer, screenshot
from tests.conftest import MailBox, unique_email

PASSWORD = "a long enough password"


async def sign_up(page: Any, email: str) -> None:
    await page.goto("/signup")
    await page.get_by_test_id("signup-first-name").fill("Marie")
    await page.get_by_test_id("signup-last-name").fill("Curie")
    await page.get_by_test_id("signup-email").fill(email)
    await page.get_by_test_id("signup-password").fill(PASSWORD)
    await page.get_by_test_id("signup-password-confirm").fill(PASSWORD)
    await page.get_by_test_id("consent").check()
    await page.get_by_test_id("signup-submit").click()
    await expect(page.get_by_test_id("signup-done")).to_contain_text(email)


async def log_in(page: Any, email: str, *, consent: bool) -> None:
    await page.goto("/login")
    await page.get_by_test_id("login-email").fill(email)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    if consent:
        await page.get_by_test_id("consent").check()
    await page.get_by_test_id("login-submit").click()


async def test_sign_up_verify_consent_log_in_and_edit_profile(
    page: Any, live_server: LiveServer, mailbox: MailBox
) -> None:
    email = unique_email("marie")
    await sign_up(page, email)

    link = mailbox.last_link(email, "/verify-email")
    assert link.startswith(live_server.url)
    await page.goto(link)
    await expect(page.get_by_test_id("login-link")).to_be_visible()

    # Without ticking the consent box, the login page refuses to go on.
    await log_in(page, email, consent=False)
    await expect(page.get_by_test_id("consent-error")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/login"))

    await log_in(page, email, consent=True)
    await expect(page.get_by_test_id("greeting")).to_contain_text("Marie")

    await page.goto("/profile")
    await page.get_by_test_id("profile-phone").fill("+33 4 76 00 00 00")
    await page.get_by_test_id("profile-company").fill("Radium Institute")
    await page.get_by_test_id("profile-city").fill("Paris")
    await page.get_by_test_id("profile-save").click()
    status = page.get_by_test_id("profile-form").get_by_test_id("status-message")
    await expect(status).to_have_attribute("data-kind", "success")

    # What was saved is what the server holds: reload and read it back.
    await page.reload()
    await expect(page.get_by_test_id("profile-company")).to_have_value("Radium Institute")
    await expect(page.get_by_test_id("profile-phone")).to_have_value("+33 4 76 00 00 00")
    await screenshot(page, "profile")


async def test_login_page_in_french(page: Any, live_server: LiveServer) -> None:
    await page.goto("/login")
    await page.get_by_test_id("lang-switcher").select_option("FR")
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await expect(page.get_by_test_id("login-submit")).to_have_text(re.compile("connect", re.I))
    await screenshot(page, "login-fr")


async def test_wrong_password_is_said_clearly(page: Any, live_server: LiveServer) -> None:
    await page.goto("/login")
    await page.get_by_test_id("login-email").fill("nobody@example.com")
    await page.get_by_test_id("login-password").fill("not the password")
    await page.get_by_test_id("consent").check()
    await page.get_by_test_id("login-submit").click()
    alert = page.get_by_test_id("login-form").get_by_test_id("status-message")
    await expect(alert).to_have_attribute("data-kind", "error")
    await expect(page).to_have_url(re.compile(r"/login"))
