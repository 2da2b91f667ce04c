"""Invoicing: which sessions are billed, one invoice per session or per user and month, numbers
consecutive across concurrent issuers, lines equal to the sessions' cost lines, pushing through
a payment provider with retries under a lease, the PDF emailed once, webhooks applied forward
only, and no charging without a payment method when Stripe is on."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from backend.db.base import utcnow
from backend.db.models import (
    AuditEntry,
    BillingAccount,
    BillingState,
    ChargingSession,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    RfidCard,
    SessionStatus,
    SyncState,
    User,
)
from backend.domain.billing.gateway import GatewayError, LocalGateway, PaymentState, WebhookEvent
from backend.domain.billing.invoicing import (
    Invoicing,
    apply_payment_event,
    gateway_for,
    next_number,
)
from backend.domain.billing.settling import BillingRules, decide
from backend.domain.billing.tariffs import TariffData, Tariffs
from backend.domain.charging import Charging, Reading, StartRequest, StopRequest
from backend.domain.charging.authorization import Authorization, AuthorizationStatus
from backend.domain.mailer import Mailer
from backend.settings import Settings
from tests.billing.conftest import Place
from tests.billing.helpers import FakeProvider, finished_session
from tests.conftest import MailBox

T0 = datetime(2026, 3, 4, 9, 0, 7, tzinfo=UTC)
BADGE = "DRIVER01"


def invoicing(sessionmaker: Any, settings: Settings, gateway: Any = None, **kw: Any) -> Invoicing:
    if kw:
        settings = settings.model_copy(update=kw)
    return Invoicing(sessionmaker, settings, Mailer(settings), gateway or LocalGateway())


async def tariff_and_badge(sessionmaker: Any, place: Place) -> None:
    async with sessionmaker() as db:
        await Tariffs(db).create(
            place.admin_viewer,
            TariffData(
                name="Paris",
                currency="EUR",
                vat_percent="20",
                elements=[
                    {
                        "price_components": [
                            {"type": "FLAT", "price": "1"},
                            {"type": "ENERGY", "price": "0.25", "step_size": 1},
                            {"type": "PARKING_TIME", "price": "6", "step_size": 60},
                        ]
                    }
                ],
            ),
        )
        db.add(RfidCard(uid=BADGE, user_id=place.driver.id))
        await db.commit()


async def charge(
    sessionmaker: Any,
    place: Place,
    *,
    at: datetime = T0,
    minutes: int = 10,
    wh_per_minute: int = 1000,
    idle_minutes: int = 2,
    available_after: int | None = 10,
) -> uuid.UUID:
    """A session through the charging domain: badge start, a reading a minute, stop, and the
    connector Available `available_after` minutes after the stop (None: never)."""
    async with sessionmaker() as db:
        started = await Charging(db).sessions.start(
            place.station_id,
            StartRequest(
                evse_id=1, connector_number=1, started_at=at, meter_start_wh=0, id_tag=BADGE
            ),
        )
    for minute in range(1, minutes + 1):
        async with sessionmaker() as db:
            await Charging(db).sessions.record_readings(
                place.station_id,
                [Reading(at=at + timedelta(minutes=minute), energy_wh=minute * wh_per_minute)],
                transaction_id=started.transaction_id,
            )
    stopped_at = at + timedelta(minutes=minutes + idle_minutes)
    async with sessionmaker() as db:
        await Charging(db).sessions.stop(
            place.station_id,
            started.transaction_id,
            StopRequest(stopped_at=stopped_at, meter_stop_wh=minutes * wh_per_minute),
        )
    if available_after is not None:
        async with sessionmaker() as db:
            await Charging(db).status.connector_status(
                place.station_id,
                1,
                1,
                "Available",
                None,
                stopped_at + timedelta(minutes=available_after),
            )
    return started.session_id


async def load(sessionmaker: Any, model: Any, key: Any) -> Any:
    async with sessionmaker() as db:
        return await db.get(model, key)


async def lines_of(sessionmaker: Any, invoice_id: uuid.UUID) -> list[InvoiceLine]:
    async with sessionmaker() as db:
        return list(
            await db.scalars(
                select(InvoiceLine)
                .where(InvoiceLine.invoice_id == invoice_id)
                .order_by(InvoiceLine.position)
            )
        )


# --- which sessions are billed ------------------------------------------------------------------


def _session(**kw: Any) -> ChargingSession:
    values: dict[str, Any] = {
        "status": SessionStatus.COMPLETED,
        "user_id": uuid.uuid4(),
        "started_at": T0,
        "stopped_at": T0 + timedelta(minutes=5),
        "energy_wh": 2000,
        "tariff_snapshot": {"id": "t"},
        "cost_currency": "EUR",
        "cost_incl_vat_minor": 120,
    }
    values.update(kw)
    return ChargingSession(**values)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, (BillingState.PENDING, None)),
        # Either minimum is enough not to bill.
        ({"stopped_at": T0 + timedelta(seconds=59)}, (BillingState.NOT_BILLABLE, "below_minimum")),
        ({"stopped_at": T0 + timedelta(seconds=60)}, (BillingState.PENDING, None)),
        ({"energy_wh": 49}, (BillingState.NOT_BILLABLE, "below_minimum")),
        ({"energy_wh": 50}, (BillingState.PENDING, None)),
        ({"cost_incl_vat_minor": 0}, (BillingState.NOT_BILLABLE, "zero_cost")),
        (
            {"tariff_snapshot": None, "cost_currency": None},
            (BillingState.NOT_BILLABLE, "no_tariff"),
        ),
        ({"user_id": None}, (BillingState.NOT_BILLABLE, "no_user")),
    ],
)
def test_minimum_rules(changes: dict[str, Any], expected: tuple[Any, Any]) -> None:
    rules = BillingRules(min_duration_s=60, min_energy_wh=50)
    assert decide(_session(**changes), rules) == expected


async def test_final_cost_settles_in_the_same_transaction(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    await tariff_and_badge(sessionmaker, place)
    # Stopped, connector not free yet: the cost may still grow (parking), nothing decided.
    session_id = await charge(sessionmaker, place, available_after=None)
    charging = await load(sessionmaker, ChargingSession, session_id)
    assert (charging.billing_state, charging.user_id) == (BillingState.UNBILLED, place.driver.id)
    assert await invoicing(sessionmaker, settings).settle_due(T0 + timedelta(hours=1)) == 0

    # Available: parking ends, the cost is final and the session billable, at once.
    async with sessionmaker() as db:
        await Charging(db).status.connector_status(
            place.station_id, 1, 1, "Available", None, T0 + timedelta(minutes=30)
        )
    charging = await load(sessionmaker, ChargingSession, session_id)
    assert charging.available_at == T0 + timedelta(minutes=30)
    assert charging.billing_state is BillingState.PENDING
    assert charging.billing_note is None


async def test_settled_sessions_are_not_repriced(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    await tariff_and_badge(sessionmaker, place)
    session_id = await charge(sessionmaker, place, available_after=None)
    # Never Available within billing_settle_after_h (24 h): billed as priced at its stop.
    assert await invoicing(sessionmaker, settings).settle_due() == 1
    charging = await load(sessionmaker, ChargingSession, session_id)
    assert charging.billing_state is BillingState.PENDING
    # The station says so days later: the cost stays what is billed.
    async with sessionmaker() as db:
        await Charging(db).status.connector_status(
            place.station_id, 1, 1, "Available", None, T0 + timedelta(days=3)
        )
    again = await load(sessionmaker, ChargingSession, session_id)
    assert again.available_at is None
    assert again.cost_incl_vat_minor == charging.cost_incl_vat_minor


async def test_short_session_is_not_billed(sessionmaker: Any, place: Place) -> None:
    await tariff_and_badge(sessionmaker, place)
    # 1 minute of charging, 30 Wh: under the energy minimum (50 Wh).
    session_id = await charge(sessionmaker, place, minutes=1, wh_per_minute=30, idle_minutes=0)
    charging = await load(sessionmaker, ChargingSession, session_id)
    assert charging.cost_incl_vat_minor > 0
    assert (charging.billing_state, charging.billing_note) == (
        BillingState.NOT_BILLABLE,
        "below_minimum",
    )


async def test_sweep_settles_what_the_stations_never_finish(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    now = utcnow()
    # No Available for 25 hours: billed as priced at the stop.
    old = await finished_session(
        sessionmaker,
        place.station_id,
        place.driver.id,
        stopped_at=now - timedelta(hours=25),
        state=BillingState.UNBILLED,
        available=False,
    )
    recent = await finished_session(
        sessionmaker,
        place.station_id,
        place.driver.id,
        stopped_at=now - timedelta(hours=1),
        state=BillingState.UNBILLED,
        available=False,
    )
    # No tariff: nothing to wait for.
    async with sessionmaker() as db:
        free = ChargingSession(
            station_id=place.station_id,
            user_id=place.driver.id,
            ocpp_transaction_id="free",
            status=SessionStatus.COMPLETED,
            started_at=now - timedelta(hours=2),
            stopped_at=now - timedelta(hours=1),
            energy_wh=9000,
        )
        db.add(free)
        await db.commit()
    assert await invoicing(sessionmaker, settings).settle_due(now) == 2
    states = {
        key: (await load(sessionmaker, ChargingSession, key)).billing_state
        for key in (old, recent, free.id)
    }
    assert states == {
        old: BillingState.PENDING,
        recent: BillingState.UNBILLED,
        free.id: BillingState.NOT_BILLABLE,
    }
    assert (await load(sessionmaker, ChargingSession, free.id)).billing_note == "no_tariff"


# --- issuing ------------------------------------------------------------------------------------


async def test_per_session_invoice_copies_the_cost_lines_and_is_emailed(
    sessionmaker: Any, place: Place, settings: Settings, mailbox: MailBox
) -> None:
    await tariff_and_badge(sessionmaker, place)
    session_id = await charge(sessionmaker, place)
    billing = invoicing(sessionmaker, settings)

    report = await billing.run_once()
    assert len(report.issued) == 1
    invoice = await load(sessionmaker, Invoice, report.issued[0])
    charging = await load(sessionmaker, ChargingSession, session_id)
    year = invoice.issued_at.year
    assert invoice.number == f"VEV-{year}-000001"
    assert (charging.billing_state, charging.invoice_id) == (BillingState.INVOICED, invoice.id)
    assert invoice.kind is InvoiceKind.SESSION and invoice.user_id == place.driver.id
    assert (invoice.buyer_name, invoice.buyer_email) == ("Ada Lovelace", place.driver.email)

    # One line per priced component, equal to the session's cost lines; totals add up.
    lines = await lines_of(sessionmaker, invoice.id)
    cost_lines = charging.cost_lines
    assert [line.dimension for line in lines] == [c["dimension"] for c in cost_lines]
    assert {line.dimension for line in lines} == {"FLAT", "ENERGY", "PARKING_TIME"}
    for line, cost in zip(lines, cost_lines, strict=True):
        assert line.quantity == cost["quantity"] and line.unit_price == cost["unit_price"]
        assert line.amount_excl_vat_minor == int(Decimal(cost["amount_excl_vat"]) * 100)
        assert line.vat_minor == int(Decimal(cost["vat"]) * 100)
        assert line.amount_incl_vat_minor == line.amount_excl_vat_minor + line.vat_minor
        assert line.session_id == session_id and line.site_id == place.site_id
    energy = next(line for line in lines if line.dimension == "ENERGY")
    assert energy.description == "Energy 10 kWh — TARIFF-1, 2026-03-04"
    assert invoice.subtotal_excl_vat_minor == sum(x.amount_excl_vat_minor for x in lines)
    assert invoice.vat_minor == sum(x.vat_minor for x in lines)
    assert invoice.total_incl_vat_minor == invoice.subtotal_excl_vat_minor + invoice.vat_minor
    assert invoice.total_incl_vat_minor == charging.cost_incl_vat_minor
    assert (invoice.subtotal_excl_vat_minor, invoice.vat_minor) == (
        charging.cost_excl_vat_minor,
        charging.cost_vat_minor,
    )

    # Local gateway: synced at once, kept locally; the PDF emailed to the driver.
    assert invoice.sync_state is SyncState.SYNCED
    assert invoice.payment_state is PaymentState.LOCAL
    assert invoice.external_id == f"local-{invoice.id}"
    assert invoice.emailed_at is not None and invoice.next_attempt_at is None
    [mail] = mailbox.to(place.driver.email)
    assert mail["Subject"] == f"Your VEV-IQ invoice {invoice.number}"
    [attachment] = [part for part in mail.walk() if part.get_filename()]
    assert attachment.get_filename() == f"invoice-{invoice.number}.pdf"
    assert attachment.get_content_type() == "application/pdf"
    pdf = attachment.get_payload(decode=True)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert invoice.number in text and "TARIFF-1" in text
    body = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    assert f"/invoices/{invoice.id}.pdf" in body.get_payload(decode=True).decode()

    # Once: nothing more to do, nothing sent again.
    again = await billing.run_once()
    assert (again.issued, again.processed) == ([], 0)
    assert len(mailbox.to(place.driver.email)) == 1


async def test_monthly_invoices_group_by_user_currency_and_month(
    sessionmaker: Any, place: Place, settings: Settings, mailbox: MailBox
) -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    driver, other = place.driver.id, place.stranger.id
    made = {
        # The driver: two sessions in October, one in November, one in USD in November.
        "oct1": (driver, datetime(2026, 10, 3, 8, tzinfo=UTC), "EUR"),
        "oct2": (driver, datetime(2026, 10, 31, 23, 50, tzinfo=UTC), "EUR"),
        "nov": (driver, datetime(2026, 11, 1, 0, 10, tzinfo=UTC), "EUR"),
        "nov_usd": (driver, datetime(2026, 11, 15, 9, tzinfo=UTC), "USD"),
        # Someone else in November.
        "other": (other, datetime(2026, 11, 20, 9, tzinfo=UTC), "EUR"),
        # December is not over: not invoiced yet.
        "dec": (driver, datetime(2026, 12, 1, 9, tzinfo=UTC), "EUR"),
    }
    ids = {
        key: await finished_session(
            sessionmaker, place.station_id, user, stopped_at=at, currency=currency
        )
        for key, (user, at, currency) in made.items()
    }
    billing = invoicing(sessionmaker, settings, billing_mode="monthly")

    # December 2 at noon: November closed 36 hours ago, its sessions had 24 hours to settle.
    issued = await billing.issue_due(now)
    assert len(issued) == 4
    by_session: dict[str, Invoice | None] = {}
    for key, session_id in ids.items():
        charging = await load(sessionmaker, ChargingSession, session_id)
        by_session[key] = (
            await load(sessionmaker, Invoice, charging.invoice_id) if charging.invoice_id else None
        )
    october = by_session["oct1"]
    assert october is not None and by_session["oct2"].id == october.id  # type: ignore[union-attr]
    assert october.kind is InvoiceKind.MONTHLY
    assert (october.period_start, october.period_end) == (
        datetime(2026, 10, 1, tzinfo=UTC),
        datetime(2026, 11, 1, tzinfo=UTC),
    )
    assert len({by_session[k].id for k in ("oct1", "nov", "nov_usd", "other")}) == 4  # type: ignore[union-attr]
    assert by_session["nov_usd"].currency == "USD"  # type: ignore[union-attr]
    assert by_session["dec"] is None
    lines = await lines_of(sessionmaker, october.id)
    assert [line.session_id for line in lines] == [ids["oct1"], ids["oct2"]]
    assert october.total_incl_vat_minor == sum(line.amount_incl_vat_minor for line in lines)
    numbers = sorted(by_session[k].number for k in ("oct1", "nov", "nov_usd", "other"))  # type: ignore[union-attr]
    assert numbers == [f"VEV-{utcnow().year}-00000{i}" for i in (1, 2, 3, 4)]

    # December closes on January 1, and its sessions get 24 hours more to settle.
    assert await billing.issue_due(datetime(2027, 1, 1, 12, tzinfo=UTC)) == []
    assert len(await billing.issue_due(datetime(2027, 1, 2, 0, 1, tzinfo=UTC))) == 1


async def test_numbers_are_consecutive_with_concurrent_issuers(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    stopped = utcnow() - timedelta(hours=1)
    ids = [
        await finished_session(
            sessionmaker,
            place.station_id,
            place.driver.id,
            stopped_at=stopped - timedelta(seconds=i),
        )
        for i in range(24)
    ]
    # Four "processes" issue at once; each session is invoiced once.
    workers = [invoicing(sessionmaker, settings) for _ in range(4)]
    results = await asyncio.gather(*(w.issue_due() for w in workers))
    issued = [invoice_id for result in results for invoice_id in result]
    assert len(issued) == len(set(issued)) == 24
    async with sessionmaker() as db:
        numbers = sorted(await db.scalars(select(Invoice.number)))
        invoiced = await db.scalar(
            select(func.count()).where(
                ChargingSession.id.in_(ids), ChargingSession.invoice_id.is_not(None)
            )
        )
    year = utcnow().year
    assert numbers == [f"VEV-{year}-{n:06d}" for n in range(1, 25)]
    assert invoiced == 24


async def test_next_number_under_concurrent_transactions(sessionmaker: Any) -> None:
    async def take(year: int) -> str:
        async with sessionmaker() as db:
            number = await next_number(db, year, "T")
            await asyncio.sleep(0.01)  # hold the counter while others wait
            await db.commit()
            return number

    taken = await asyncio.gather(*(take(2031) for _ in range(20)), take(2032))
    assert sorted(taken[:20]) == [f"T-2031-{n:06d}" for n in range(1, 21)]
    assert taken[20] == "T-2032-000001"

    # A rolled-back issue gives its number back: no gap.
    async with sessionmaker() as db:
        assert await next_number(db, 2031, "T") == "T-2031-000021"
        await db.rollback()
    async with sessionmaker() as db:
        assert await next_number(db, 2031, "T") == "T-2031-000021"


# --- pushing ------------------------------------------------------------------------------------


async def test_retryable_gateway_errors_are_retried_with_backoff(
    sessionmaker: Any, place: Place, settings: Settings, mailbox: MailBox
) -> None:
    provider = FakeProvider(
        submit_failures=[GatewayError("timeout"), GatewayError("503 from provider")]
    )
    await finished_session(
        sessionmaker, place.station_id, place.driver.id, stopped_at=utcnow() - timedelta(hours=1)
    )
    billing = invoicing(sessionmaker, settings, provider)
    [invoice_id] = await billing.issue_due()

    now = utcnow()
    assert await billing.process_due(now) == 1
    invoice = await load(sessionmaker, Invoice, invoice_id)
    assert (invoice.sync_state, invoice.sync_attempts, invoice.last_error) == (
        SyncState.PENDING,
        1,
        "timeout",
    )
    assert invoice.claimed_until is None
    first_wait = invoice.next_attempt_at - now
    assert timedelta(seconds=29) < first_wait < timedelta(seconds=32)
    assert mailbox.to(place.driver.email) == []

    # Not due yet: nothing happens.
    assert await billing.process_due(now + timedelta(seconds=10)) == 0
    # Due: fails again, waits twice as long.
    later = invoice.next_attempt_at + timedelta(seconds=1)
    assert await billing.process_due(later) == 1
    invoice = await load(sessionmaker, Invoice, invoice_id)
    assert (invoice.sync_attempts, invoice.last_error) == (2, "503 from provider")
    assert timedelta(seconds=59) < invoice.next_attempt_at - utcnow() < timedelta(seconds=62)

    assert await billing.process_due(invoice.next_attempt_at + timedelta(seconds=1)) == 1
    invoice = await load(sessionmaker, Invoice, invoice_id)
    assert (invoice.sync_state, invoice.sync_attempts, invoice.last_error) == (
        SyncState.SYNCED,
        3,
        None,
    )
    assert invoice.payment_state is PaymentState.OPEN
    assert invoice.external_id == f"in_{invoice_id.hex}"
    assert invoice.hosted_url == f"https://pay.example/{invoice_id.hex}"
    [sent] = provider.submitted
    assert sent.number == invoice.number and sent.total_incl_vat_minor == 180
    assert [(line.amount_excl_vat_minor, line.vat_minor) for line in sent.lines] == [(150, 30)]
    # The customer was created once and remembered.
    async with sessionmaker() as db:
        account = await db.get(BillingAccount, place.driver.id)
    assert account is not None and account.customer_id == f"cus_{place.driver.id.hex[:10]}"
    assert provider.sync_calls == 1
    [mail] = mailbox.to(place.driver.email)
    body = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    assert invoice.hosted_url in body.get_payload(decode=True).decode()


async def test_a_refusal_marks_the_invoice_failed(
    sessionmaker: Any, place: Place, settings: Settings, mailbox: MailBox
) -> None:
    provider = FakeProvider(
        submit_failures=[GatewayError("No such customer: card declined", retryable=False)]
    )
    await finished_session(
        sessionmaker, place.station_id, place.driver.id, stopped_at=utcnow() - timedelta(hours=1)
    )
    billing = invoicing(sessionmaker, settings, provider)
    [invoice_id] = await billing.issue_due()
    assert await billing.process_due() == 1
    invoice = await load(sessionmaker, Invoice, invoice_id)
    assert invoice.sync_state is SyncState.FAILED
    assert invoice.last_error == "No such customer: card declined"
    assert invoice.next_attempt_at is None and invoice.emailed_at is None
    assert await billing.process_due(utcnow() + timedelta(days=1)) == 0
    assert mailbox.to(place.driver.email) == []


async def test_the_lease_prevents_a_double_push(
    sessionmaker: Any, place: Place, settings: Settings, mailbox: MailBox
) -> None:
    provider = FakeProvider(delay_s=0.2)
    for i in range(3):
        await finished_session(
            sessionmaker,
            place.station_id,
            place.driver.id,
            stopped_at=utcnow() - timedelta(hours=1, minutes=i),
        )
    issued = await invoicing(sessionmaker, settings, provider).issue_due()
    assert len(issued) == 3
    # Two "processes" push at the same time, through the same provider.
    first, second = (invoicing(sessionmaker, settings, provider) for _ in range(2))
    done = await asyncio.gather(first.process_due(), second.process_due())
    assert sum(done) == 3
    assert sorted(str(i.local_id) for i in provider.submitted) == sorted(map(str, issued))
    assert len(mailbox.to(place.driver.email)) == 3

    # A lease left by a crashed process expires, then the invoice is taken over.
    async with sessionmaker() as db:
        invoice = await db.get(Invoice, issued[0])
        assert invoice is not None
        invoice.sync_state = SyncState.PENDING
        invoice.next_attempt_at = utcnow()
        invoice.claimed_until = utcnow() + timedelta(minutes=2)
        await db.commit()
    assert await first.process(issued[0]) is False
    assert await first.process(issued[0], now=utcnow() + timedelta(minutes=3)) is True
    assert len(provider.submitted) == 4  # pushed again: the provider is idempotent on its id


async def test_payment_events_move_forward_only(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    provider = FakeProvider()
    await finished_session(
        sessionmaker, place.station_id, place.driver.id, stopped_at=utcnow() - timedelta(hours=1)
    )
    billing = invoicing(sessionmaker, settings, provider)
    [invoice_id] = await billing.issue_due()
    await billing.process_due()
    external = f"in_{invoice_id.hex}"

    async def event(state: PaymentState | None, external_id: str = external) -> Any:
        async with sessionmaker() as db:
            found = await apply_payment_event(
                db,
                WebhookEvent(
                    id=uuid.uuid4().hex, type="x", invoice_external_id=external_id, state=state
                ),
            )
            await db.commit()
            return found

    assert await event(PaymentState.PAID, "in_unknown") is None
    assert (await event(PaymentState.FAILED)).payment_state is PaymentState.FAILED
    paid = await event(PaymentState.PAID)
    assert paid.payment_state is PaymentState.PAID and paid.paid_at is not None
    # Late and repeated events change nothing.
    for late in (PaymentState.OPEN, PaymentState.FAILED, PaymentState.PAID, None):
        again = await event(late)
        assert (again.payment_state, again.paid_at) == (PaymentState.PAID, paid.paid_at)


async def test_unknown_buyer_and_gateway_choice(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    # The buyer's account was erased between settling and issuing: nobody to bill.
    victim = await finished_session(
        sessionmaker, place.station_id, place.stranger.id, stopped_at=utcnow() - timedelta(hours=1)
    )
    async with sessionmaker() as db:
        user = await db.get(User, place.stranger.id)
        await db.delete(user)
        await db.commit()
    assert await invoicing(sessionmaker, settings).issue_due() == []
    charging = await load(sessionmaker, ChargingSession, victim)
    assert (charging.billing_state, charging.billing_note) == (
        BillingState.NOT_BILLABLE,
        "no_user",
    )
    assert gateway_for(settings).name == "local"


# --- authorization ------------------------------------------------------------------------------


async def test_no_charging_without_a_payment_method_when_stripe_is_on(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    async with sessionmaker() as db:
        db.add(RfidCard(uid=BADGE, user_id=place.driver.id))
        await db.commit()
    stripe = settings.model_copy(update={"stripe_api_key": "sk_test_123"})
    optional = stripe.model_copy(update={"billing_require_payment_method": False})

    async def authorize(with_settings: Settings) -> Any:
        async with sessionmaker() as db:
            result = await Authorization(db, with_settings).authorize_badge(place.station_id, BADGE)
            await db.commit()
            return result

    assert (await authorize(settings)).accepted  # no provider: invoices stay local
    assert (await authorize(optional)).accepted
    refused = await authorize(stripe)
    assert (refused.status, refused.reason) == (AuthorizationStatus.BLOCKED, "no_payment_method")
    async with sessionmaker() as db:
        audit = await db.scalar(
            select(AuditEntry).where(AuditEntry.action == "charging.authorization_refused")
        )
    assert audit is not None and audit.details["reason"] == "no_payment_method"

    async with sessionmaker() as db:
        db.add(BillingAccount(user_id=place.driver.id, provider="stripe", customer_id="cus_1"))
        await db.commit()
    assert not (await authorize(stripe)).accepted  # a customer, still no method
    async with sessionmaker() as db:
        account = await db.get(BillingAccount, place.driver.id)
        assert account is not None
        account.payment_method_id = "pm_1"
        await db.commit()
    assert (await authorize(stripe)).accepted
