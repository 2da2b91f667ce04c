"""Reading a site area into the planner's `Problem` (`load_management.problem.build`), on a
real database with rows built with the ORM, against expectations computed by hand (230 V):

- nested areas, each with its limit per phase (a single-phase area: all on L1), planned as one
  unit from the highest area with smart charging on;
- the phases a car uses, learned from the per-phase currents of its latest meter value, and a
  car drawing less than offered capped at its draw plus a margin;
- single-phase cars on different phases do not share a limit; cars on the same phase do;
- a car whose phases are not known yet counts on all three;
- refused and offline stations reserve their power on their area and every area above it;
- the defaults of energy wanted and departure, and the driver's goal over them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import (
    ChargingSession,
    ChargingStation,
    Connector,
    MeterSample,
    RegistrationStatus,
    ServerProcess,
    SessionPlan,
    Site,
    SiteArea,
    StationConnection,
    StationSmartCharging,
    Vehicle,
)
from backend.domain.load_management.problem import Built, build, unit_of
from backend.smart_charging import Node, Session, plan
from backend.smart_charging.prepare import prepare

# One amp per phase over three phases at 230 V is 690 W.
W_PER_A_3 = 690


class Scene:
    """Rows of one test: a site, areas, stations (online through a live server process, or
    not), connectors and sessions, all relative to `now`."""

    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.now = utcnow()
        self.site: Site | None = None
        self.process: str | None = None
        self.count = 0

    async def area(
        self,
        name: str,
        power_w: int,
        *,
        phases: int = 3,
        parent: SiteArea | None = None,
        smart: bool = True,
    ) -> SiteArea:
        if self.site is None:
            self.site = Site(name="Problem site")
            self.db.add(self.site)
            await self.db.flush()
        area = SiteArea(
            site_id=self.site.id,
            name=name,
            max_power_w=power_w,
            phases=phases,
            voltage=230,
            parent_area_id=parent.id if parent else None,
            smart_charging=smart,
        )
        self.db.add(area)
        await self.db.flush()
        return area

    async def station(
        self,
        area: SiteArea,
        name: str,
        connectors: list[tuple[int | None, int | None]],
        *,
        online: bool = True,
        seen: bool = True,
        connected_at: datetime | None = None,
    ) -> ChargingStation:
        """`connectors`: (max power W, phases) of each, numbered 1, 2, …"""
        station = ChargingStation(
            ocpp_identity=f"{name}-{uuid.uuid4().hex[:6]}",
            site_area_id=area.id,
            site_id=area.site_id,
            registration_status=RegistrationStatus.ACCEPTED,
            last_seen_at=self.now - timedelta(minutes=1) if seen else None,
        )
        self.db.add(station)
        await self.db.flush()
        for number, (power, phases) in enumerate(connectors, start=1):
            self.db.add(
                Connector(
                    station_id=station.id,
                    evse_id=number,
                    connector_id=1,
                    max_power_w=power,
                    phases=phases,
                )
            )
        if online:
            if self.process is None:
                self.process = f"problem-test-{uuid.uuid4().hex[:8]}"
                self.db.add(
                    ServerProcess(id=self.process, host="test", pid=1, heartbeat_at=self.now)
                )
                await self.db.flush()
            self.db.add(
                StationConnection(
                    station_id=station.id,
                    process_id=self.process,
                    connection_id=uuid.uuid4(),
                    connected_at=connected_at or self.now - timedelta(hours=1),
                )
            )
        await self.db.flush()
        return station

    async def connector(self, station: ChargingStation, evse: int) -> Connector:
        found = await self.db.scalar(
            select(Connector).where(Connector.station_id == station.id, Connector.evse_id == evse)
        )
        assert found is not None
        return found

    async def session(
        self,
        station: ChargingStation,
        evse: int = 1,
        *,
        started: timedelta = timedelta(hours=1),
        energy_wh: int = 0,
        user_id: uuid.UUID | None = None,
        currents: tuple[float | None, float | None, float | None] | None = None,
        departure_in: timedelta | None = None,
        energy_wanted_wh: int | None = None,
    ) -> ChargingSession:
        """An active session on the station's connector `evse`; `currents`: its latest meter
        value's per-phase currents (a minute ago)."""
        connector = await self.connector(station, evse)
        self.count += 1
        charge = ChargingSession(
            station_id=station.id,
            connector_id=connector.id,
            user_id=user_id,
            ocpp_transaction_id=str(self.count),
            started_at=self.now - started,
            energy_wh=energy_wh,
            departure_at=self.now + departure_in if departure_in is not None else None,
            energy_wanted_wh=energy_wanted_wh,
        )
        self.db.add(charge)
        await self.db.flush()
        if currents is not None:
            self.sample(charge, timedelta(minutes=1), currents)
        await self.db.flush()
        return charge

    def sample(
        self,
        charge: ChargingSession,
        ago: timedelta,
        currents: tuple[float | None, float | None, float | None],
    ) -> None:
        self.db.add(
            MeterSample(
                session_id=charge.id,
                sampled_at=self.now - ago,
                power_w=int(sum(c or 0.0 for c in currents) * 230),
                current_a_l1=currents[0],
                current_a_l2=currents[1],
                current_a_l3=currents[2],
            )
        )

    async def build(self, unit: SiteArea) -> Built:
        await self.db.commit()
        return await build(self.db, unit, self.now)


