"""A user's customer and payment method at the payment provider, and the provider's webhooks.

- `billing_accounts` keeps, per user, the provider's customer id, a hash of what was last sent
  to it (name, email, language: the customer is updated only when that changes) and a summary
  of the default payment method (brand, last 4 digits, expiry), which is what the web app shows
  and what charging authorization checks when a payment method is required.
- A payment method is set up by the user on the provider's side (a SetupIntent with Stripe.js or
  the mobile app, or Stripe's hosted page); we only read back which one is the default, when the
  user asks (`refresh`) and when the provider's webhooks say it changed.
- Webhooks are delivered at least once and in any order: each event id is recorded in
  `payment_events` in the same transaction as its effects, so a duplicate is skipped and a
  failure leaves nothing behind (the provider delivers it again).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Awaitable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import BillingAccount, PaymentEvent, User
from backend.domain import audit
from backend.domain.access import require_login
from backend.domain.billing.gateway import (
    Customer,
    GatewayError,
    PaymentGateway,
    PaymentMethodSummary,
    SetupIntent,
    WebhookEvent,
)
from backend.domain.errors import DomainError, Forbidden, NotFound
from backend.domain.viewer import Viewer
from backend.settings import Settings

log = logging.getLogger("vev_iq.billing.payment_methods")

T = TypeVar("T")


class PaymentsUnavailable(DomainError):
    """No payment provider is configured on this deployment."""

    code = "PAYMENTS_UNAVAILABLE"


class PaymentProviderError(DomainError):
    """The payment provider refused or could not be reached; `retryable` says if trying again
    later may help."""

    code = "PAYMENT_PROVIDER_ERROR"


def customer_of(user: User) -> Customer:
    return Customer(
        user_id=user.id,
        email=user.email,
        name=user.full_name,
        language=user.language.value,
    )


def customer_hash(provider: str, customer: Customer) -> str:
    """What the provider was last told about the user: unchanged, no call. The same digest as
    the invoice worker's (`invoicing`), which syncs the customer before pushing an invoice."""
    fields = (provider, customer.email, customer.name, customer.language)
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


class RetryLater(Exception):
    """A webhook event that cannot be applied yet (its invoice is not stored on our side yet):
    nothing is recorded, and the provider delivers it again later."""


