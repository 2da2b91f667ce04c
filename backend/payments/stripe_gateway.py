"""Stripe behind the `PaymentGateway` protocol, through the official SDK (`stripe`).

One `StripeClient` per gateway, configured from the settings: the API key, and another base
address when `STRIPE_API_BASE` is set (the tests' fake Stripe on loopback). Every call uses the
SDK's async methods, and every write carries an idempotency key derived from our own ids, so
that the billing worker may retry anything after a crash or a timeout:

- customers: `vev-customer-<user id>-<create|update>-<hash of the fields sent>`;
- invoices: `vev-invoice-<local invoice id>-<step>` for each step (create, lines, finalize,
  pay-<attempt>); before creating, the customer's invoices are searched for our id too, since
  Stripe forgets idempotency keys after 24 hours;
- refunds and credit notes: `vev-refund-<local refund id>`.

Invoices carry our VAT: each line is added with an explicit tax amount (`tax_amounts`, the
"taxes calculated elsewhere" mode of Stripe invoices), so Stripe's total equals ours to the cent
instead of being recomputed from a tax rate with Stripe's rounding. Our invoice number is in the
description and the metadata (`vev_invoice_number`); Stripe numbers its own documents.

Responses are turned into plain dicts (`to_dict()`) at once: the SDK's objects are not dicts and
their attributes are only typed for the API version the SDK pins.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable
from typing import Any, TypeVar, cast

import stripe

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
from backend.settings import Settings

log = logging.getLogger("vev_iq.payments.stripe")

T = TypeVar("T")

# How long a signed webhook stays acceptable (Stripe's own default): older ones are replays.
WEBHOOK_TOLERANCE_S = 300

# Stripe's invoice events, as the payment state of our invoice they announce.
INVOICE_EVENTS: dict[str, PaymentState] = {
    "invoice.finalized": PaymentState.OPEN,
    "invoice.paid": PaymentState.PAID,
    "invoice.payment_failed": PaymentState.FAILED,
    "invoice.marked_uncollectible": PaymentState.FAILED,
    "invoice.voided": PaymentState.VOID,
}
# Events after which the customer's payment method may have changed.
PAYMENT_METHOD_EVENTS = (
    "setup_intent.succeeded",
    "payment_method.attached",
    "payment_method.detached",
    "payment_method.updated",
    "customer.updated",
    "checkout.session.completed",
)


def _digest(params: Any) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


def _as_dict(obj: Any) -> dict[str, Any]:
    return cast(dict[str, Any], obj.to_dict())


def _gateway_error(what: str, error: stripe.StripeError) -> GatewayError:
    """Map an SDK error: worth retrying later (network, rate limit, Stripe's 5xx, a concurrent
    request holding our idempotency key) or not (our request, our key, our configuration)."""
    status = error.http_status
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        retryable = True
    elif isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        retryable = False
    elif isinstance(error, stripe.IdempotencyError):
        retryable = status == 409
    elif isinstance(error, stripe.CardError | stripe.InvalidRequestError):
        retryable = status == 409
    else:
        retryable = status is None or status >= 500 or status == 409
    detail = error.user_message or str(error) or type(error).__name__
    request_id = getattr(error, "request_id", None)
    suffix = f" (request {request_id})" if request_id else ""
    return GatewayError(f"Stripe {what}: {detail}{suffix}", retryable=retryable)


def _state_of(invoice: dict[str, Any]) -> PaymentState:
    status = invoice.get("status")
    if status == "paid":
        return PaymentState.PAID
    if status == "void":
        return PaymentState.VOID
    if status == "uncollectible":
        return PaymentState.FAILED
    if status == "open":
        # Open after a payment attempt: the charge failed (Stripe may try again: dunning).
        return PaymentState.FAILED if (invoice.get("attempt_count") or 0) > 0 else PaymentState.OPEN
    return PaymentState.LOCAL


class StripeGateway:
    name = "stripe"

    def __init__(self, settings: Settings, *, max_network_retries: int = 2) -> None:
        if not settings.stripe_api_key:
            raise ValueError("StripeGateway needs STRIPE_API_KEY")
        self.settings = settings
        base = settings.stripe_api_base.rstrip("/")
        # The SDK retries network errors and 5xx itself, with our idempotency keys, before we
        # see a GatewayError; the billing worker retries those later on its own schedule.
        self.client = stripe.StripeClient(
            settings.stripe_api_key,
            base_addresses={"api": base} if base else None,
            max_network_retries=max_network_retries,
        )

    async def _call(self, what: str, call: Awaitable[T]) -> T:
        try:
            return await call
        except stripe.StripeError as error:
            raise _gateway_error(what, error) from error

    # --- customers -----------------------------------------------------------------------------

    async def sync_customer(self, customer: Customer, existing_id: str | None) -> str:
        user_id = str(customer.user_id)
        fields = {
            "name": customer.name,
            "email": customer.email,
            "preferred_locales": [customer.language],
            "metadata": {"user_id": user_id},
        }
        digest = _digest(fields)
        if existing_id:
            try:
                await self.client.v1.customers.update_async(
                    existing_id,
                    {
                        "name": customer.name,
                        "email": customer.email,
                        "preferred_locales": [customer.language],
                        "metadata": {"user_id": user_id},
                    },
                    {"idempotency_key": f"vev-customer-{user_id}-update-{digest}"},
                )
                return existing_id
            except stripe.StripeError as error:
                if error.code != "resource_missing":
                    raise _gateway_error("customer update", error) from error
                # Deleted in Stripe's dashboard: the user gets a new customer below.
                log.warning("Stripe customer %s is gone; creating a new one", existing_id)
        found = await self._find_customer(customer)
        if found is not None:
            return found
        created = await self._call(
            "customer creation",
            self.client.v1.customers.create_async(
                {
                    "name": customer.name,
                    "email": customer.email,
                    "preferred_locales": [customer.language],
                    "metadata": {"user_id": user_id},
                },
                {"idempotency_key": f"vev-customer-{user_id}-create-{digest}"},
            ),
        )
        return created.id

    async def delete_customer(self, customer_id: str) -> None:
        """Right to erasure: Stripe deletes the customer and detaches its payment methods.
        Already gone (deleted here before, or in the dashboard) counts as done."""
        try:
            await self.client.v1.customers.delete_async(customer_id)
        except stripe.StripeError as error:
            if error.code != "resource_missing":
                raise _gateway_error("customer deletion", error) from error

    async def _find_customer(self, customer: Customer) -> str | None:
        """A customer created for this user earlier (a crash between Stripe's answer and our
        commit, longer ago than idempotency keys are kept)."""
        page = await self._call(
            "customer search",
            self.client.v1.customers.list_async({"email": customer.email, "limit": 100}),
        )
        for found in page.data:
            data = _as_dict(found)
            if (data.get("metadata") or {}).get("user_id") == str(customer.user_id):
                return str(data["id"])
        return None

    # --- payment methods -----------------------------------------------------------------------

    async def create_setup_intent(self, customer_id: str) -> SetupIntent:
        # A new SetupIntent per request: the key only makes the SDK's own retries safe.
        key = f"vev-setup-{customer_id}-{uuid.uuid4().hex}"
        params: stripe.params.SetupIntentCreateParams = {
            "customer": customer_id,
            "usage": "off_session",
            # Cards only: what invoices are charged to off-session, and what the web app can
            # summarize (brand, last 4 digits, expiry).
            "allowed_payment_method_types": ["card"],
            "metadata": {"purpose": "vev-iq invoices"},
        }
        intent = await self._call(
            "setup intent",
            self.client.v1.setup_intents.create_async(params, {"idempotency_key": key}),
        )
        if not intent.client_secret:
            raise GatewayError("Stripe returned a SetupIntent without a client secret.")
        return SetupIntent(
            id=intent.id,
            client_secret=intent.client_secret,
            hosted_url=await self._hosted_setup_url(customer_id, key),
        )

    async def _hosted_setup_url(self, customer_id: str, key: str) -> str | None:
        """Stripe Checkout in setup mode: a page on Stripe's side that collects a card, for the
        web app, whose content security policy loads no third-party script (no Stripe.js)."""
        public = self.settings.public_url.rstrip("/")
        params: stripe.params.checkout.SessionCreateParams = {
            "mode": "setup",
            "customer": customer_id,
            "allowed_payment_method_types": ["card"],
            "success_url": f"{public}/profile?paymentMethod=added",
            "cancel_url": f"{public}/profile?paymentMethod=cancelled",
        }
        session = await self._call(
            "checkout session",
            self.client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": f"{key}-checkout"}
            ),
        )
        return session.url

    async def default_payment_method(self, customer_id: str) -> PaymentMethodSummary | None:
        customer = _as_dict(
            await self._call("customer", self.client.v1.customers.retrieve_async(customer_id))
        )
        if customer.get("deleted"):
            return None
        default = (customer.get("invoice_settings") or {}).get("default_payment_method")
        if isinstance(default, dict):
            default = default.get("id")
        if default:
            method = _as_dict(
                await self._call(
                    "payment method", self.client.v1.payment_methods.retrieve_async(default)
                )
            )
            return _summary(method)
        # Set up through a SetupIntent or Checkout, a card is attached to the customer but not
        # made the default: the latest one is what invoices are charged to (see submit_invoice).
        page = await self._call(
            "payment methods",
            self.client.v1.payment_methods.list_async(
                {"customer": customer_id, "type": "card", "limit": 100}
            ),
        )
        methods = [_as_dict(m) for m in page.data]
        if not methods:
            return None
        # Stripe lists newest first; `max` keeps the first of equals.
        return _summary(max(methods, key=lambda m: m.get("created") or 0))

    # --- invoices ------------------------------------------------------------------------------

    async def submit_invoice(self, invoice: GatewayInvoice) -> GatewayInvoiceResult:
        key = f"vev-invoice-{invoice.local_id}"
        found = await self._find_invoice(invoice)
        method = await self.default_payment_method(invoice.customer_id)
        if found is None:
            metadata = {
                **invoice.metadata,
                "vev_invoice_id": str(invoice.local_id),
                "vev_invoice_number": invoice.number,
            }
            created = await self._call(
                "invoice creation",
                self.client.v1.invoices.create_async(
                    {
                        "customer": invoice.customer_id,
                        "currency": invoice.currency.lower(),
                        "collection_method": "charge_automatically",
                        # Kept as a draft until our lines are in (finalized below).
                        "auto_advance": False,
                        "pending_invoice_items_behavior": "exclude",
                        "description": f"{invoice.number} — {invoice.description}",
                        "metadata": metadata,
                        **({"default_payment_method": method.id} if method else {}),
                    },
                    {"idempotency_key": f"{key}-create"},
                ),
            )
            found = _as_dict(created)
        stripe_id = str(found["id"])
        if found.get("status") == "draft":
            found = await self._complete_draft(invoice, found, key)
        state = _state_of(found)
        if found.get("status") == "open":
            if method is None:
                # Nothing to charge: the invoice stays open (payable on its hosted page), and
                # failed for us until a payment method is set up.
                log.info("invoice %s: the customer has no payment method", invoice.number)
                state = PaymentState.FAILED
            else:
                found, state = await self._pay(invoice, found, key, method.id)
        return GatewayInvoiceResult(
            external_id=stripe_id, state=state, hosted_url=found.get("hosted_invoice_url")
        )

    async def _find_invoice(self, invoice: GatewayInvoice) -> dict[str, Any] | None:
        page = await self._call(
            "invoice search",
            self.client.v1.invoices.list_async({"customer": invoice.customer_id, "limit": 100}),
        )
        for item in page.data:
            data = _as_dict(item)
            if (data.get("metadata") or {}).get("vev_invoice_id") == str(invoice.local_id):
                return data
        return None

    async def _complete_draft(
        self, invoice: GatewayInvoice, draft: dict[str, Any], key: str
    ) -> dict[str, Any]:
        stripe_id = str(draft["id"])
        lines = (draft.get("lines") or {}).get("data") or []
        if not lines:
            # One invoice item per priced component, excluding VAT, with our VAT beside it.
            new_lines: list[Any] = [
                {
                    "amount": line.amount_excl_vat_minor,
                    "description": line.description,
                    **(
                        {
                            "tax_amounts": [
                                {
                                    "amount": line.vat_minor,
                                    "taxable_amount": line.amount_excl_vat_minor,
                                    "tax_rate_data": {
                                        "display_name": "VAT",
                                        "inclusive": False,
                                        "percentage": float(line.vat_percent),
                                    },
                                }
                            ]
                        }
                        if line.vat_minor or line.vat_percent
                        else {}
                    ),
                }
                for line in invoice.lines
            ]
            draft = _as_dict(
                await self._call(
                    "invoice lines",
                    self.client.v1.invoices.add_lines_async(
                        stripe_id, {"lines": new_lines}, {"idempotency_key": f"{key}-lines"}
                    ),
                )
            )
        if draft.get("total") != invoice.total_incl_vat_minor:
            # Never charge an amount that is not the one on our invoice.
            raise GatewayError(
                f"Stripe invoice {stripe_id} totals {draft.get('total')}, ours "
                f"{invoice.total_incl_vat_minor} ({invoice.currency}); not finalized.",
                retryable=False,
            )
        # auto_advance from now on: Stripe retries a failed payment by itself (dunning).
        return _as_dict(
            await self._call(
                "invoice finalization",
                self.client.v1.invoices.finalize_invoice_async(
                    stripe_id, {"auto_advance": True}, {"idempotency_key": f"{key}-finalize"}
                ),
            )
        )

    async def _pay(
        self, invoice: GatewayInvoice, found: dict[str, Any], key: str, method_id: str
    ) -> tuple[dict[str, Any], PaymentState]:
        stripe_id = str(found["id"])
        attempt = found.get("attempt_count") or 0
        try:
            # Charged to the customer's method of now (a new card after a decline), not the one
            # the invoice was created with. The attempt number in the key: a retry of this same
            # attempt is replayed, a later attempt really charges again.
            paid = _as_dict(
                await self.client.v1.invoices.pay_async(
                    stripe_id,
                    {"off_session": True, "payment_method": method_id},
                    {"idempotency_key": f"{key}-pay-{attempt}"},
                )
            )
            return paid, _state_of(paid)
        except stripe.CardError as error:
            # A declined card is an answer, not an outage: the invoice is FAILED.
            log.info("invoice %s: card declined (%s)", invoice.number, error.code)
        except stripe.StripeError as error:
            raise _gateway_error("invoice payment", error) from error
        refreshed = _as_dict(
            await self._call("invoice", self.client.v1.invoices.retrieve_async(stripe_id))
        )
        state = _state_of(refreshed)
        return refreshed, PaymentState.FAILED if state is PaymentState.OPEN else state

    # --- refunds -------------------------------------------------------------------------------

    async def refund(
        self, invoice_external_id: str, refund_id: uuid.UUID, amount_minor: int, reason: str
    ) -> GatewayRefundResult:
        if amount_minor <= 0:
            raise GatewayError("A refund must be a positive amount.", retryable=False)
        key = f"vev-refund-{refund_id}"
        metadata = {
            "vev_refund_id": str(refund_id),
            "reason": reason[:500],
        }
        invoice = _as_dict(
            await self._call(
                "invoice",
                self.client.v1.invoices.retrieve_async(
                    invoice_external_id, {"expand": ["payments"]}
                ),
            )
        )
        status = invoice.get("status")
        if status == "paid":
            payment_intent = _paid_payment_intent(invoice)
            if payment_intent is None:
                raise GatewayError(
                    f"Stripe invoice {invoice_external_id} has no card payment to refund.",
                    retryable=False,
                )
            refund = await self._call(
                "refund",
                self.client.v1.refunds.create_async(
                    {
                        "payment_intent": payment_intent,
                        "amount": amount_minor,
                        "metadata": {**metadata, "invoice": invoice_external_id},
                    },
                    {"idempotency_key": key},
                ),
            )
            return GatewayRefundResult(external_id=refund.id, kind="refund")
        if status == "open":
            # Not paid yet: a credit note lowers what is still due.
            note = await self._call(
                "credit note",
                self.client.v1.credit_notes.create_async(
                    {
                        "invoice": invoice_external_id,
                        "amount": amount_minor,
                        "memo": reason[:500] or "Refund",
                        "metadata": metadata,
                    },
                    {"idempotency_key": key},
                ),
            )
            return GatewayRefundResult(external_id=note.id, kind="credit_note")
        raise GatewayError(
            f"Stripe invoice {invoice_external_id} is {status}: nothing to refund.",
            retryable=False,
        )

    # --- webhooks ------------------------------------------------------------------------------

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        secret = self.settings.stripe_webhook_secret
        if not secret:
            raise InvalidWebhook("STRIPE_WEBHOOK_SECRET is not configured.")
        try:
            event = self.client.construct_event(
                payload, signature, secret, tolerance=WEBHOOK_TOLERANCE_S
            )
            data = _as_dict(event)
        except stripe.SignatureVerificationError as error:
            raise InvalidWebhook(f"Bad signature: {error}") from error
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            # UnicodeDecodeError and JSONDecodeError are ValueErrors.
            raise InvalidWebhook(f"Unreadable payload: {error}") from error
        return webhook_event(data)


def webhook_event(data: dict[str, Any]) -> WebhookEvent:
    """A verified Stripe event (as a dict) reduced to what billing acts on."""
    event_id, event_type = data.get("id"), data.get("type")
    obj = (data.get("data") or {}).get("object")
    if (
        not isinstance(event_id, str)
        or not isinstance(event_type, str)
        or not isinstance(obj, dict)
    ):
        raise InvalidWebhook("Not a Stripe event.")
    if event_type in INVOICE_EVENTS:
        if not (obj.get("metadata") or {}).get("vev_invoice_id"):
            # An invoice made elsewhere in the Stripe account (the dashboard): not ours.
            return WebhookEvent(id=event_id, type=event_type)
        return WebhookEvent(
            id=event_id,
            type=event_type,
            invoice_external_id=obj.get("id"),
            state=INVOICE_EVENTS[event_type],
        )
    if event_type in PAYMENT_METHOD_EVENTS:
        customer = obj.get("id") if event_type == "customer.updated" else obj.get("customer")
        if customer is None:
            # A detached payment method no longer names its customer; its previous value does.
            previous = (data.get("data") or {}).get("previous_attributes") or {}
            customer = previous.get("customer")
        if isinstance(customer, dict):
            customer = customer.get("id")
        return WebhookEvent(
            id=event_id,
            type=event_type,
            payment_method_customer_id=customer if isinstance(customer, str) else None,
        )
    return WebhookEvent(id=event_id, type=event_type)


def _summary(method: dict[str, Any]) -> PaymentMethodSummary:
    card = method.get("card") or {}
    return PaymentMethodSummary(
        id=str(method["id"]),
        brand=card.get("brand"),
        last4=card.get("last4"),
        exp_month=card.get("exp_month"),
        exp_year=card.get("exp_year"),
    )


def _paid_payment_intent(invoice: dict[str, Any]) -> str | None:
    """The PaymentIntent that paid the invoice (`payments`, API versions since 2025-03)."""
    for payment in (invoice.get("payments") or {}).get("data") or []:
        if payment.get("status") != "paid":
            continue
        target = payment.get("payment") or {}
        intent = target.get("payment_intent")
        if isinstance(intent, dict):
            intent = intent.get("id")
        if isinstance(intent, str):
            return intent
    return None
