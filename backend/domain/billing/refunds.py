"""Refunds: giving back all or part of what a session was invoiced.

Admins, and the administrators of the session's site, refund an invoiced session by an amount
incl. VAT (minor units), at most what is left refundable on that session's invoice lines
(their total minus the refunds already asked for, pending or done). The provider makes it a
refund on the payment when the invoice is paid, else a credit note (`gateway.refund`).

Never more than the total, even with concurrent refunds: the first statement of a refund is a
conditional UPDATE of its invoice (`refunded_minor + amount <= total`), which also locks the
invoice row until the commit (PostgreSQL; SQLite has one writer at a time), so the session's
remaining amount is read after any concurrent refund of the same invoice committed.

The refund is reserved (`Refund` row, `refunded_minor`) before the provider is called; the call
is idempotent on the refund's id, so a retry after a timeout never refunds twice. A retryable
failure is retried by the billing worker; a refusal marks it failed and gives the reservation
back.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import (
    BillingState,
    ChargingSession,
    Invoice,
    InvoiceLine,
    Refund,
    RefundKind,
    RefundState,
    SyncState,
)
from backend.domain import access, audit
from backend.domain.billing.gateway import GatewayError, PaymentGateway, PaymentState
from backend.domain.billing.invoicing import BATCH, LEASE, MAX_ATTEMPTS, backoff
from backend.domain.charging import history
from backend.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.domain.viewer import Viewer

log = logging.getLogger("vev_iq.billing")

MAX_REASON = 500
# An invoice not mirrored to the provider yet: its refunds wait that long between looks.
WAIT_FOR_INVOICE = timedelta(minutes=1)


async def refundable_minor(db: AsyncSession, session_id: uuid.UUID) -> int:
    """What is left to refund on a session: its invoice lines minus its refunds (not failed)."""
    lines = await db.scalar(
        select(func.coalesce(func.sum(InvoiceLine.amount_incl_vat_minor), 0)).where(
            InvoiceLine.session_id == session_id
        )
    )
    refunded = await refunded_minor(db, session_id)
    return int(lines or 0) - refunded


async def refunded_minor(db: AsyncSession, session_id: uuid.UUID) -> int:
    total = await db.scalar(
        select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
            Refund.session_id == session_id, Refund.state != RefundState.FAILED
        )
    )
    return int(total or 0)


class Refunds:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], gateway: PaymentGateway
    ) -> None:
        self.sessionmaker = sessionmaker
        self.gateway = gateway

    async def refund_session(
        self, viewer: Viewer, session_id: uuid.UUID, amount_minor: int, reason: str
    ) -> Refund:
        """Refund `amount_minor` (incl. VAT) of an invoiced session; tried with the provider at
        once (the billing worker retries what fails for now)."""
        access.require_login(viewer)
        reason = " ".join(reason.split())
        async with self.sessionmaker() as db:
            charging = await db.scalar(
                history.session_select().where(ChargingSession.id == session_id)
            )
            if charging is None or access.session_read(viewer, charging) is access.DENY:
                raise NotFound("No such charging session.", field="sessionId")
            if not (viewer.is_admin or viewer.manages(charging.site_id)):
                raise Forbidden("Only administrators and the site's administrators may refund.")
            if not reason:
                raise InvalidInput("Say why the session is refunded.", field="reason")
            if len(reason) > MAX_REASON:
                raise InvalidInput(
                    f"The reason is limited to {MAX_REASON} characters.", field="reason"
                )
            if amount_minor <= 0:
                raise InvalidInput("The amount must be positive.", field="amountMinor")
            if charging.billing_state is not BillingState.INVOICED or charging.invoice_id is None:
                raise Conflict("This session has not been invoiced: there is nothing to refund.")
            invoice_id = charging.invoice_id
            # End the reads: the reservation must be this transaction's first statement.
            await db.rollback()

            reserved = await db.execute(
                update(Invoice)
                .where(
                    Invoice.id == invoice_id,
                    Invoice.refunded_minor + amount_minor <= Invoice.total_incl_vat_minor,
                )
                .values(refunded_minor=Invoice.refunded_minor + amount_minor)
                .execution_options(synchronize_session=False)
            )
            left = None
            if reserved.rowcount == 1:  # type: ignore[attr-defined]
                left = await refundable_minor(db, session_id)
            if left is None or amount_minor > left:
                await db.rollback()
                left = max(0, await refundable_minor(db, session_id))
                raise InvalidInput(
                    f"At most {left} (minor units, incl. VAT) can still be refunded on this "
                    "session.",
                    field="amountMinor",
                    refundable=left,
                )
            invoice = await db.get(Invoice, invoice_id)
            assert invoice is not None
            paid = invoice.payment_state is PaymentState.PAID
            refund = Refund(
                invoice_id=invoice_id,
                session_id=session_id,
                amount_minor=amount_minor,
                reason=reason,
                kind=RefundKind.REFUND if paid else RefundKind.CREDIT_NOTE,
                state=RefundState.PENDING,
                created_by_user_id=viewer.user_id,
                next_attempt_at=utcnow(),
            )
            db.add(refund)
            await db.flush()
            audit.record(
                db,
                viewer.user_id,
                "billing.refund",
                await db.get(ChargingSession, session_id),
                refund_id=str(refund.id),
                invoice=invoice.number,
                amount_minor=amount_minor,
            )
            await db.commit()
            refund_id = refund.id
        await self.send(refund_id)
        async with self.sessionmaker() as db:
            found = await db.get(Refund, refund_id)
            assert found is not None
            return found

    # --- with the provider ----------------------------------------------------------------------

    async def send_due(self, now: datetime | None = None) -> int:
        """Send the refunds whose time has come (new, or retried). How many were tried."""
        now = now or utcnow()
        async with self.sessionmaker() as db:
            ids = list(
                await db.scalars(
                    select(Refund.id)
                    .where(
                        Refund.state == RefundState.PENDING,
                        Refund.next_attempt_at <= now,
                        or_(Refund.claimed_until.is_(None), Refund.claimed_until < now),
                    )
                    .order_by(Refund.next_attempt_at)
                    .limit(BATCH)
                )
            )
        tried = 0
        for refund_id in ids:
            if await self.send(refund_id, now=now):
                tried += 1
        return tried

    async def _update(self, refund_id: uuid.UUID, lease: datetime, **values: object) -> bool:
        async with self.sessionmaker() as db:
            result = await db.execute(
                update(Refund)
                .where(Refund.id == refund_id, Refund.claimed_until == lease)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await db.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def send(self, refund_id: uuid.UUID, *, now: datetime | None = None) -> bool:
        """Send one pending refund to the provider, under its lease. False when it was not due
        or someone else holds it."""
        now = now or utcnow()
        lease = utcnow() + LEASE
        async with self.sessionmaker() as db:
            taken = await db.execute(
                update(Refund)
                .where(
                    Refund.id == refund_id,
                    Refund.state == RefundState.PENDING,
                    Refund.next_attempt_at <= now,
                    or_(Refund.claimed_until.is_(None), Refund.claimed_until < now),
                )
                .values(claimed_until=lease)
                .execution_options(synchronize_session=False)
            )
            await db.commit()
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return False
            refund = await db.get(Refund, refund_id)
            invoice = await db.get(Invoice, refund.invoice_id) if refund else None
        try:
            if refund is None or invoice is None:
                return False
            if invoice.sync_state is SyncState.PENDING or invoice.external_id is None:
                if invoice.sync_state is not SyncState.FAILED:
                    # Not at the provider yet: wait for the push.
                    await self._update(
                        refund_id,
                        lease,
                        next_attempt_at=utcnow() + WAIT_FOR_INVOICE,
                    )
                    return True
                # Never reached the provider (refused for good): nothing was charged, the
                # invoice is credited here.
                await self._update(
                    refund_id,
                    lease,
                    state=RefundState.DONE,
                    kind=RefundKind.CREDIT_NOTE,
                    done_at=utcnow(),
                    next_attempt_at=None,
                )
                return True
            attempts = refund.attempts + 1
            try:
                result = await self.gateway.refund(
                    invoice.external_id, refund.id, refund.amount_minor, refund.reason
                )
            except Exception as exc:
                retryable = not isinstance(exc, GatewayError) or exc.retryable
                if not isinstance(exc, GatewayError):
                    log.exception("refund %s: sending failed", refund_id)
                message = (str(exc) or type(exc).__name__)[:500]
                if retryable and attempts < MAX_ATTEMPTS:
                    await self._update(
                        refund_id,
                        lease,
                        attempts=attempts,
                        last_error=message,
                        next_attempt_at=utcnow() + backoff(attempts),
                    )
                else:
                    await self._give_back(refund, lease, attempts, message)
                return True
            kind = RefundKind.REFUND if result.kind == "refund" else RefundKind.CREDIT_NOTE
            await self._update(
                refund_id,
                lease,
                attempts=attempts,
                state=RefundState.DONE,
                kind=kind,
                external_id=result.external_id,
                last_error=None,
                done_at=utcnow(),
                next_attempt_at=None,
            )
            return True
        finally:
            await self._update(refund_id, lease, claimed_until=None)

    async def _give_back(self, refund: Refund, lease: datetime, attempts: int, error: str) -> None:
        """Refused for good: the refund failed, and its amount is refundable again."""
        async with self.sessionmaker() as db:
            failed = await db.execute(
                update(Refund)
                .where(
                    Refund.id == refund.id,
                    Refund.claimed_until == lease,
                    Refund.state == RefundState.PENDING,
                )
                .values(
                    state=RefundState.FAILED,
                    attempts=attempts,
                    last_error=error,
                    next_attempt_at=None,
                )
                .execution_options(synchronize_session=False)
            )
            if failed.rowcount == 1:  # type: ignore[attr-defined]
                await db.execute(
                    update(Invoice)
                    .where(Invoice.id == refund.invoice_id)
                    .values(refunded_minor=Invoice.refunded_minor - refund.amount_minor)
                    .execution_options(synchronize_session=False)
                )
            await db.commit()
        log.warning("refund %s failed: %s", refund.id, error)


__all__ = ["Refunds", "refundable_minor", "refunded_minor"]