class PaymentMethods:
    def __init__(self, session: AsyncSession, settings: Settings, gateway: PaymentGateway) -> None:
        self.session = session
        self.settings = settings
        self.gateway = gateway

    @property
    def enabled(self) -> bool:
        """Billing through a payment provider (else invoices stay local)."""
        return self.gateway.name != "local"

    @property
    def required(self) -> bool:
        """Whether charging needs a payment method on file."""
        return self.enabled and self.settings.billing_require_payment_method

    # --- the viewer's own account (GraphQL) -----------------------------------------------------

    async def viewer_user(self, viewer: Viewer, *, for_setup: bool = False) -> User:
        require_login(viewer)
        if for_setup and viewer.is_demo:
            # A demonstration account must not open a customer at the real provider.
            raise Forbidden("Demo accounts cannot set up a payment method.")
        user = await self.session.get(User, viewer.user_id)
        if user is None:
            raise NotFound("No such user.")
        return user

    async def account(self, user_id: uuid.UUID) -> BillingAccount | None:
        return await self.session.get(BillingAccount, user_id)

    async def summary(self, user_id: uuid.UUID) -> PaymentMethodSummary | None:
        """The payment method on file, as last read from the provider."""
        account = await self.account(user_id)
        if account is None or account.payment_method_id is None:
            return None
        if account.provider != self.gateway.name:
            return None  # set up with another provider than the one configured now
        return PaymentMethodSummary(
            id=account.payment_method_id,
            brand=account.payment_method_brand,
            last4=account.payment_method_last4,
            exp_month=account.payment_method_exp_month,
            exp_year=account.payment_method_exp_year,
        )

    # --- customer --------------------------------------------------------------------------------

    async def ensure_customer(self, user: User) -> BillingAccount:
        """The user's billing account with a customer at the provider, created or updated when
        the name, email or language changed since the last call. Commits."""
        if not self.enabled:
            raise PaymentsUnavailable("Online payment is not configured on this deployment.")
        customer = customer_of(user)
        wanted = customer_hash(self.gateway.name, customer)
        account = await self.account(user.id)
        if account is None:
            account = BillingAccount(user_id=user.id, provider=self.gateway.name)
            self.session.add(account)
        elif account.provider != self.gateway.name:
            # Another provider's customer means nothing to this one: start afresh.
            account.provider = self.gateway.name
            account.customer_id = None
            account.customer_synced_hash = None
            _clear_method(account)
        if account.customer_id is None or account.customer_synced_hash != wanted:
            customer_id = await self._call(
                self.gateway.sync_customer(customer, account.customer_id)
            )
            if customer_id != account.customer_id:
                _clear_method(account)
            account.customer_id = customer_id
            account.customer_synced_hash = wanted
            account.updated_at = utcnow()
        try:
            await self.session.commit()
        except IntegrityError:
            # Another process created the row meanwhile (with the same customer: the provider
            # call is idempotent on the user and the fields sent).
            await self.session.rollback()
            existing = await self.account(user.id)
            if existing is None:
                raise
            return existing
        return account

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except GatewayError as error:
            log.warning("payment provider: %s", error)
            raise PaymentProviderError(str(error), retryable=error.retryable) from error

    # --- setting up a payment method ----------------------------------------------------------

    async def start_setup(self, user: User) -> SetupIntent:
        """A SetupIntent for the user's customer (created first if need be), for Stripe.js or the
        hosted page to collect a payment method that invoices are charged to later."""
        account = await self.ensure_customer(user)
        assert account.customer_id is not None
        return await self._call(self.gateway.create_setup_intent(account.customer_id))

    async def refresh(self, user: User) -> BillingAccount | None:
        """Read the default payment method back from the provider. Commits."""
        if not self.enabled:
            return None
        account = await self.account(user.id)
        if account is None or account.customer_id is None or account.provider != self.gateway.name:
            return account
        await self._refresh_account(account, actor_id=user.id)
        await self.session.commit()
        return account

    async def _refresh_account(
        self, account: BillingAccount, actor_id: uuid.UUID | None = None
    ) -> None:
        """``actor_id``: who made the change known (the user; None: the provider's webhook)."""
        assert account.customer_id is not None
        before = account.payment_method_id
        method = await self._call(self.gateway.default_payment_method(account.customer_id))
        if method is None:
            _clear_method(account)
        else:
            account.payment_method_id = method.id
            account.payment_method_brand = method.brand
            account.payment_method_last4 = method.last4
            account.payment_method_exp_month = method.exp_month
            account.payment_method_exp_year = method.exp_year
        account.updated_at = utcnow()
        if account.payment_method_id != before:
            # Which card is on file is billing data about the person: its changes are audited
            # (that it changed, never the card's details).
            owner = await self.session.get(User, account.user_id)
            action = "billing.payment_method_set" if method else "billing.payment_method_removed"
            audit.record(self.session, actor_id, action, owner, fields=("payment_method",))

    # --- webhooks ------------------------------------------------------------------------------

    async def handle_webhook_event(self, event: WebhookEvent) -> bool:
        """Apply one verified provider event; False when it was handled before. Commits; raises
        (and leaves nothing recorded) when it cannot be applied now, so it is delivered again."""
        if await self.session.get(PaymentEvent, event.id) is not None:
            return False
        self.session.add(PaymentEvent(id=event.id, provider=self.gateway.name, type=event.type))
        try:
            await self.session.flush()
        except IntegrityError:
            await self.session.rollback()
            return False
        if event.payment_method_customer_id is not None:
            account = await self.session.scalar(
                select(BillingAccount).where(
                    BillingAccount.provider == self.gateway.name,
                    BillingAccount.customer_id == event.payment_method_customer_id,
                )
            )
            if account is not None:
                await self._refresh_account(account, actor_id=None)
            else:
                log.info("%s for unknown customer %s", event.type, event.payment_method_customer_id)
        if event.invoice_external_id is not None and event.state is not None:
            # Imported here: invoicing imports this package's neighbours, not the reverse.
            from backend.domain.billing.invoicing import apply_payment_event

            if await apply_payment_event(self.session, event) is None:
                # Stripe announces an invoice of ours (the gateway keeps only those) before the
                # worker stored its id: later, it will be there.
                await self.session.rollback()
                raise RetryLater(f"invoice {event.invoice_external_id} is not stored yet")
        try:
            await self.session.commit()
        except IntegrityError:
            # The same event, handled concurrently by another process, committed first.
            await self.session.rollback()
            return False
        return True


def _clear_method(account: BillingAccount) -> None:
    account.payment_method_id = None
    account.payment_method_brand = None
    account.payment_method_last4 = None
    account.payment_method_exp_month = None
    account.payment_method_exp_year = None
