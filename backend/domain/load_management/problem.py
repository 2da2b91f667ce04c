"""The planner's `Problem` for one site area, read from the database.

The planning unit is the highest area of a nest that has smart charging on (`unit_of`): the
whole tree under it is planned at once. Nodes: each area (its max power over its phases
and voltage, as amps per phase; a single-phase area is taken to be wired to L1), each
accepted station, each connector (its max power over its phases). Sessions: the active ones
on those connectors, with

- the phases they use, from the per-phase currents of their latest meter value (a phase
  drawing over 1 A is used; none known yet: those of the last plan, else all three, the safe
  assumption); under a single-phase area, L1 whatever the meter says, as the area's limit;
- the measured draw (the highest per-phase current) and the current offered by the last
  plan, so that a car drawing less leaves its headroom to the others;
- the max current: the connector's, lowered to the driver's default vehicle's AC power
  (unless the driver objected to smart-charging personalization: `User.objections`)
  (and to what the car has shown it takes, `learned_max_current`); min 6 A (IEC 61851);
- energy wanted and departure: the driver's (`departure_at`, `energy_wanted_wh`), else
  the vehicle's battery (or 30 kWh) and 8 hours after the start.

A station that refused profiles is left out and its full power reserved as other load on
its area (every phase). So is a station that is offline but was seen before: it cannot be
told anything, and a car may start on it meanwhile (stations charge offline), so each of its
connectors is reserved what it may draw — the most of its session's draw and the TxProfile
we set on that session, else the TxDefaultProfile we set, else the connector's full power.
A station never seen draws nothing yet and reserves nothing. What is reserved counts on the
station's area and on every area above it, up to the unit: they all carry it.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from backend.db.models import (
    ChargingSession,
    ChargingStation,
    Connector,
    MeterSample,
    RegistrationStatus,
    ServerProcess,
    SessionPlan,
    SessionStatus,
    SiteArea,
    StationConnection,
    StationSmartCharging,
    Vehicle,
)
from backend.domain.privacy.restrictions import Purpose, excluded_users
from backend.smart_charging import Horizon, Node, Problem, Session, phase_limits_from_power
from backend.smart_charging.model import (
    IEC_61851_MIN_CURRENT_A,
    NOMINAL_VOLTAGE_V,
    PhaseCurrents,
    learned_max_current,
)

DEFAULT_DEPARTURE = timedelta(hours=8)
DEFAULT_ENERGY_WH = 30_000
# Without a driver's goal, a car is planned for at least this much more, so that a car that
# already took the default amount is not paused while it still draws.
DEFAULT_MIN_REMAINING_WH = 10_000
DEFAULT_CONNECTOR_MAX_A = 32.0
MIN_DEPARTURE_S = 900.0
MAX_HORIZON_S = 24 * 3600.0
PHASE_USED_A = 1.0
STALE_PROCESS = timedelta(seconds=30)
OFFER_SETTLE = timedelta(seconds=1)


@dataclass
class PlannedSession:
    charging: ChargingSession
    station: ChargingStation
    evse_id: int
    phases: tuple[int, ...] | None
    learned_max_a: float | None
    measured_a: float | None


@dataclass
class StationState:
    station: ChargingStation
    online: bool
    connected_at: datetime | None
    state: StationSmartCharging | None
    refused: bool
    default_limit_a: float = 0.0
    connectors: list[Connector] = field(default_factory=list)


@dataclass
class Built:
    unit: SiteArea
    problem: Problem
    now: datetime
    sessions: dict[str, PlannedSession]
    stations: dict[uuid.UUID, StationState]
    plans: dict[uuid.UUID, SessionPlan]
    area_limit_a: float  # the unit's smallest per-phase limit


async def unit_of(db: AsyncSession, area_id: uuid.UUID) -> SiteArea | None:
    """The highest area with smart charging on in the chain from `area_id` up (None: off)."""
    found: SiteArea | None = None
    seen: set[uuid.UUID] = set()
    current: uuid.UUID | None = area_id
    while current is not None and current not in seen:
        seen.add(current)
        area = await db.get(SiteArea, current)
        if area is None:
            break
        if area.smart_charging:
            found = area
        current = area.parent_area_id
    return found


def area_limits(area: SiteArea) -> PhaseCurrents:
    """An area's limit per grid phase: its power over its phases, a single-phase area's all on
    L1 (and 0 A on L2 and L3)."""
    phases = 1 if area.phases == 1 else 3
    return phase_limits_from_power(float(area.max_power_w), float(area.voltage or 230), phases)


def connector_max_a(connector: Connector, voltage: float = NOMINAL_VOLTAGE_V) -> float:
    if not connector.max_power_w:
        return DEFAULT_CONNECTOR_MAX_A
    phases = connector.phases if connector.phases in (1, 2, 3) else 3
    return float(connector.max_power_w) / (phases * voltage)


def phases_of(sample: MeterSample | None) -> tuple[tuple[int, ...] | None, float | None]:
    """Connector phases drawing current, and the highest per-phase current, of a sample."""
    if sample is None:
        return None, None
    currents = (sample.current_a_l1, sample.current_a_l2, sample.current_a_l3)
    known = [c for c in currents if c is not None]
    if not known:
        return None, None
    used = tuple(i + 1 for i, c in enumerate(currents) if c is not None and c > PHASE_USED_A)
    return (used or None), max(known)


def _floor(value: float) -> float:
    return math.floor(value * 10.0 + 1e-9) / 10.0


def _profile_max(plan: SessionPlan | None, now: datetime) -> float:
    """The highest limit of the TxProfile we set on a session, from the period in force now
    on (0: none set)."""
    if plan is None or not plan.profile_set:
        return 0.0
    periods = []
    for item in plan.schedule or []:
        with contextlib.suppress(TypeError, ValueError, IndexError):
            at = datetime.fromisoformat(str(item[0]))
            periods.append((at if at.tzinfo else at.replace(tzinfo=UTC), float(item[1])))
    periods.sort()
    current = [i for i, (at, _) in enumerate(periods) if at <= now]
    first = current[-1] if current else 0
    return max((limit for _, limit in periods[first:]), default=plan.offered_a or 0.0)


async def build(db: AsyncSession, unit: SiteArea, now: datetime) -> Built:
    areas = list(await db.scalars(select(SiteArea).where(SiteArea.site_id == unit.site_id)))
    children: dict[uuid.UUID | None, list[SiteArea]] = defaultdict(list)
    for area in areas:
        children[area.parent_area_id].append(area)
    subtree: list[SiteArea] = []
    stack = [unit]
    while stack:
        area = stack.pop()
        subtree.append(area)
        stack.extend(a for a in children[area.id] if a.id != unit.id)
    area_ids = [a.id for a in subtree]
    parent = {a.id: a.parent_area_id for a in subtree if a.id != unit.id}
    by_id = {a.id: a for a in subtree}

    def up(area_id: uuid.UUID) -> list[uuid.UUID]:
        """The area and those above it, up to the unit."""
        chain = [area_id]
        above = parent.get(area_id)
        while above is not None and above in by_id and above not in chain:
            chain.append(above)
            above = parent.get(above)
        return chain

    single_phase = {a for a in area_ids if any(by_id[x].phases == 1 for x in up(a))}

    stations = list(
        await db.scalars(
            select(ChargingStation)
            .where(
                ChargingStation.site_area_id.in_(area_ids),
                ChargingStation.registration_status == RegistrationStatus.ACCEPTED,
            )
            .options(selectinload(ChargingStation.connectors))
            .order_by(ChargingStation.ocpp_identity)
        )
    )
    station_ids = [s.id for s in stations]
    states = {
        s.station_id: s
        for s in await db.scalars(
            select(StationSmartCharging).where(StationSmartCharging.station_id.in_(station_ids))
        )
    }
    connections = {
        row.station_id: row.connected_at
        for row in (
            await db.execute(
                select(StationConnection.station_id, StationConnection.connected_at)
                .join(ServerProcess, ServerProcess.id == StationConnection.process_id)
                .where(
                    StationConnection.station_id.in_(station_ids),
                    ServerProcess.heartbeat_at > now - STALE_PROCESS,
                )
            )
        ).all()
    }
    station_states: dict[uuid.UUID, StationState] = {}
    for st in stations:
        state = states.get(st.id)
        connected_at = connections.get(st.id)
        refused = state is not None and state.refused_at is not None
        if refused and connected_at is not None and state is not None:
            # It reconnected since it refused (new firmware, new settings): try it again.
            refused = state.refused_at is not None and state.refused_at > connected_at
        station_states[st.id] = StationState(
            station=st,
            online=connected_at is not None,
            connected_at=connected_at,
            state=state,
            refused=refused,
            connectors=list(st.connectors),
        )

    charges = list(
        await db.scalars(
            select(ChargingSession)
            .where(
                ChargingSession.station_id.in_(station_ids),
                ChargingSession.status == SessionStatus.ACTIVE,
            )
            .order_by(ChargingSession.started_at)
        )
    )
    plans = {
        p.session_id: p
        for p in await db.scalars(
            select(SessionPlan).where(SessionPlan.session_id.in_([c.id for c in charges]))
        )
    }
    users = {c.user_id for c in charges if c.user_id is not None}
    vehicles = {
        v.user_id: v
        for v in await db.scalars(
            select(Vehicle).where(
                Vehicle.user_id.in_(users),
                Vehicle.is_default.is_(True),
                # A driver who objected plans like an unknown car (the connector's defaults).
                Vehicle.user_id.not_in(excluded_users(Purpose.SMART_CHARGING_PERSONALIZATION)),
            )
        )
    }
    latest: dict[uuid.UUID, MeterSample] = {}
    for charge in charges:
        sample = await db.scalar(
            select(MeterSample)
            .where(MeterSample.session_id == charge.id)
            .order_by(MeterSample.sampled_at.desc())
            .limit(1)
        )
        if sample is not None:
            latest[charge.id] = sample

    connector_by_id = {c.id: c for st in stations for c in st.connectors}
    other: dict[uuid.UUID, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    drawing: dict[uuid.UUID, float] = {}  # connector → what its session may draw (offline)
    planned: dict[str, PlannedSession] = {}
    sessions: list[Session] = []
    seen_connectors: set[uuid.UUID] = set()
    for charge in reversed(charges):  # the latest start on a connector wins
        if charge.connector_id is None or charge.connector_id in seen_connectors:
            continue
        seen_connectors.add(charge.connector_id)
        connector = connector_by_id.get(charge.connector_id)
        st_state = station_states[charge.station_id]
        if connector is None:
            continue
        plan = plans.get(charge.id)
        sample = latest.get(charge.id)
        phases, measured = phases_of(sample)
        # A draw says what the car takes only once it was measured under the current offer.
        offer_known = (
            plan is not None
            and plan.pushed_at is not None
            and sample is not None
            and sample.sampled_at > plan.pushed_at + OFFER_SETTLE
        )
        if phases is None and plan is not None and plan.phases:
            phases = tuple(int(p) for p in plan.phases)
        if st_state.station.site_area_id in single_phase:
            phases = (1,)  # one phase feeds it all, counted on L1 like the area's limit
        c_max = connector_max_a(connector)
        if st_state.refused:
            continue  # its whole power is reserved below
        if not st_state.online:
            drawing[connector.id] = max(measured or 0.0, _profile_max(plan, now))
            continue  # reserved below
        declared = c_max
        vehicle = vehicles.get(charge.user_id) if charge.user_id else None
        if vehicle is not None and vehicle.max_ac_power_w:
            car_phases = vehicle.ac_phases if vehicle.ac_phases in (1, 2, 3) else 3
            declared = min(declared, vehicle.max_ac_power_w / (car_phases * NOMINAL_VOLTAGE_V))
        declared = max(declared, IEC_61851_MIN_CURRENT_A)
        learned = learned_max_current(
            declared,
            plan.learned_max_a if plan else None,
            plan.offered_a if plan and offer_known else None,
            measured if offer_known else None,
        )
        if charge.energy_wanted_wh is not None:
            wanted = max(0.0, float(charge.energy_wanted_wh - charge.energy_wh))
        else:
            goal = DEFAULT_ENERGY_WH
            if vehicle is not None and vehicle.battery_capacity_wh:
                goal = vehicle.battery_capacity_wh
            wanted = float(max(goal - charge.energy_wh, DEFAULT_MIN_REMAINING_WH))
        departure = charge.departure_at or (charge.started_at + DEFAULT_DEPARTURE)
        departure_s = max(MIN_DEPARTURE_S, (departure - now).total_seconds())
        sid = str(charge.id)
        sessions.append(
            Session(
                id=sid,
                connector_id=f"connector:{connector.id}",
                max_current=declared,
                learned_current=learned,
                energy_wanted_wh=wanted,
                departure_s=departure_s,
                phases=phases,
                measured_current=measured if offer_known else None,
                offered_current=plan.offered_a if plan and offer_known else None,
            )
        )
        planned[sid] = PlannedSession(
            charging=charge,
            station=st_state.station,
            evse_id=connector.evse_id,
            phases=phases,
            learned_max_a=learned,
            measured_a=measured,
        )

    # Refused stations: their full power is someone else's problem, reserved. Offline ones:
    # what each connector may draw without us.
    for st_state in station_states.values():
        area_id = st_state.station.site_area_id
        if area_id is None:
            continue
        reserve = 0.0
        if st_state.refused:
            reserve = sum(connector_max_a(c) for c in st_state.connectors)
            reserve = reserve or DEFAULT_CONNECTOR_MAX_A
        elif not st_state.online and st_state.station.last_seen_at is not None:
            state = st_state.state
            default = (
                state.default_limit_a
                if state is not None and state.default_set_at is not None
                else None
            )
            for c in st_state.connectors:
                held = min(default, connector_max_a(c)) if default is not None else None
                reserve += max(
                    drawing.get(c.id, 0.0), held if held is not None else connector_max_a(c)
                )
            if not st_state.connectors:
                reserve = default if default is not None else DEFAULT_CONNECTOR_MAX_A
        for above in up(area_id):
            for p in range(3):
                other[above][p] += reserve

    def station_node(st: ChargingStation) -> Node:
        conns = tuple(
            Node(id=f"connector:{c.id}", max_current=(connector_max_a(c),) * 3)  # type: ignore[arg-type]
            for c in st.connectors
        )
        total = sum(connector_max_a(c) for c in st.connectors) or DEFAULT_CONNECTOR_MAX_A
        return Node(id=f"station:{st.id}", max_current=(total, total, total), children=conns)

    by_area: dict[uuid.UUID, list[ChargingStation]] = defaultdict(list)
    for st in stations:
        if st.site_area_id is not None and not station_states[st.id].refused:
            by_area[st.site_area_id].append(st)

    def area_node(area: SiteArea) -> Node:
        kids = [area_node(a) for a in children[area.id] if a.id != unit.id]
        kids += [station_node(st) for st in by_area[area.id]]
        o = other[area.id]
        return Node(
            id=f"area:{area.id}",
            max_current=area_limits(area),
            other_load=(o[0], o[1], o[2]),
            children=tuple(kids),
        )

    root = area_node(unit)
    _set_defaults(root, station_states)
    longest = max((s.departure_s or 0.0 for s in sessions), default=3600.0)
    horizon = Horizon.covering(
        min(MAX_HORIZON_S, max(longest, 3600.0)), slot_s=900.0, fine_s=3600.0, fine_slot_s=300.0
    )
    problem = Problem(root=root, sessions=tuple(sessions), horizon=horizon)
    return Built(
        unit=unit,
        problem=problem,
        now=now,
        sessions=planned,
        stations=station_states,
        plans=plans,
        area_limit_a=_least(root),
    )


def _least(area: Node) -> float:
    """An area's smallest headroom among the phases it has (a single-phase area: L1)."""
    room = [h for h, m in zip(area.headroom(), area.max_current, strict=True) if m > 0]
    return min(room, default=0.0)


def _set_defaults(root: Node, stations: dict[uuid.UUID, StationState]) -> None:
    """The safe TxDefaultProfile of each station: on every area above it, that area's
    headroom shared equally among the connectors under it; the smallest share wins."""

    def connectors_under(node: Node) -> int:
        # A station whose connectors are not known yet counts as one.
        return sum(max(1, len(n.children)) for n, _ in node.walk() if n.id.startswith("station:"))

    for node, ancestors in root.walk():
        if not node.id.startswith("station:"):
            continue
        share = math.inf
        for area in ancestors:
            count = connectors_under(area)
            if count:
                share = min(share, _least(area) / count)
        connector_cap = min(
            (c.max_current[0] for c in node.children), default=DEFAULT_CONNECTOR_MAX_A
        )
        state = stations.get(uuid.UUID(node.id.removeprefix("station:")))
        if state is not None:
            state.default_limit_a = _floor(max(0.0, min(share, connector_cap)))
