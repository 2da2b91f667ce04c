"""Billing test helpers: finished sessions with a cost, and gateways standing in for a payment
provider (fakes of an external service: the domain's own code always runs for real)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import BillingState, ChargingSession, Role, SessionStatus, TariffScope
from backend.domain.billing.gateway import (
    Customer,
    GatewayError,
    GatewayInvoice,
    GatewayInvoiceResult,
    GatewayRefundResult,
    InvalidWebhook,
    PaymentMethodSummary,
    PaymentState,
    SetupIntent,
    WebhookEvent,
)
from backend.domain.billing.tariffs import TariffData, Tariffs
from backend.domain.viewer import Viewer


async def price_site(
    sessionmaker: async_sessionmaker[AsyncSession],
    site_id: uuid.UUID,
    admin_id: uuid.UUID,
    components: list[dict[str, Any]],
) -> None:
    """Publish a site tariff "HQ" in EUR with 20 % VAT, of one element with `components`."""
    async with sessionmaker() as db:
        await Tariffs(db).create(
            Viewer(user_id=admin_id, role=Role.ADMIN),
            TariffData(
                name="HQ",
                currency="EUR",
                vat_percent="20",
                elements=[{"price_components": components}],
                scope=TariffScope.SITE,
                target_id=site_id,
            ),
        )


def energy_line(kwh: int, price_cents: int, vat_percent: int = 20) -> dict[str, Any]:
    """A cost line as the pricing engine stores it (decimal strings)."""
    excl = kwh * price_cents
    vat = excl * vat_percent // 100
    return {
        "dimension": "ENERGY",
        "element_index": 0,
        "quantity": str(kwh),
        "unit": "kWh",
        "unit_price": f"{price_cents / 100:.2f}",
        "step_size": 1,
        "base_quantity": str(kwh * 1000),
        "base_unit": "Wh",
        "amount_excl_vat": f"{excl / 100:.2f}",
        "vat_percent": str(vat_percent),
        "vat": f"{vat / 100:.2f}",
        "amount_incl_vat": f"{(excl + vat) / 100:.2f}",
    }


def flat_line(cents: int, vat_percent: int = 20) -> dict[str, Any]:
    vat = cents * vat_percent // 100
    return {
        "dimension": "FLAT",
        "element_index": 0,
        "quantity": "1",
        "unit": "session",
        "unit_price": f"{cents / 100:.2f}",
        "step_size": 0,
        "base_quantity": "1",
        "base_unit": "session",
        "amount_excl_vat": f"{cents / 100:.2f}",
        "vat_percent": str(vat_percent),
        "vat": f"{vat / 100:.2f}",
        "amount_incl_vat": f"{(cents + vat) / 100:.2f}",
    }


async def finished_session(
    sessionmaker: async_sessionmaker[AsyncSession],
    station_id: uuid.UUID,
    user_id: uuid.UUID | None,
    *,
    stopped_at: datetime,
    minutes: int = 30,
    kwh: int = 5,
    price_cents: int = 30,
    flat_cents: int = 0,
    currency: str = "EUR",
    state: BillingState = BillingState.PENDING,
    available: bool = True,
) -> uuid.UUID:
    """A completed, priced session (written directly: its pricing is tested elsewhere)."""
    lines = [energy_line(kwh, price_cents)]
    if flat_cents:
        lines.insert(0, flat_line(flat_cents))
    excl = sum(round(float(line["amount_excl_vat"]) * 100) for line in lines)
    vat = sum(round(float(line["vat"]) * 100) for line in lines)
    async with sessionmaker() as db:
        charging = ChargingSession(
            station_id=station_id,
            user_id=user_id,
            ocpp_transaction_id=uuid.uuid4().hex[:12],
            status=SessionStatus.COMPLETED,
            started_at=stopped_at - timedelta(minutes=minutes),
            stopped_at=stopped_at,
            available_at=stopped_at if available else None,
            energy_wh=kwh * 1000,
            tariff_snapshot={"id": "t", "currency": currency},
            cost_currency=currency,
            cost_excl_vat_minor=excl,
            cost_vat_minor=vat,
            cost_incl_vat_minor=excl + vat,
            cost_lines=lines,
            billing_state=state,
        )
        db.add(charging)
        await db.commit()
        return charging.id


@dataclass
class FakeProvider:
    """A payment provider in memory: counts calls, fails on demand, answers like the real one
    (idempotent on our ids)."""

    name: str = "fake"
    # Errors to raise, in order, before answering (None: answer).
    submit_failures: list[GatewayError] = field(default_factory=list)
    refund_failures: list[GatewayError] = field(default_factory=list)
    state: PaymentState = PaymentState.OPEN
    delay_s: float = 0.0
    customers: dict[uuid.UUID, Customer] = field(default_factory=dict)
    submitted: list[GatewayInvoice] = field(default_factory=list)
    refunds: list[tuple[str, uuid.UUID, int]] = field(default_factory=list)
    sync_calls: int = 0

    async def sync_customer(self, customer: Customer, existing_id: str | None) -> str:
        self.sync_calls += 1
        self.customers[customer.user_id] = customer
        return existing_id or f"cus_{customer.user_id.hex[:10]}"

    async def create_setup_intent(self, customer_id: str) -> SetupIntent:
        return SetupIntent(id="seti_1", client_secret="secret")

    async def default_payment_method(self, customer_id: str) -> PaymentMethodSummary | None:
        return None

    async def submit_invoice(self, invoice: GatewayInvoice) -> GatewayInvoiceResult:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.submit_failures:
            raise self.submit_failures.pop(0)
        self.submitted.append(invoice)
        return GatewayInvoiceResult(
            external_id=f"in_{invoice.local_id.hex}",
            state=self.state,
            hosted_url=f"https://pay.example/{invoice.local_id.hex}",
        )

    async def refund(
        self, invoice_external_id: str, refund_id: uuid.UUID, amount_minor: int, reason: str
    ) -> GatewayRefundResult:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.refund_failures:
            raise self.refund_failures.pop(0)
        self.refunds.append((invoice_external_id, refund_id, amount_minor))
        kind = "refund" if self.state is PaymentState.PAID else "credit_note"
        return GatewayRefundResult(external_id=f"re_{refund_id.hex}", kind=kind)

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        raise InvalidWebhook("not used in these tests")
