"""What billing needs from a payment provider, and nothing more.

The domain (`backend.domain.billing.invoicing`, `refunds`) decides what is billed, numbers the
invoices and keeps their lines; a gateway only mirrors that to the provider. Two gateways exist:
`LocalGateway` (no provider configured: invoices stay local, refunds are credit notes) and
`backend.payments.stripe_gateway.StripeGateway` (Stripe through its official SDK).

Every write a gateway makes must be idempotent on the local ids it is given (Stripe idempotency
keys derived from them), because the billing worker retries after crashes and timeouts.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


class GatewayError(Exception):
    """The provider refused or could not be reached. `retryable`: worth trying again later."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class InvalidWebhook(Exception):
    """A webhook whose signature, age or payload does not hold up: answered 400, ignored."""


class PaymentState(enum.StrEnum):
    """Where the money of an invoice stands (mirrors the provider's invoice status)."""

    # Kept locally only (no provider configured, or not sent yet).
    LOCAL = "local"
    # Sent to the provider, finalized, waiting for the payment.
    OPEN = "open"
    PAID = "paid"
    # The payment failed; the provider may retry it (dunning).
    FAILED = "failed"
    # Cancelled before payment.
    VOID = "void"


@dataclass(frozen=True)
class Customer:
    """The person billed, as the provider should know them (kept in sync on every change)."""

    user_id: uuid.UUID
    email: str
    name: str
    language: str  # "en", "fr", "de"


@dataclass(frozen=True)
class PaymentMethodSummary:
    """What the web app may show of a payment method (never the full card number)."""

    id: str
    brand: str | None
    last4: str | None
    exp_month: int | None = None
    exp_year: int | None = None


@dataclass(frozen=True)
class SetupIntent:
    """For the web app to collect a payment method (Stripe.js or a hosted page)."""

    id: str
    client_secret: str
    # A page on the provider's side that collects the method, when the provider offers one.
    hosted_url: str | None = None


@dataclass(frozen=True)
class GatewayInvoiceLine:
    description: str
    # Excluding VAT, minor units of the invoice's currency.
    amount_excl_vat_minor: int
    vat_percent: Decimal
    # Our VAT for this line, minor units: the provider's total must equal ours to the cent.
    vat_minor: int


@dataclass(frozen=True)
class GatewayInvoice:
    local_id: uuid.UUID
    number: str  # our invoice number (also shown on the provider's invoice)
    customer_id: str  # the provider's customer id
    currency: str  # ISO 4217, upper case
    lines: list[GatewayInvoiceLine]
    total_incl_vat_minor: int
    description: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GatewayInvoiceResult:
    external_id: str
    state: PaymentState
    hosted_url: str | None = None


@dataclass(frozen=True)
class GatewayRefundResult:
    external_id: str
    # "refund" (money back on the payment) or "credit_note" (invoice not paid yet, or local).
    kind: str


@dataclass(frozen=True)
class WebhookEvent:
    """A verified provider event, reduced to what billing acts on."""

    id: str
    type: str
    invoice_external_id: str | None = None
    # The invoice's new payment state, when the event changes it.
    state: PaymentState | None = None
    payment_method_customer_id: str | None = None


class PaymentGateway(Protocol):
    name: str

    async def sync_customer(self, customer: Customer, existing_id: str | None) -> str:
        """Create the customer (or update it when `existing_id` is known); its id."""

    async def create_setup_intent(self, customer_id: str) -> SetupIntent: ...

    async def default_payment_method(self, customer_id: str) -> PaymentMethodSummary | None:
        """The method the customer's invoices will be charged to, if any."""

    async def submit_invoice(self, invoice: GatewayInvoice) -> GatewayInvoiceResult:
        """Create the invoice with one line per priced component, finalize it and charge the
        default payment method. Idempotent on `invoice.local_id`."""

    async def refund(
        self, invoice_external_id: str, refund_id: uuid.UUID, amount_minor: int, reason: str
    ) -> GatewayRefundResult:
        """Give back `amount_minor` (incl. VAT) of the invoice. Idempotent on `refund_id`."""

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        """Verify and decode a webhook; raises InvalidWebhook."""

    async def delete_customer(self, customer_id: str) -> None:
        """Right to erasure (`backend.domain.privacy`): forget the customer and its payment
        methods. Idempotent: a customer the provider no longer knows is not an error."""


class LocalGateway:
    """No payment provider: invoices are numbered and kept locally, refunds are credit notes."""

    name = "local"

    async def sync_customer(self, customer: Customer, existing_id: str | None) -> str:
        return existing_id or f"local-{customer.user_id}"

    async def create_setup_intent(self, customer_id: str) -> SetupIntent:
        raise GatewayError("No payment provider is configured.", retryable=False)

    async def default_payment_method(self, customer_id: str) -> PaymentMethodSummary | None:
        return None

    async def submit_invoice(self, invoice: GatewayInvoice) -> GatewayInvoiceResult:
        return GatewayInvoiceResult(
            external_id=f"local-{invoice.local_id}", state=PaymentState.LOCAL
        )

    async def refund(
        self, invoice_external_id: str, refund_id: uuid.UUID, amount_minor: int, reason: str
    ) -> GatewayRefundResult:
        return GatewayRefundResult(external_id=f"local-{refund_id}", kind="credit_note")

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        raise InvalidWebhook("No payment provider is configured.")

    async def delete_customer(self, customer_id: str) -> None:
        return None  # a local customer is only our own `billing_accounts` row
