"""Invoices, their lines and refunds.

Who sees what (rules in `backend.domain.access`, table in `backend.graphql.policy`):
- an invoice: its buyer, admins and demo users, and the administrators of a site where one of
  its sessions took place (`access.invoice_read`);
- who the buyer is (`buyer`, `user`, `hostedUrl`): the buyer and admins; demo users see them
  pseudonymized; site administrators do not (they see sessions, not who charged);
- lines and refunds: whoever sees the invoice (or the session, for `ChargingSession.refunds`).

Money is in integer minor units of the invoice's currency (cents); quantities, unit prices and
VAT rates are decimal strings, as priced.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import strawberry
from sqlalchemy import func, select
from strawberry.dataloader import DataLoader

from backend.db import models
from backend.db.models import BillingState, InvoiceKind, RefundKind, RefundState, SyncState
from backend.domain import access
from backend.domain.billing.gateway import PaymentState
from backend.domain.billing.invoicing import attach_sites
from backend.graphql import loaders
from backend.graphql.context import Context
from backend.graphql.types.users import User
from backend.pricing import TariffDimension

for _enum in (PaymentState, InvoiceKind, SyncState, BillingState, RefundKind, RefundState):
    strawberry.enum(_enum)


@strawberry.type(name="InvoiceBuyer")
class InvoiceBuyer:
    """The buyer as copied when the invoice was issued (later profile changes do not apply)."""

    name: str | None
    email: str | None
    address: list[str] | None = strawberry.field(
        description="The postal address, one line per item (company, street, city, country)."
    )
    # For the person rules (anonymization is keyed on the buyer).
    user_id: strawberry.Private[uuid.UUID | None]


@strawberry.type(name="InvoiceLine")
class InvoiceLine:
    id: strawberry.ID
    position: int
    description: str
    quantity: str
    unit: str = strawberry.field(description='"kWh", "h" or "session".')
    unit_price: str = strawberry.field(description="Excluding VAT, per unit.")
    amount_excl_vat_minor: int
    vat_percent: str
    vat_minor: int
    amount_incl_vat_minor: int

    @strawberry.field
    def dimension(self, root: strawberry.Parent[models.InvoiceLine]) -> TariffDimension:
        return TariffDimension(root.dimension)

    @strawberry.field(description="The charging session this line prices.")
    def session_id(self, root: strawberry.Parent[models.InvoiceLine]) -> strawberry.ID | None:
        return strawberry.ID(str(root.session_id)) if root.session_id else None


@strawberry.type(name="Refund")
class Refund:
    id: strawberry.ID
    amount_minor: int = strawberry.field(description="Incl. VAT, minor units.")
    reason: str
    kind: RefundKind = strawberry.field(
        description="REFUND: money back on the payment; CREDIT_NOTE: the invoice was not paid "
        "(or is kept locally), its amount due is reduced."
    )
    state: RefundState
    created_at: datetime
    done_at: datetime | None
    last_error: str | None = strawberry.field(
        description="Why the payment provider refused it (or failed so far)."
    )

    @strawberry.field
    def session_id(self, root: strawberry.Parent[models.Refund]) -> strawberry.ID | None:
        return strawberry.ID(str(root.session_id)) if root.session_id else None

    @strawberry.field
    def invoice_id(self, root: strawberry.Parent[models.Refund]) -> strawberry.ID:
        return strawberry.ID(str(root.invoice_id))


@strawberry.type(name="Invoice")
class Invoice:
    id: strawberry.ID
    number: str
    kind: InvoiceKind
    issued_at: datetime
    period_start: datetime | None = strawberry.field(
        description="Monthly invoices: the first instant of the month (UTC)."
    )
    period_end: datetime | None = strawberry.field(
        description="Monthly invoices: the first instant of the next month (UTC)."
    )
    currency: str
    subtotal_excl_vat_minor: int
    vat_minor: int
    total_incl_vat_minor: int
    refunded_minor: int = strawberry.field(
        description="Refunds and credit notes asked for (pending or done), incl. VAT."
    )
    payment_state: PaymentState
    paid_at: datetime | None
    sync_state: SyncState = strawberry.field(
        description="Mirroring to the payment provider: PENDING (retried), SYNCED or FAILED."
    )
    last_error: str | None = strawberry.field(description="Why the last push failed.")
    emailed_at: datetime | None

    @strawberry.field(description="Where to download the PDF (same login as the API).")
    def pdf_url(
        self, root: strawberry.Parent[models.Invoice], info: strawberry.Info[Context]
    ) -> str:
        return f"{info.context.settings.public_url.rstrip('/')}/invoices/{root.id}.pdf"

    @strawberry.field(description="The payment provider's page for this invoice, if any.")
    def hosted_url(self, root: strawberry.Parent[models.Invoice]) -> str | None:
        return root.hosted_url

    @strawberry.field
    def buyer(self, root: strawberry.Parent[models.Invoice]) -> InvoiceBuyer:
        return InvoiceBuyer(
            name=root.buyer_name,
            email=root.buyer_email,
            address=[line for line in (root.buyer_address or "").split("\n") if line],
            user_id=root.user_id,
        )

    @strawberry.field(graphql_type=User | None, description="The buyer's account, if it exists.")
    async def user(
        self, root: strawberry.Parent[models.Invoice], info: strawberry.Info[Context]
    ) -> models.User | None:
        if root.user_id is None:
            return None
        return await loaders.by_id(info.context, models.User).load(root.user_id)

    @strawberry.field(graphql_type=list[InvoiceLine])
    async def lines(
        self, root: strawberry.Parent[models.Invoice], info: strawberry.Info[Context]
    ) -> list[models.InvoiceLine]:
        found = loaders.children(
            info.context, models.InvoiceLine.invoice_id, models.InvoiceLine.position
        )
        return await found.load(root.id)  # type: ignore[no-any-return]

    @strawberry.field(graphql_type=list[Refund], description="Oldest first; failed ones too.")
    async def refunds(
        self, root: strawberry.Parent[models.Invoice], info: strawberry.Info[Context]
    ) -> list[models.Refund]:
        found = loaders.children(info.context, models.Refund.invoice_id, models.Refund.created_at)
        return await found.load(root.id)  # type: ignore[no-any-return]


# --- loaders for other types ------------------------------------------------------------------


def visible_invoices(ctx: Context) -> DataLoader[uuid.UUID, models.Invoice | None]:
    """Invoices by id, if the viewer may see them (with their sites, for the rules)."""
    viewer = ctx.viewer

    async def load(keys: Sequence[uuid.UUID]) -> list[models.Invoice | None]:
        if not viewer.authenticated:
            return [None for _ in keys]
        async with ctx.session() as session:
            rows = list(
                await session.scalars(
                    select(models.Invoice).where(
                        models.Invoice.id.in_(keys), access.visible_invoices(viewer)
                    )
                )
            )
            await attach_sites(session, rows)
        found = {row.id: row for row in rows}
        return [found.get(key) for key in keys]

    return ctx.loader("visible_invoices", lambda: DataLoader(load_fn=load))


def session_refunds(ctx: Context) -> DataLoader[uuid.UUID, list[models.Refund]]:
    return loaders.children(ctx, models.Refund.session_id, models.Refund.created_at)


def session_refunded(ctx: Context) -> DataLoader[uuid.UUID, int]:
    """What was refunded (pending or done) on each session, minor units incl. VAT."""

    async def load(keys: Sequence[uuid.UUID]) -> list[int]:
        async with ctx.session() as session:
            rows = await session.execute(
                select(models.Refund.session_id, func.sum(models.Refund.amount_minor))
                .where(
                    models.Refund.session_id.in_(keys),
                    models.Refund.state != RefundState.FAILED,
                )
                .group_by(models.Refund.session_id)
            )
            found = {key: int(total or 0) for key, total in rows}
        return [found.get(key, 0) for key in keys]

    return ctx.loader("session_refunded", lambda: DataLoader(load_fn=load))


__all__ = [
    "Invoice",
    "InvoiceBuyer",
    "InvoiceLine",
    "Refund",
    "session_refunded",
    "session_refunds",
    "visible_invoices",
]
