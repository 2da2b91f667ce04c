"""Billing: refunding a session (admins, and the administrators of its site)."""

from __future__ import annotations

import strawberry

from backend.db import models
from backend.domain.billing.invoicing import gateway_for
from backend.domain.billing.refunds import Refunds
from backend.graphql.context import Context
from backend.graphql.ids import parse_id
from backend.graphql.types.billing import Refund


@strawberry.type
class BillingMutations:
    @strawberry.mutation(
        graphql_type=Refund,
        description="Refund part or all of an invoiced session: amountMinor incl. VAT, at most "
        "what is left refundable on it. A refund on the payment when the invoice is paid, else "
        "a credit note; sent to the payment provider at once (state DONE), or retried (PENDING).",
    )
    async def refund_session(
        self,
        info: strawberry.Info[Context],
        session_id: strawberry.ID,
        amount_minor: int,
        reason: str,
    ) -> models.Refund:
        settings = info.context.settings
        refunds = Refunds(info.context.services.sessionmaker, gateway_for(settings))
        return await refunds.refund_session(
            info.context.viewer, parse_id(session_id, "sessionId"), amount_minor, reason
        )
