"""Payment providers behind `backend.domain.billing.gateway.PaymentGateway`, and their webhooks.

Only `stripe_gateway` (Stripe through its official SDK) exists; `gateway_for(settings)` picks it
when a Stripe API key is configured, and the local gateway (invoices kept locally) otherwise.
"""

from __future__ import annotations

from backend.domain.billing.gateway import LocalGateway, PaymentGateway
from backend.settings import Settings

# One gateway (one SDK client and its connection pool) per configuration, for the process.
_gateways: dict[tuple[str, ...], PaymentGateway] = {}


def gateway_for(settings: Settings) -> PaymentGateway:
    if not settings.stripe_api_key:
        return LocalGateway()
    key = (
        settings.stripe_api_key,
        settings.stripe_api_base,
        settings.stripe_webhook_secret,
        settings.public_url,
    )
    gateway = _gateways.get(key)
    if gateway is None:
        # Imported here: a deployment without Stripe never loads the SDK.
        from backend.payments.stripe_gateway import StripeGateway

        gateway = _gateways[key] = StripeGateway(settings)
    return gateway
