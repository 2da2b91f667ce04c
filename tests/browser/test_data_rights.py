"""Data rights in Chromium, one test per right, each checked where it has its effect: the
downloaded files (parsed), the database (audit log, preferences, erasure), the admin's
data-science export, and the server refusing an old login cookie.

The person is `tests.privacy.helpers.build_everything`'s driver (profile, picture, two cards,
two vehicles, two sites, two finished sessions 40 and 3 days ago, an invoice), switched to
English so that the assertions read like the screen."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import expect
from sqlalchemy import select

from backend.db.base import utcnow
from backend.db.models import (
    AuditEntry,
    AuthSession,
    ConsentRecord,
    Language,
    Purpose,
    RfidCard,
    Role,
    User,
    UserStatus,
)
from backend.domain.privacy import restrictions
from tests.browser.conftest import LiveServer, open_from_nav, screenshot
from tests.browser.test_charging_in_browser import log_in_as
from tests.conftest import PASSWORD, Person
from tests.privacy.helpers import CARDS, EMAIL, PROFILE, Everything, build_everything

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


async def shot(page: Any, name: str) -> None:
    """Desktop and phone screenshots; nothing may be wider than the phone."""
    await page.set_viewport_size(DESKTOP)
    await asyncio.sleep(0.3)
    await screenshot(page, name)
    await page.set_viewport_size(PHONE)
    await asyncio.sleep(0.3)
    await screenshot(page, f"{name}-390")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.set_viewport_size(DESKTOP)


async def person_in_english(sessionmaker: Any, make_user: Any) -> Everything:
    everything = await build_everything(sessionmaker, make_user)
    async with sessionmaker() as db:
        user = await db.get_one(User, everything.person.id)
        user.language = Language.EN
        await db.commit()
    return everything


async def download(page: Any, testid: str) -> Path:
    async with page.expect_download() as info:
        await page.get_by_test_id(testid).click()
    dl = await info.value
    assert await dl.failure() is None
    return Path(await dl.path())


def csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


async def open_my_data(page: Any, person: Person, live_server: LiveServer) -> None:
    await log_in_as(page, person.token, live_server)
    await page.goto("/")
    await open_from_nav(page, "nav-my-data")
    await expect(page).to_have_url(f"{live_server.url}/my-data")
    await expect(page.get_by_test_id("my-data")).to_be_visible()


# --- access and portability ------------------------------------------------------------------


async def test_access_downloads_everything_as_one_json_file(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    everything = await person_in_english(sessionmaker, make_user)
    await open_my_data(page, everything.person, live_server)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your data")

    data = json.loads((await download(page, "download-json")).read_text(encoding="utf-8"))
    assert data["format"] == "vev-iq.personal-data"
    assert data["profile"]["email"] == EMAIL
    assert (data["profile"]["firstName"], data["profile"]["lastName"]) == ("Héloïse", "Zyxwarth")
    assert data["profile"]["company"] == PROFILE["company"]
    assert [c["uid"] for c in data["rfidCards"]] == [uid for uid, _ in CARDS]
    assert sorted(s["id"] for s in data["sessions"]) == sorted(str(s) for s in everything.sessions)
    assert sorted(s["curve"]["energyWh"] for s in data["sessions"]) == [4_000, 10_000]
    assert [c["policyVersion"] for c in data["consents"]] == ["2026-11"]

    # The download is in the audit log (who exported whose data, never the data).
    async with sessionmaker() as db:
        exported = list(
            await db.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "user.data_exported",
                    AuditEntry.target_id == str(everything.person.id),
                )
            )
        )
    assert [e.actor_user_id for e in exported] == [everything.person.id]
    await shot(page, "my-data")


async def test_sessions_csv_for_a_period_and_a_site(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    everything = await person_in_english(sessionmaker, make_user)
    recent, older = everything.sessions  # 3 days ago at Depot Nord, 40 days ago at Depot Sud
    await open_my_data(page, everything.person, live_server)

    # Everything: both sessions.
    await expect(page.get_by_test_id("download-csv")).to_have_text(re.compile("All sessions"))
    rows = csv_rows(await download(page, "download-csv"))
    assert sorted(r["session_id"] for r in rows) == sorted([str(recent), str(older)])

    # The last ten days: only the recent session, as stored.
    today = utcnow().date()
    await page.get_by_test_id("csv-from").fill((today - timedelta(days=10)).isoformat())
    await page.get_by_test_id("csv-to").fill(today.isoformat())
    await expect(page.get_by_test_id("download-csv")).to_have_text(re.compile("These sessions"))
    rows = csv_rows(await download(page, "download-csv"))
    assert [(r["session_id"], r["site"], r["energy_wh"], r["id_tag"]) for r in rows] == [
        (str(recent), "Depot Nord", "10000", CARDS[0][0])
    ]

    # A period that ends before it starts is refused on the page, with no link to follow.
    await page.get_by_test_id("csv-from").fill(today.isoformat())
    await page.get_by_test_id("csv-to").fill((today - timedelta(days=1)).isoformat())
    await expect(page.get_by_text("The end date is before the start date.")).to_be_visible()
    await expect(page.get_by_test_id("download-csv")).to_have_attribute("aria-disabled", "true")

    # No period, one site: only the older session, at Depot Sud (a name that looks like a
    # formula is defused: its station is "=DEPOT-S-1").
    await page.get_by_test_id("csv-from").fill("")
    await page.get_by_test_id("csv-to").fill("")
    await page.get_by_test_id("csv-site").select_option(label="Depot Sud")
    rows = csv_rows(await download(page, "download-csv"))
    assert [(r["session_id"], r["site"], r["station"], r["energy_wh"]) for r in rows] == [
        (str(older), "Depot Sud", "'=DEPOT-S-1", "4000")
    ]
    await page.get_by_test_id("data-downloads").scroll_into_view_if_needed()
    await shot(page, "my-data-sessions-csv")


# --- correction --------------------------------------------------------------------------------


async def test_correction_from_your_data_is_audited_with_field_names_only(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    person = await make_user(Role.BASIC, first_name="Corentin", last_name="Fix")
    await open_my_data(page, person, live_server)
    await page.get_by_test_id("my-data-profile-link").click()
    await expect(page).to_have_url(f"{live_server.url}/profile")
    await page.get_by_test_id("profile-phone").fill("+33 4 76 55 44 33")
    await page.get_by_test_id("profile-company").fill("Zyxcorp Renewables")
    await page.get_by_test_id("profile-save").click()
    status = page.get_by_test_id("profile-form").get_by_test_id("status-message")
    await expect(status).to_have_attribute("data-kind", "success")

    async with sessionmaker() as db:
        user = await db.get_one(User, person.id)
        entries = list(
            await db.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "user.update_profile",
                    AuditEntry.target_id == str(person.id),
                )
            )
        )
    assert (user.phone, user.company) == ("+33 4 76 55 44 33", "Zyxcorp Renewables")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor_user_id == person.id
    assert sorted(entry.details["fields"]) == ["company", "phone"]
    # Names only: none of the values reached the audit log.
    stored = json.dumps(entry.details)
    assert "Zyxcorp" not in stored and "55 44 33" not in stored
    # The profile links back to "Your data".
    await expect(page.get_by_test_id("profile-my-data-link")).to_have_attribute("href", "/my-data")


# --- restriction and objection -----------------------------------------------------------------


async def datascience_rows(live_server: LiveServer, admin: Person) -> list[dict[str, str]]:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        response = await client.get(
            "/export/datascience/sessions.csv",
            headers={"authorization": f"Bearer {admin.token}"},
        )
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


async def allows(sessionmaker: Any, user_id: uuid.UUID, purpose: Purpose) -> bool:
    async with sessionmaker() as db:
        return await restrictions.allows(db, user_id, purpose)


async def test_restriction_and_objection_leave_the_person_out(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    everything = await person_in_english(sessionmaker, make_user)
    person = everything.person
    admin = await make_user(Role.ADMIN, first_name="Ada", last_name="Admin")
    # Before: the person's two finished sessions are in the admin's data-science export.
    before = await datascience_rows(live_server, admin)
    assert len(before) == 2
    await open_my_data(page, person, live_server)
    choices = page.get_by_test_id("processing-choices")
    status = choices.get_by_test_id("choices-status")

    # Objecting to data-science exports alone: the export leaves the person out; statistics
    # still count them.
    export_row = choices.locator('[data-testid="objection"][data-purpose="DATA_SCIENCE_EXPORT"]')
    await export_row.get_by_test_id("objection-toggle").check()
    await expect(export_row).to_have_attribute("data-objected", "true")
    await expect(status).to_have_attribute("data-kind", "success")
    await expect(export_row.get_by_test_id("objection-state")).to_have_text("Stopped")
    async with sessionmaker() as db:
        user = await db.get_one(User, person.id)
    assert user.objections == ["data_science_export"]
    assert not await allows(sessionmaker, person.id, Purpose.DATA_SCIENCE_EXPORT)
    assert await allows(sessionmaker, person.id, Purpose.ANALYTICS)
    assert await datascience_rows(live_server, admin) == []

    # Restricting processing: statistics and demand prediction stop too (shown as covered).
    await choices.get_by_test_id("privacy-exclude-analytics").check()
    analytics_row = choices.locator('[data-testid="objection"][data-purpose="ANALYTICS"]')
    await expect(analytics_row.get_by_test_id("objection-covered")).to_be_visible()
    await expect(analytics_row.get_by_test_id("objection-state")).to_have_text("Stopped")
    # Personalized smart charging is not part of the restriction: objected on its own.
    smart_row = choices.locator(
        '[data-testid="objection"][data-purpose="SMART_CHARGING_PERSONALIZATION"]'
    )
    await expect(smart_row.get_by_test_id("objection-state")).to_have_text("Allowed")
    await smart_row.get_by_test_id("objection-toggle").check()
    await expect(smart_row).to_have_attribute("data-objected", "true")
    # No more non-essential mails.
    await choices.get_by_test_id("privacy-nonessential").uncheck()
    await expect(choices.get_by_test_id("privacy-nonessential")).not_to_be_checked()
    await expect(status).to_have_attribute("data-kind", "success")

    async with sessionmaker() as db:
        user = await db.get_one(User, person.id)
        audited = list(
            await db.scalars(
                select(AuditEntry.details).where(
                    AuditEntry.action == "user.privacy_preferences",
                    AuditEntry.target_id == str(person.id),
                )
            )
        )
    assert user.exclude_from_analytics is True
    assert user.nonessential_notifications is False
    assert user.objections == ["data_science_export", "smart_charging_personalization"]
    for purpose in Purpose:
        assert not await allows(sessionmaker, person.id, purpose), purpose
    assert len(audited) == 4
    # What is stored is what the page shows after a reload.
    await page.reload()
    await expect(choices.get_by_test_id("privacy-exclude-analytics")).to_be_checked()
    await expect(choices.get_by_test_id("privacy-nonessential")).not_to_be_checked()
    await expect(smart_row.get_by_test_id("objection-toggle")).to_be_checked()
    await choices.scroll_into_view_if_needed()
    await shot(page, "my-data-choices")

    # Withdrawing the restriction and the objection: back in the export.
    await choices.get_by_test_id("privacy-exclude-analytics").uncheck()
    await expect(analytics_row.get_by_test_id("objection-state")).to_have_text("Allowed")
    await export_row.get_by_test_id("objection-toggle").uncheck()
    await expect(export_row).to_have_attribute("data-objected", "false")
    assert len(await datascience_rows(live_server, admin)) == 2


# --- erasure -----------------------------------------------------------------------------------


async def test_erasure_asked_by_the_person_and_confirmed_by_an_admin(
    page: Any, browser: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    everything = await person_in_english(sessionmaker, make_user)
    person = everything.person
    admin = await make_user(Role.ADMIN, first_name="Ada", last_name="Admin")
    await open_my_data(page, person, live_server)

    section = page.get_by_test_id("erasure-section")
    await expect(section).to_have_attribute("data-state", "none")
    await section.get_by_test_id("erasure-request").click()
    dialog = page.get_by_test_id("erasure-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_test_id("erasure-kept-list")).to_contain_text("invoices")
    await expect(dialog).to_contain_text("An administrator or the data protection officer confirms")
    await shot(page, "my-data-erasure-dialog")
    await dialog.get_by_test_id("erasure-dialog-ok").click()
    await expect(section).to_have_attribute("data-state", "requested")
    await expect(section.get_by_test_id("erasure-state")).to_contain_text("You asked for erasure")
    async with sessionmaker() as db:
        asked = await db.get_one(User, person.id)
    assert asked.erasure_requested_at is not None and asked.erased_at is None
    # The person cannot confirm it themself: the page offers only to cancel.
    await expect(section.get_by_test_id("erasure-cancel")).to_be_visible()

    # The admin sees the request with the person's name, and confirms it.
    context = await browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    admin_page = await context.new_page()
    try:
        await log_in_as(admin_page, admin.token, live_server)
        await admin_page.goto("/")
        await open_from_nav(admin_page, "nav-privacy-admin")
        row = admin_page.locator(f'[data-testid="erasure-request-row"][data-user-id="{person.id}"]')
        await expect(row).to_contain_text("Héloïse Zyxwarth")
        await expect(row).to_contain_text(EMAIL)
        await expect(row).to_have_attribute("data-blocked", "false")
        await shot(admin_page, "admin-privacy-requests")
        await row.get_by_test_id("erasure-confirm").click()
        confirm = admin_page.get_by_test_id("erasure-confirm-dialog")
        await expect(confirm).to_contain_text("Erase Héloïse Zyxwarth now?")
        await confirm.get_by_test_id("erasure-confirm-dialog-ok").click()
        result = admin_page.get_by_test_id("erasure-result")
        await expect(result).to_have_attribute("data-user-id", str(person.id))
        await expect(result.get_by_test_id("erasure-pseudonym")).to_have_text(
            re.compile(r"^ERASED-[0-9A-F]{12}$")
        )
        await expect(admin_page.get_by_test_id("erasure-requests-empty")).to_be_visible()
        await shot(admin_page, "admin-privacy-erased")
    finally:
        await context.close()

    # The name, email and cards are gone from the database; the account cannot log in.
    async with sessionmaker() as db:
        user = await db.get_one(User, person.id)
        named = await db.scalar(
            select(User.id).where((User.last_name == "Zyxwarth") | (User.email == EMAIL))
        )
        cards = list(await db.scalars(select(RfidCard).where(RfidCard.user_id == person.id)))
        logins = list(
            await db.scalars(
                select(AuthSession).where(
                    AuthSession.user_id == person.id, AuthSession.revoked_at.is_(None)
                )
            )
        )
    assert user.erased_at is not None
    assert (user.first_name, user.last_name) == ("Erased", user.pseudonym)
    assert user.email != EMAIL and user.phone is None and user.company is None
    assert user.status is UserStatus.INACTIVE
    assert named is None and cards == [] and logins == []

    await page.context.clear_cookies()
    await page.goto("/login")
    await page.get_by_test_id("login-email").fill(EMAIL)
    await page.get_by_test_id("login-password").fill(PASSWORD)
    await page.get_by_test_id("consent").check()
    await page.get_by_test_id("login-submit").click()
    alert = page.get_by_test_id("login-form").get_by_test_id("status-message")
    await expect(alert).to_have_attribute("data-kind", "error")
    await expect(page).to_have_url(re.compile(r"/login"))


# --- consent ----------------------------------------------------------------------------------


async def test_consent_history_and_withdrawal_log_the_person_out(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    person = await make_user(Role.BASIC, first_name="Wanda", last_name="Withdraw")
    # An older consent, withdrawn once and given again since (make_user's, 2026-11).
    async with sessionmaker() as db:
        long_ago = utcnow() - timedelta(days=400)
        db.add(
            ConsentRecord(
                user_id=person.id,
                policy_version="2025-01",
                accepted_at=long_ago,
                withdrawn_at=long_ago + timedelta(days=30),
            )
        )
        await db.commit()
    await open_my_data(page, person, live_server)

    rows = page.get_by_test_id("consent-row")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_have_attribute("data-version", "2026-11")
    await expect(rows.nth(0).get_by_test_id("consent-state")).to_have_text("Given")
    await expect(rows.nth(0).get_by_test_id("consent-withdrawn")).to_have_text("—")
    await expect(rows.nth(1)).to_have_attribute("data-version", "2025-01")
    await expect(rows.nth(1).get_by_test_id("consent-state")).to_have_text("Withdrawn")
    await page.get_by_test_id("consent-section").scroll_into_view_if_needed()
    await shot(page, "my-data-consents")

    await page.get_by_test_id("consent-withdraw").click()
    dialog = page.get_by_test_id("withdraw-dialog")
    await expect(dialog).to_contain_text("logged out everywhere")
    # Cancelling changes nothing.
    await dialog.get_by_test_id("withdraw-dialog-cancel").click()
    await expect(dialog).to_be_hidden()
    await page.get_by_test_id("consent-withdraw").click()
    await dialog.get_by_test_id("withdraw-dialog-ok").click()
    await expect(page).to_have_url(f"{live_server.url}/login")
    await expect(page.get_by_test_id("login-form")).to_be_visible()

    async with sessionmaker() as db:
        consents = list(
            await db.scalars(select(ConsentRecord).where(ConsentRecord.user_id == person.id))
        )
        live = await db.scalar(
            select(AuthSession.id).where(
                AuthSession.user_id == person.id, AuthSession.revoked_at.is_(None)
            )
        )
    assert consents and all(c.withdrawn_at is not None for c in consents)
    assert live is None
    assert not await allows(sessionmaker, person.id, Purpose.ANALYTICS)

    # The old session cookie is refused by the server, and the app sends the person to log in.
    async with httpx.AsyncClient(
        base_url=live_server.url, cookies={"vev_session": person.token}
    ) as client:
        response = await client.post("/graphql", json={"query": "{ me { id } }"})
    assert response.json()["data"]["me"] is None
    await log_in_as(page, person.token, live_server)
    await page.goto("/my-data")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fmy-data"))


# --- admins and the data protection officer --------------------------------------------------


async def test_the_dpo_records_a_withdrawal_made_by_letter(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    person = await make_user(Role.BASIC, first_name="Lena", last_name="Letter")
    dpo = await make_user(Role.DPO, first_name="Dora", last_name="Officer")
    await log_in_as(page, dpo.token, live_server)
    await page.goto(f"/admin/privacy?user={person.id}")
    await page.get_by_test_id("subject-consent-withdraw").click()
    dialog = page.get_by_test_id("subject-withdraw-dialog")
    await expect(dialog).to_contain_text("logged out everywhere")
    await dialog.get_by_test_id("subject-withdraw-dialog-ok").click()
    latest = page.get_by_test_id("consent-row").first
    await expect(latest.get_by_test_id("consent-state")).to_have_text("Withdrawn")
    await expect(page.get_by_test_id("subject-consent-withdraw")).to_have_count(0)
    await expect(page.locator("[data-kind=error]")).to_have_count(0)

    async with sessionmaker() as db:
        live = await db.scalar(
            select(AuthSession.id).where(
                AuthSession.user_id == person.id, AuthSession.revoked_at.is_(None)
            )
        )
        recorded = await db.scalar(
            select(AuditEntry.actor_user_id).where(
                AuditEntry.target_id == str(person.id), AuditEntry.action.like("%consent%")
            )
        )
    assert live is None  # logged out everywhere
    assert recorded == dpo.id  # who recorded it is known
    assert not await allows(sessionmaker, person.id, Purpose.ANALYTICS)


async def test_the_dpo_looks_a_person_up_and_downloads_their_data(
    page: Any, browser: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    everything = await person_in_english(sessionmaker, make_user)
    person = everything.person
    admin = await make_user(Role.ADMIN, first_name="Ada", last_name="Admin")

    # An admin reaches a person's privacy page from their user page.
    await log_in_as(page, admin.token, live_server)
    await page.goto(f"/admin/users/{person.id}")
    await page.get_by_test_id("user-privacy-link").click()
    await expect(page).to_have_url(f"{live_server.url}/admin/privacy?user={person.id}")
    await expect(page.get_by_test_id("privacy-subject-name")).to_have_text(
        "Data of Héloïse Zyxwarth"
    )
    await page.context.clear_cookies()

    # The DPO, who cannot list users, opens the person by id.
    dpo = await make_user(Role.DPO, first_name="Dora", last_name="Officer")
    await log_in_as(page, dpo.token, live_server)
    await page.goto("/")
    await open_from_nav(page, "nav-privacy-admin")
    await expect(page.get_by_test_id("erasure-requests-empty")).to_be_visible()
    await page.get_by_test_id("privacy-user-id").fill("not-an-id")
    await page.get_by_test_id("privacy-user-open").click()
    await expect(page.get_by_test_id("privacy-user-id-error")).to_contain_text("valid user ID")
    await page.get_by_test_id("privacy-user-id").fill(str(person.id))
    await page.get_by_test_id("privacy-user-open").click()
    subject = page.get_by_test_id("privacy-subject")
    await expect(subject).to_have_attribute("data-user-id", str(person.id))
    await expect(subject.get_by_test_id("consent-row")).to_have_count(1)
    await expect(subject.get_by_test_id("privacy-exclude-analytics")).not_to_be_checked()

    data = json.loads((await download(page, "download-json")).read_text(encoding="utf-8"))
    assert data["profile"]["email"] == EMAIL
    rows = csv_rows(await download(page, "download-csv"))
    assert sorted(r["session_id"] for r in rows) == sorted(str(s) for s in everything.sessions)
    async with sessionmaker() as db:
        actors = list(
            await db.scalars(
                select(AuditEntry.actor_user_id).where(
                    AuditEntry.action.in_(("user.data_exported", "user.sessions_exported")),
                    AuditEntry.target_id == str(person.id),
                )
            )
        )
    assert actors == [dpo.id, dpo.id]

    # The DPO records a request made to them; it is listed, waiting for confirmation.
    await subject.get_by_test_id("erasure-request").click()
    await page.get_by_test_id("erasure-dialog-ok").click()
    await expect(subject.get_by_test_id("erasure-section")).to_have_attribute(
        "data-state", "requested"
    )
    await expect(page.get_by_test_id("erasure-request-row")).to_have_count(1)
    await shot(page, "admin-privacy-subject")

    # A plain user is shown the door.
    await page.context.clear_cookies()
    basic = await make_user(Role.BASIC)
    await log_in_as(page, basic.token, live_server)
    await page.goto("/admin/privacy")
    await expect(page.get_by_test_id("privacy-admin-forbidden")).to_be_visible()
    await expect(page.get_by_test_id("nav-privacy-admin")).to_have_count(0)
