"""Root queries of billing (merged into Query in backend/graphql/schema.py): the viewer's
invoices, everyone's for administrators (site administrators: those of their sites), one
invoice by id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Select, select

from backend.db import models
from backend.domain import access
from backend.domain.billing.gateway import PaymentState
from backend.domain.billing.invoicing import attach_sites
from backend.domain.errors import Forbidden
from backend.graphql.context import Context
from backend.graphql.ids import parse_id, parse_optional_id
from backend.graphql.pagination import Connection, paginate
from backend.graphql.types.billing import Invoice


@strawberry.input
class InvoiceFilter:
    user_id: strawberry.ID | None = None
    payment_state: PaymentState | None = None
    from_: datetime | None = strawberry.field(
        name="from", default=None, description="Invoices issued at or after this time."
    )
    to: datetime | None = strawberry.field(
        default=None, description="Invoices issued before this time."
    )
    site_id: strawberry.ID | None = strawberry.field(
        default=None, description="Invoices with a session at this site."
    )


def _newest_first(stmt: Select[Any]) -> Select[Any]:
    return stmt.order_by(models.Invoice.issued_at.desc(), models.Invoice.id.desc())


async def _page(
    info: strawberry.Info[Context],
    stmt: Select[Any],
    first: int | None,
    after: str | None,
) -> Connection[models.Invoice]:
    page: Connection[models.Invoice] = await paginate(info.context, stmt, first, after)
    async with info.context.session() as session:
        await attach_sites(session, [edge.node for edge in page.edges])
    return page


@strawberry.type
class BillingQueries:
    @strawberry.field(
        graphql_type=Connection[Invoice], description="The viewer's invoices, newest first."
    )
    async def my_invoices(
        self, info: strawberry.Info[Context], first: int | None = 20, after: str | None = None
    ) -> Connection[models.Invoice]:
        viewer = info.context.viewer
        access.require_login(viewer)
        stmt = select(models.Invoice).where(models.Invoice.user_id == viewer.user_id)
        return await _page(info, _newest_first(stmt), first, after)

    @strawberry.field(
        graphql_type=Connection[Invoice],
        description="Everyone's invoices, newest first: administrators (demo users: with the "
        "buyers pseudonymized); site administrators see those with a session at their sites.",
    )
    async def invoices(
        self,
        info: strawberry.Info[Context],
        first: int | None = 20,
        after: str | None = None,
        filter: InvoiceFilter | None = None,
    ) -> Connection[models.Invoice]:
        viewer = info.context.viewer
        access.require_login(viewer)
        if access.invoice_reader(viewer, None) is not access.ALLOW:
            raise Forbidden("Only administrators list invoices.")
        inv = models.Invoice
        stmt = select(inv).where(access.visible_invoices(viewer))
        if filter is not None:
            user_id = parse_optional_id(filter.user_id, "userId")
            if user_id is not None:
                if not viewer.reads_everything and user_id != viewer.user_id:
                    # Site administrators see invoices, not whose they are.
                    raise Forbidden("Only administrators filter invoices by person.")
                stmt = stmt.where(inv.user_id == user_id)
            if filter.payment_state is not None:
                stmt = stmt.where(inv.payment_state == filter.payment_state)
            if filter.from_ is not None:
                stmt = stmt.where(inv.issued_at >= filter.from_)
            if filter.to is not None:
                stmt = stmt.where(inv.issued_at < filter.to)
            site_id = parse_optional_id(filter.site_id, "siteId")
            if site_id is not None:
                at_site = select(models.InvoiceLine.invoice_id).where(
                    models.InvoiceLine.site_id == site_id
                )
                stmt = stmt.where(inv.id.in_(at_site))
        return await _page(info, _newest_first(stmt), first, after)

    @strawberry.field(graphql_type=Invoice | None, description="Null when not visible to you.")
    async def invoice(
        self, info: strawberry.Info[Context], id: strawberry.ID
    ) -> models.Invoice | None:
        viewer = info.context.viewer
        access.require_login(viewer)
        stmt = select(models.Invoice).where(
            models.Invoice.id == parse_id(id), access.visible_invoices(viewer)
        )
        async with info.context.session() as session:
            found = await session.scalar(stmt)
            if found is not None:
                await attach_sites(session, [found])
        return found
