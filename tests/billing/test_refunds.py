"""Refunds: full and partial, never more than what is left on the session (even when asked
for concurrently), credit notes before payment and refunds after, retried or given back when
the provider fails, and only by admins and the session's site admins."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.db.base import utcnow
from backend.db.models import (
    AuditEntry,
    ChargingSession,
    Invoice,
    Refund,
    RefundKind,
    RefundState,
    Role,
    SiteRole,
)
from backend.domain.billing.gateway import GatewayError, LocalGateway, PaymentState
from backend.domain.billing.invoicing import Invoicing
from backend.domain.billing.refunds import Refunds, refundable_minor
from backend.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.domain.mailer import Mailer
from backend.domain.viewer import Viewer
from backend.settings import Settings
from tests.billing.conftest import Place
from tests.billing.helpers import FakeProvider, finished_session


async def invoiced(
    sessionmaker: Any,
    place: Place,
    settings: Settings,
    provider: Any,
    *,
    sessions: int = 1,
    monthly: bool = False,
) -> tuple[list[uuid.UUID], uuid.UUID]:
    """Sessions of the driver (each 5 kWh at 0.30 + a 1.00 fee: 3.00 incl. VAT), invoiced and
    pushed."""
    stopped = utcnow() - timedelta(hours=30) if not monthly else utcnow() - timedelta(days=40)
    ids = [
        await finished_session(
            sessionmaker,
            place.station_id,
            place.driver.id,
            stopped_at=stopped - timedelta(minutes=i),
            flat_cents=100,
        )
        for i in range(sessions)
    ]
    if monthly:
        settings = settings.model_copy(update={"billing_mode": "monthly"})
    billing = Invoicing(sessionmaker, settings, Mailer(settings), provider)
    [invoice_id] = await billing.issue_due()
    await billing.process_due()
    return ids, invoice_id


async def load(sessionmaker: Any, model: Any, key: Any) -> Any:
    async with sessionmaker() as db:
        return await db.get(model, key)


async def test_partial_then_full_refund_as_credit_notes(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    provider = FakeProvider()  # invoices stay open (not paid): credit notes
    [session_id], invoice_id = await invoiced(sessionmaker, place, settings, provider)
    refunds = Refunds(sessionmaker, provider)
    invoice = await load(sessionmaker, Invoice, invoice_id)
    assert invoice.total_incl_vat_minor == 300  # (100 + 150) x 1.2

    first = await refunds.refund_session(place.admin_viewer, session_id, 120, "  Faulty   cable ")
    assert (first.state, first.kind, first.amount_minor) == (
        RefundState.DONE,
        RefundKind.CREDIT_NOTE,
        120,
    )
    assert first.reason == "Faulty cable" and first.external_id == f"re_{first.id.hex}"
    assert first.created_by_user_id == place.admin.id
    assert provider.refunds == [(f"in_{invoice_id.hex}", first.id, 120)]
    async with sessionmaker() as db:
        assert await refundable_minor(db, session_id) == 180
    assert (await load(sessionmaker, Invoice, invoice_id)).refunded_minor == 120

    # The site's administrator refunds the rest; nothing is left.
    rest = await refunds.refund_session(place.site_admin_viewer, session_id, 180, "Goodwill")
    assert rest.state is RefundState.DONE
    assert (await load(sessionmaker, Invoice, invoice_id)).refunded_minor == 300
    with pytest.raises(InvalidInput) as error:
        await refunds.refund_session(place.admin_viewer, session_id, 1, "Again")
    assert error.value.extensions == {
        "code": "BAD_USER_INPUT",
        "field": "amountMinor",
        "refundable": 0,
    }
    async with sessionmaker() as db:
        audit = list(
            await db.scalars(select(AuditEntry).where(AuditEntry.action == "billing.refund"))
        )
    assert len(audit) == 2 and {a.target_id for a in audit} == {str(session_id)}


async def test_a_paid_invoice_is_refunded_on_the_payment(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    provider = FakeProvider(state=PaymentState.PAID)
    [session_id], _ = await invoiced(sessionmaker, place, settings, provider)
    refund = await Refunds(sessionmaker, provider).refund_session(
        place.admin_viewer, session_id, 300, "Station fault"
    )
    assert (refund.kind, refund.state) == (RefundKind.REFUND, RefundState.DONE)


async def test_local_invoices_get_credit_notes(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    [session_id], _ = await invoiced(sessionmaker, place, settings, LocalGateway())
    refund = await Refunds(sessionmaker, LocalGateway()).refund_session(
        place.admin_viewer, session_id, 50, "Overcharged"
    )
    assert (refund.kind, refund.state, refund.external_id) == (
        RefundKind.CREDIT_NOTE,
        RefundState.DONE,
        f"local-{refund.id}",
    )


async def test_over_the_limit_of_the_session_in_a_monthly_invoice(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    provider = FakeProvider()
    (one, two), invoice_id = await invoiced(
        sessionmaker, place, settings, provider, sessions=2, monthly=True
    )
    invoice = await load(sessionmaker, Invoice, invoice_id)
    assert invoice.total_incl_vat_minor == 600
    refunds = Refunds(sessionmaker, provider)
    # The invoice has 6.00, but a session only its own 3.00.
    with pytest.raises(InvalidInput):
        await refunds.refund_session(place.admin_viewer, one, 301, "Too much")
    await refunds.refund_session(place.admin_viewer, one, 300, "All of it")
    await refunds.refund_session(place.admin_viewer, two, 300, "All of it")
    assert (await load(sessionmaker, Invoice, invoice_id)).refunded_minor == 600

    for amount in (0, -5):
        with pytest.raises(InvalidInput) as error:
            await refunds.refund_session(place.admin_viewer, one, amount, "x")
        assert error.value.extensions["field"] == "amountMinor"
    with pytest.raises(InvalidInput) as error:
        await refunds.refund_session(place.admin_viewer, one, 1, "   ")
    assert error.value.extensions["field"] == "reason"


async def test_concurrent_refunds_never_exceed_the_total(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    provider = FakeProvider(delay_s=0.05)
    [session_id], invoice_id = await invoiced(sessionmaker, place, settings, provider)

    async def attempt(amount: int) -> Refund | None:
        try:
            return await Refunds(sessionmaker, provider).refund_session(
                place.admin_viewer, session_id, amount, "Concurrent"
            )
        except InvalidInput:
            return None

    # 8 x 100 asked at once on 300: exactly three go through.
    results = await asyncio.gather(*(attempt(100) for _ in range(8)))
    done = [r for r in results if r is not None]
    assert len(done) == 3
    assert all(r.state is RefundState.DONE for r in done)
    assert (await load(sessionmaker, Invoice, invoice_id)).refunded_minor == 300
    async with sessionmaker() as db:
        assert await refundable_minor(db, session_id) == 0
        rows = list(await db.scalars(select(Refund).where(Refund.session_id == session_id)))
    assert sum(r.amount_minor for r in rows) == 300


async def test_provider_failures_are_retried_or_given_back(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    provider = FakeProvider(
        refund_failures=[
            GatewayError("timeout"),
            GatewayError("charge already refunded", retryable=False),
        ]
    )
    [session_id], invoice_id = await invoiced(sessionmaker, place, settings, provider)
    refunds = Refunds(sessionmaker, provider)
    pending = await refunds.refund_session(place.admin_viewer, session_id, 100, "Retry me")
    assert (pending.state, pending.attempts, pending.last_error) == (
        RefundState.PENDING,
        1,
        "timeout",
    )
    assert (await load(sessionmaker, Invoice, invoice_id)).refunded_minor == 100
    # The billing worker tries again when it is due: refused for good, the amount is freed.
    assert await refunds.send_due() == 0
    assert await refunds.send_due(utcnow() + timedelta(minutes=5)) == 1
    failed = await load(sessionmaker, Refund, pending.id)
    assert (failed.state, failed.last_error) == (RefundState.FAILED, "charge already refunded")
    assert (await load(sessionmaker, Invoice, invoice_id)).refunded_minor == 0
    async with sessionmaker() as db:
        assert await refundable_minor(db, session_id) == 300
    again = await refunds.refund_session(place.admin_viewer, session_id, 300, "Now it works")
    assert again.state is RefundState.DONE


async def test_refund_waits_for_the_invoice_to_reach_the_provider(
    sessionmaker: Any, place: Place, settings: Settings
) -> None:
    provider = FakeProvider(submit_failures=[GatewayError("provider down")])
    session_id = await finished_session(
        sessionmaker, place.station_id, place.driver.id, stopped_at=utcnow() - timedelta(hours=2)
    )
    billing = Invoicing(sessionmaker, settings, Mailer(settings), provider)
    [invoice_id] = await billing.issue_due()
    await billing.process_due()  # fails: not at the provider yet
    refunds = Refunds(sessionmaker, provider)
    refund = await refunds.refund_session(place.admin_viewer, session_id, 80, "Early")
    assert refund.state is RefundState.PENDING and provider.refunds == []
    # The invoice goes through, then the refund.
    later = utcnow() + timedelta(minutes=2)
    await billing.process_due(later)
    assert await refunds.send_due(later) == 1
    done = await load(sessionmaker, Refund, refund.id)
    assert done.state is RefundState.DONE
    assert provider.refunds == [(f"in_{invoice_id.hex}", refund.id, 80)]


async def test_who_may_refund(
    sessionmaker: Any, place: Place, settings: Settings, make_user: Any
) -> None:
    provider = FakeProvider()
    [session_id], _ = await invoiced(sessionmaker, place, settings, provider)
    refunds = Refunds(sessionmaker, provider)
    driver = Viewer(
        user_id=place.driver.id, role=Role.BASIC, site_roles={place.site_id: SiteRole.MEMBER}
    )
    other_site_admin = Viewer(
        user_id=place.stranger.id,
        role=Role.BASIC,
        site_roles={place.other_site_id: SiteRole.SITE_ADMIN},
    )
    demo = Viewer(user_id=(await make_user(Role.DEMO)).id, role=Role.DEMO)
    with pytest.raises(Forbidden):
        await refunds.refund_session(driver, session_id, 10, "Please")
    with pytest.raises(Forbidden):
        await refunds.refund_session(demo, session_id, 10, "Demo")
    with pytest.raises(NotFound):
        await refunds.refund_session(other_site_admin, session_id, 10, "Not mine")
    with pytest.raises(NotFound):
        await refunds.refund_session(place.admin_viewer, uuid.uuid4(), 10, "Nothing")

    # Not invoiced yet: nothing to refund.
    pending = await finished_session(
        sessionmaker, place.station_id, place.driver.id, stopped_at=utcnow()
    )
    with pytest.raises(Conflict):
        await refunds.refund_session(place.admin_viewer, pending, 10, "Too early")
    async with sessionmaker() as db:
        charging = await db.get(ChargingSession, pending)
        assert charging is not None and charging.invoice_id is None
    assert provider.refunds == []
