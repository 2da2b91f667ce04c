"""Issue "Step 4 — smart charging" leftovers, with simulated stations (OCPP 1.6 and 2.0.1) over
real websockets against the real server:

- after a TxProfile is accepted, the station's composite schedule (GetCompositeSchedule) is
  checked; a station that accepts profiles and then ignores them is left out with its full
  power reserved, and admins are told (audit entry, StationNotice);
- a station moved out of a smart-charging area, and the stations of an area whose smart
  charging is turned off, get their profiles cleared: their cars draw full power again.

The first tests check the pieces on their own: the simulator's composite schedule from the
profiles it holds, and the reading of GetCompositeSchedule answers of both versions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import backend.app
from backend.broadcast import BroadcastBus
from backend.db.models import (
    AuditEntry,
    ChargingSession,
    ChargingStation,
    MeterSample,
    RegistrationStatus,
    RfidCard,
    Role,
    SessionPlan,
    SessionStatus,
    Site,
    SiteArea,
    SiteRole,
    StationSmartCharging,
)
from backend.domain.charging.commands import ChargingProfile, CommandAnswer
from backend.domain.load_management import composite
from backend.events import Event, StationNotice
from backend.settings import Settings
from backend.simulator.curve import Car
from backend.simulator.station import V16, V201, Behaviour, SimulatedStation, StationSpec
from tests.conftest import Api
from tests.live_server import LiveServer

VOLTAGE = 230.0
INTERVAL_S = 1.0
STATION_MAX_W = 22_000
# What a simulated 22 kW station allows on its own, per phase, one decimal down.
STATION_MAX_A = 31.8
# A connector whose power is unknown counts as 32 A (problem.DEFAULT_CONNECTOR_MAX_A).
FULL_POWER_A = 32.0


# --- the simulator's composite schedule, on its own --------------------------------------------


def _sim(obeys: bool = True, connectors: int = 2) -> SimulatedStation:
    return SimulatedStation(
        StationSpec("UNIT", V16, connectors=connectors, obeys_profiles=obeys),
        Behaviour(server_url="ws://127.0.0.1:9/ocpp"),
    )


def _profile16(
    profile_id: int,
    purpose: str,
    periods: list[tuple[int, float]],
    start: datetime | None,
    unit: str = "A",
    duration: int | None = None,
) -> dict[str, Any]:
    schedule: dict[str, Any] = {
        "charging_rate_unit": unit,
        "charging_schedule_period": [{"start_period": s, "limit": v} for s, v in periods],
    }
    if start is not None:
        schedule["start_schedule"] = start.isoformat()
    if duration is not None:
        schedule["duration"] = duration
    return {
        "charging_profile_id": profile_id,
        "stack_level": 0,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": "Absolute",
        "charging_schedule": schedule,
    }


def test_simulator_composite_schedule_combines_the_profiles_it_holds() -> None:
    sim = _sim()
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    # Nothing held: the station's own maximum, 22 kW = 31.88 A per phase on three phases.
    assert sim.composite_schedule(1, start, 600, "A") == ("A", [(0, STATION_MAX_A)])
    assert sim.composite_schedule(1, start, 600, "W") == ("W", [(0, 22_000.0)])

    # The station's default for every connector: 16 A.
    sim.apply_profile(0, _profile16(1, "TxDefaultProfile", [(0, 16.0)], None))
    # A TxProfile on connector 1 from 08:00: 10 A, then 20 A after 5 min, for 15 min.
    sim.apply_profile(1, _profile16(2, "TxProfile", [(0, 10.0), (300, 20.0)], start, duration=900))
    # A station-wide cap in W from 08:10: 9.2 kW = 13.3 A per phase.
    sim.apply_profile(
        0, _profile16(3, "ChargePointMaxProfile", [(0, 9200.0)], start + timedelta(minutes=10), "W")
    )
    unit, periods = sim.composite_schedule(1, start, 1800, "A")
    assert unit == "A"
    # 10 A; 20 A at 5 min; the cap at 10 min; the TxProfile ends at 15 min: the default 16 A,
    # still under the 13.3 A cap.
    assert periods == [(0, 10.0), (300, 20.0), (600, 13.3)]
    # Connector 2 has no TxProfile: the default, then the cap.
    assert sim.composite_schedule(2, start, 1800, "A")[1] == [(0, 16.0), (600, 13.3)]
    # The car follows the period in force.
    assert sim._limit_for(1, start + timedelta(seconds=10)) == (None, 10.0)
    assert sim._limit_for(1, start + timedelta(seconds=310)) == (None, 20.0)
    assert sim._limit_for(1, start + timedelta(seconds=700)) == (9200.0, 20.0)

    # Cleared by id (Accepted), or nothing matched (Unknown).
    assert sim.clear_profiles(2) is True
    assert sim.clear_profiles(2) is False
    assert sim.composite_schedule(1, start, 600, "A")[1] == [(0, 16.0)]
    assert sim.clear_profiles(purpose="TxDefaultProfile", connector=0) is True
    assert sim.composite_schedule(1, start, 300, "A")[1] == [(0, STATION_MAX_A)]


def test_a_station_that_ignores_profiles_keeps_its_maximum() -> None:
    sim = _sim(obeys=False)
    sim.apply_profile(1, _profile16(2, "TxProfile", [(0, 10.0)], None))
    assert sim.profiles == []
    assert sim.composite_schedule(1, datetime.now(UTC), 300, "A") == ("A", [(0, STATION_MAX_A)])


# --- reading GetCompositeSchedule answers ------------------------------------------------------

AT = datetime(2026, 3, 2, 8, 0, 30, tzinfo=UTC)


def _answer16(periods: list[dict[str, Any]], unit: str = "A") -> CommandAnswer:
    return CommandAnswer(
        "Accepted",
        {
            "schedule": {
                "status": "Accepted",
                "connectorId": 1,
                "scheduleStart": "2026-03-02T08:00:00Z",
                "chargingSchedule": {
                    "chargingRateUnit": unit,
                    "chargingSchedulePeriod": periods,
                },
            }
        },
    )


def _answer201(periods: list[dict[str, Any]], unit: str = "A") -> CommandAnswer:
    return CommandAnswer(
        "Accepted",
        {
            "schedule": {
                "status": "Accepted",
                "schedule": {
                    "evseId": 1,
                    "duration": 300,
                    "scheduleStart": "2026-03-02T08:00:00Z",
                    "chargingRateUnit": unit,
                    "chargingSchedulePeriod": periods,
                },
            }
        },
    )


@pytest.mark.parametrize("answer", [_answer16, _answer201])
def test_composite_answers_are_read_at_the_current_period(answer: Any) -> None:
    # 30 s after the schedule's start: the period that began at 20 s is in force.
    periods = [
        {"startPeriod": 0, "limit": 32.0},
        {"startPeriod": 20, "limit": 12.0},
        {"startPeriod": 60, "limit": 40.0},
    ]
    assert composite.composite_limit(answer(periods).data, AT) == (12.0, "A")
    assert composite.exceeded(answer(periods), 12.0, AT) is None
    assert composite.exceeded(answer(periods), 11.95, AT) is None  # within rounding
    reason = composite.exceeded(answer(periods), 10.0, AT)
    assert reason == "accepted a 10 A profile but its composite schedule allows 12.0 A"
    # In W: 6900 W on three phases is 10 A; on one phase, 30 A.
    assert composite.composite_limit(answer([{"startPeriod": 0, "limit": 6900}], "W").data, AT) == (
        10.0,
        "W",
    )
    one_phase = [{"startPeriod": 0, "limit": 6900, "numberPhases": 1}]
    assert composite.composite_limit(answer(one_phase, "W").data, AT) == (30.0, "W")
    # A station at 240 V reports 7200 W for 10 A: within the W tolerance.
    assert composite.exceeded(answer([{"startPeriod": 0, "limit": 7200}], "W"), 10.0, AT) is None
    # No period at all: no limit, so our profile is not in it.
    assert composite.exceeded(answer([]), 10.0, AT) is not None


def test_a_station_that_cannot_answer_keeps_the_benefit_of_the_doubt() -> None:
    assert composite.exceeded(CommandAnswer("Rejected"), 10.0, AT) is None
    assert composite.exceeded(None, 10.0, AT) is None  # offline, silent, CALLERROR


def test_the_limit_we_sent_is_read_at_the_same_instant() -> None:
    profile = ChargingProfile(
        id=1,
        stack_level=1,
        purpose="TxProfile",
        kind="Absolute",
        rate_unit="A",
        periods=((0, 16.0, None), (300, 8.0, None)),
        start_schedule=AT - timedelta(seconds=30),
    )
    assert composite.sent_limit_a(profile, AT) == 16.0
    assert composite.sent_limit_a(profile, AT + timedelta(seconds=300)) == 8.0


# --- live: simulated stations against the real server -----------------------------------------


@pytest.fixture(scope="module")
def observed() -> list[Event]:
    return []


@pytest.fixture(scope="module")
def smart_server(settings: Settings, observed: list[Event]) -> Iterator[LiveServer]:
    """The real app, whose event bus also keeps what it published (what admins are told)."""

    class ObservedBus(BroadcastBus):
        async def publish(self, event: Event) -> None:
            observed.append(event)
            await super().publish(event)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(backend.app, "BroadcastBus", ObservedBus)
        server = LiveServer(
            settings.model_copy(
                update={"smart_charging_interval_s": 2.0, "smart_charging_min_gap_s": 1.0}
            )
        )
    server.start()
    yield server
    server.stop()


@contextlib.asynccontextmanager
async def _admin_notices(settings: Settings, observed: list[Event]) -> AsyncIterator[list[Any]]:
    """What admins are told (station notices, as JSON). With Redis, every server process of
    the suite plans smart charging from the shared database and may be the one that finds a
    station out: listen on the bus itself. In memory, only the smart server can reach the
    stations: what its bus published."""
    heard: list[Any] = []
    if not settings.broadcast_url.startswith("redis"):
        yield heard
        # As the bus carries them (JSON: ids as strings).
        heard.extend(
            json.loads(json.dumps(e.to_dict(), default=str))
            for e in observed
            if isinstance(e, StationNotice)
        )
        return
    async with BroadcastBus(settings.broadcast_url, settings.broadcast_prefix) as bus:
        async with bus.subscribe("admin") as events:

            async def listen() -> None:
                async for event in events:
                    heard.append(event)

            listening = asyncio.create_task(listen())
            try:
                yield heard
                await asyncio.sleep(0.5)  # the last notices still in flight
            finally:
                listening.cancel()
                await asyncio.gather(listening, return_exceptions=True)


@pytest.fixture
async def http(smart_server: LiveServer) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=smart_server.url, timeout=30) as client:
        yield Api(client)


def big_car(rng: random.Random) -> Car:
    return Car(battery_wh=500_000, soc=20.0, target_soc=95.0, max_power_w=22_000, phases=3)


async def _wait(predicate: Any, seconds: float, what: str) -> Any:
    for _ in range(int(seconds / 0.2)):
        found = await predicate()
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def _site(
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    limit_a: float,
    specs: list[StationSpec],
) -> tuple[uuid.UUID, uuid.UUID, dict[str, uuid.UUID], str]:
    """A site with a smart-charging area of `limit_a` per phase holding the stations, and a
    driver's badge. (site, area, station ids by identity, badge)."""
    async with sessionmaker() as db:
        site = Site(name="Checked site")
        db.add(site)
        await db.flush()
        area = SiteArea(
            site_id=site.id,
            name="Feeder",
            max_power_w=int(limit_a * 3 * VOLTAGE),
            phases=3,
            voltage=int(VOLTAGE),
            smart_charging=True,
        )
        db.add(area)
        await db.flush()
        stations = {
            spec.identity: ChargingStation(
                ocpp_identity=spec.identity,
                site_area_id=area.id,
                site_id=site.id,
                registration_status=RegistrationStatus.ACCEPTED,
            )
            for spec in specs
        }
        db.add_all(stations.values())
        await db.commit()
        ids = {name: s.id for name, s in stations.items()}
        site_id, area_id = site.id, area.id
    driver = await make_user(sites={site_id: SiteRole.MEMBER})
    badge = f"CHK{uuid.uuid4().hex[:8].upper()}"
    async with sessionmaker() as db:
        db.add(RfidCard(uid=badge, user_id=driver.id))
        await db.commit()
    return site_id, area_id, ids, badge


