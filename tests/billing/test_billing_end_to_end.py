"""End to end: a simulated OCPP 1.6J station charges a driver's car under a tariff on a real
server; when the car leaves and the connector is free again, that server's billing worker
(woken by the bus, not its poll) issues the invoice, whose lines are the session's cost lines,
and emails its PDF to the driver."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from backend.db.models import (
    BillingState,
    ChargingSession,
    Invoice,
    InvoiceLine,
    Role,
    SessionStatus,
    SyncState,
    User,
)
from backend.settings import Settings, get_settings
from backend.simulator import Behaviour, Scenario, StationSpec, ocpp_url
from tests.billing.helpers import price_site
from tests.conftest import MailBox
from tests.live_server import LiveServer
from tests.ocpp.conftest import BADGE, World, world  # noqa: F401  (the `world` fixture)


@pytest.fixture
def short_sessions_billed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Simulated sessions last seconds of real time (and deliver a few Wh): no minimum. The
    OCPP path reads the process's settings (as in production, where they are the app's)."""
    monkeypatch.setenv("BILLING_MIN_DURATION_S", "0")
    monkeypatch.setenv("BILLING_MIN_ENERGY_WH", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _wait_for(predicate: Any, seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_a_simulated_session_is_invoiced_and_emailed(
    settings: Settings,
    world: World,  # noqa: F811
    sessionmaker: Any,
    make_user: Any,
    mailbox: MailBox,
    short_sessions_billed: None,
) -> None:
    admin = await make_user(Role.ADMIN)
    await price_site(
        sessionmaker,
        world.site_id,
        admin.id,
        [
            {"type": "FLAT", "price": "0.50"},
            {"type": "ENERGY", "price": "0.31", "step_size": 100},
            {"type": "PARKING_TIME", "price": "9", "step_size": 60},
        ],
    )
    async with sessionmaker() as db:
        driver = await db.get(User, world.driver_id)
        assert driver is not None
        email = driver.email

    # Its own server (and billing worker), polling only every 10 minutes: the invoice must
    # come from the bus's events.
    server = LiveServer(
        settings.model_copy(
            update={
                "billing_min_duration_s": 0,
                "billing_min_energy_wh": 0,
                "billing_poll_s": 600.0,
            }
        )
    )
    server.start()
    try:
        behaviour = Behaviour(
            server_url=ocpp_url(server.url),
            badges=[BADGE],
            interval_s=0.1,
            speed=5000,
            first_car_s=(0.1, 0.3),
            between_cars_s=(1e9, 1e9),
            idle_after_full_s=(1500, 1500),
            seed=7,
        )
        scenario = Scenario([StationSpec("CP16", "1.6")], behaviour)
        running = asyncio.create_task(scenario.run())
        try:

            async def invoiced() -> bool:
                async with sessionmaker() as db:
                    invoice = await db.scalar(select(Invoice))
                    return invoice is not None and invoice.emailed_at is not None

            await _wait_for(invoiced, 40)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
    finally:
        server.stop()

    async with sessionmaker() as db:
        [charging] = list(await db.scalars(select(ChargingSession)))
        invoice = await db.scalar(select(Invoice))
        assert invoice is not None
        lines = list(
            await db.scalars(
                select(InvoiceLine)
                .where(InvoiceLine.invoice_id == invoice.id)
                .order_by(InvoiceLine.position)
            )
        )
    assert charging.status is SessionStatus.COMPLETED and charging.available_at is not None
    assert (charging.billing_state, charging.invoice_id) == (BillingState.INVOICED, invoice.id)
    assert invoice.user_id == world.driver_id and invoice.sync_state is SyncState.SYNCED
    # The invoice explains the session's cost, line by line, to the cent.
    assert len(lines) == len(charging.cost_lines or [])
    assert {line.dimension for line in lines} >= {"FLAT", "ENERGY"}
    for line, cost in zip(lines, charging.cost_lines or [], strict=True):
        assert (line.dimension, line.quantity, line.unit_price, line.vat_percent) == (
            cost["dimension"],
            cost["quantity"],
            cost["unit_price"],
            cost["vat_percent"],
        )
        assert line.session_id == charging.id
    assert invoice.total_incl_vat_minor == charging.cost_incl_vat_minor
    assert invoice.subtotal_excl_vat_minor == charging.cost_excl_vat_minor

    [mail] = mailbox.to(email)
    [pdf] = [part.get_payload(decode=True) for part in mail.walk() if part.get_filename()]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert invoice.number in text and "CP16" in text and "HQ" in text
