"""POST /webhooks/stripe on the real app: events signed exactly as Stripe signs them
(`t=<time>,v1=<HMAC-SHA256>` with the endpoint's secret), the invoices they name stored in the
database, and Stripe's own invoice events as the fake recorded them."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
import stripe
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.app import create_app
from backend.db.base import utcnow
from backend.db.models import BillingAccount, Invoice, InvoiceKind, PaymentEvent
from backend.domain.billing.gateway import GatewayInvoice, GatewayInvoiceLine, PaymentState
from backend.payments.stripe_gateway import StripeGateway
from backend.settings import Settings
from tests.conftest import Person
from tests.payments.conftest import attach_card, deliver, event, sign
from tests.payments.fake_stripe import FakeStripe
from tests.payments.test_stripe_gateway import DECLINED_ON_CHARGE, a_customer


async def stored_invoice(
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: StripeGateway,
    stripe_client: stripe.StripeClient,
    person: Person,
    *,
    card: str = "4242424242424242",
) -> tuple[uuid.UUID, str]:
    """An invoice of ours pushed to Stripe (paid, or failed with `card`), stored as the invoice
    worker stores it before any webhook arrives: OPEN. Its id and Stripe's."""
    customer_id = await gateway.sync_customer(a_customer(), None)
    intent = await gateway.create_setup_intent(customer_id)
    await attach_card(stripe_client, customer_id, intent.id, card)
    local_id = uuid.uuid4()
    number = f"VEV-2026-{uuid.uuid4().int % 1_000_000:06d}"
    result = await gateway.submit_invoice(
        GatewayInvoice(
            local_id=local_id,
            number=number,
            customer_id=customer_id,
            currency="EUR",
            lines=[GatewayInvoiceLine("Energy", 1000, Decimal("20"), 200)],
            total_incl_vat_minor=1200,
            description="Charging",
        )
    )
    async with sessionmaker() as db:
        db.add(
            Invoice(
                id=local_id,
                number=number,
                user_id=person.id,
                kind=InvoiceKind.SESSION,
                currency="EUR",
                subtotal_excl_vat_minor=1000,
                vat_minor=200,
                total_incl_vat_minor=1200,
                payment_state=PaymentState.OPEN,
                provider="stripe",
                external_id=result.external_id,
                issued_at=utcnow(),
                buyer_name="Ada Lovelace",
            )
        )
        await db.commit()
    return local_id, result.external_id


async def state_of(sessionmaker: async_sessionmaker[AsyncSession], invoice_id: uuid.UUID) -> Any:
    async with sessionmaker() as db:
        invoice = await db.get(Invoice, invoice_id)
        assert invoice is not None
        return invoice.payment_state, invoice.paid_at


async def events_recorded(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as db:
        return int(await db.scalar(select(func.count()).select_from(PaymentEvent)) or 0)


def stripe_event(fake: FakeStripe, type_: str, invoice_id: str) -> dict[str, Any]:
    [found] = [
        e for e in fake.events if e["type"] == type_ and e["data"]["object"]["id"] == invoice_id
    ]
    return found


async def test_invoice_paid(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    gateway: StripeGateway,
    stripe_client: stripe.StripeClient,
    fake_stripe: FakeStripe,
) -> None:
    local_id, stripe_id = await stored_invoice(
        sessionmaker, gateway, stripe_client, await make_user()
    )
    response = await deliver(client, stripe_event(fake_stripe, "invoice.paid", stripe_id))
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "duplicate": False}
    state, paid_at = await state_of(sessionmaker, local_id)
    assert state is PaymentState.PAID and paid_at is not None


async def test_bad_signatures_and_payloads_are_refused(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    gateway: StripeGateway,
    stripe_client: stripe.StripeClient,
    fake_stripe: FakeStripe,
) -> None:
    local_id, stripe_id = await stored_invoice(
        sessionmaker, gateway, stripe_client, await make_user()
    )
    body = json.dumps(stripe_event(fake_stripe, "invoice.paid", stripe_id)).encode()
    for signature in (
        sign(body, secret="whsec_someone_else"),
        sign(body + b" "),  # signed, then tampered with
        "t=123,v1=",
        "garbage",
        "",
    ):
        response = await deliver(client, body, signature=signature)
        assert response.status_code == 400, (signature, response.text)
    response = await client.post("/webhooks/stripe", content=body)  # no header at all
    assert response.status_code == 400
    response = await deliver(client, b"not json")  # well signed, not an event
    assert response.status_code == 400
    response = await deliver(client, {"id": "evt_1", "object": "event"})  # no type, no data
    assert response.status_code == 400
    assert await state_of(sessionmaker, local_id) == (PaymentState.OPEN, None)
    assert await events_recorded(sessionmaker) == 0


async def test_an_old_event_is_a_replay(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    gateway: StripeGateway,
    stripe_client: stripe.StripeClient,
    fake_stripe: FakeStripe,
) -> None:
    local_id, stripe_id = await stored_invoice(
        sessionmaker, gateway, stripe_client, await make_user()
    )
    paid = stripe_event(fake_stripe, "invoice.paid", stripe_id)
    # Stripe's tolerance is five minutes.
    response = await deliver(client, paid, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert await state_of(sessionmaker, local_id) == (PaymentState.OPEN, None)
    response = await deliver(client, paid, timestamp=int(time.time()) - 240)
    assert response.status_code == 200


async def test_a_duplicate_is_acknowledged_and_ignored(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    gateway: StripeGateway,
    stripe_client: stripe.StripeClient,
    fake_stripe: FakeStripe,
) -> None:
    local_id, stripe_id = await stored_invoice(
        sessionmaker, gateway, stripe_client, await make_user()
    )
    paid = stripe_event(fake_stripe, "invoice.paid", stripe_id)
    first = await deliver(client, paid)
    _, paid_at = await state_of(sessionmaker, local_id)
    again = await deliver(client, paid)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"received": True, "duplicate": True}
    assert await state_of(sessionmaker, local_id) == (PaymentState.PAID, paid_at)
    assert await events_recorded(sessionmaker) == 1