@contextlib.asynccontextmanager
async def _running(
    server: LiveServer, specs: list[StationSpec], badge: str
) -> AsyncIterator[dict[str, SimulatedStation]]:
    behaviour = Behaviour(
        server_url=f"{server.ws_url}/ocpp",
        badges=[badge],
        interval_s=INTERVAL_S,
        first_car_s=(0.1, 0.4),
        between_cars_s=(1e9, 1e9),
        idle_after_full_s=(1e9, 1e9),
        car_factory=big_car,
        seed=11,
    )
    sims = {spec.identity: SimulatedStation(spec, behaviour) for spec in specs}
    tasks = [asyncio.create_task(sim.run()) for sim in sims.values()]
    try:
        yield sims
    finally:
        for sim in sims.values():
            with contextlib.suppress(Exception):
                await sim.stop()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


async def _plans(
    sessionmaker: async_sessionmaker[AsyncSession], station_ids: list[uuid.UUID]
) -> dict[uuid.UUID, SessionPlan]:
    """The plan of each station's active session."""
    async with sessionmaker() as db:
        rows = (
            await db.execute(
                select(ChargingSession.station_id, SessionPlan)
                .join(SessionPlan, SessionPlan.session_id == ChargingSession.id)
                .where(
                    ChargingSession.station_id.in_(station_ids),
                    ChargingSession.status == SessionStatus.ACTIVE,
                )
            )
        ).all()
    return {station_id: plan for station_id, plan in rows}


