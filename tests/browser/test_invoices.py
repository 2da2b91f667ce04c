"""Invoices in Chromium: a simulated station charges a driver under a tariff; once the car has
left, the live server's billing worker invoices the session and the session page says so. The
driver finds the invoice in /invoices (amounts in the UI language), opens its lines and
downloads its PDF; an administrator finds it in /admin/invoices, refunds part of the session
from the invoice (with the server's refusal of too much shown in the dialog), and the driver
then sees the refunded amount on the invoice list and on the session page."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from backend.db.models import (
    BillingState,
    ChargingSession,
    Invoice,
    InvoiceLine,
    RfidCard,
    Role,
    SiteRole,
)
from backend.domain.billing.gateway import LocalGateway
from backend.domain.billing.refunds import Refunds
from backend.domain.viewer import Viewer
from backend.settings import get_settings
from backend.simulator import StationSpec
from tests.browser.conftest import LiveServer, screenshot
from tests.browser.test_charging_in_browser import BADGE, log_in_as, make_place, simulated
from tests.browser.test_session_cost import price_site, wait_for_session

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def short_sessions_billed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A simulated session lasts seconds and delivers a few Wh: no minimum. Settling on the OCPP
    path reads the process's settings (the live server runs in this process)."""
    monkeypatch.setenv("BILLING_MIN_DURATION_S", "0")
    monkeypatch.setenv("BILLING_MIN_ENERGY_WH", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def euros(minor: int) -> str:
    """What the English UI prints (Intl.NumberFormat "en", EUR)."""
    return f"€{minor // 100:,}.{minor % 100:02d}"


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


async def test_a_session_is_invoiced_downloaded_and_partly_refunded(
    page: Any,
    browser: Any,
    live_server: LiveServer,
    make_user: Any,
    sessionmaker: Any,
    short_sessions_billed: None,
) -> None:
    place = await make_place(sessionmaker, ("CP-INV",), name="Invoice HQ")
    admin = await make_user(Role.ADMIN, first_name="Ines", last_name="Admin")
    await price_site(sessionmaker, place.site_id, admin.id)
    driver = await make_user(
        Role.BASIC, sites={place.site_id: SiteRole.MEMBER}, first_name="Cléo", last_name="Martin"
    )
    async with sessionmaker() as db:
        db.add(RfidCard(uid=BADGE, user_id=driver.id))
        await db.commit()
    await log_in_as(page, driver.token, live_server)

    # --- the session is charged, stopped, and invoiced: the session page follows it ---------
    async with simulated(live_server, StationSpec("CP-INV")) as stations:
        assert stations[0].remote_start(BADGE, 1)
        charge = await wait_for_session(sessionmaker, place.stations["CP-INV"])
        await page.goto(f"/sessions/{charge.id}")
        billing = page.get_by_test_id("session-billing")
        await expect(billing).to_have_attribute("data-state", "UNBILLED")
        await expect(billing).to_contain_text("invoiced once it is over")
        await expect(page.get_by_test_id("session-cost")).to_be_visible(timeout=10_000)
        await asyncio.sleep(2)  # a few readings: some energy and time to pay for
        await page.get_by_test_id("session-stop").click()
        await expect(billing).to_have_attribute("data-state", "INVOICED", timeout=40_000)

    async with sessionmaker() as db:
        invoice = await db.scalar(select(Invoice).where(Invoice.user_id == driver.id))
        assert invoice is not None
        lines = list(
            await db.scalars(
                select(InvoiceLine)
                .where(InvoiceLine.invoice_id == invoice.id)
                .order_by(InvoiceLine.position)
            )
        )
        stored = await db.get(ChargingSession, charge.id)
    assert stored is not None and stored.billing_state is BillingState.INVOICED
    total = invoice.total_incl_vat_minor
    assert total == stored.cost_incl_vat_minor and total >= 60  # the flat fee alone: 0.60
    await expect(page.get_by_test_id("session-invoice-link")).to_have_text(invoice.number)
    await expect(page.get_by_test_id("session-invoiced-amount")).to_have_text(euros(total))
    await expect(page.get_by_test_id("session-refunded")).to_have_text("—")
    # A driver does not refund.
    await expect(page.get_by_test_id("session-refund")).to_have_count(0)
    await billing.scroll_into_view_if_needed()
    await shot(page, "session-billing-invoiced")

    # --- the driver's invoices: number, date, total incl. VAT, state, PDF -------------------
    await page.get_by_test_id("nav-invoices").click()
    await expect(page).to_have_url(f"{live_server.url}/invoices")
    rows = page.get_by_test_id("invoice-row")
    await expect(rows).to_have_count(1)
    row = rows.first
    await expect(row).to_have_attribute("data-number", invoice.number)
    await expect(row.get_by_test_id("invoice-total")).to_have_text(euros(total))
    await expect(row.get_by_test_id("payment-state")).to_have_attribute("data-state", "LOCAL")
    await expect(row.get_by_test_id("payment-state")).to_contain_text("Issued")
    await expect(row.get_by_test_id("invoice-refunded")).to_have_text("—")
    await shot(page, "invoices-list")

    # The same amounts in French: comma decimals, the euro sign after the number.
    await page.get_by_test_id("lang-switcher").select_option("FR")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Mes factures")
    french = f"{total // 100},{total % 100:02d}\u00a0€"
    await expect(row.get_by_test_id("invoice-total")).to_have_text(french)
    await expect(row.get_by_test_id("payment-state")).to_contain_text("Émise")
    await page.get_by_test_id("lang-switcher").select_option("EN")
    await expect(row.get_by_test_id("invoice-total")).to_have_text(euros(total))

    # --- the invoice's lines, then its PDF ----------------------------------------------------
    await row.get_by_test_id("invoice-link").click()
    await expect(page).to_have_url(f"{live_server.url}/invoices/{invoice.id}")
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Invoice {invoice.number}")
    shown = page.get_by_test_id("invoice-line")
    await expect(shown).to_have_count(len(lines))
    for index, line in enumerate(lines):
        amounts = shown.nth(index).locator("[data-minor]")
        await expect(amounts.nth(0)).to_have_attribute(
            "data-minor", str(line.amount_excl_vat_minor)
        )
        await expect(amounts.nth(1)).to_have_attribute("data-minor", str(line.vat_minor))
        await expect(amounts.nth(2)).to_have_attribute(
            "data-minor", str(line.amount_incl_vat_minor)
        )
        await expect(shown.nth(index)).to_contain_text(line.description)
    energy = page.locator("[data-testid=invoice-line][data-dimension=ENERGY]")
    await expect(energy).to_contain_text("€2.40 / kWh")
    await expect(energy).to_contain_text("20%")
    await expect(page.get_by_test_id("invoice-total")).to_have_text(euros(total))
    await expect(page.get_by_test_id("invoice-subtotal")).to_have_attribute(
        "data-minor", str(invoice.subtotal_excl_vat_minor)
    )
    await expect(page.get_by_test_id("invoice-vat")).to_have_attribute(
        "data-minor", str(invoice.vat_minor)
    )
    await expect(page.get_by_test_id("invoice-buyer")).to_contain_text("Cléo Martin")
    await expect(page.get_by_test_id("invoice-no-refunds")).to_be_visible()
    await expect(page.get_by_test_id("invoice-refund")).to_have_count(0)
    await expect(page.get_by_test_id("invoice-session-link")).to_contain_text("CP-INV")

    async with page.expect_download() as downloading:
        await page.get_by_test_id("invoice-pdf").click()
    download = await downloading.value
    assert download.suggested_filename == f"invoice-{invoice.number}.pdf"
    content = await asyncio.to_thread(Path(await download.path()).read_bytes)
    assert content.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert invoice.number in text
    assert "Cléo Martin" in text
    await shot(page, "invoice-detail")

    # --- an administrator finds it, filters, and refunds part of the session ------------------
    context = await browser.new_context(base_url=live_server.url, viewport=DESKTOP)
    try:
        admin_page = await context.new_page()
        await log_in_as(admin_page, admin.token, live_server)
        await admin_page.goto("/")
        # Managers land on everyone's invoices, their own a tab away.
        await admin_page.get_by_test_id("nav-invoices").click()
        await expect(admin_page).to_have_url(f"{live_server.url}/admin/invoices")
        await expect(admin_page.get_by_role("heading", level=1)).to_have_text("Invoices")
        await expect(admin_page.get_by_test_id("invoices-tab-all")).to_have_attribute(
            "aria-current", "page"
        )
        listed = admin_page.get_by_test_id("admin-invoice-row")
        await expect(listed).to_have_count(1)
        await expect(listed.first.get_by_test_id("admin-invoice-buyer")).to_contain_text(
            "Cléo Martin"
        )
        totals = admin_page.get_by_test_id("admin-invoice-totals")
        await expect(totals).to_have_attribute("data-incl-minor", str(total))
        await expect(totals).to_contain_text(euros(total))

        # Filters: a payment state with no invoice, then the site and state that match.
        await admin_page.get_by_test_id("invoice-filter-state").select_option("PAID")
        await admin_page.get_by_test_id("invoice-filter-apply").click()
        await expect(admin_page.get_by_test_id("invoices-empty")).to_be_visible()
        assert "state=PAID" in admin_page.url
        await admin_page.get_by_test_id("invoice-filter-state").select_option("LOCAL")
        await admin_page.get_by_test_id("invoice-filter-site").select_option(label="Invoice HQ")
        await admin_page.get_by_test_id("invoice-filter-apply").click()
        await expect(listed).to_have_count(1)
        # By person: the driver's invoices (picked by name).
        await admin_page.locator("details.target-user summary").click()
        await admin_page.get_by_test_id("user-picker-search").fill("Martin")
        await admin_page.get_by_test_id("user-picker-option").first.click()
        await expect(admin_page.get_by_test_id("invoice-filter-user")).to_contain_text(
            "Cléo Martin"
        )
        await expect(listed).to_have_count(1)
        assert f"userId={driver.id}" in admin_page.url
        await shot(admin_page, "admin-invoices")

        await listed.first.get_by_test_id("admin-invoice-link").click()
        await expect(admin_page.get_by_test_id("invoice-back")).to_have_text("← All invoices")
        await expect(admin_page.get_by_test_id("invoice-session-left")).to_contain_text(
            euros(total)
        )
        await admin_page.get_by_test_id("invoice-refund").click()
        dialog = admin_page.get_by_test_id("refund-dialog")
        await expect(dialog).to_be_visible()
        await expect(dialog.get_by_test_id("refund-left")).to_contain_text(invoice.number)

        # Checked in the page first: a reason, a parsable amount, not more than is left.
        await dialog.get_by_test_id("refund-submit").click()
        await expect(dialog.get_by_test_id("refund-reason-error")).to_contain_text("Say why")
        await dialog.get_by_test_id("refund-partial").check()
        await dialog.get_by_test_id("refund-amount").fill("0.125")
        await dialog.get_by_test_id("refund-reason").fill("Cable fault")
        await dialog.get_by_test_id("refund-submit").click()
        await expect(dialog.get_by_test_id("refund-amount-error")).to_contain_text(
            "at most 2 decimals"
        )
        await dialog.get_by_test_id("refund-amount").fill("abc")
        await dialog.get_by_test_id("refund-submit").click()
        await expect(dialog.get_by_test_id("refund-amount-error")).to_contain_text("12.50")
        too_much = total + 1
        await dialog.get_by_test_id("refund-amount").fill(f"{too_much // 100}.{too_much % 100:02d}")
        await dialog.get_by_test_id("refund-submit").click()
        await expect(dialog.get_by_test_id("refund-amount-error")).to_contain_text(
            f"At most {euros(total)}"
        )

        # Meanwhile another administrator refunds 10 cents: the whole amount the dialog offers
        # is now too much, and the server's refusal is shown with what is really left.
        await Refunds(sessionmaker, LocalGateway()).refund_session(
            Viewer(user_id=admin.id, role=Role.ADMIN), charge.id, 10, "Goodwill"
        )
        await dialog.get_by_test_id("refund-full").check()
        await dialog.get_by_test_id("refund-submit").click()
        error = dialog.get_by_test_id("refund-error")
        await expect(error).to_have_attribute("data-kind", "error")
        await expect(error).to_contain_text(f"At most {euros(total - 10)} can still be refunded")
        await expect(dialog).to_be_visible()
        # The dialog now offers what is really left.
        await expect(dialog.get_by_test_id("refund-left")).to_contain_text(euros(total - 10))
        await admin_page.set_viewport_size(PHONE)
        await screenshot(admin_page, "refund-dialog-390")
        await admin_page.set_viewport_size(DESKTOP)
        await screenshot(admin_page, "refund-dialog")

        # A partial refund, typed with a decimal comma.
        await dialog.get_by_test_id("refund-partial").check()
        await dialog.get_by_test_id("refund-amount").fill("0,25")
        await dialog.get_by_test_id("refund-submit").click()
        await expect(dialog).to_be_hidden()
        await expect(admin_page.get_by_test_id("invoice-message")).to_contain_text(
            "Refund of €0.25 recorded."
        )
        await expect(admin_page.get_by_test_id("invoice-refunded")).to_have_attribute(
            "data-minor", "35"
        )
        await expect(admin_page.get_by_test_id("invoice-net")).to_have_text(euros(total - 35))
        refunds = admin_page.get_by_test_id("refund-row")
        await expect(refunds).to_have_count(2)
        await expect(refunds.nth(1)).to_have_attribute("data-amount-minor", "25")
        await expect(refunds.nth(1)).to_have_attribute("data-kind", "CREDIT_NOTE")
        await expect(refunds.nth(1)).to_have_attribute("data-state", "DONE")
        await expect(refunds.nth(1)).to_contain_text("Cable fault")
        await expect(admin_page.get_by_test_id("invoice-session-left")).to_contain_text(
            euros(total - 35)
        )
        await shot(admin_page, "invoice-refunded-admin")

        # The session page shows it too, with the refund action for the administrator.
        await admin_page.get_by_test_id("invoice-session-link").click()
        await expect(admin_page.get_by_test_id("session-refunded")).to_have_attribute(
            "data-minor", "35"
        )
        await expect(admin_page.get_by_test_id("session-refund")).to_be_visible()
    finally:
        await context.close()

    # --- the driver sees the refunded amount -------------------------------------------------
    await page.goto("/invoices")
    row = page.get_by_test_id("invoice-row").first
    await expect(row.get_by_test_id("invoice-refunded")).to_have_text(euros(35))
    await page.goto(f"/sessions/{charge.id}")
    await expect(page.get_by_test_id("session-refunded")).to_have_text(euros(35))
    session_refunds = page.get_by_test_id("session-billing").get_by_test_id("refund-row")
    await expect(session_refunds).to_have_count(2)
    await expect(session_refunds.nth(0)).to_contain_text("Goodwill")
    await expect(session_refunds.nth(1)).to_contain_text("Credit note")
    await page.get_by_test_id("session-billing").scroll_into_view_if_needed()
    await shot(page, "session-billing-refunded")


async def test_no_invoice_yet_and_a_session_not_billed_says_why(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any
) -> None:
    from datetime import UTC, datetime, timedelta

    from backend.db.models import BillingNote, SessionStatus

    place = await make_place(sessionmaker, ("CP-FREE",))
    driver = await make_user(Role.BASIC, sites={place.site_id: SiteRole.MEMBER})
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    async with sessionmaker() as db:
        charge = ChargingSession(
            station_id=place.stations["CP-FREE"],
            user_id=driver.id,
            ocpp_transaction_id="78",
            status=SessionStatus.COMPLETED,
            started_at=started,
            stopped_at=started + timedelta(minutes=40),
            available_at=started + timedelta(minutes=41),
            energy_wh=9_000,
            billing_state=BillingState.NOT_BILLABLE,
            billing_note=BillingNote.NO_TARIFF.value,
        )
        db.add(charge)
        await db.commit()
    await log_in_as(page, driver.token, live_server)
    await page.goto("/invoices")
    await expect(page.get_by_test_id("invoices-empty")).to_contain_text("No invoice yet")
    # Drivers have their own invoices only: no tab to everyone's.
    await expect(page.get_by_test_id("nav-invoices")).to_have_attribute("href", "/invoices")
    await expect(page.get_by_test_id("invoices-tab-all")).to_have_count(0)
    await page.goto(f"/sessions/{charge.id}")
    billing = page.get_by_test_id("session-billing")
    await expect(billing).to_have_attribute("data-state", "NOT_BILLABLE")
    await expect(billing.get_by_test_id("session-billing-note")).to_contain_text(
        "charging was free"
    )
    # Someone else's invoice, or none: not found.
    await page.goto(f"/invoices/{charge.id}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("does not exist")


async def test_a_site_administrator_refunds_a_session_of_their_site_in_full(
    page: Any, live_server: LiveServer, make_user: Any, sessionmaker: Any, settings: Any
) -> None:
    """Site administrators see their sites' invoices without who was billed, and refund them."""
    from datetime import timedelta

    from backend.db.base import utcnow
    from backend.db.models import Tariff
    from backend.domain.billing.invoicing import Invoicing
    from backend.domain.billing.tariffs import snapshot
    from backend.domain.mailer import Mailer
    from tests.billing.helpers import finished_session

    place = await make_place(sessionmaker, ("CP-SITE",), name="Depot")
    other = await make_place(sessionmaker, ("CP-ELSE",), name="Elsewhere")
    manager = await make_user(Role.BASIC, sites={place.site_id: SiteRole.SITE_ADMIN})
    driver = await make_user(Role.BASIC, first_name="Hidden", last_name="Buyer")
    ours = await finished_session(
        sessionmaker,
        place.stations["CP-SITE"],
        driver.id,
        stopped_at=utcnow() - timedelta(hours=2),
        kwh=10,
        price_cents=30,
        flat_cents=100,
    )
    await finished_session(
        sessionmaker, other.stations["CP-ELSE"], driver.id, stopped_at=utcnow() - timedelta(hours=1)
    )
    # Written directly (its pricing is tested elsewhere), with the site's real tariff frozen in,
    # as the session page shows it.
    admin = await make_user(Role.ADMIN)
    await price_site(sessionmaker, place.site_id, admin.id)
    async with sessionmaker() as db:
        tariff = await db.scalar(select(Tariff).where(Tariff.target_id == place.site_id))
        charging = await db.get(ChargingSession, ours)
        assert tariff is not None and charging is not None
        charging.tariff_id = tariff.id
        charging.tariff_snapshot = snapshot(tariff, "Europe/Paris")
        await db.commit()
    billing = Invoicing(sessionmaker, settings, Mailer(settings), LocalGateway())
    await billing.issue_due()
    await billing.process_due()
    async with sessionmaker() as db:
        invoice = await db.scalar(
            select(Invoice)
            .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
            .where(InvoiceLine.session_id == ours)
        )
    assert invoice is not None
    total = invoice.total_incl_vat_minor  # (1.00 + 10 kWh at 0.30) + 20 % VAT = 4.80
    assert total == 480

    await log_in_as(page, manager.token, live_server)
    await page.goto("/")
    await page.get_by_test_id("nav-invoices").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Invoices")
    await expect(page.get_by_text("at the sites you manage")).to_be_visible()
    # Only the invoice with a session at their site; not who was billed; no filter by person.
    rows = page.get_by_test_id("admin-invoice-row")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-number", invoice.number)
    await expect(page.get_by_test_id("admin-invoice-buyer")).to_have_count(0)
    await expect(page.get_by_test_id("admin-invoices-table")).not_to_contain_text("Hidden")
    await expect(page.get_by_test_id("user-picker-search")).to_have_count(0)
    await expect(page.get_by_test_id("invoice-filter-site").locator("option")).to_have_text(
        ["All sites", "Depot"]
    )

    await rows.first.get_by_test_id("admin-invoice-link").click()
    await expect(page.get_by_test_id("invoice-total")).to_have_text(euros(total))
    await expect(page.get_by_test_id("invoice-buyer")).to_have_count(0)
    await page.get_by_test_id("invoice-refund").click()
    dialog = page.get_by_test_id("refund-dialog")
    await expect(dialog.get_by_test_id("refund-full")).to_be_checked()
    await dialog.get_by_test_id("refund-reason").fill("Station out of order")
    await dialog.get_by_test_id("refund-submit").click()
    await expect(dialog).to_be_hidden()
    await expect(page.get_by_test_id("invoice-refunded")).to_have_attribute(
        "data-minor", str(total)
    )
    await expect(page.get_by_test_id("invoice-net")).to_have_text(euros(0))
    await expect(page.get_by_test_id("invoice-refund")).to_have_count(0)
    await expect(page.get_by_test_id("invoice-session")).to_contain_text("Fully refunded")

    # The session page says it too, and offers nothing more to refund.
    await page.get_by_test_id("invoice-session-link").click()
    billing_block = page.get_by_test_id("session-billing")
    await expect(billing_block).to_have_attribute("data-state", "INVOICED")
    await expect(page.get_by_test_id("session-refunded")).to_have_text(euros(total))
    await expect(billing_block).to_contain_text("Fully refunded")
    await expect(page.get_by_test_id("session-refund")).to_have_count(0)
