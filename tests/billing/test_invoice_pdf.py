"""The invoice PDF, read back with pypdf: seller, buyer as copied at issue, number and date,
each session with its lines, totals and refunds, in the buyer's language; and its download
route with the same rights as the sessions export."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from backend.db.models import Invoice, Language, Role, User
from backend.domain.billing import invoice_pdf
from backend.domain.billing.gateway import LocalGateway
from backend.domain.billing.invoicing import Invoicing
from backend.domain.billing.refunds import Refunds
from backend.domain.mailer import Mailer
from backend.settings import Settings
from tests.billing.conftest import Place
from tests.billing.helpers import finished_session

STOP = datetime(2026, 10, 20, 16, 30, tzinfo=UTC)  # 18:30 in Paris


def text_of(pdf: bytes) -> str:
    """The PDF's text, whitespace collapsed (table cells wrap their text over lines)."""
    pages = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(pages.split())


def seller_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "seller_name": "Grenoble Charge SAS",
            "seller_address": "12 rue Félix Viallet\n38000 Grenoble\nFrance",
            "seller_vat_id": "FR12345678901",
            "seller_email": "billing@grenoble-charge.example",
        }
    )


async def issue(
    sessionmaker: Any, place: Place, settings: Settings, language: Language, sessions: int = 1
) -> Invoice:
    async with sessionmaker() as db:
        user = await db.get(User, place.driver.id)
        assert user is not None
        user.language = language
        user.address_street = "5 avenue Alsace-Lorraine"
        user.address_postal_code = "38000"
        user.address_city = "Grenoble"
        user.company = "Acme Müller"
        await db.commit()
    for i in range(sessions):
        await finished_session(
            sessionmaker,
            place.station_id,
            place.driver.id,
            stopped_at=STOP - timedelta(hours=i),
            minutes=95,
            kwh=12,
            price_cents=31,
            flat_cents=150,
        )
    update = {"billing_mode": "monthly"} if sessions > 1 else {}
    settings = seller_settings(settings).model_copy(update=update)
    billing = Invoicing(sessionmaker, settings, Mailer(settings), LocalGateway())
    [invoice_id] = await billing.issue_due()
    await billing.process_due()
    # The profile changes after the issue: the invoice keeps the buyer as it was.
    async with sessionmaker() as db:
        user = await db.get(User, place.driver.id)
        assert user is not None
        user.last_name = "Changed"
        await db.commit()
        invoice = await db.get(Invoice, invoice_id)
        assert invoice is not None
        return invoice


async def render(sessionmaker: Any, invoice: Invoice, settings: Settings) -> str:
    async with sessionmaker() as db:
        fresh = await db.get(Invoice, invoice.id)
        assert fresh is not None
        doc = await invoice_pdf.document(
            db, fresh, seller_settings(settings), invoice_pdf.buyer_of(fresh)
        )
    return text_of(invoice_pdf.render(doc))


async def test_english_invoice(sessionmaker: Any, place: Place, settings: Settings) -> None:
    invoice = await issue(sessionmaker, place, settings, Language.EN)
    text = await render(sessionmaker, invoice, settings)
    for expected in (
        # The seller.
        "Grenoble Charge SAS",
        "12 rue Félix Viallet",
        "VAT ID: FR12345678901",
        "billing@grenoble-charge.example",
        # The buyer, as when issued.
        "Billed to",
        "Ada Lovelace",
        "Acme Müller",
        "5 avenue Alsace-Lorraine",
        "38000 Grenoble",
        # The invoice.
        f"Invoice number: {invoice.number}",
        f"Date: {invoice.issued_at:%Y-%m-%d}",
        # The session: station, site, start and stop in the site's time, energy.
        "Station TARIFF-1",
        "Site Paris",
        "Start: 2026-10-20 16:55 (CEST)",
        "Stop: 2026-10-20 18:30 (CEST)",
        "Energy: 12 kWh",
        # Its lines: quantity, unit price, amount excl. VAT, VAT rate, VAT, incl. VAT.
        "Energy 12 kWh — TARIFF-1, 2026-10-20",
        "Session fee — TARIFF-1, 2026-10-20",
        "0.31 EUR/kWh",
        "3.72 EUR",
        "20 %",
        "0.74 EUR",
        "4.46 EUR",
        # Totals: 1.50 + 3.72 = 5.22, VAT 0.30 + 0.74 = 1.04.
        "Subtotal excl. VAT",
        "5.22 EUR",
        "1.04 EUR",
        "Total incl. VAT",
        "6.26 EUR",
    ):
        assert expected in text, expected
    assert "Changed" not in text
    assert "Refunds" not in text


