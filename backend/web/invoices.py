"""`GET /invoices/{id}.pdf`: an invoice as a PDF download.

Authentication is the session cookie or `Authorization: Bearer <token>`, like GraphQL and the
sessions CSV. Who may download it: its buyer, administrators (and demo users, who see the buyer
pseudonymized), and the administrators of a site where one of its sessions took place (without
the buyer: site managers see sessions, not who charged). Anyone else gets a 404, as if it did
not exist.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backend.db.models import Invoice
from backend.domain import access
from backend.domain.anonymize import anonymized_value
from backend.domain.billing import invoice_pdf
from backend.domain.billing.invoicing import attach_sites
from backend.domain.viewer import Viewer
from backend.graphql.context import Services


def buyer_for(viewer: Viewer, invoice: Invoice, secret: str) -> invoice_pdf.Party | None:
    """The buyer as this viewer may see them (the person rules of `backend.domain.access`)."""
    decision = access.person_personal(viewer, invoice)
    if decision is access.ALLOW:
        return invoice_pdf.buyer_of(invoice)
    if decision is access.ANONYMIZE and invoice.user_id is not None:
        first = anonymized_value(secret, "firstName", invoice.user_id)
        last = anonymized_value(secret, "lastName", invoice.user_id)
        return invoice_pdf.Party(
            name=f"{first} {last}", email=anonymized_value(secret, "email", invoice.user_id)
        )
    return None


def invoice_pdf_endpoint(
    services: Services, viewer_of: Callable[[Request], Awaitable[Viewer]]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        viewer = await viewer_of(request)
        if not viewer.authenticated:
            return JSONResponse({"error": "Log in first."}, status_code=401)
        try:
            invoice_id = uuid.UUID(request.path_params["invoice_id"])
        except ValueError:
            return JSONResponse({"error": "No such invoice."}, status_code=404)
        async with services.sessionmaker() as session:
            invoice = await session.scalar(
                select(Invoice).where(Invoice.id == invoice_id, access.visible_invoices(viewer))
            )
            if invoice is not None:
                await attach_sites(session, [invoice])
            if invoice is None or access.invoice_read(viewer, invoice) is not access.ALLOW:
                return JSONResponse({"error": "No such invoice."}, status_code=404)
            doc = await invoice_pdf.document(
                session,
                invoice,
                services.settings,
                buyer_for(viewer, invoice, services.secret_key),
            )
        # Laying out pages is CPU work: off the event loop.
        pdf = await asyncio.to_thread(invoice_pdf.render, doc)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "content-disposition": f'attachment; filename="{invoice_pdf.filename(invoice)}"',
                "cache-control": "private, no-store",
            },
        )

    return endpoint
