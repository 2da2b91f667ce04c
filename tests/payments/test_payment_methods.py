"""The payment-method service on a real database, with Stripe on loopback: the user's customer
kept in sync, a SetupIntent, the card read back into billing_accounts."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import AuditEntry, BillingAccount, Language, Role, User
from backend.domain.billing.gateway import LocalGateway
from backend.domain.billing.payment_methods import (
    PaymentMethods,
    PaymentProviderError,
    PaymentsUnavailable,
)
from backend.domain.errors import Forbidden, Unauthenticated
from backend.domain.viewer import ANONYMOUS, Viewer
from backend.payments.stripe_gateway import StripeGateway
from backend.settings import Settings
from tests.payments.conftest import attach_card
from tests.payments.fake_stripe import FakeStripe


async def _user(sessionmaker: async_sessionmaker[AsyncSession], make_user: Any, **kw: Any) -> User:
    person = await make_user(first_name="Grace", last_name="Hopper", **kw)
    async with sessionmaker() as db:
        user = await db.get(User, person.id)
        assert user is not None
        return user


async def test_customer_created_once_and_updated_when_the_profile_changes(
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    settings: Settings,
    gateway: StripeGateway,
    fake_stripe: FakeStripe,
    stripe_client: stripe.StripeClient,
) -> None:
    user = await _user(sessionmaker, make_user, language=Language.FR)
    async with sessionmaker() as db:
        account = await PaymentMethods(db, settings, gateway).ensure_customer(user)
        customer_id = account.customer_id
    assert customer_id is not None and account.provider == "stripe"
    customer = await stripe_client.v1.customers.retrieve_async(customer_id)
    assert (customer.name, customer.email, customer.preferred_locales) == (
        "Grace Hopper",
        user.email,
        ["fr"],
    )
    assert customer.metadata["user_id"] == str(user.id)

    # Nothing changed: no call to Stripe at all.
    calls = sum(fake_stripe.executed.values())
    async with sessionmaker() as db:
        again = await PaymentMethods(db, settings, gateway).ensure_customer(user)
    assert again.customer_id == customer_id
    assert sum(fake_stripe.executed.values()) == calls

    # A new language (and name): the same customer, updated.
    async with sessionmaker() as db:
        await db.execute(
            update(User)
            .where(User.id == user.id)
            .values(language=Language.DE, last_name="Hopper-Murray")
        )
        await db.commit()
        changed = await db.get(User, user.id)
        assert changed is not None
        account = await PaymentMethods(db, settings, gateway).ensure_customer(changed)
    assert account.customer_id == customer_id
    customer = await stripe_client.v1.customers.retrieve_async(customer_id)
    assert (customer.name, customer.preferred_locales) == ("Grace Hopper-Murray", ["de"])
    assert fake_stripe.executed[f"POST /v1/customers/{customer_id}"] == 1


async def test_setup_then_refresh_reads_the_card(
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    settings: Settings,
    gateway: StripeGateway,
    stripe_client: stripe.StripeClient,
) -> None:
    user = await _user(sessionmaker, make_user)
    async with sessionmaker() as db:
        methods = PaymentMethods(db, settings, gateway)
        intent = await methods.start_setup(user)
        account = await methods.account(user.id)
        assert account is not None and account.customer_id is not None
        customer_id = account.customer_id
        assert await methods.summary(user.id) is None

    await attach_card(stripe_client, customer_id, intent.id, "5555555555554444", exp_year=2032)

    async with sessionmaker() as db:
        methods = PaymentMethods(db, settings, gateway)
        await methods.refresh(user)
        summary = await methods.summary(user.id)
    assert summary is not None
    assert (summary.brand, summary.last4, summary.exp_month, summary.exp_year) == (
        "visa",  # localstripe names every card visa
        "4444",
        12,
        2032,
    )
    async with sessionmaker() as db:
        stored = await db.get(BillingAccount, user.id)
        assert stored is not None and stored.payment_method_last4 == "4444"
        audited = await db.scalars(select(AuditEntry).where(AuditEntry.target_id == str(user.id)))
        [entry] = [e for e in audited if e.action.startswith("billing.")]
        assert (entry.action, entry.actor_user_id) == ("billing.payment_method_set", user.id)
        assert entry.details == {"fields": ["payment_method"]}  # never the card's details

    # Detached at Stripe (the user removed it there): the next refresh forgets it.
    await stripe_client.v1.payment_methods.detach_async(summary.id)
    async with sessionmaker() as db:
        methods = PaymentMethods(db, settings, gateway)
        await methods.refresh(user)
        assert await methods.summary(user.id) is None
        actions = await db.scalars(
            select(AuditEntry.action).where(AuditEntry.target_id == str(user.id))
        )
        assert "billing.payment_method_removed" in list(actions)


async def test_provider_errors_are_domain_errors_with_their_retryability(
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    settings: Settings,
    gateway: StripeGateway,
    fake_stripe: FakeStripe,
) -> None:
    user = await _user(sessionmaker, make_user)
    fake_stripe.fail_next("/v1/customers", 503)
    async with sessionmaker() as db:
        with pytest.raises(PaymentProviderError) as failed:
            await PaymentMethods(db, settings, gateway).start_setup(user)
    assert failed.value.extensions == {"code": "PAYMENT_PROVIDER_ERROR", "retryable": True}
    async with sessionmaker() as db:
        # Nothing half-done was kept: the next try starts afresh.
        assert await db.get(BillingAccount, user.id) is None


async def test_who_may_set_up(
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    settings: Settings,
    gateway: StripeGateway,
) -> None:
    demo = await make_user(Role.DEMO)
    async with sessionmaker() as db:
        methods = PaymentMethods(db, settings, gateway)
        with pytest.raises(Unauthenticated):
            await methods.viewer_user(ANONYMOUS)
        viewer = Viewer(user_id=demo.id, role=Role.DEMO)
        with pytest.raises(Forbidden):
            await methods.viewer_user(viewer, for_setup=True)
        # Reading their own (empty) payment method is fine.
        assert (await methods.viewer_user(viewer)).id == demo.id


async def test_without_a_provider_nothing_is_set_up(
    sessionmaker: async_sessionmaker[AsyncSession], make_user: Any, settings: Settings
) -> None:
    user = await _user(sessionmaker, make_user)
    async with sessionmaker() as db:
        methods = PaymentMethods(db, settings, LocalGateway())
        assert not methods.enabled and not methods.required
        with pytest.raises(PaymentsUnavailable):
            await methods.start_setup(user)
        assert await methods.refresh(user) is None
