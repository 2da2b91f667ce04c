"""End to end with Stripe on loopback: a driver without a payment method is refused at the
station; once they set one up (SetupIntent, test card), a simulated OCPP 2.0.1 station charges
their car under a tariff, the server's billing worker issues the invoice and charges it on the
fake Stripe through the SDK, with one Stripe line per priced component equal to ours to the
cent; Stripe's signed `invoice.paid` webhook is accepted (twice: once counted), and the driver
gets the PDF."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe
from pypdf import PdfReader
from sqlalchemy import select

from backend.db.models import (
    AuditEntry,
    BillingState,
    ChargingSession,
    Invoice,
    InvoiceLine,
    Role,
    User,
)
from backend.domain.billing.gateway import PaymentState
from backend.domain.billing.payment_methods import PaymentMethods
from backend.payments.stripe_gateway import StripeGateway
from backend.settings import Settings, get_settings
from backend.simulator import Behaviour, Scenario, StationSpec, ocpp_url
from tests.billing.helpers import price_site
from tests.live_server import LiveServer
from tests.ocpp.conftest import BADGE, World, world  # noqa: F401  (the `world` fixture)
from tests.payments.conftest import API_KEY, attach_card, sign
from tests.payments.fake_stripe import FakeStripe


@pytest.fixture
def billing_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[None]:
    """The OCPP path reads the process's settings (in production, the app's): Stripe on, a
    payment method required, and no minimum (simulated sessions last seconds)."""
    monkeypatch.setenv("STRIPE_API_KEY", API_KEY)
    monkeypatch.setenv("STRIPE_API_BASE", settings.stripe_api_base)
    monkeypatch.setenv("BILLING_REQUIRE_PAYMENT_METHOD", "true")
    monkeypatch.setenv("BILLING_MIN_DURATION_S", "0")
    monkeypatch.setenv("BILLING_MIN_ENERGY_WH", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _wait_for(predicate: Any, seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


def _behaviour(server: LiveServer) -> Behaviour:
    return Behaviour(
        server_url=ocpp_url(server.url),
        badges=[BADGE],
        interval_s=0.1,
        speed=5000,
        first_car_s=(0.1, 0.3),
        between_cars_s=(1e9, 1e9),
        idle_after_full_s=(1500, 1500),
        seed=11,
    )


async def test_a_simulated_session_is_charged_on_stripe_with_our_lines(
    settings: Settings,
    world: World,  # noqa: F811
    sessionmaker: Any,
    make_user: Any,
    fake_stripe: FakeStripe,
    stripe_client: stripe.StripeClient,
    billing_env: None,
) -> None:
    admin = await make_user(Role.ADMIN)
    await price_site(
        sessionmaker,
        world.site_id,
        admin.id,
        [
            {"type": "FLAT", "price": "0.50"},
            {"type": "ENERGY", "price": "0.31", "step_size": 100},
            {"type": "PARKING_TIME", "price": "9", "step_size": 60},
        ],
    )

    server = LiveServer(
        settings.model_copy(
            update={"billing_min_duration_s": 0, "billing_min_energy_wh": 0, "billing_poll_s": 1}
        )
    )
    server.start()
    try:
        # No payment method yet: the station is told the badge is refused; nothing starts.
        refused = Scenario([StationSpec("CP201", "2.0.1")], _behaviour(server))
        running = asyncio.create_task(refused.run())
        try:

            async def refusal_recorded() -> bool:
                async with sessionmaker() as db:
                    entry = await db.scalar(
                        select(AuditEntry).where(
                            AuditEntry.action == "charging.authorization_refused"
                        )
                    )
                    return entry is not None and entry.details["reason"] == "no_payment_method"

            await _wait_for(refusal_recorded, 30)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        async with sessionmaker() as db:
            assert list(await db.scalars(select(ChargingSession))) == []

        # The driver sets up a card (what Stripe's hosted page does), and we read it back.
        gateway = StripeGateway(settings, max_network_retries=0)
        async with sessionmaker() as db:
            driver = await db.get(User, world.driver_id)
            assert driver is not None
            methods = PaymentMethods(db, settings, gateway)
            intent = await methods.start_setup(driver)
            account = await methods.account(driver.id)
            assert account is not None and account.customer_id is not None
            customer_id = account.customer_id
        await attach_card(stripe_client, customer_id, intent.id)
        async with sessionmaker() as db:
            driver = await db.get(User, world.driver_id)
            assert driver is not None
            await PaymentMethods(db, settings, gateway).refresh(driver)
            await db.commit()

        charging = Scenario([StationSpec("CP201", "2.0.1")], _behaviour(server))
        running = asyncio.create_task(charging.run())
        try:

            async def paid() -> bool:
                async with sessionmaker() as db:
                    invoice = await db.scalar(select(Invoice))
                    return invoice is not None and invoice.payment_state is PaymentState.PAID

            await _wait_for(paid, 60)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

        async with sessionmaker() as db:
            [session] = list(await db.scalars(select(ChargingSession)))
            invoice = await db.scalar(select(Invoice))
            assert invoice is not None
            lines = list(
                await db.scalars(
                    select(InvoiceLine)
                    .where(InvoiceLine.invoice_id == invoice.id)
                    .order_by(InvoiceLine.position)
                )
            )
        assert session.billing_state is BillingState.INVOICED
        assert invoice.external_id is not None and invoice.external_id.startswith("in_")

        # On Stripe: our number, one line per component, our VAT, our total, paid by the card.
        remote = fake_stripe.invoices[invoice.external_id]
        assert remote["customer"] == customer_id and remote["status"] == "paid"
        assert invoice.number in json.dumps(remote["metadata"]) + str(remote["description"])
        remote_lines = remote["lines"]["data"]
        assert [line["amount"] for line in remote_lines] == [
            line.amount_excl_vat_minor for line in lines
        ]
        assert [sum(tax["amount"] for tax in line["taxes"]) for line in remote_lines] == [
            line.vat_minor for line in lines
        ]
        assert remote["total"] == invoice.total_incl_vat_minor == session.cost_incl_vat_minor
        assert remote["amount_paid"] == invoice.total_incl_vat_minor > 0
        assert {line.dimension for line in lines} >= {"FLAT", "ENERGY"}

        # Stripe's signed webhook for the payment: accepted, and a repeat changes nothing.
        [paid_event] = [e for e in fake_stripe.events if e["type"] == "invoice.paid"]
        payload = json.dumps(paid_event).encode()
        async with httpx.AsyncClient(base_url=server.url) as client:
            for _ in range(2):
                answer = await client.post(
                    "/webhooks/stripe",
                    content=payload,
                    headers={"stripe-signature": sign(payload)},
                )
                assert answer.status_code == 200
            # Its PDF: for the admin (and the buyer), not for anybody else.
            pdf = await client.get(
                f"/invoices/{invoice.id}.pdf", headers={"authorization": f"Bearer {admin.token}"}
            )
            stranger = await make_user(Role.BASIC)
            hidden = await client.get(
                f"/invoices/{invoice.id}.pdf",
                headers={"authorization": f"Bearer {stranger.token}"},
            )
        assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert invoice.number in text and "CP201" in text
        assert hidden.status_code == 404
        async with sessionmaker() as db:
            again = await db.get(Invoice, invoice.id)
            assert again is not None and again.payment_state is PaymentState.PAID
    finally:
        server.stop()