async def test_french_invoice_with_a_refund(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    invoice = await issue(sessionmaker, place, settings, Language.FR)
    line_session = await _session_of(sessionmaker, invoice.id)
    assert line_session is not None
    await Refunds(sessionmaker, LocalGateway()).refund_session(
        place.admin_viewer, line_session, 126, "Câble défectueux"
    )
    text = await render(sessionmaker, invoice, settings)
    for expected in (
        "Facture",
        f"Numéro de facture: {invoice.number}",
        "Facturé à",
        "Borne TARIFF-1",
        "Début: 20/10/2026 16:55 (CEST)",
        "Énergie 12 kWh — TARIFF-1, 20/10/2026",
        "Frais de session",
        "0,31 EUR/kWh",
        "Total HT",
        "5,22 EUR",
        "Total TTC",
        "6,26 EUR",
        "Remboursements et avoirs",
        "Avoir",
        "Câble défectueux",
        "-1,26 EUR",
        "Total après remboursements",
        "5,00 EUR",
    ):
        assert expected in text, expected


async def test_german_monthly_invoice(sessionmaker: Any, place: Place, settings: Settings) -> None:
    invoice = await issue(sessionmaker, place, settings, Language.DE, sessions=2)
    text = await render(sessionmaker, invoice, settings)
    for expected in (
        "Rechnung",
        "Zeitraum: 01.10.2026 - 31.10.2026",
        "Rechnung an",
        "Ladestation TARIFF-1",
        "Standort Paris",
        "Energie 12 kWh — TARIFF-1, 20.10.2026",
        "Grundgebühr",
        "Summe netto",
        "10,44 EUR",
        "Gesamt brutto",
        "12,52 EUR",
    ):
        assert expected in text, expected
    assert text.count("Ladevorgang - Ladestation TARIFF-1") == 2


async def _session_of(sessionmaker: Any, invoice_id: uuid.UUID) -> uuid.UUID | None:
    from sqlalchemy import select

    from backend.db.models import InvoiceLine

    async with sessionmaker() as db:
        return await db.scalar(
            select(InvoiceLine.session_id).where(InvoiceLine.invoice_id == invoice_id).limit(1)
        )


def test_formats() -> None:
    assert invoice_pdf.format_money(123456, "EUR", "en") == "1,234.56 EUR"
    assert invoice_pdf.format_money(123456, "EUR", "de") == "1.234,56 EUR"
    assert invoice_pdf.format_money(-5, "EUR", "fr") == "-0,05 EUR"
    assert invoice_pdf.format_money(1200, "JPY", "en") == "1,200 JPY"
    assert invoice_pdf.format_decimal("0.2000", "de") == "0,2000"


# --- the download route ---------------------------------------------------------------------


async def test_download_rights(
    sessionmaker: Any, place: Place, settings: Settings, client: httpx.AsyncClient, make_user: Any
) -> None:
    invoice = await issue(sessionmaker, place, settings, Language.EN)
    url = f"/invoices/{invoice.id}.pdf"
    demo = await make_user(Role.DEMO)

    def get(token: str | None) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return client.get(url, headers=headers)

    own = await get(place.driver.token)
    assert own.status_code == 200
    assert own.headers["content-type"] == "application/pdf"
    assert own.headers["content-disposition"] == (
        f'attachment; filename="invoice-{invoice.number}.pdf"'
    )
    assert "Ada Lovelace" in text_of(own.content)

    admin = await get(place.admin.token)
    assert admin.status_code == 200 and "Ada Lovelace" in text_of(admin.content)

    # The site's administrator: the invoice, not who charged.
    site_admin = await get(place.site_admin.token)
    assert site_admin.status_code == 200
    manager_view = text_of(site_admin.content)
    assert invoice.number in manager_view and "Lovelace" not in manager_view
    assert place.driver.email not in manager_view

    # Demo users: a pseudonym.
    shown = text_of((await get(demo.token)).content)
    assert "Lovelace" not in shown and "@anonymized.invalid" in shown

    assert (await get(place.stranger.token)).status_code == 404
    assert (await get(None)).status_code == 401
    bad = await client.get(
        "/invoices/not-a-uuid.pdf", headers={"authorization": f"Bearer {place.admin.token}"}
    )
    assert bad.status_code == 404
    missing = await client.get(
        f"/invoices/{uuid.uuid4()}.pdf", headers={"authorization": f"Bearer {place.admin.token}"}
    )
    assert missing.status_code == 404


@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_every_text_exists_in_every_language(language: str) -> None:
    assert set(invoice_pdf.TEXTS[language]) == set(invoice_pdf.TEXTS["en"])
