"""StripeGateway against Stripe's HTTP API on loopback (localstripe behind our fake), through
the official SDK exactly as in production: customers, setup, invoices, refunds, errors."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import stripe

from backend.domain.billing.gateway import (
    Customer,
    GatewayError,
    GatewayInvoice,
    GatewayInvoiceLine,
    PaymentState,
)
from backend.payments.stripe_gateway import StripeGateway
from backend.settings import Settings
from tests.conftest import free_port
from tests.payments.conftest import attach_card
from tests.payments.fake_stripe import FakeStripe

DECLINED_ON_CHARGE = "4000000000000341"  # attaches fine, every charge is declined


def a_customer(**fields: str) -> Customer:
    values = {"email": f"ada-{uuid.uuid4().hex[:8]}@example.com", "name": "Ada Lovelace"}
    values.update(fields)
    return Customer(user_id=uuid.uuid4(), email=values["email"], name=values["name"], language="fr")


async def customer_with_card(
    gateway: StripeGateway, client: stripe.StripeClient, number: str = "4242424242424242"
) -> str:
    customer_id = await gateway.sync_customer(a_customer(), None)
    intent = await gateway.create_setup_intent(customer_id)
    await attach_card(client, customer_id, intent.id, number)
    return customer_id


def an_invoice(customer_id: str, **overrides: object) -> GatewayInvoice:
    # 12.345 kWh at 0.30 €/kWh = 3.70 € (VAT 20 %: 0.74), 1 h 05 at 1.20 €/h = 1.30 € (0.26),
    # flat 0.99 € at 5.5 %: 0.05. Our VAT per line is authoritative: Stripe must not re-round.
    lines = [
        GatewayInvoiceLine("Energy 12.345 kWh × 0.30 €/kWh", 370, Decimal("20"), 74),
        GatewayInvoiceLine("Time 1.083 h × 1.20 €/h", 130, Decimal("20"), 26),
        GatewayInvoiceLine("Session fee", 99, Decimal("5.5"), 5),
    ]
    values: dict[str, object] = {
        "local_id": uuid.uuid4(),
        "number": "VEV-2026-000042",
        "customer_id": customer_id,
        "currency": "EUR",
        "lines": lines,
        "total_incl_vat_minor": 704,
        "description": "Charging at Grenoble, 2026-03-04",
        "metadata": {"session_id": str(uuid.uuid4())},
    }
    values.update(overrides)
    return GatewayInvoice(**values)  # type: ignore[arg-type]


# --- customers -----------------------------------------------------------------------------------


async def test_customer_created_then_updated_in_place(
    gateway: StripeGateway, stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    customer = a_customer()
    customer_id = await gateway.sync_customer(customer, None)
    stored = await stripe_client.v1.customers.retrieve_async(customer_id)
    assert (stored.name, stored.email) == (customer.name, customer.email)
    assert stored.preferred_locales == ["fr"]
    assert stored.metadata["user_id"] == str(customer.user_id)

    renamed = Customer(customer.user_id, "ada@new.example", "Ada King", "de")
    assert await gateway.sync_customer(renamed, customer_id) == customer_id
    stored = await stripe_client.v1.customers.retrieve_async(customer_id)
    assert (stored.name, stored.email, stored.preferred_locales) == (
        "Ada King",
        "ada@new.example",
        ["de"],
    )
    assert all(
        key.startswith(f"vev-customer-{customer.user_id}-") for key in fake_stripe.idempotency_keys
    )


async def test_customer_creation_is_idempotent(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    customer = a_customer()
    first = await gateway.sync_customer(customer, None)
    # A retry after a crash before our commit: the same customer, not a second one.
    assert await gateway.sync_customer(customer, None) == first
    assert fake_stripe.executed["POST /v1/customers"] == 1


async def test_a_customer_deleted_at_stripe_is_created_again(
    gateway: StripeGateway, stripe_client: stripe.StripeClient
) -> None:
    customer = a_customer()
    first = await gateway.sync_customer(customer, None)
    await stripe_client.v1.customers.delete_async(first)
    second = await gateway.sync_customer(
        Customer(customer.user_id, "x@example.com", "X", "en"), first
    )
    assert second != first


async def test_erasure_deletes_the_customer_once_and_again_is_harmless(
    gateway: StripeGateway, stripe_client: stripe.StripeClient
) -> None:
    customer_id = await gateway.sync_customer(a_customer(), None)
    await gateway.delete_customer(customer_id)
    with pytest.raises(stripe.InvalidRequestError):
        stored = await stripe_client.v1.customers.retrieve_async(customer_id)
        # Stripe answers a deleted customer as {"deleted": true}; localstripe forgets it.
        if getattr(stored, "deleted", False):
            raise stripe.InvalidRequestError("deleted", param=None)
    await gateway.delete_customer(customer_id)  # an erasure retried: already done


# --- payment methods -----------------------------------------------------------------------------


async def test_setup_intent_then_card_is_the_default_method(
    gateway: StripeGateway, stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    customer_id = await gateway.sync_customer(a_customer(), None)
    assert await gateway.default_payment_method(customer_id) is None

    intent = await gateway.create_setup_intent(customer_id)
    assert intent.id.startswith("seti_") and intent.client_secret.startswith(intent.id)
    stored = await stripe_client.v1.setup_intents.retrieve_async(intent.id)
    assert (stored.customer, stored.usage) == (customer_id, "off_session")
    # The hosted page for the web app: Stripe Checkout in setup mode, back to the profile.
    assert intent.hosted_url is not None
    session = next(iter(fake_stripe.checkout_sessions.values()))
    assert session["url"] == intent.hosted_url and session["customer"] == customer_id
    assert session["success_url"] == "http://testserver/profile?paymentMethod=added"

    method_id = await attach_card(stripe_client, customer_id, intent.id, exp_year=2031)
    method = await gateway.default_payment_method(customer_id)
    assert method is not None
    assert (method.id, method.brand, method.last4, method.exp_month, method.exp_year) == (
        method_id,
        "visa",
        "4242",
        12,
        2031,
    )


async def test_the_customers_default_wins_over_the_latest_card(
    gateway: StripeGateway, stripe_client: stripe.StripeClient
) -> None:
    customer_id = await gateway.sync_customer(a_customer(), None)
    first = await attach_card(
        stripe_client, customer_id, (await gateway.create_setup_intent(customer_id)).id
    )
    latest = await attach_card(
        stripe_client,
        customer_id,
        (await gateway.create_setup_intent(customer_id)).id,
        "5555555555554444",
    )
    method = await gateway.default_payment_method(customer_id)
    assert method is not None and method.id == latest
    await stripe_client.v1.customers.update_async(
        customer_id, {"invoice_settings": {"default_payment_method": first}}
    )
    method = await gateway.default_payment_method(customer_id)
    assert method is not None and method.id == first


# --- invoices ------------------------------------------------------------------------------------


async def test_invoice_lines_totals_and_payment(
    gateway: StripeGateway, stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    customer_id = await customer_with_card(gateway, stripe_client)
    invoice = an_invoice(customer_id)
    result = await gateway.submit_invoice(invoice)

    assert result.state is PaymentState.PAID
    assert result.hosted_url is not None
    stored = (await stripe_client.v1.invoices.retrieve_async(result.external_id)).to_dict()
    assert stored["status"] == "paid"
    assert stored["total"] == invoice.total_incl_vat_minor == 704
    assert stored["subtotal"] == 599
    assert sum(t["amount"] for t in stored["total_taxes"]) == 105
    assert stored["amount_paid"] == 704
    assert stored["collection_method"] == "charge_automatically"
    assert stored["metadata"]["vev_invoice_id"] == str(invoice.local_id)
    assert stored["metadata"]["vev_invoice_number"] == "VEV-2026-000042"
    assert stored["metadata"]["session_id"] == invoice.metadata["session_id"]
    assert stored["description"].startswith("VEV-2026-000042")
    lines = stored["lines"]["data"]
    assert [(line["description"], line["amount"]) for line in lines] == [
        ("Energy 12.345 kWh × 0.30 €/kWh", 370),
        ("Time 1.083 h × 1.20 €/h", 130),
        ("Session fee", 99),
    ]
    assert [line["taxes"][0]["amount"] for line in lines] == [74, 26, 5]
    assert lines[2]["taxes"][0]["tax_rate_details"]["percentage"] == "5.5"
    # Every write carried a key derived from our invoice id.
    invoice_keys = [k for k in fake_stripe.idempotency_keys if "invoice" in k]
    assert invoice_keys == [
        f"vev-invoice-{invoice.local_id}-{step}"
        for step in ("create", "lines", "finalize", "pay-0")
    ]


async def test_submitting_the_same_invoice_twice_makes_one_stripe_invoice(
    gateway: StripeGateway, stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    customer_id = await customer_with_card(gateway, stripe_client)
    invoice = an_invoice(customer_id)
    first = await gateway.submit_invoice(invoice)
    again = await gateway.submit_invoice(invoice)
    assert again == first
    assert len(fake_stripe.invoices) == 1
    assert fake_stripe.executed["POST /v1/invoices"] == 1
    assert len(fake_stripe.invoice_payments) == 1


async def test_a_retry_after_a_crash_mid_way_completes_the_same_invoice(
    gateway: StripeGateway, stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    customer_id = await customer_with_card(gateway, stripe_client)
    invoice = an_invoice(customer_id)
    stripe_id = None
    # Stripe is down when the lines are added: the draft exists, the worker will retry.
    fake_stripe.fail_next("/v1/invoices/in_", 503)
    with pytest.raises(GatewayError) as failed:
        await gateway.submit_invoice(invoice)
    assert failed.value.retryable
    [stripe_id] = fake_stripe.invoices
    result = await gateway.submit_invoice(invoice)
    assert (result.external_id, result.state) == (stripe_id, PaymentState.PAID)
    assert len(fake_stripe.invoices) == 1
    assert fake_stripe.invoices[stripe_id]["total"] == 704


async def test_a_total_that_differs_from_ours_is_never_finalized(
    gateway: StripeGateway, stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    customer_id = await customer_with_card(gateway, stripe_client)
    with pytest.raises(GatewayError) as failed:
        await gateway.submit_invoice(an_invoice(customer_id, total_incl_vat_minor=705))
    assert not failed.value.retryable
    assert "704" in str(failed.value) and "705" in str(failed.value)
    [stored] = fake_stripe.invoices.values()
    assert stored["status"] == "draft"


async def test_a_declined_card_leaves_the_invoice_failed_then_a_new_card_pays_it(
    gateway: StripeGateway, stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    customer_id = await customer_with_card(gateway, stripe_client, DECLINED_ON_CHARGE)
    invoice = an_invoice(customer_id)
    result = await gateway.submit_invoice(invoice)
    assert result.state is PaymentState.FAILED
    stored = fake_stripe.invoices[result.external_id]
    assert (stored["status"], stored["attempt_count"]) == ("open", 1)
    assert result.hosted_url == stored["hosted_invoice_url"]

    # Submitting again replays nothing already done; the same attempt is not charged twice.
    good = await attach_card(
        stripe_client, customer_id, (await gateway.create_setup_intent(customer_id)).id
    )
    await stripe_client.v1.customers.update_async(
        customer_id, {"invoice_settings": {"default_payment_method": good}}
    )
    retried = await gateway.submit_invoice(invoice)
    assert (retried.external_id, retried.state) == (result.external_id, PaymentState.PAID)
    assert stored["attempt_count"] == 2
    assert f"vev-invoice-{invoice.local_id}-pay-1" in fake_stripe.idempotency_keys


async def test_without_a_payment_method_the_invoice_is_open_and_failed(
    gateway: StripeGateway, fake_stripe: FakeStripe
) -> None:
    customer_id = await gateway.sync_customer(a_customer(), None)
    result = await gateway.submit_invoice(an_invoice(customer_id))
    assert result.state is PaymentState.FAILED
    assert fake_stripe.invoices[result.external_id]["status"] == "open"
    assert fake_stripe.executed[f"POST /v1/invoices/{result.external_id}/pay"] == 0


# --- refunds -------------------------------------------------------------------------------------


async def test_partial_then_full_refund_of_a_paid_invoice(
    gateway: StripeGateway, stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    customer_id = await customer_with_card(gateway, stripe_client)
    paid = await gateway.submit_invoice(an_invoice(customer_id))
    first_id = uuid.uuid4()
    partial = await gateway.refund(paid.external_id, first_id, 200, "Connector faulty")
    assert partial.kind == "refund" and partial.external_id.startswith("re_")
    # The same refund again (a retry): replayed, not refunded twice.
    assert await gateway.refund(paid.external_id, first_id, 200, "Connector faulty") == partial
    rest = await gateway.refund(paid.external_id, uuid.uuid4(), 504, "Goodwill")
    refunds = await stripe_client.v1.refunds.list_async(
        {"payment_intent": _payment_intent(fake_stripe, paid.external_id)}
    )
    assert sorted(r.amount for r in refunds.data) == [200, 504]
    assert {r.id for r in refunds.data} == {partial.external_id, rest.external_id}
    stored = await stripe_client.v1.refunds.retrieve_async(partial.external_id)
    assert stored.metadata["vev_refund_id"] == str(first_id)
    assert stored.metadata["reason"] == "Connector faulty"
    # Nothing is left to give back.
    with pytest.raises(GatewayError) as failed:
        await gateway.refund(paid.external_id, uuid.uuid4(), 1, "Too much")
    assert not failed.value.retryable


async def test_refund_of_an_unpaid_invoice_is_a_credit_note(
    gateway: StripeGateway, stripe_client: stripe.StripeClient, fake_stripe: FakeStripe
) -> None:
    customer_id = await customer_with_card(gateway, stripe_client, DECLINED_ON_CHARGE)
    failed = await gateway.submit_invoice(an_invoice(customer_id))
    assert failed.state is PaymentState.FAILED
    refund_id = uuid.uuid4()
    note = await gateway.refund(failed.external_id, refund_id, 300, "Session aborted")
    assert note.kind == "credit_note" and note.external_id.startswith("cn_")
    stored = fake_stripe.credit_notes[note.external_id]
    assert (stored["amount"], stored["memo"]) == (300, "Session aborted")
    assert stored["metadata"]["vev_refund_id"] == str(refund_id)
    assert fake_stripe.invoices[failed.external_id]["amount_remaining"] == 404


def _payment_intent(fake: FakeStripe, invoice_id: str) -> str:
    [payment] = [p for p in fake.invoice_payments.values() if p["status"] == "paid"]
    assert payment["invoice"] == invoice_id
    return str(payment["payment"]["payment_intent"])


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_outages_and_rate_limits_are_retryable(
    gateway: StripeGateway, fake_stripe: FakeStripe, status: int
) -> None:
    fake_stripe.fail_next("/v1/customers", status)
    with pytest.raises(GatewayError) as failed:
        await gateway.sync_customer(a_customer(), None)
    assert failed.value.retryable


async def test_an_unreachable_stripe_is_retryable(settings: Settings) -> None:
    closed = free_port()
    gateway = StripeGateway(
        settings.model_copy(update={"stripe_api_base": f"http://127.0.0.1:{closed}"}),
        max_network_retries=0,
    )
    with pytest.raises(GatewayError) as failed:
        await gateway.sync_customer(a_customer(), None)
    assert failed.value.retryable


async def test_invalid_requests_and_bad_keys_are_not_retryable(
    gateway: StripeGateway, settings: Settings
) -> None:
    with pytest.raises(GatewayError) as failed:
        await gateway.submit_invoice(an_invoice("cus_doesnotexist"))
    assert not failed.value.retryable
    with pytest.raises(GatewayError) as failed:
        await gateway.refund("in_doesnotexist", uuid.uuid4(), 100, "x")
    assert not failed.value.retryable
    keyless = StripeGateway(settings.model_copy(update={"stripe_api_key": "rk_wrong"}))
    with pytest.raises(GatewayError) as failed:
        await keyless.sync_customer(a_customer(), None)
    assert not failed.value.retryable
