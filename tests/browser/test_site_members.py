"""The members of a site in the web app: an administrator assigns a driver by email, makes them
a site admin and removes them again; a site admin adds plain members only; a driver of the site
does not see who else belongs to it."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect
from sqlalchemy import select

from backend.db.models import Role, SiteMember, SiteRole
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_charging_in_browser import log_in_as, make_place
from tests.conftest import unique_email


async def _roles(sessionmaker: Any, site_id: Any) -> dict[Any, SiteRole]:
    async with sessionmaker() as db:
        rows = await db.execute(
            select(SiteMember.user_id, SiteMember.role).where(SiteMember.site_id == site_id)
        )
        return {user_id: role for user_id, role in rows}


async def test_an_admin_adds_a_driver_by_email_changes_the_role_and_removes_them(
    page: Any, live_server: LiveServer, sessionmaker: Any, make_user: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-MEM-1",), name="Members yard")
    admin = await make_user(Role.ADMIN)
    driver = await make_user(email=unique_email("driver"), first_name="Mary", last_name="Jackson")
    await log_in_as(page, admin.token, live_server)
    await page.goto(f"/sites/{place.site_id}")
    section = page.get_by_test_id("site-members")
    await expect(section.get_by_test_id("members-empty")).to_be_visible()

    # An address nobody has is answered plainly, and nothing is added.
    await section.get_by_test_id("member-email").fill(unique_email("nobody"))
    await section.get_by_test_id("member-add").click()
    message = section.get_by_test_id("members-message")
    await expect(message).to_have_text("No account with this email address.")
    await expect(message).to_have_attribute("data-kind", "error")
    await expect(section.get_by_test_id("member-row")).to_have_count(0)

    await section.get_by_test_id("member-email").fill(driver.email.upper())
    await expect(section.get_by_test_id("member-role")).to_have_value("MEMBER")
    await section.get_by_test_id("member-add").click()
    row = section.get_by_test_id("member-row")
    await expect(row).to_have_count(1)
    await expect(row.get_by_test_id("member-name")).to_have_text("Mary Jackson")
    await expect(row.get_by_test_id("member-email-text")).to_have_text(driver.email)
    await expect(row.get_by_test_id("member-role-select")).to_have_value("MEMBER")
    await expect(message).to_have_attribute("data-kind", "success")
    await expect(section.get_by_test_id("member-email")).to_have_value("")
    assert await _roles(sessionmaker, place.site_id) == {driver.id: SiteRole.MEMBER}

    await row.get_by_test_id("member-role-select").select_option("SITE_ADMIN")
    await expect(message).to_have_text("Mary Jackson is now Site admin.")
    assert await _roles(sessionmaker, place.site_id) == {driver.id: SiteRole.SITE_ADMIN}
    await page.reload()
    section = page.get_by_test_id("site-members")
    row = section.get_by_test_id("member-row")
    await expect(row.get_by_test_id("member-role-select")).to_have_value("SITE_ADMIN")
    await screenshot(page, "site-members-admin")

    # Removing asks first; cancelling keeps the member.
    await row.get_by_test_id("member-remove").click()
    await row.get_by_test_id("member-remove-cancel").click()
    await expect(row).to_have_count(1)
    await row.get_by_test_id("member-remove").click()
    await expect(row).to_contain_text("Remove Mary Jackson from this site?")
    await row.get_by_test_id("member-remove-confirm").click()
    await expect(section.get_by_test_id("member-row")).to_have_count(0)
    await expect(section.get_by_test_id("members-empty")).to_be_visible()
    await expect(section.get_by_test_id("members-message")).to_have_text(
        "Mary Jackson has been removed from this site."
    )
    assert await _roles(sessionmaker, place.site_id) == {}
    await expect(page.locator("[data-kind=error]")).to_have_count(0)


async def test_a_site_admin_adds_plain_members_and_a_driver_sees_no_members(
    page: Any, live_server: LiveServer, sessionmaker: Any, make_user: Any
) -> None:
    place = await make_place(sessionmaker, ("CP-MEM-2",), name="Quiet yard")
    driver = await make_user(Role.BASIC, sites={place.site_id: SiteRole.MEMBER})
    owner = await make_user(
        Role.BASIC, sites={place.site_id: SiteRole.SITE_OWNER}, first_name="Olive", last_name="Own"
    )
    newcomer = await make_user(Role.BASIC, first_name="Nora", last_name="New")

    # A driver of the site sees its stations but not the people assigned to it.
    await log_in_as(page, driver.token, live_server)
    await page.goto(f"/sites/{place.site_id}")
    await expect(page.get_by_test_id("station-row")).to_have_count(1)
    await expect(page.get_by_test_id("site-members")).to_have_count(0)
    await expect(page.get_by_test_id("member-row")).to_have_count(0)

    # A site admin sees the list, may add plain members only and cannot touch the owner.
    manager = await make_user(Role.BASIC, sites={place.site_id: SiteRole.SITE_ADMIN})
    await log_in_as(page, manager.token, live_server)
    await page.goto(f"/sites/{place.site_id}")
    section = page.get_by_test_id("site-members")
    await expect(section.get_by_test_id("member-row")).to_have_count(3)
    role_options = section.get_by_test_id("member-role").locator("option")
    await expect(role_options).to_have_count(1)
    await expect(section.get_by_test_id("member-role-select")).to_have_count(0)
    owner_row = section.locator(f"[data-testid=member-row][data-email='{owner.email}']")
    await expect(owner_row.get_by_test_id("member-role-badge")).to_have_text("Site owner")
    await expect(owner_row.get_by_test_id("member-remove")).to_have_count(0)
    await section.get_by_test_id("member-email").fill(newcomer.email)
    await section.get_by_test_id("member-add").click()
    await expect(section.get_by_test_id("member-row")).to_have_count(4)
    new_row = section.locator(f"[data-testid=member-row][data-email='{newcomer.email}']")
    await expect(new_row.get_by_test_id("member-name")).to_have_text("Nora New")
    await expect(new_row.get_by_test_id("member-role-badge")).to_have_text("Member")
    await screenshot(page, "site-members-site-admin")
    assert (await _roles(sessionmaker, place.site_id))[newcomer.id] is SiteRole.MEMBER

    # The newcomer, a plain member now, does not see the section either.
    await log_in_as(page, newcomer.token, live_server)
    await page.goto(f"/sites/{place.site_id}")
    await expect(page.get_by_test_id("station-row")).to_have_count(1)
    await expect(page.get_by_test_id("site-members")).to_have_count(0)
    await expect(page.locator("[data-kind=error]")).to_have_count(0)