async def _states(
    sessionmaker: async_sessionmaker[AsyncSession], station_ids: list[uuid.UUID]
) -> dict[uuid.UUID, StationSmartCharging]:
    async with sessionmaker() as db:
        rows = await db.scalars(
            select(StationSmartCharging).where(StationSmartCharging.station_id.in_(station_ids))
        )
        return {s.station_id: s for s in rows}


async def _composite_a(http: Api, token: str, station_id: uuid.UUID) -> float:
    """The limit now of the station's composite schedule, asked through the API."""
    data = await http.ok(
        "mutation($s: ID!) { r: getCompositeSchedule(stationId: $s, connectorId: 1, "
        "durationS: 300, rateUnit: A) { status accepted schedule } }",
        {"s": str(station_id)},
        token=token,
    )
    assert data["r"]["accepted"], data
    found = composite.composite_limit({"schedule": data["r"]["schedule"]}, datetime.now(UTC))
    assert found is not None and found[1] == "A", data
    return found[0]


async def test_a_station_that_ignores_its_profiles_is_left_out(
    settings: Settings,
    smart_server: LiveServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    http: Api,
    observed: list[Event],
) -> None:
    suffix = uuid.uuid4().hex[:5].upper()
    specs = [
        StationSpec(f"OK16-{suffix}", V16),
        StationSpec(f"IGN16-{suffix}", V16, obeys_profiles=False),
        StationSpec(f"OK201-{suffix}", V201),
        StationSpec(f"IGN201-{suffix}", V201, obeys_profiles=False),
    ]
    # 96 A per phase for four 32 A stations: 24 A each, until the two that ignore their
    # profiles are found out and their full power (32 A each) is reserved: 16 A each left.
    limit_a = 96.0
    _, area_id, ids, badge = await _site(sessionmaker, make_user, limit_a, specs)
    admin = (await make_user(Role.ADMIN)).token
    obeying = [ids[specs[0].identity], ids[specs[2].identity]]
    ignoring = [ids[specs[1].identity], ids[specs[3].identity]]

    async with _admin_notices(settings, observed) as heard, _running(smart_server, specs, badge):

        async def found_out() -> bool:
            states = await _states(sessionmaker, ignoring)
            return len(states) == 2 and all(s.refused_at is not None for s in states.values())

        await _wait(found_out, 20, "the stations ignoring their profiles to be found out")
        states = await _states(sessionmaker, [*obeying, *ignoring])
        for station_id in ignoring:
            # Found out once offered less than the 31.8 A it allows by itself.
            refusal = states[station_id].refusal or ""
            assert re.fullmatch(
                rf"accepted a [\d.]+ A profile but its composite schedule allows {STATION_MAX_A} A",
                refusal,
            ), refusal
        for station_id in obeying:
            assert states[station_id].refused_at is None

        # Planned again without them, their full power reserved.
        share = (limit_a - 2 * FULL_POWER_A) / 2

        async def replanned() -> dict[uuid.UUID, SessionPlan] | None:
            plans = await _plans(sessionmaker, obeying)
            ok = len(plans) == 2 and all(
                p.profile_set and p.offered_a is not None and p.offered_a <= share + 1e-6
                for p in plans.values()
            )
            return plans if ok else None

        plans = await _wait(replanned, 15, "the obeying stations to share what is left")
        assert sum(p.offered_a or 0.0 for p in plans.values()) <= limit_a - 2 * FULL_POWER_A
        # Both versions: the stations that obey say so in their composite schedule.
        for station_id in obeying:
            limit = await _composite_a(http, admin, station_id)
            assert limit == pytest.approx(min(plans[station_id].offered_a or 0, STATION_MAX_A))
        for station_id in ignoring:
            assert await _composite_a(http, admin, station_id) == STATION_MAX_A

    # Admins were told: an audit entry and a notice for each of the two, and only them.
    async with sessionmaker() as db:
        audited = list(
            await db.scalars(
                select(AuditEntry.target_id).where(
                    AuditEntry.action == "smart_charging.station_refused_profiles"
                )
            )
        )
    assert sorted(str(a) for a in audited) == sorted(str(s) for s in ignoring)
    watched = {str(s) for s in [*obeying, *ignoring]}
    notices = [
        e
        for e in heard
        if e.get("kind") == StationNotice.kind
        and e.get("notice") == "smart_charging.profiles_refused"
        and e.get("station_id") in watched
    ]
    assert sorted(n["station_id"] for n in notices) == sorted(str(s) for s in ignoring)
    for notice in notices:
        assert notice["data"]["check"] == "composite_schedule"
        assert notice["data"]["siteAreaId"] == str(area_id)


