"""POST /webhooks/stripe: Stripe's events, verified by their signature, then applied.

Answers as Stripe expects: 400 for a payload that is not a valid signed event (Stripe stops
there), 200 once applied or when it was applied before (a duplicate delivery), 503 when it
could not be applied now (the database or Stripe is unreachable): Stripe delivers it again
later, with backoff, for days. No cookie and no session are involved: the signature, made with
the endpoint's secret, is the only authentication.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backend.domain.billing.gateway import InvalidWebhook
from backend.domain.billing.payment_methods import PaymentMethods, RetryLater
from backend.graphql.context import Services
from backend.payments import gateway_for

log = logging.getLogger("vev_iq.payments.webhooks")

# Stripe's events are a few kilobytes; anything much larger is not one.
MAX_PAYLOAD_BYTES = 1024 * 1024


def stripe_webhook_endpoint(services: Services) -> Callable[[Request], Awaitable[Response]]:
    settings = services.settings

    async def endpoint(request: Request) -> Response:
        gateway = gateway_for(settings)
        if gateway.name != "stripe":
            return JSONResponse({"error": "Stripe is not configured."}, status_code=404)
        if int(request.headers.get("content-length") or 0) > MAX_PAYLOAD_BYTES:
            return JSONResponse({"error": "Payload too large."}, status_code=413)
        payload = await request.body()
        if len(payload) > MAX_PAYLOAD_BYTES:
            return JSONResponse({"error": "Payload too large."}, status_code=413)
        try:
            event = gateway.parse_webhook(payload, request.headers.get("stripe-signature"))
        except InvalidWebhook as error:
            log.warning("Stripe webhook refused: %s", error)
            return JSONResponse({"error": str(error)}, status_code=400)
        try:
            async with services.sessionmaker() as session:
                handled = await PaymentMethods(session, settings, gateway).handle_webhook_event(
                    event
                )
        except RetryLater as reason:
            log.warning("Stripe webhook %s (%s) applied later: %s", event.id, event.type, reason)
            return JSONResponse({"error": "Not applied yet; deliver again."}, status_code=503)
        except Exception:  # whatever failed, Stripe must deliver the event again later
            log.exception("Stripe webhook %s (%s) could not be applied", event.id, event.type)
            return JSONResponse({"error": "Not applied; deliver again later."}, status_code=503)
        if not handled:
            log.info("Stripe webhook %s (%s): already handled", event.id, event.type)
        return JSONResponse({"received": True, "duplicate": not handled})

    return endpoint
