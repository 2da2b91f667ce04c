"""Setting up the viewer's payment method with the payment provider."""

from __future__ import annotations

import strawberry

from backend.graphql.context import Context
from backend.graphql.types.payments import (
    MyPaymentMethod,
    PaymentMethodSetup,
    my_payment_method,
    payment_methods,
    setup_of,
)


@strawberry.type
class PaymentMutations:
    @strawberry.mutation(
        description="Start collecting a payment method for the viewer: a SetupIntent (for "
        "Stripe.js or the mobile SDK) and a hosted page. The provider's customer is created or "
        "updated first. Refused on demo accounts and when no provider is configured."
    )
    async def start_payment_method_setup(
        self, info: strawberry.Info[Context]
    ) -> PaymentMethodSetup:
        async with info.context.session() as session:
            methods = payment_methods(info, session)
            user = await methods.viewer_user(info.context.viewer, for_setup=True)
            return setup_of(methods, await methods.start_setup(user))

    @strawberry.mutation(
        description="Read the viewer's default payment method back from the provider (after "
        "a setup, when the webhook has not said so yet)."
    )
    async def refresh_payment_method(self, info: strawberry.Info[Context]) -> MyPaymentMethod:
        async with info.context.session() as session:
            methods = payment_methods(info, session)
            user = await methods.viewer_user(info.context.viewer)
            await methods.refresh(user)
            return my_payment_method(methods, await methods.summary(user.id))