async def _powers_since(
    sessionmaker: async_sessionmaker[AsyncSession], station_id: uuid.UUID, since: datetime
) -> list[float]:
    async with sessionmaker() as db:
        rows = await db.scalars(
            select(MeterSample.power_w)
            .join(ChargingSession, ChargingSession.id == MeterSample.session_id)
            .where(
                ChargingSession.station_id == station_id,
                MeterSample.sampled_at > since,
                MeterSample.power_w.is_not(None),
            )
            .order_by(MeterSample.sampled_at)
        )
        return [float(p or 0) for p in rows]


async def test_leaving_smart_charging_gives_full_power_back(
    smart_server: LiveServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    make_user: Any,
    http: Api,
) -> None:
    suffix = uuid.uuid4().hex[:5].upper()
    specs = [StationSpec(f"REL16-{suffix}", V16), StationSpec(f"REL201-{suffix}", V201)]
    # 20 A per phase for two 22 kW cars: 10 A (6.9 kW) each.
    site_id, area_id, ids, badge = await _site(sessionmaker, make_user, 20.0, specs)
    station16, station201 = ids[specs[0].identity], ids[specs[1].identity]
    async with sessionmaker() as db:
        free = SiteArea(site_id=site_id, name="No smart charging", max_power_w=100_000)
        db.add(free)
        await db.commit()
        free_id = free.id
    admin = (await make_user(Role.ADMIN)).token
    ours = {90_000, 90_101}  # the TxDefaultProfile and connector 1's TxProfile

    async with _running(smart_server, specs, badge) as sims:
        sim16, sim201 = sims[specs[0].identity], sims[specs[1].identity]

        async def limited() -> bool:
            plans = await _plans(sessionmaker, [station16, station201])
            held = all(ours <= {p.id for p in s.profiles} for s in sims.values())
            return held and len(plans) == 2 and all(p.profile_set for p in plans.values())

        await _wait(limited, 20, "both stations to hold our profiles")
        plans = await _plans(sessionmaker, [station16, station201])
        assert all(p.offered_a == pytest.approx(10.0) for p in plans.values())
        for sim in sims.values():
            transaction = sim.connectors[1].transaction
            assert transaction is not None and transaction.curve.limit_a == pytest.approx(10.0)

        # 1. The 2.0.1 station moves to an area without smart charging.
        await http.ok(
            "mutation($id: ID!, $i: String!, $area: ID) { r: updateStation(id: $id, input: "
            "{ocppIdentity: $i, siteAreaId: $area}) { id } }",
            {"id": str(station201), "i": specs[1].identity, "area": str(free_id)},
            token=admin,
        )

        async def released201() -> bool:
            return not sim201.profiles

        await _wait(released201, 15, "the moved station's profiles to be cleared")
        moved_at = datetime.now(UTC)
        # The station that stayed still holds its profiles.
        assert ours <= {p.id for p in sim16.profiles}

        async def full_power(station_id: uuid.UUID, since: datetime) -> bool:
            powers = await _powers_since(sessionmaker, station_id, since)
            return bool(powers) and powers[-1] > 0.95 * STATION_MAX_W

        await _wait(lambda: full_power(station201, moved_at), 10, "full power on the moved one")

        # 2. Smart charging is turned off on the area: the 1.6 station gets full power too.
        await http.ok(
            "mutation($id: ID!, $site: ID!) { r: updateSiteArea(id: $id, input: {siteId: $site, "
            'name: "Feeder", maxPowerW: 13800, smartCharging: false}) { id } }',
            {"id": str(area_id), "site": str(site_id)},
            token=admin,
        )

        async def released16() -> bool:
            return not sim16.profiles

        await _wait(released16, 15, "the profiles of the area's station to be cleared")
        off_at = datetime.now(UTC)
        await _wait(lambda: full_power(station16, off_at), 10, "full power on the area's one")

        # Nothing of ours is left marked on them, and nobody sets it again.
        await asyncio.sleep(3)
        assert not sim16.profiles and not sim201.profiles
        states = await _states(sessionmaker, [station16, station201])
        assert all(s.default_set_at is None and s.default_limit_a is None for s in states.values())
        plans = await _plans(sessionmaker, [station16, station201])
        assert all(not p.profile_set and p.schedule == [] for p in plans.values())

    # Recorded (twice for a station that a run still reached while it was being released).
    cleared: dict[str | None, set[int]] = {}
    async with sessionmaker() as db:
        for entry in await db.scalars(
            select(AuditEntry).where(AuditEntry.action == "smart_charging.profiles_cleared")
        ):
            cleared.setdefault(entry.target_id, set()).update(entry.details["profiles"])
    assert cleared == {str(station16): ours, str(station201): ours}
