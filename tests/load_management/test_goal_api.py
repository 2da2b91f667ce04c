"""Issue 5, put to work in the API: a driver's goal (`updateSessionGoal`), the planned
schedule beside the live curve (`ChargingSession.plannedSchedule`) and the live load of a
site area against its limit (`SiteArea.load`). Real database; rows built with the ORM."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from backend.db.base import utcnow
from backend.db.models import (
    ChargingSession,
    ChargingStation,
    Connector,
    MeterSample,
    RegistrationStatus,
    SessionPlan,
    SessionStatus,
    SiteArea,
    SmartChargingLease,
)
from tests.conftest import Api
from tests.graphql.world import ROLES, World, build_world

GOAL = (
    "mutation($id: ID!, $dep: DateTime, $wh: Int) { "
    "updateSessionGoal(sessionId: $id, departureAt: $dep, energyWantedWh: $wh) { id status } }"
)
GOAL_ENERGY_ONLY = (
    "mutation($id: ID!, $wh: Int) { updateSessionGoal(sessionId: $id, energyWantedWh: $wh) { id } }"
)
SCHEDULE = "query($id: ID!) { session(id: $id) { plannedSchedule { at currentA } } }"
LOAD = "query($id: ID!) { siteArea(id: $id) { load { perPhaseA limitPerPhaseA activeSessions } } }"


@pytest.fixture
async def world(sessionmaker: Any, make_user: Any) -> World:
    return await build_world(sessionmaker, make_user)


async def last_run(sessionmaker: Any, area_id: uuid.UUID) -> Any:
    async with sessionmaker() as db:
        return await db.scalar(
            select(SmartChargingLease.last_run_at).where(SmartChargingLease.site_area_id == area_id)
        )


def _future(hours: float = 5) -> str:
    return (utcnow() + timedelta(hours=hours)).isoformat()


async def _session(
    sessionmaker: Any,
    station_id: uuid.UUID,
    user_id: uuid.UUID | None,
    *,
    status: SessionStatus = SessionStatus.ACTIVE,
    connector_id: uuid.UUID | None = None,
    instant_power_w: int = 0,
) -> uuid.UUID:
    async with sessionmaker() as db:
        charge = ChargingSession(
            station_id=station_id,
            connector_id=connector_id,
            user_id=user_id,
            ocpp_transaction_id=uuid.uuid4().hex[:10],
            started_at=utcnow() - timedelta(hours=1),
            status=status,
            instant_power_w=instant_power_w,
        )
        db.add(charge)
        await db.commit()
        return charge.id


async def _stored(sessionmaker: Any, session_id: uuid.UUID) -> ChargingSession:
    async with sessionmaker() as db:
        found = await db.get(ChargingSession, session_id)
        assert found is not None
        return found


# --- updateSessionGoal ------------------------------------------------------------------------


async def test_who_may_set_a_goal(api: Api, world: World, sessionmaker: Any) -> None:
    expected = {
        "anonymous": "UNAUTHENTICATED",
        "basic": "NOT_FOUND",  # a fellow member of site A does not see the session
        "other": "NOT_FOUND",
        "demo": "FORBIDDEN",  # sees every session, changes none
        "site_admin": "ok",
        "admin": "ok",
        "driver": "ok",
    }
    for role, code in expected.items():
        token = world.target.token if role == "driver" else world.token(role)
        result = await api(
            GOAL, {"id": str(world.session), "dep": _future(), "wh": 12_000}, token=token
        )
        got = result["errors"][0]["extensions"]["code"] if result.get("errors") else "ok"
        assert got == code, (role, result)
    assert set(ROLES) <= set(expected)

    # The driver cannot change someone else's session, nor their own once it is over.
    basic = world.people["basic"]
    assert basic is not None
    others = await _session(sessionmaker, world.station_a, basic.id)
    error = await api.error(GOAL, {"id": str(others), "wh": 5_000}, token=world.target.token)
    assert error["code"] == "NOT_FOUND"
    over = await _session(
        sessionmaker, world.station_a, world.target.id, status=SessionStatus.COMPLETED
    )
    error = await api.error(GOAL, {"id": str(over), "wh": 5_000}, token=world.target.token)
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "sessionId")
    assert (await _stored(sessionmaker, over)).energy_wanted_wh is None
    error = await api.error(
        GOAL, {"id": str(uuid.uuid4()), "wh": 5_000}, token=world.token("admin")
    )
    assert error["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"dep": "2020-01-01T08:00:00Z"}, "departureAt"),
        ({"wh": 0}, "energyWantedWh"),
        ({"wh": -1}, "energyWantedWh"),
        ({"wh": 200_001}, "energyWantedWh"),
        ({"dep": "2020-01-01T08:00:00Z", "wh": 10_000}, "departureAt"),
    ],
)
async def test_goal_validation_names_the_field(
    api: Api,
    world: World,
    sessionmaker: Any,
    variables: dict[str, Any],
    field: str,
) -> None:
    error = await api.error(GOAL, {"id": str(world.session), **variables}, token=world.target.token)
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", field)
    stored = await _stored(sessionmaker, world.session)
    assert (stored.departure_at, stored.energy_wanted_wh) == (None, None)


async def test_goal_is_stored_kept_and_cleared(api: Api, world: World, sessionmaker: Any) -> None:
    departure = utcnow().replace(microsecond=0) + timedelta(hours=3)
    data = await api.ok(
        GOAL,
        {"id": str(world.session), "dep": departure.isoformat(), "wh": 200_000},
        token=world.target.token,
    )
    assert data["updateSessionGoal"] == {"id": str(world.session), "status": "ACTIVE"}
    stored = await _stored(sessionmaker, world.session)
    assert (stored.departure_at, stored.energy_wanted_wh) == (departure, 200_000)

    # An argument left out is kept; null clears it.
    await api.ok(
        GOAL_ENERGY_ONLY, {"id": str(world.session), "wh": 7_500}, token=world.target.token
    )
    stored = await _stored(sessionmaker, world.session)
    assert (stored.departure_at, stored.energy_wanted_wh) == (departure, 7_500)
    await api.ok(
        GOAL, {"id": str(world.session), "dep": None, "wh": None}, token=world.token("site_admin")
    )
    stored = await _stored(sessionmaker, world.session)
    assert (stored.departure_at, stored.energy_wanted_wh) == (None, None)
    # Area A has smart charging off: nothing is planned.
    assert await last_run(sessionmaker, world.area_a) is None


async def test_goal_replans_the_smart_charging_area(
    api: Api, world: World, sessionmaker: Any
) -> None:
    async with sessionmaker() as db:
        # The station sits in a sub-area of area A; area A (the unit) has smart charging on.
        child = SiteArea(
            site_id=world.site_a, parent_area_id=world.area_a, name="Row 1", max_power_w=22_000
        )
        db.add(child)
        await db.flush()
        await db.execute(
            update(SiteArea).where(SiteArea.id == world.area_a).values(smart_charging=True)
        )
        await db.execute(
            update(ChargingStation)
            .where(ChargingStation.id == world.station_a)
            .values(site_area_id=child.id)
        )
        await db.commit()
    assert await last_run(sessionmaker, world.area_a) is None
    await api.ok(GOAL, {"id": str(world.session), "wh": 15_000}, token=world.target.token)
    # A real planning run of the smart-charging parent area follows (it takes the area's lease).
    for _ in range(100):
        if await last_run(sessionmaker, world.area_a) is not None:
            break
        await asyncio.sleep(0.05)
    assert await last_run(sessionmaker, world.area_a) is not None
    assert await last_run(sessionmaker, child.id) is None


# --- ChargingSession.plannedSchedule ---------------------------------------------------------


async def test_planned_schedule_read_back(api: Api, world: World, sessionmaker: Any) -> None:
    variables = {"id": str(world.session)}
    data = await api.ok(SCHEDULE, variables, token=world.target.token)
    assert data["session"]["plannedSchedule"] == []  # never planned

    start = utcnow().replace(microsecond=0)
    async with sessionmaker() as db:
        db.add(
            SessionPlan(
                session_id=world.session,
                site_area_id=world.area_a,
                planned_at=start,
                schedule=[
                    [start.isoformat(), 16.0],
                    [(start + timedelta(minutes=30)).isoformat(), 8.5],
                    [(start + timedelta(hours=2)).isoformat(), 0.0],
                ],
            )
        )
        await db.commit()
    expected = [
        {"at": start.isoformat(), "currentA": 16.0},
        {"at": (start + timedelta(minutes=30)).isoformat(), "currentA": 8.5},
        {"at": (start + timedelta(hours=2)).isoformat(), "currentA": 0.0},
    ]
    for who in ("driver", "site_admin", "admin", "demo"):
        token = world.target.token if who == "driver" else world.token(who)
        data = await api.ok(SCHEDULE, variables, token=token)
        assert data["session"]["plannedSchedule"] == expected, who
    # Who does not see the session does not see its plan.
    for who in ("basic", "other"):
        data = await api.ok(SCHEDULE, variables, token=world.token(who))
        assert data["session"] is None, who
    assert (await api.error(SCHEDULE, variables))["code"] == "UNAUTHENTICATED"


# --- SiteArea.load ---------------------------------------------------------------------------


async def test_area_load_figures(api: Api, world: World, sessionmaker: Any) -> None:
    now = utcnow()
    async with sessionmaker() as db:
        # 22 080 W over 3 x 230 V: 32 A per phase.
        area = SiteArea(site_id=world.site_a, name="Garage", max_power_w=22_080)
        db.add(area)
        await db.flush()
        child = SiteArea(
            site_id=world.site_a, parent_area_id=area.id, name="Row 2", max_power_w=11_040
        )
        single = SiteArea(site_id=world.site_a, name="Shed", max_power_w=7_360, phases=1)
        db.add_all([child, single])
        await db.flush()
        connectors: dict[str, Connector] = {}
        stations: dict[str, ChargingStation] = {}
        for name, area_id, phases in (
            ("G1", area.id, 3),
            ("G2", area.id, 1),
            ("G3", area.id, 3),
            ("R1", child.id, None),
        ):
            station = ChargingStation(
                ocpp_identity=name,
                site_area_id=area_id,
                site_id=world.site_a,
                registration_status=RegistrationStatus.ACCEPTED,
            )
            db.add(station)
            await db.flush()
            connector = Connector(station_id=station.id, phases=phases, status="Charging")
            db.add(connector)
            await db.flush()
            stations[name], connectors[name] = station, connector
        await db.commit()
        ids = {name: (s.id, connectors[name].id) for name, s in stations.items()}
        area_id, single_id = area.id, single.id

    # G1: per-phase currents of its latest sample (an older one is ignored; L3 unknown: 0 A).
    s1 = await _session(sessionmaker, ids["G1"][0], None, connector_id=ids["G1"][1])
    # G2: no currents, 7 360 W on a single-phase connector: 32 A on L1.
    s2 = await _session(sessionmaker, ids["G2"][0], None, connector_id=ids["G2"][1])
    # G3: no sample yet, 6 900 W instant power over 3 phases: 10 A each.
    s3 = await _session(
        sessionmaker, ids["G3"][0], None, connector_id=ids["G3"][1], instant_power_w=6_900
    )
    # G3 also had a session that is over: not counted.
    done = await _session(
        sessionmaker, ids["G3"][0], None, status=SessionStatus.COMPLETED, instant_power_w=9_000
    )
    # R1 in the sub-area draws through the garage: 2 A on each phase.
    s5 = await _session(sessionmaker, ids["R1"][0], None, connector_id=ids["R1"][1])
    async with sessionmaker() as db:
        db.add_all(
            [
                MeterSample(
                    session_id=s1,
                    sampled_at=now - timedelta(minutes=2),
                    power_w=20_000,
                    current_a_l1=30.0,
                    current_a_l2=30.0,
                    current_a_l3=30.0,
                ),
                MeterSample(
                    session_id=s1,
                    sampled_at=now - timedelta(seconds=30),
                    power_w=7_245,
                    current_a_l1=16.0,
                    current_a_l2=15.5,
                ),
                MeterSample(
                    session_id=s2,
                    sampled_at=now - timedelta(minutes=5),
                    power_w=1_000,
                    current_a_l1=4.0,
                ),
                MeterSample(session_id=s2, sampled_at=now - timedelta(seconds=10), power_w=7_360),
                MeterSample(session_id=done, sampled_at=now, current_a_l1=40.0),
                MeterSample(
                    session_id=s5,
                    sampled_at=now,
                    current_a_l1=2.0,
                    current_a_l2=2.0,
                    current_a_l3=2.0,
                ),
            ]
        )
        await db.commit()
    del s3

    expected = {
        # L1: 16 + 32 + 10 + 2; L2: 15.5 + 0 + 10 + 2; L3: 0 + 0 + 10 + 2.
        "perPhaseA": [60.0, 27.5, 12.0],
        "limitPerPhaseA": 32.0,
        "activeSessions": 4,
    }
    for who in ("site_admin", "admin", "demo"):
        data = await api.ok(LOAD, {"id": str(area_id)}, token=world.token(who))
        assert data["siteArea"]["load"] == expected, who

    # An empty single-phase area: 7 360 W / 230 V = 32 A.
    data = await api.ok(LOAD, {"id": str(single_id)}, token=world.token("admin"))
    assert data["siteArea"]["load"] == {
        "perPhaseA": [0.0, 0.0, 0.0],
        "limitPerPhaseA": 32.0,
        "activeSessions": 0,
    }

    # A plain member sees the area, not its load; a member of another site sees neither.
    error = await api.error(LOAD, {"id": str(area_id)}, token=world.token("basic"))
    assert error["code"] == "FORBIDDEN"
    data = await api.ok(LOAD, {"id": str(area_id)}, token=world.token("other"))
    assert data["siteArea"] is None
    assert (await api.error(LOAD, {"id": str(area_id)}))["code"] == "UNAUTHENTICATED"