@pytest.fixture
def scene(db: AsyncSession) -> Scene:
    return Scene(db)


def nodes(built: Built) -> dict[str, Node]:
    return {n.id: n for n, _ in built.problem.root.walk()}


def sessions(built: Built) -> dict[str, Session]:
    return {s.id: s for s in built.problem.sessions}


def approx3(value: float) -> Any:
    return pytest.approx((value, value, value), abs=1e-6)


# 22 kW three-phase connectors: 32 A per phase.
AC22 = (22_080, 3)


async def test_nested_areas_keep_their_limits_per_phase(scene: Scene) -> None:
    grid = await scene.area("Grid", 100 * W_PER_A_3)  # 100 A per phase
    garage = await scene.area("Garage", 40 * W_PER_A_3, parent=grid)  # 40 A
    bay = await scene.area("Bay", 20 * W_PER_A_3, parent=garage, smart=False)  # 20 A
    shed = await scene.area("Shed", 32 * 230, phases=1, parent=grid)  # 32 A on L1 only
    g1 = await scene.station(garage, "G1", [AC22])
    b1 = await scene.station(bay, "B1", [AC22])
    b2 = await scene.station(bay, "B2", [AC22])
    s1 = await scene.station(shed, "S1", [(7_360, 1)])  # 32 A on one phase
    wants = {"energy_wanted_wh": 150_000, "departure_in": timedelta(hours=6)}
    charges = {
        name: await scene.session(st, **wants)  # type: ignore[arg-type]
        for name, st in (("g1", g1), ("b1", b1), ("b2", b2), ("s1", s1))
    }
    built = await scene.build(grid)

    # The unit is the highest area with smart charging on, from anywhere below it.
    assert (await unit_of(scene.db, bay.id)).id == grid.id  # type: ignore[union-attr]
    assert (await unit_of(scene.db, shed.id)).id == grid.id  # type: ignore[union-attr]
    by_id = nodes(built)
    root = built.problem.root
    assert root.id == f"area:{grid.id}"
    assert root.max_current == approx3(100.0)
    assert by_id[f"area:{garage.id}"].max_current == approx3(40.0)
    assert by_id[f"area:{bay.id}"].max_current == approx3(20.0)
    assert by_id[f"area:{shed.id}"].max_current == pytest.approx((32.0, 0.0, 0.0))
    assert {c.id for c in root.children} == {f"area:{garage.id}", f"area:{shed.id}"}
    assert {c.id for c in by_id[f"area:{garage.id}"].children} == {
        f"area:{bay.id}",
        f"station:{g1.id}",
    }
    assert {c.id for c in by_id[f"area:{bay.id}"].children} == {
        f"station:{b1.id}",
        f"station:{b2.id}",
    }
    # A station's limit is its connectors' sum; a connector's, its power over its phases.
    assert by_id[f"station:{g1.id}"].max_current == approx3(32.0)
    assert by_id[f"station:{s1.id}"].children[0].max_current == approx3(32.0)
    assert built.area_limit_a == pytest.approx(100.0)

    # Phases not known yet: all three; under the single-phase shed: L1.
    got = sessions(built)
    assert got[str(charges["g1"].id)].phases is None
    assert got[str(charges["s1"].id)].phases == (1,)

    # Planned: the bay's 20 A shared by its two cars; the garage's 40 A leaves 20 A to G1;
    # the shed's car alone on its 32 A of L1 (the grid's L1: 10 + 10 + 20 + 32 = 72 A).
    result = plan(built.problem)
    now_a = {name: result.now(str(c.id)) for name, c in charges.items()}
    assert now_a == pytest.approx({"g1": 20.0, "b1": 10.0, "b2": 10.0, "s1": 32.0}, abs=0.1)

    # Safe defaults: the smallest share of each area above the station among its connectors:
    # B: min(100/4, 40/3, 20/2) = 10; G1: min(25, 13.3) = 13.3; S1: min(25, 32/1) = 25.
    assert built.stations[b1.id].default_limit_a == 10.0
    assert built.stations[g1.id].default_limit_a == 13.3
    assert built.stations[s1.id].default_limit_a == 25.0


