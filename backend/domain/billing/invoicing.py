"""Invoices: issued for billable sessions, numbered, mirrored to the payment provider, emailed.

The billing worker (`worker.BillingWorker`) drives an `Invoicing` in every server process;
everything here is safe with many processes at once:

1. **Settling** (`settle_due`): finished sessions not decided yet (no tariff, connector never
   Available again after `billing_settle_after_h`...) become `pending` or `not_billable`
   (`settling`). Most are decided earlier, on the OCPP path, when their cost becomes final.
2. **Issuing** (`issue_due`): `per_session` mode, one invoice per pending session; `monthly`,
   one per user, currency and calendar month (UTC) of the stops, once that month is over and
   its sessions had `billing_settle_after_h` to settle (a session settled later still gets its
   own invoice for that month). A process first claims the sessions with one conditional
   UPDATE (pending → invoiced), so two processes never invoice the same session; then, in the
   same transaction, takes the next number of the year (`next_number`: a conditional UPDATE
   ... RETURNING on `invoice_counters`, which holds the row's lock until the commit: numbers
   are consecutive, without gaps or duplicates, on PostgreSQL and SQLite), copies the buyer
   and one line per priced component of each session.
3. **Pushing** (`process_due`): `sync_customer` then `submit_invoice` through the gateway,
   under a lease (`claimed_until`, taken by a conditional UPDATE) so that two processes never
   push the same invoice. A retryable `GatewayError` (or any unexpected failure) is retried
   with exponential backoff (`next_attempt_at`); a non-retryable one, or too many attempts,
   marks it `failed` with `last_error`. Then its PDF is emailed to the buyer, once.
4. **The provider's word** (`apply_payment_event`): a webhook moves `payment_state` forward
   only (PAID never goes back to OPEN), whatever order the events arrive in.

Amounts are integer minor units of the invoice's currency; the invoice's totals are the sums of
its lines, which are the sessions' cost lines.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import (
    BillingAccount,
    BillingNote,
    BillingState,
    ChargingSession,
    ChargingStation,
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    Language,
    SessionStatus,
    Site,
    SyncState,
    User,
)
from backend.db.upsert import insert_if_missing
from backend.domain.billing import invoice_pdf
from backend.domain.billing.costs import to_minor
from backend.domain.billing.gateway import (
    Customer,
    GatewayError,
    GatewayInvoice,
    GatewayInvoiceLine,
    PaymentGateway,
    PaymentState,
    WebhookEvent,
)
from backend.domain.billing.settling import BillingRules, decide
from backend.domain.mail_templates import render as render_mail
from backend.domain.mailer import Attachment, Mailer
from backend.settings import Settings

log = logging.getLogger("vev_iq.billing")

# How long a process may work on one invoice (or refund) before another may take it over.
LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 12
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)
EMAIL_RETRY = timedelta(minutes=5)
BATCH = 100

# Payment states only move forward: an event or answer of a lower rank is stale.
_RANK = {
    PaymentState.LOCAL: 0,
    PaymentState.OPEN: 1,
    PaymentState.FAILED: 2,
    PaymentState.PAID: 3,
    PaymentState.VOID: 3,
}


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 30 s, 1 min, 2 min... at most 6 h."""
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), MAX_RETRY)


def _stale_states(new: PaymentState) -> list[PaymentState]:
    return [state for state, rank in _RANK.items() if rank < _RANK[new]]


def _error(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:500]


# --- the gateway ----------------------------------------------------------------------------------


def gateway_for(settings: Settings) -> PaymentGateway:
    """Stripe when its API key is set (`backend.payments`), else the local gateway."""
    from backend.payments import gateway_for as provider_gateway

    return provider_gateway(settings)


def billing_provider(settings: Settings) -> str | None:
    """The payment provider billing charges through, or None (invoices kept locally)."""
    return "stripe" if settings.stripe_api_key else None


# --- numbers ----------------------------------------------------------------------------------


