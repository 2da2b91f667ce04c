"""Issue 5's live test: simulated stations (OCPP 1.6 and 2.0.1, 22 kW cars) on a site area
whose limit (32 A per phase) is far below their sum. Once the charging profiles land (and
one metering interval to apply them), the power the stations report in their MeterValues
stays under the limit; when one session stops, the others get more."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import (
    ChargingSession,
    ChargingStation,
    MeterSample,
    RegistrationStatus,
    RfidCard,
    SessionPlan,
    SessionStatus,
    Site,
    SiteArea,
    SiteRole,
)
from backend.settings import Settings
from backend.simulator.curve import Car
from backend.simulator.station import V16, V201, Behaviour, SimulatedStation, StationSpec
from tests.live_server import LiveServer

LIMIT_A = 32.0
VOLTAGE = 230.0
LIMIT_W = LIMIT_A * 3 * VOLTAGE
INTERVAL_S = 1.0
METER_NOISE = 1.01  # the simulated meter reads the power within ±1 %


@pytest.fixture(scope="module")
def smart_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(
        settings.model_copy(
            update={"smart_charging_interval_s": 2.0, "smart_charging_min_gap_s": 1.0}
        )
    )
    server.start()
    yield server
    server.stop()


def big_car(rng: random.Random) -> Car:
    return Car(battery_wh=500_000, soc=20.0, target_soc=95.0, max_power_w=22_000, phases=3)


async def _wait(predicate: Any, seconds: float, what: str) -> Any:
    for _ in range(int(seconds / 0.2)):
        found = await predicate()
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def _samples(
    sessionmaker: async_sessionmaker[AsyncSession], station_ids: list[uuid.UUID], after: datetime
) -> dict[uuid.UUID, list[tuple[datetime, float]]]:
    async with sessionmaker() as db:
        rows = (
            await db.execute(
                select(ChargingSession.station_id, MeterSample.sampled_at, MeterSample.power_w)
                .join(ChargingSession, ChargingSession.id == MeterSample.session_id)
                .where(
                    ChargingSession.station_id.in_(station_ids),
                    MeterSample.sampled_at > after,
                    MeterSample.power_w.is_not(None),
                )
                .order_by(MeterSample.sampled_at)
            )
        ).all()
    out: dict[uuid.UUID, list[tuple[datetime, float]]] = {s: [] for s in station_ids}
    for station_id, at, power in rows:
        out[station_id].append((at, float(power or 0)))
    return out


def _peak_total(series: dict[uuid.UUID, list[tuple[datetime, float]]]) -> float:
    """The highest sum of the stations' latest readings, at every reading of any of them."""
    events = sorted((at, sid, p) for sid, points in series.items() for at, p in points)
    latest: dict[uuid.UUID, float] = {}
    peak = 0.0
    for _, sid, power in events:
        latest[sid] = power
        peak = max(peak, sum(latest.values()))
    return peak


async def test_stations_stay_under_the_area_limit(
    smart_server: LiveServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
) -> None:
    suffix = uuid.uuid4().hex[:6].upper()
    async with sessionmaker() as db:
        site = Site(name="Smart site")
        db.add(site)
        await db.flush()
        area = SiteArea(
            site_id=site.id,
            name="Limited feeder",
            max_power_w=int(LIMIT_W),
            phases=3,
            voltage=int(VOLTAGE),
            smart_charging=True,
        )
        db.add(area)
        await db.flush()
        specs = [
            StationSpec(f"SC16A-{suffix}", V16),
            StationSpec(f"SC16B-{suffix}", V16),
            StationSpec(f"SC201-{suffix}", V201),
        ]
        stations = [
            ChargingStation(
                ocpp_identity=spec.identity,
                site_area_id=area.id,
                site_id=site.id,
                registration_status=RegistrationStatus.ACCEPTED,
            )
            for spec in specs
        ]
        db.add_all(stations)
        await db.commit()
        station_ids = [s.id for s in stations]
    driver = await make_user(sites={site.id: SiteRole.MEMBER})
    badge = f"SMART{suffix}"
    async with sessionmaker() as db:
        db.add(RfidCard(uid=badge, user_id=driver.id))
        await db.commit()

    behaviour = Behaviour(
        server_url=f"{smart_server.ws_url}/ocpp",
        badges=[badge],
        interval_s=INTERVAL_S,
        first_car_s=(0.1, 0.4),
        between_cars_s=(1e9, 1e9),
        idle_after_full_s=(1e9, 1e9),
        car_factory=big_car,
        seed=5,
    )
    sims = [SimulatedStation(spec, behaviour) for spec in specs]
    tasks = [asyncio.create_task(sim.run()) for sim in sims]
    try:

        async def all_planned() -> list[SessionPlan] | None:
            async with sessionmaker() as db:
                plans = list(
                    await db.scalars(
                        select(SessionPlan)
                        .join(ChargingSession, ChargingSession.id == SessionPlan.session_id)
                        .where(
                            ChargingSession.station_id.in_(station_ids),
                            ChargingSession.status == SessionStatus.ACTIVE,
                            SessionPlan.profile_set.is_(True),
                        )
                    )
                )
            return plans if len(plans) == 3 else None

        plans = await _wait(all_planned, 15, "profiles on the three sessions")
        assert sum(p.offered_a or 0 for p in plans) <= LIMIT_A + 1e-6
        landed = max(p.pushed_at for p in plans if p.pushed_at is not None)
        # One metering interval for the profile to apply, then watch.
        settle = landed + timedelta(seconds=INTERVAL_S + 0.5)
        await asyncio.sleep(INTERVAL_S * 5)
        series = await _samples(sessionmaker, station_ids, settle)
        assert all(len(points) >= 2 for points in series.values()), series
        peak = _peak_total(series)
        assert peak <= LIMIT_W * METER_NOISE, (
            peak,
            LIMIT_W,
            {str(k)[:4]: [(a.strftime("%S.%f")[:6], p) for a, p in v] for k, v in series.items()},
            settle.strftime("%S.%f"),
        )
        before = {sid: sum(p for _, p in pts) / len(pts) for sid, pts in series.items()}

        # One session stops: the other two get its share.
        stopped = sims[0]
        tx = stopped.connectors[1].transaction
        assert tx is not None
        tx.stop_reason = "Local"
        tx.stop_requested.set()
        others = station_ids[1:]

        async def others_got_more() -> bool:
            recent = await _samples(
                sessionmaker, others, datetime.now(tz=landed.tzinfo) - timedelta(seconds=1.5)
            )
            return all(pts and pts[-1][1] > before[sid] * 1.3 for sid, pts in recent.items())

        await _wait(others_got_more, 10, "the remaining sessions to get more power")
        changed_at = datetime.now(tz=landed.tzinfo)
        await asyncio.sleep(INTERVAL_S * 3)
        after = await _samples(sessionmaker, others, changed_at)
        assert _peak_total(after) <= LIMIT_W * METER_NOISE
    finally:
        for sim in sims:
            with contextlib.suppress(Exception):
                await sim.stop()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