async def test_phases_are_learned_from_the_per_phase_currents(scene: Scene) -> None:
    area = await scene.area("Area", 100 * W_PER_A_3)
    station = await scene.station(area, "P", [AC22, AC22, AC22, AC22])
    # 1: a car on L1 (L2 shows a leak under 1 A); it was offered 16 A and draws 10 A.
    first = await scene.session(station, 1, currents=(10.0, 0.3, None))
    scene.sample(first, timedelta(minutes=3), (16.0, 16.0, 16.0))  # older: not the latest
    scene.db.add(
        SessionPlan(
            session_id=first.id,
            offered_a=16.0,
            profile_set=True,
            pushed_at=scene.now - timedelta(minutes=2),
            phases="123",
        )
    )
    # 2: a car on L2 and L3.
    second = await scene.session(station, 2, currents=(0.2, 10.0, 10.1))
    # 3: a reading without currents: the phases of the last plan stand.
    third = await scene.session(station, 3, currents=(None, None, None))
    scene.db.add(SessionPlan(session_id=third.id, phases="2"))
    # 4: nothing known yet.
    fourth = await scene.session(station, 4)
    built = await scene.build(area)

    got = sessions(built)
    assert got[str(first.id)].phases == (1,)
    assert got[str(second.id)].phases == (2, 3)
    assert got[str(third.id)].phases == (2,)
    assert got[str(fourth.id)].phases is None
    # The draw measured after the offer landed: what the car takes is learned and kept.
    assert got[str(first.id)].measured_current == pytest.approx(10.0)
    assert got[str(first.id)].offered_current == pytest.approx(16.0)
    assert got[str(first.id)].learned_current == pytest.approx(10.0)
    assert built.sessions[str(first.id)].learned_max_a == pytest.approx(10.0)
    # Without an offer of ours, a draw says nothing about the car: measured, not used.
    assert got[str(second.id)].measured_current is None
    assert built.sessions[str(second.id)].measured_a == pytest.approx(10.1)
    assert got[str(second.id)].max_current == pytest.approx(32.0)


async def test_single_phase_cars_on_different_phases_do_not_share(scene: Scene) -> None:
    area = await scene.area("Area", 16 * W_PER_A_3)  # 16 A per phase
    one_phase = (7_360, 1)
    cars = {}
    # X and W on L1, Y on L2, Z on L3: the meter of each station says where it draws.
    for name, currents in (
        ("x", (16.0, 0.0, 0.0)),
        ("w", (16.0, 0.0, 0.0)),
        ("y", (0.0, 16.0, 0.0)),
        ("z", (0.0, 0.0, 16.0)),
    ):
        station = await scene.station(area, name.upper(), [one_phase])
        cars[name] = await scene.session(
            station, currents=currents, energy_wanted_wh=100_000, departure_in=timedelta(hours=8)
        )
    built = await scene.build(area)

    got = sessions(built)
    assert [got[str(cars[n].id)].phases for n in "xwyz"] == [(1,), (1,), (2,), (3,)]
    result = plan(built.problem)
    now_a = {n: result.now(str(c.id)) for n, c in cars.items()}
    # L1's 16 A shared by X and W; Y and Z each alone on their phase.
    assert now_a == pytest.approx({"x": 8.0, "w": 8.0, "y": 16.0, "z": 16.0}, abs=0.1)