async def next_number(db: AsyncSession, year: int, prefix: str) -> str:
    """The next invoice number of `year` (`VEV-2026-000042`), in the caller's transaction.

    The UPDATE ... RETURNING holds the counter row's lock until the caller commits (PostgreSQL;
    SQLite has one writer at a time): concurrent issuers wait for each other, and a rollback
    gives the number back, so numbers stay consecutive."""
    await insert_if_missing(db, InvoiceCounter, "year", year=year, last=0)
    last = (
        await db.execute(
            update(InvoiceCounter)
            .where(InvoiceCounter.year == year)
            .values(last=InvoiceCounter.last + 1)
            .returning(InvoiceCounter.last)
        )
    ).scalar_one()
    return f"{prefix}-{year}-{last:06d}"


# --- months -----------------------------------------------------------------------------------


def month_start(moment: datetime) -> datetime:
    at = moment.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


# --- the buyer and the lines --------------------------------------------------------------------


def buyer_address(user: User) -> str | None:
    city = " ".join(p for p in (user.address_postal_code, user.address_city) if p)
    parts = [
        user.company,
        user.address_street,
        city,
        user.address_region,
        user.address_country,
    ]
    text = "\n".join(p.strip() for p in parts if p and p.strip())
    return text[:600] or None


@dataclass(frozen=True)
class _Priced:
    charging: ChargingSession
    station: str
    site_id: uuid.UUID | None
    time_zone: str


def build_lines(
    invoice_id: uuid.UUID, sessions: Sequence[_Priced], language: str
) -> list[InvoiceLine]:
    """One line per priced component of each session (oldest session first), in minor units."""
    lines: list[InvoiceLine] = []
    for priced in sorted(sessions, key=lambda p: (p.charging.started_at, p.charging.id)):
        charging = priced.charging
        currency = charging.cost_currency or "EUR"
        day = invoice_pdf.format_date(charging.started_at, language, priced.time_zone)
        for item in charging.cost_lines or []:
            dimension = str(item["dimension"])
            unit = str(item.get("unit") or "")
            lines.append(
                InvoiceLine(
                    id=uuid.uuid4(),
                    invoice_id=invoice_id,
                    session_id=charging.id,
                    site_id=priced.site_id,
                    position=len(lines) + 1,
                    dimension=dimension,
                    description=invoice_pdf.line_description(
                        dimension,
                        str(item["quantity"]),
                        invoice_pdf.unit_label(unit, language),
                        priced.station,
                        day,
                        language,
                    ),
                    quantity=str(item["quantity"]),
                    unit=unit,
                    unit_price=str(item["unit_price"]),
                    amount_excl_vat_minor=to_minor(Decimal(item["amount_excl_vat"]), currency),
                    vat_percent=str(item["vat_percent"]),
                    vat_minor=to_minor(Decimal(item["vat"]), currency),
                    amount_incl_vat_minor=to_minor(Decimal(item["amount_incl_vat"]), currency),
                )
            )
    return lines


# --- what the provider tells us ---------------------------------------------------------------


