"""The viewer's payment method (what the web app and the mobile app show and set up).

Always the viewer's own: there is no argument naming another user. The card itself is never
here, only what the provider tells us is safe to show (brand, last 4 digits, expiry), as last
read into `billing_accounts`; the query itself makes no call to the provider.
"""

from __future__ import annotations

import strawberry

from backend.domain.billing.gateway import PaymentMethodSummary
from backend.domain.billing.gateway import SetupIntent as GatewaySetupIntent
from backend.domain.billing.payment_methods import PaymentMethods
from backend.graphql.context import Context
from backend.payments import gateway_for


@strawberry.type
class PaymentCard:
    brand: str | None = strawberry.field(description='As the provider names it ("visa", …).')
    last4: str | None
    exp_month: int | None
    exp_year: int | None


@strawberry.type
class MyPaymentMethod:
    billing_enabled: bool = strawberry.field(
        description="Whether sessions are charged through a payment provider (Stripe)."
    )
    required: bool = strawberry.field(
        description="Whether charging is refused until a payment method is on file."
    )
    publishable_key: str | None = strawberry.field(
        description="Stripe's publishable key, for Stripe.js or the mobile SDK."
    )
    payment_method: PaymentCard | None


@strawberry.type
class PaymentMethodSetup:
    setup_intent_id: str
    client_secret: str = strawberry.field(
        description="Confirms the SetupIntent with Stripe.js or the mobile SDK."
    )
    hosted_url: str | None = strawberry.field(
        description="A page on the provider's side that collects the payment method, when no "
        "Stripe.js can run (the web app): open it, then come back and refresh."
    )
    publishable_key: str | None


def payment_methods(info: strawberry.Info[Context], session: object) -> PaymentMethods:
    settings = info.context.settings
    return PaymentMethods(session, settings, gateway_for(settings))  # type: ignore[arg-type]


def my_payment_method(
    methods: PaymentMethods, summary: PaymentMethodSummary | None
) -> MyPaymentMethod:
    return MyPaymentMethod(
        billing_enabled=methods.enabled,
        required=methods.required,
        publishable_key=(methods.settings.stripe_publishable_key or None)
        if methods.enabled
        else None,
        payment_method=PaymentCard(
            brand=summary.brand,
            last4=summary.last4,
            exp_month=summary.exp_month,
            exp_year=summary.exp_year,
        )
        if summary is not None
        else None,
    )


def setup_of(methods: PaymentMethods, intent: GatewaySetupIntent) -> PaymentMethodSetup:
    return PaymentMethodSetup(
        setup_intent_id=intent.id,
        client_secret=intent.client_secret,
        hosted_url=intent.hosted_url,
        publishable_key=methods.settings.stripe_publishable_key or None,
    )


@strawberry.type
class PaymentQueries:
    @strawberry.field(
        description="The viewer's payment method on file (null when none), whether billing is "
        "on and a method required, and the key Stripe.js needs."
    )
    async def my_payment_method(self, info: strawberry.Info[Context]) -> MyPaymentMethod:
        async with info.context.session() as session:
            methods = payment_methods(info, session)
            user = await methods.viewer_user(info.context.viewer)
            return my_payment_method(methods, await methods.summary(user.id))