async def test_a_car_whose_phases_are_unknown_counts_on_all_three(
    scene: Scene, make_user: Any
) -> None:
    driver = await make_user()  # (before the scene's transaction: SQLite has one writer)
    area = await scene.area("Area", 20 * W_PER_A_3)  # 20 A per phase
    known_station = await scene.station(area, "K", [AC22])
    unknown_station = await scene.station(area, "U", [AC22])
    # U's car takes 10 A at most (6.9 kW on three phases, its driver's default vehicle).
    scene.db.add(
        Vehicle(user_id=driver.id, plate="U-1", max_ac_power_w=6_900, ac_phases=3, is_default=True)
    )
    goal = {"energy_wanted_wh": 100_000, "departure_in": timedelta(hours=8)}
    known = await scene.session(known_station, currents=(16.0, 0.0, 0.0), **goal)  # type: ignore[arg-type]
    unknown = await scene.session(unknown_station, user_id=driver.id, **goal)  # type: ignore[arg-type]
    built = await scene.build(area)

    got = sessions(built)
    assert got[str(unknown.id)].phases is None
    assert got[str(unknown.id)].max_current == pytest.approx(10.0)
    prepared = prepare(built.problem)
    phases = {s.id: p for s, p in zip(prepared.sessions, prepared.phases_of, strict=True)}
    assert phases[str(unknown.id)] == (0, 1, 2)
    assert phases[str(known.id)] == (0,)
    # On L1 both count: 10 A for U leaves 10 A for K (it would get 20 A were U elsewhere).
    result = plan(built.problem)
    assert result.now(str(unknown.id)) == pytest.approx(10.0, abs=0.1)
    assert result.now(str(known.id)) == pytest.approx(10.0, abs=0.1)


async def test_refused_and_offline_stations_reserve_their_power(scene: Scene) -> None:
    grid = await scene.area("Grid", 200 * W_PER_A_3)  # 200 A per phase
    wing = await scene.area("Wing", 100 * W_PER_A_3, parent=grid, smart=False)  # 100 A
    # R refused our profiles after it connected: left out, its 2 x 32 A reserved.
    refused = await scene.station(wing, "R", [AC22, AC22])
    scene.db.add(
        StationSmartCharging(
            station_id=refused.id,
            refused_at=scene.now - timedelta(minutes=5),
            refusal="answered Rejected",
        )
    )
    refused_charge = await scene.session(refused, currents=(30.0, 30.0, 30.0))
    # R2 refused, then reconnected: tried again, planned like any other.
    retried = await scene.station(
        wing, "R2", [AC22], connected_at=scene.now - timedelta(minutes=30)
    )
    scene.db.add(
        StationSmartCharging(station_id=retried.id, refused_at=scene.now - timedelta(hours=2))
    )
    retried_charge = await scene.session(
        retried, energy_wanted_wh=100_000, departure_in=timedelta(hours=8)
    )
    # F: offline, seen before, never given a default: its 16 A connector's full power.
    await scene.station(wing, "F", [(11_040, 3)], online=False)
    # O: offline with our 10 A default. Connector 1's car drew 20 A under our TxProfile,
    # which allows 25 A later on: 25 A; connector 2 idle, at the default: 10 A.
    offline = await scene.station(grid, "O", [AC22, AC22], online=False)
    scene.db.add(
        StationSmartCharging(station_id=offline.id, default_limit_a=10.0, default_set_at=scene.now)
    )
    offline_charge = await scene.session(offline, currents=(20.0, 20.0, 20.0))
    scene.db.add(
        SessionPlan(
            session_id=offline_charge.id,
            offered_a=12.0,
            profile_set=True,
            pushed_at=scene.now - timedelta(minutes=2),
            schedule=[
                [(scene.now - timedelta(minutes=10)).isoformat(), 30.0],  # over: ignored
                [(scene.now - timedelta(minutes=1)).isoformat(), 12.0],
                [(scene.now + timedelta(minutes=4)).isoformat(), 25.0],
                [(scene.now + timedelta(minutes=9)).isoformat(), 6.0],
            ],
        )
    )
    # N: never seen: nothing drawn, nothing reserved.
    never = await scene.station(grid, "N", [AC22], online=False, seen=False)
    built = await scene.build(grid)

    by_id = nodes(built)
    # The wing carries R (64 A) and F (16 A); the grid carries them and O (25 + 10 A).
    assert by_id[f"area:{wing.id}"].other_load == approx3(80.0)
    assert built.problem.root.other_load == approx3(115.0)
    assert f"station:{refused.id}" not in by_id
    assert {f"station:{offline.id}", f"station:{never.id}"} <= set(by_id)
    assert built.stations[refused.id].refused
    assert not built.stations[retried.id].refused
    assert not built.stations[offline.id].online
    # Only R2's session is planned: R is left out, O cannot be told anything.
    assert set(sessions(built)) == {str(retried_charge.id)}
    assert str(refused_charge.id) not in built.sessions
    # R2 gets what the wing has left: 100 - 80 = 20 A (the grid has 85 A left).
    result = plan(built.problem)
    assert result.now(str(retried_charge.id)) == pytest.approx(20.0, abs=0.1)


