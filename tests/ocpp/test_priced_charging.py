"""End to end: simulated stations (OCPP 1.6J and 2.0.1) charge under a tariff; each session's
final cost is what the pure engine computes, independently, from its samples."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from backend.db.models import ChargingSession, MeterSample, Role, SessionStatus
from backend.simulator import Behaviour, Scenario, StationSpec, ocpp_url
from tests.billing.helpers import price_site
from tests.billing.test_session_costs import independent_price
from tests.ocpp.conftest import BADGE
from tests.ocpp.test_simulator import _wait_for


async def test_simulated_stations_are_priced(
    ocpp_server: Any, world: Any, sessionmaker: Any, make_user: Any
) -> None:
    admin = await make_user(Role.ADMIN)
    await price_site(
        sessionmaker,
        world.site_id,
        admin.id,
        [
            {"type": "FLAT", "price": "0.50"},
            {"type": "ENERGY", "price": "0.31", "step_size": 100},
            {"type": "TIME", "price": "1.20", "step_size": 60},
            {"type": "PARKING_TIME", "price": "9", "step_size": 60},
        ],
    )
    behaviour = Behaviour(
        server_url=ocpp_url(ocpp_server.url),
        badges=[BADGE],
        interval_s=0.1,
        speed=5000,
        first_car_s=(0.1, 0.3),
        between_cars_s=(1e9, 1e9),
        idle_after_full_s=(1500, 1500),
        seed=11,
    )
    scenario = Scenario([StationSpec("CP16", "1.6"), StationSpec("CP201", "2.0.1")], behaviour)
    running = asyncio.create_task(scenario.run())
    try:
        await _wait_for(lambda: len(scenario.stations) == 2, 5)
        await _wait_for(lambda: all(s.completed and not s.outbox for s in scenario.stations), 25)
        await asyncio.sleep(0.5)  # the last status notifications
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)

    async with sessionmaker() as db:
        sessions = list(await db.scalars(select(ChargingSession)))
        assert len(sessions) == 2
        for charge in sessions:
            assert charge.status is SessionStatus.COMPLETED and charge.tariff_id is not None
            samples = list(
                await db.scalars(
                    select(MeterSample)
                    .where(MeterSample.session_id == charge.id)
                    .order_by(MeterSample.sampled_at)
                )
            )
            expected = independent_price(charge, samples)
            assert expected.total_incl_vat > 0
            assert charge.cost_currency == "EUR"
            assert charge.cost_excl_vat_minor == int(expected.total_excl_vat * 100)
            assert charge.cost_incl_vat_minor == int(expected.total_incl_vat * 100)
            lines = {line["dimension"] for line in charge.cost_lines or []}
            assert {"FLAT", "ENERGY", "TIME"} <= lines
            costs = [s.cost_incl_vat_minor for s in samples]
            assert all(c is not None for c in costs) and costs == sorted(costs)