async def apply_payment_event(db: AsyncSession, event: WebhookEvent) -> Invoice | None:
    """Apply a verified webhook event to the invoice whose `external_id` it names.

    Idempotent and safe out of order: the payment state only moves forward (LOCAL < OPEN <
    FAILED < PAID/VOID; a failed payment may still be paid, a paid one never becomes open
    again), in one conditional UPDATE. `paid_at` is set when it becomes PAID. Returns the
    invoice, or None when no invoice has that external id (yet: the provider may call before
    our push stored it; answer so that it retries). Flushed, not committed: the caller commits
    (with its record of the event, for de-duplication)."""
    if not event.invoice_external_id:
        return None
    invoice = await db.scalar(
        select(Invoice).where(Invoice.external_id == event.invoice_external_id)
    )
    if invoice is None:
        return None
    if event.state is not None:
        values: dict[str, Any] = {"payment_state": event.state}
        if event.state is PaymentState.PAID:
            values["paid_at"] = invoice.paid_at or utcnow()
        await db.execute(
            update(Invoice)
            .where(Invoice.id == invoice.id, Invoice.payment_state.in_(_stale_states(event.state)))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await db.flush()
        await db.refresh(invoice)
    return invoice


# --- for the API ------------------------------------------------------------------------------


async def attach_sites(db: AsyncSession, invoices: Sequence[Invoice]) -> None:
    """Fill in each invoice's `site_ids` (the sites of its lines), read by `access.invoice_read`."""
    if not invoices:
        return
    found: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    rows = await db.execute(
        select(InvoiceLine.invoice_id, InvoiceLine.site_id)
        .where(InvoiceLine.invoice_id.in_({i.id for i in invoices}))
        .distinct()
    )
    for invoice_id, site_id in rows:
        if site_id is not None:
            found[invoice_id].add(site_id)
    for invoice in invoices:
        invoice.site_ids = frozenset(found.get(invoice.id, ()))  # type: ignore[attr-defined]


# --- the work -----------------------------------------------------------------------------------


@dataclass
class RunReport:
    settled: int = 0
    issued: list[uuid.UUID] = field(default_factory=list)
    processed: int = 0
    refunds: int = 0

    @property
    def busy(self) -> bool:
        """A batch was full: there may be more to do right away."""
        return max(self.settled, len(self.issued), self.processed, self.refunds) >= BATCH


class Invoicing:
    """Billing's work for one server process (see the module's description)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        mailer: Mailer,
        gateway: PaymentGateway,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.mailer = mailer
        self.gateway = gateway
        self.rules = BillingRules.of(settings)

    # --- 1. settling ------------------------------------------------------------------------

    async def settle_due(self, now: datetime | None = None) -> int:
        """Decide on finished sessions still undecided: connector Available (settled here if
        not on the OCPP path), no tariff (nothing to wait for), or stopped more than
        `billing_settle_after_h` ago."""
        now = now or utcnow()
        cutoff = now - timedelta(hours=self.settings.billing_settle_after_h)
        cs = ChargingSession
        async with self.sessionmaker() as db:
            rows = list(
                await db.scalars(
                    select(cs)
                    .where(
                        cs.billing_state == BillingState.UNBILLED,
                        cs.status == SessionStatus.COMPLETED,
                        or_(
                            cs.available_at.is_not(None),
                            cs.cost_currency.is_(None),
                            cs.stopped_at < cutoff,
                        ),
                    )
                    .order_by(cs.stopped_at)
                    .limit(BATCH)
                )
            )
            decisions = [(charging.id, *decide(charging, self.rules)) for charging in rows]
            await db.rollback()
            settled = 0
            for session_id, state, note in decisions:
                # Conditional: a session changed meanwhile (e.g. settled on the OCPP path) is
                # left to whoever changed it.
                result = await db.execute(
                    update(cs)
                    .where(cs.id == session_id, cs.billing_state == BillingState.UNBILLED)
                    .values(billing_state=state, billing_note=note)
                    .execution_options(synchronize_session=False)
                )
                settled += result.rowcount  # type: ignore[attr-defined]
            await db.commit()
        return settled

    # --- 2. issuing -------------------------------------------------------------------------

    async def issue_due(self, now: datetime | None = None) -> list[uuid.UUID]:
        """Issue the invoices that are due; their ids."""
        now = now or utcnow()
        cs = ChargingSession
        pending = cs.billing_state == BillingState.PENDING
        issued: list[uuid.UUID] = []
        async with self.sessionmaker() as db:
            if self.settings.billing_mode == "monthly":
                # A month is closed once over and its sessions had time to settle.
                closed = month_start(now - timedelta(hours=self.settings.billing_settle_after_h))
                rows = (
                    await db.execute(
                        select(cs.id, cs.user_id, cs.cost_currency, cs.stopped_at)
                        .where(pending, cs.stopped_at < closed)
                        .order_by(cs.stopped_at)
                        .limit(BATCH * 20)
                    )
                ).all()
            else:
                rows = (
                    await db.execute(
                        select(cs.id, cs.user_id, cs.cost_currency, cs.stopped_at)
                        .where(pending)
                        .order_by(cs.stopped_at)
                        .limit(BATCH)
                    )
                ).all()
        if self.settings.billing_mode == "monthly":
            groups: dict[tuple[Any, ...], None] = {}
            for _, user_id, currency, stopped_at in rows:
                if stopped_at is not None:
                    groups.setdefault((user_id, currency, month_start(stopped_at)), None)
            for user_id, currency, start in list(groups)[:BATCH]:
                period = (start, next_month(start))
                async with self.sessionmaker() as db:
                    # Every pending session of that month, not only those of the batch above.
                    ids = list(
                        await db.scalars(
                            select(cs.id).where(
                                pending,
                                cs.user_id == user_id if user_id else cs.user_id.is_(None),
                                cs.cost_currency == currency
                                if currency
                                else cs.cost_currency.is_(None),
                                cs.stopped_at >= period[0],
                                cs.stopped_at < period[1],
                            )
                        )
                    )
                if not ids:
                    continue
                invoice_id = await self.issue(ids, InvoiceKind.MONTHLY, period, now=now)
                if invoice_id is not None:
                    issued.append(invoice_id)
        else:
            for session_id, *_ in rows:
                invoice_id = await self.issue([session_id], InvoiceKind.SESSION, None, now=now)
                if invoice_id is not None:
                    issued.append(invoice_id)
        return issued

    async def issue(
        self,
        session_ids: Sequence[uuid.UUID],
        kind: InvoiceKind,
        period: tuple[datetime, datetime] | None,
        *,
        now: datetime | None = None,
    ) -> uuid.UUID | None:
        """Issue one invoice for these pending sessions (one user, one currency). None when
        another process took one of them first, or when there is nobody to bill."""
        cs = ChargingSession
        ids = list(dict.fromkeys(session_ids))
        async with self.sessionmaker() as db:
            # The claim first: the write that makes this transaction the only one for them.
            claimed = await db.execute(
                update(cs)
                .where(cs.id.in_(ids), cs.billing_state == BillingState.PENDING)
                .values(billing_state=BillingState.INVOICED)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != len(ids):  # type: ignore[attr-defined]
                await db.rollback()
                return None
            rows = (
                await db.execute(
                    select(cs, ChargingStation.ocpp_identity, ChargingStation.site_id, Site)
                    .join(ChargingStation, ChargingStation.id == cs.station_id)
                    .outerjoin(Site, Site.id == ChargingStation.site_id)
                    .where(cs.id.in_(ids))
                )
            ).all()
            priced = [
                _Priced(charging, identity, site_id, site.timezone if site else "UTC")
                for charging, identity, site_id, site in rows
            ]
            users = {p.charging.user_id for p in priced}
            currencies = {p.charging.cost_currency for p in priced}
            user = None
            if len(users) == 1 and None not in users:
                user = await db.get(User, next(iter(users)))
            if user is None or len(currencies) != 1:
                # The buyer's account was erased since (or a caller mixed people): not billed.
                await db.execute(
                    update(cs)
                    .where(cs.id.in_(ids))
                    .values(
                        billing_state=BillingState.NOT_BILLABLE,
                        billing_note=BillingNote.NO_USER.value,
                    )
                    .execution_options(synchronize_session=False)
                )
                await db.commit()
                return None
            currency = str(next(iter(currencies)))
            issued_at = utcnow()
            language = invoice_pdf.language_of(user.language.value)
            invoice_id = uuid.uuid4()
            lines = build_lines(invoice_id, priced, language)
            invoice = Invoice(
                id=invoice_id,
                number=await next_number(db, issued_at.year, self.settings.invoice_number_prefix),
                user_id=user.id,
                kind=kind,
                period_start=period[0] if period else None,
                period_end=period[1] if period else None,
                currency=currency,
                subtotal_excl_vat_minor=sum(line.amount_excl_vat_minor for line in lines),
                vat_minor=sum(line.vat_minor for line in lines),
                total_incl_vat_minor=sum(line.amount_incl_vat_minor for line in lines),
                refunded_minor=0,
                payment_state=PaymentState.LOCAL,
                provider=self.gateway.name,
                sync_state=SyncState.PENDING,
                sync_attempts=0,
                next_attempt_at=issued_at,
                issued_at=issued_at,
                buyer_name=user.full_name[:200],
                buyer_email=user.email,
                buyer_address=buyer_address(user),
                buyer_language=language,
            )
            expected = sum(p.charging.cost_incl_vat_minor or 0 for p in priced)
            if expected != invoice.total_incl_vat_minor:
                log.warning(
                    "invoice %s: lines add up to %s, the sessions' costs to %s",
                    invoice.number,
                    invoice.total_incl_vat_minor,
                    expected,
                )
            db.add(invoice)
            await db.flush()
            db.add_all(lines)
            await db.flush()
            await db.execute(
                update(cs)
                .where(cs.id.in_(ids))
                .values(invoice_id=invoice_id)
                .execution_options(synchronize_session=False)
            )
            await db.commit()
            log.info("issued invoice %s (%d sessions)", invoice.number, len(ids))
            return invoice_id

    # --- 3. pushing and emailing ---------------------------------------------------------------

    async def process_due(self, now: datetime | None = None) -> int:
        """Work on the invoices whose time has come (push, retry, email). How many were done."""
        now = now or utcnow()
        async with self.sessionmaker() as db:
            ids = list(
                await db.scalars(
                    select(Invoice.id)
                    .where(
                        Invoice.next_attempt_at <= now,
                        or_(Invoice.claimed_until.is_(None), Invoice.claimed_until < now),
                    )
                    .order_by(Invoice.next_attempt_at)
                    .limit(BATCH)
                )
            )
        done = 0
        for invoice_id in ids:
            if await self.process(invoice_id, now=now):
                done += 1
        return done

    async def _claim(self, invoice_id: uuid.UUID, now: datetime) -> datetime | None:
        until = utcnow() + LEASE
        async with self.sessionmaker() as db:
            taken = await db.execute(
                update(Invoice)
                .where(
                    Invoice.id == invoice_id,
                    Invoice.next_attempt_at <= now,
                    or_(Invoice.claimed_until.is_(None), Invoice.claimed_until < now),
                )
                .values(claimed_until=until)
                .execution_options(synchronize_session=False)
            )
            await db.commit()
        return until if taken.rowcount == 1 else None  # type: ignore[attr-defined]

    async def _update(self, invoice_id: uuid.UUID, lease: datetime, **values: Any) -> bool:
        """Write while holding the lease; False when it was lost (expired and taken)."""
        async with self.sessionmaker() as db:
            result = await db.execute(
                update(Invoice)
                .where(Invoice.id == invoice_id, Invoice.claimed_until == lease)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await db.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def process(self, invoice_id: uuid.UUID, *, now: datetime | None = None) -> bool:
        """Push (and email) one invoice under its lease. False when someone else holds it or
        it had nothing due. No database connection is held while the provider is called."""
        now = now or utcnow()
        lease = await self._claim(invoice_id, now)
        if lease is None:
            return False
        try:
            invoice = await self._load(invoice_id)
            if invoice is None:
                return False
            if invoice.sync_state is SyncState.PENDING:
                if not await self._push(invoice, lease):
                    return True
                invoice = await self._load(invoice_id)
                if invoice is None:
                    return True
            if invoice.sync_state is SyncState.SYNCED:
                await self._email(invoice, lease)
            else:
                await self._update(invoice_id, lease, next_attempt_at=None)
            return True
        finally:
            await self._update(invoice_id, lease, claimed_until=None)

    async def _load(self, invoice_id: uuid.UUID) -> Invoice | None:
        async with self.sessionmaker() as db:
            return await db.get(Invoice, invoice_id)

    async def _push(self, invoice: Invoice, lease: datetime) -> bool:
        """Mirror the invoice to the provider. True once synced."""
        attempts = invoice.sync_attempts + 1
        try:
            customer_id = await self._customer(invoice)
            async with self.sessionmaker() as db:
                lines = list(
                    await db.scalars(
                        select(InvoiceLine)
                        .where(InvoiceLine.invoice_id == invoice.id)
                        .order_by(InvoiceLine.position)
                    )
                )
            title = invoice_pdf.text(invoice.buyer_language, "invoice")
            result = await self.gateway.submit_invoice(
                GatewayInvoice(
                    local_id=invoice.id,
                    number=invoice.number,
                    customer_id=customer_id,
                    currency=invoice.currency,
                    lines=[
                        GatewayInvoiceLine(
                            description=line.description,
                            amount_excl_vat_minor=line.amount_excl_vat_minor,
                            vat_percent=Decimal(line.vat_percent),
                            vat_minor=line.vat_minor,
                        )
                        for line in lines
                    ],
                    total_incl_vat_minor=invoice.total_incl_vat_minor,
                    description=f"{title} {invoice.number}",
                    metadata={
                        "invoice_id": str(invoice.id),
                        "invoice_number": invoice.number,
                        "user_id": str(invoice.user_id),
                    },
                )
            )
        except GatewayError as exc:
            retry = exc.retryable and attempts < MAX_ATTEMPTS
            log.warning("invoice %s: the gateway failed (%s)", invoice.number, exc)
            await self._failed(invoice, lease, attempts, _error(exc), retry=retry)
            return False
        except Exception as exc:  # a bug or an unwrapped network error: retried, and logged
            log.exception("invoice %s: pushing failed", invoice.number)
            await self._failed(invoice, lease, attempts, _error(exc), retry=attempts < MAX_ATTEMPTS)
            return False
        now = utcnow()
        if not await self._update(
            invoice.id,
            lease,
            sync_state=SyncState.SYNCED,
            sync_attempts=attempts,
            provider=self.gateway.name,
            external_id=result.external_id,
            hosted_url=result.hosted_url,
            last_error=None,
        ):
            return False  # the lease was lost: its new holder pushes again (idempotent)
        # Forward only: a webhook may have told us more already.
        values: dict[str, Any] = {"payment_state": result.state}
        if result.state is PaymentState.PAID:
            values["paid_at"] = now
        async with self.sessionmaker() as db:
            await db.execute(
                update(Invoice)
                .where(
                    Invoice.id == invoice.id,
                    Invoice.payment_state.in_(_stale_states(result.state)),
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await db.commit()
        return True

    async def _failed(
        self, invoice: Invoice, lease: datetime, attempts: int, error: str, *, retry: bool
    ) -> None:
        if retry:
            await self._update(
                invoice.id,
                lease,
                sync_attempts=attempts,
                last_error=error,
                next_attempt_at=utcnow() + backoff(attempts),
            )
        else:
            await self._update(
                invoice.id,
                lease,
                sync_attempts=attempts,
                last_error=error,
                sync_state=SyncState.FAILED,
                next_attempt_at=None,
            )

    async def _customer(self, invoice: Invoice) -> str:
        """The buyer's customer id at the provider, created or updated when their name, email
        or language changed since the last sync."""
        async with self.sessionmaker() as db:
            user = await db.get(User, invoice.user_id) if invoice.user_id else None
            account = await db.get(BillingAccount, user.id) if user is not None else None
        if user is None:
            raise GatewayError("The buyer's account no longer exists.", retryable=False)
        customer = Customer(
            user_id=user.id,
            email=user.email,
            name=user.full_name,
            language=user.language.value,
        )
        # The same digest as `payment_methods.customer_hash`: either side may have synced.
        digest = hashlib.sha256(
            "\x1f".join(
                (self.gateway.name, customer.email, customer.name, customer.language)
            ).encode()
        ).hexdigest()
        same_provider = account is not None and account.provider == self.gateway.name
        if (
            account is not None
            and same_provider
            and account.customer_id
            and account.customer_synced_hash == digest
        ):
            return account.customer_id
        existing = account.customer_id if account is not None and same_provider else None
        customer_id = await self.gateway.sync_customer(customer, existing)
        async with self.sessionmaker() as s:
            await insert_if_missing(
                s,
                BillingAccount,
                "user_id",
                user_id=user.id,
                provider=self.gateway.name,
                updated_at=utcnow(),
            )
            values: dict[str, Any] = {
                "provider": self.gateway.name,
                "customer_id": customer_id,
                "customer_synced_hash": digest,
                "updated_at": utcnow(),
            }
            if not same_provider:
                # A method on file belongs to the previous provider's customer.
                values.update(
                    payment_method_id=None,
                    payment_method_brand=None,
                    payment_method_last4=None,
                    payment_method_exp_month=None,
                    payment_method_exp_year=None,
                )
            await s.execute(
                update(BillingAccount)
                .where(BillingAccount.user_id == user.id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await s.commit()
        return customer_id

    async def _email(self, invoice: Invoice, lease: datetime) -> None:
        """Email the PDF to the buyer, once (retried while the mail server fails)."""
        if invoice.emailed_at is not None or not invoice.buyer_email:
            await self._update(invoice.id, lease, next_attempt_at=None)
            return
        async with self.sessionmaker() as db:
            doc = await invoice_pdf.document(
                db, invoice, self.settings, invoice_pdf.buyer_of(invoice)
            )
        pdf = invoice_pdf.render(doc)
        language = invoice_pdf.language_of(invoice.buyer_language)
        online = ""
        if invoice.hosted_url:
            online = render_mail(
                "invoice_online", Language(language), invoice.buyer_email, url=invoice.hosted_url
            ).body
        mail = render_mail(
            "invoice",
            Language(language),
            invoice.buyer_email,
            name=invoice.buyer_name,
            number=invoice.number,
            date=invoice_pdf.format_date(invoice.issued_at, language),
            total=invoice_pdf.format_money(
                invoice.total_incl_vat_minor, invoice.currency, language
            ),
            online=online,
            link=f"{self.settings.public_url.rstrip('/')}/invoices/{invoice.id}.pdf",
        )
        mail = replace(
            mail,
            attachments=(Attachment(invoice_pdf.filename(invoice), pdf, "application/pdf"),),
        )
        if await self.mailer.send(mail):
            await self._update(invoice.id, lease, emailed_at=utcnow(), next_attempt_at=None)
        else:
            await self._update(invoice.id, lease, next_attempt_at=utcnow() + EMAIL_RETRY)

    # --- everything -----------------------------------------------------------------------------

    async def run_once(self, now: datetime | None = None) -> RunReport:
        """One pass: settle, issue, push and email, send refunds."""
        from backend.domain.billing.refunds import Refunds

        report = RunReport()
        report.settled = await self.settle_due(now)
        report.issued = await self.issue_due(now)
        report.processed = await self.process_due(now)
        report.refunds = await Refunds(self.sessionmaker, self.gateway).send_due(now)
        return report


__all__ = [
    "Invoicing",
    "RunReport",
    "apply_payment_event",
    "attach_sites",
    "backoff",
    "billing_provider",
    "build_lines",
    "gateway_for",
    "month_start",
    "next_month",
    "next_number",
]