async def test_out_of_order_events_never_move_the_state_back(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    gateway: StripeGateway,
    stripe_client: stripe.StripeClient,
    fake_stripe: FakeStripe,
) -> None:
    person = await make_user()
    local_id, stripe_id = await stored_invoice(sessionmaker, gateway, stripe_client, person)
    # Stripe sent finalized, then paid; they arrive the other way round.
    for type_ in ("invoice.paid", "invoice.finalized"):
        response = await deliver(client, stripe_event(fake_stripe, type_, stripe_id))
        assert response.status_code == 200
    assert (await state_of(sessionmaker, local_id))[0] is PaymentState.PAID

    # A declined card: failed, then paid after a retry; the late "failed" changes nothing.
    failing_id, failing_stripe_id = await stored_invoice(
        sessionmaker, gateway, stripe_client, person, card=DECLINED_ON_CHARGE
    )
    failed = stripe_event(fake_stripe, "invoice.payment_failed", failing_stripe_id)
    paid = event("invoice.paid", {**failed["data"]["object"], "status": "paid"})
    assert (await deliver(client, paid)).status_code == 200
    assert (await deliver(client, failed)).status_code == 200
    assert (await state_of(sessionmaker, failing_id))[0] is PaymentState.PAID


async def test_a_failed_payment(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    gateway: StripeGateway,
    stripe_client: stripe.StripeClient,
    fake_stripe: FakeStripe,
) -> None:
    local_id, stripe_id = await stored_invoice(
        sessionmaker, gateway, stripe_client, await make_user(), card=DECLINED_ON_CHARGE
    )
    for type_ in ("invoice.finalized", "invoice.payment_failed"):
        response = await deliver(client, stripe_event(fake_stripe, type_, stripe_id))
        assert response.status_code == 200
    assert await state_of(sessionmaker, local_id) == (PaymentState.FAILED, None)


async def test_an_invoice_not_stored_yet_is_delivered_again_later(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    gateway: StripeGateway,
    stripe_client: stripe.StripeClient,
    fake_stripe: FakeStripe,
) -> None:
    local_id, stripe_id = await stored_invoice(
        sessionmaker, gateway, stripe_client, await make_user()
    )
    paid = stripe_event(fake_stripe, "invoice.paid", stripe_id)
    # Ours (by its metadata), but Stripe was faster than the worker's commit.
    unknown = event(
        "invoice.paid", {**paid["data"]["object"], "id": "in_notstoredyet"}, event_id="evt_early"
    )
    response = await deliver(client, unknown)
    assert response.status_code == 503
    assert await events_recorded(sessionmaker) == 0
    # An invoice made in Stripe's dashboard is none of ours: acknowledged, ignored.
    foreign = event("invoice.paid", {"id": "in_dashboard", "object": "invoice", "metadata": {}})
    response = await deliver(client, foreign)
    assert response.status_code == 200
    assert await state_of(sessionmaker, local_id) == (PaymentState.OPEN, None)


async def test_payment_method_events_refresh_the_account(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    api: Any,
    stripe_client: stripe.StripeClient,
    fake_stripe: FakeStripe,
) -> None:
    person = await make_user()
    setup = await api.ok(
        "mutation { startPaymentMethodSetup { setupIntentId } }", token=person.token
    )
    async with sessionmaker() as db:
        account = await db.get(BillingAccount, person.id)
        assert account is not None and account.customer_id is not None
        customer_id = account.customer_id
    intent_id = setup["startPaymentMethodSetup"]["setupIntentId"]
    method_id = await attach_card(stripe_client, customer_id, intent_id, "5555555555554444")

    succeeded = event(
        "setup_intent.succeeded",
        {
            "id": intent_id,
            "object": "setup_intent",
            "customer": customer_id,
            "payment_method": method_id,
            "status": "succeeded",
        },
    )
    # Stripe cannot be reached while the account is refreshed (the SDK's own two retries
    # included): not applied, delivered again.
    fake_stripe.fail_next("/v1/customers", 503, count=3)
    response = await deliver(client, succeeded)
    assert response.status_code == 503
    assert await events_recorded(sessionmaker) == 0

    response = await deliver(client, succeeded)
    assert response.status_code == 200
    async with sessionmaker() as db:
        account = await db.get(BillingAccount, person.id)
        assert account is not None
        assert (account.payment_method_id, account.payment_method_last4) == (method_id, "4444")

    # Detached: the event's object no longer names the customer, its previous attributes do.
    await stripe_client.v1.payment_methods.detach_async(method_id)
    detached = event(
        "payment_method.detached",
        {"id": method_id, "object": "payment_method", "customer": None},
    )
    detached["data"]["previous_attributes"] = {"customer": customer_id}
    assert (await deliver(client, detached)).status_code == 200
    async with sessionmaker() as db:
        account = await db.get(BillingAccount, person.id)
        assert account is not None and account.payment_method_id is None


async def test_without_stripe_there_is_no_webhook(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(settings.model_copy(update={"stripe_api_key": ""}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await deliver(client, event("invoice.paid", {"id": "in_1"}))
    assert response.status_code == 404
