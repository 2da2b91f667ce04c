"""The viewer's payment method through GraphQL, with Stripe on (the fake on loopback)."""

from __future__ import annotations

from typing import Any

import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import BillingAccount, Role
from tests.conftest import Api
from tests.payments.conftest import attach_card
from tests.payments.fake_stripe import FakeStripe

MINE = """{ myPaymentMethod { billingEnabled required publishableKey
  paymentMethod { brand last4 expMonth expYear } } }"""
SETUP = (
    "mutation { startPaymentMethodSetup { setupIntentId clientSecret hostedUrl publishableKey } }"
)
REFRESH = "mutation { refreshPaymentMethod { paymentMethod { brand last4 expMonth expYear } } }"


async def test_set_up_a_card_and_see_it(
    api: Api,
    make_user: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    stripe_client: stripe.StripeClient,
    fake_stripe: FakeStripe,
) -> None:
    driver = await make_user()
    data = await api.ok(MINE, token=driver.token)
    assert data["myPaymentMethod"] == {
        "billingEnabled": True,
        "required": True,
        "publishableKey": "pk_test_vev_iq",
        "paymentMethod": None,
    }

    setup = (await api.ok(SETUP, token=driver.token))["startPaymentMethodSetup"]
    assert setup["clientSecret"].startswith(setup["setupIntentId"] + "_secret_")
    assert setup["hostedUrl"].startswith(fake_stripe.base + "/checkout/cs_")
    assert setup["publishableKey"] == "pk_test_vev_iq"

    async with sessionmaker() as db:
        account = await db.get(BillingAccount, driver.id)
        assert account is not None and account.customer_id is not None
        customer_id = account.customer_id
    # In the browser: Stripe.js confirms the SetupIntent with the card the user typed.
    await attach_card(stripe_client, customer_id, setup["setupIntentId"], exp_month=7)

    data = await api.ok(REFRESH, token=driver.token)
    card = {"brand": "visa", "last4": "4242", "expMonth": 7, "expYear": 2031}
    assert data["refreshPaymentMethod"]["paymentMethod"] == card
    data = await api.ok(MINE, token=driver.token)
    assert data["myPaymentMethod"]["paymentMethod"] == card

    # A second setup reuses the customer.
    await api.ok(SETUP, token=driver.token)
    assert fake_stripe.executed["POST /v1/customers"] == 1


async def test_each_viewer_sees_only_their_own(
    api: Api, make_user: Any, stripe_client: stripe.StripeClient, sessionmaker: Any
) -> None:
    owner = await make_user()
    admin = await make_user(Role.ADMIN)
    setup = (await api.ok(SETUP, token=owner.token))["startPaymentMethodSetup"]
    async with sessionmaker() as db:
        account = await db.get(BillingAccount, owner.id)
        customer_id = account.customer_id
    await attach_card(stripe_client, customer_id, setup["setupIntentId"])
    await api.ok(REFRESH, token=owner.token)
    data = await api.ok(MINE, token=admin.token)
    assert data["myPaymentMethod"]["paymentMethod"] is None


async def test_errors(api: Api, make_user: Any, fake_stripe: FakeStripe) -> None:
    demo = await make_user(Role.DEMO)
    error = await api.error(SETUP, token=demo.token)
    assert error["code"] == "FORBIDDEN"
    error = await api.error(SETUP)
    assert error["code"] == "UNAUTHENTICATED"

    driver = await make_user()
    # Stripe unreachable (beyond the SDK's own retries): a clear, retryable error.
    fake_stripe.fail_next("/v1/customers", 503, count=3)
    error = await api.error(SETUP, token=driver.token)
    assert error["code"] == "PAYMENT_PROVIDER_ERROR" and error["retryable"] is True
    assert "Stripe" in error["message"]
