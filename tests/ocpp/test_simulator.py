"""`vev-iq simulate`'s stations against the real server: both OCPP versions charge a car with a
tapering curve and stop; a dropped connection is resumed and the buffered readings arrive."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from backend.db.models import ChargingSession, MeterSample, SessionStatus
from backend.simulator import Behaviour, Car, ChargingCurve, Scenario, StationSpec, ocpp_url
from backend.simulator.scenario import station_specs
from tests.ocpp.conftest import BADGE


def test_curve_tapers_above_80_percent() -> None:
    curve = ChargingCurve(
        Car(battery_wh=60_000, soc=70, target_soc=100, max_power_w=11_000),
        station_max_w=22_000,
        speed=1000,
        rng=random.Random(1),
    )
    at = datetime.now(UTC)
    samples = [curve.step(at, 1.0) for _ in range(200)]
    early = [s for s in samples if s.soc < 79]
    late = [s for s in samples if s.soc > 95]
    assert early and late
    assert all(abs(s.power_w - 11_000) < 200 for s in early)
    assert max(s.power_w for s in late) < 6_000
    assert all(abs(s.current_a[0] * s.voltage_v[0] * 3 - s.power_w) < 50 for s in early)
    energies = [s.energy_wh for s in samples]
    assert energies == sorted(energies)
    assert curve.full or samples[-1].soc > 99


def test_options() -> None:
    assert ocpp_url("http://h:8000") == "ws://h:8000/ocpp"
    assert ocpp_url("https://h/ocpp/") == "wss://h/ocpp"
    specs = station_specs(5, ocpp16_share=0.4, prefix="X-")
    assert [s.version for s in specs] == ["1.6", "1.6", "2.0.1", "2.0.1", "2.0.1"]
    assert specs[0].identity == "X-001"


async def _wait_for(predicate: Any, seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_simulated_stations_charge_and_stop(
    ocpp_server: Any, world: Any, sessionmaker: Any
) -> None:
    behaviour = Behaviour(
        server_url=ocpp_url(ocpp_server.url),
        badges=[BADGE],
        interval_s=0.1,
        speed=5000,
        first_car_s=(0.1, 0.3),
        between_cars_s=(1e9, 1e9),  # one car per connector
        idle_after_full_s=(1500, 1500),  # 0.3 s real
        seed=7,
        one_car_per_badge=True,
    )
    specs = [StationSpec("CP16", "1.6"), StationSpec("CP201", "2.0.1")]
    scenario = Scenario(specs, behaviour)
    running = asyncio.create_task(scenario.run())
    try:
        await _wait_for(lambda: len(scenario.stations) == 2, 5)
        cp16 = scenario.stations[0]
        # Drop the 1.6 station's connection mid-charge: it reconnects and sends what it kept.
        await _wait_for(lambda: cp16.connectors[1].transaction is not None, 10)
        await asyncio.sleep(0.5)
        await cp16.drop_connection()
        await _wait_for(lambda: all(s.completed and not s.outbox for s in scenario.stations), 25)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert cp16.connections >= 2

    async with sessionmaker() as db:
        sessions = list(await db.scalars(select(ChargingSession)))
        assert {s.station_id for s in sessions} == {world.station16, world.station201}
        # One badge, one driver, one car: the second station's car waited for the first.
        first, second = sorted(sessions, key=lambda s: s.started_at)
        assert first.stopped_at is not None and first.stopped_at <= second.started_at
        for charge in sessions:
            assert charge.status is SessionStatus.COMPLETED and charge.user_id == world.driver_id
            assert charge.stop_reason == "EVDisconnected" and charge.energy_wh > 0
            samples = list(
                await db.scalars(
                    select(MeterSample)
                    .where(MeterSample.session_id == charge.id)
                    .order_by(MeterSample.sampled_at)
                )
            )
            # Full, the car stays connected idle (no power) before it leaves.
            assert samples[-1].power_w == 0 and samples[-2].power_w == 0
            powers = [s.power_w for s in samples if s.power_w]
            assert len(powers) > 5
            assert max(powers) > 7_000 and min(powers) < 0.7 * max(powers)  # the taper
            assert all(s.current_a_l1 is not None and s.voltage_v_l1 for s in samples[1:])
            socs = [s.soc_percent for s in samples if s.soc_percent is not None]
            assert socs == sorted(socs) and socs[-1] >= 90
            energies = [s.session_energy_wh for s in samples if s.session_energy_wh is not None]
            assert energies == sorted(energies)
            assert abs(charge.energy_wh - energies[-1]) <= 2