async def test_defaults_of_energy_and_departure(scene: Scene, make_user: Any) -> None:
    owner = await make_user()  # (before the scene's transaction: SQLite has one writer)
    small = await make_user()
    area = await scene.area("Area", 100 * W_PER_A_3)
    stations = [await scene.station(area, f"D{i}", [AC22]) for i in range(5)]
    scene.db.add(
        Vehicle(
            user_id=owner.id,
            plate="AB-123-CD",
            battery_capacity_wh=60_000,
            max_ac_power_w=11_000,
            ac_phases=3,
            is_default=True,
        )
    )
    scene.db.add(
        Vehicle(user_id=small.id, plate="S-1", max_ac_power_w=1_380, ac_phases=1, is_default=True)
    )
    # No goal, no vehicle: 30 kWh, leaving 8 h after the start.
    plain = await scene.session(stations[0], started=timedelta(hours=2), energy_wh=5_000)
    # The driver's vehicle: its battery, at least 10 kWh more; started 9 h ago: leaving
    # in the past, planned as leaving in 15 min.
    with_car = await scene.session(
        stations[1], started=timedelta(hours=9), energy_wh=55_000, user_id=owner.id
    )
    # The driver's goal stands over the defaults.
    goal = await scene.session(
        stations[2], energy_wh=5_000, energy_wanted_wh=20_000, departure_in=timedelta(minutes=30)
    )
    done = await scene.session(
        stations[3], energy_wh=5_000, energy_wanted_wh=4_000, departure_in=timedelta(minutes=5)
    )
    # A car declaring less than 6 A is planned at 6 A at least (IEC 61851).
    tiny = await scene.session(stations[4], user_id=small.id)
    built = await scene.build(area)

    got = sessions(built)
    assert got[str(plain.id)].energy_wanted_wh == 25_000
    assert got[str(plain.id)].departure_s == pytest.approx(6 * 3600)
    assert got[str(plain.id)].max_current == pytest.approx(32.0)
    assert got[str(with_car.id)].energy_wanted_wh == 10_000
    assert got[str(with_car.id)].departure_s == pytest.approx(900)
    assert got[str(with_car.id)].max_current == pytest.approx(11_000 / 690)
    assert got[str(goal.id)].energy_wanted_wh == 15_000
    assert got[str(goal.id)].departure_s == pytest.approx(1800)
    assert got[str(done.id)].energy_wanted_wh == 0
    assert got[str(done.id)].departure_s == pytest.approx(900)
    assert got[str(tiny.id)].energy_wanted_wh == 30_000
    assert got[str(tiny.id)].max_current == pytest.approx(6.0)
    # The horizon covers the latest departure: 7 h after the tiny car's start an hour ago;
    # 5-minute slots for the first hour, then 15-minute ones.
    horizon = built.problem.horizon
    assert horizon.end_s == pytest.approx(7 * 3600)
    assert horizon.durations_s[:12] == (300.0,) * 12
    assert set(horizon.durations_s[12:]) == {900.0}
