"""What drivers ask for, and what the site area page shows.

- `set_goal`: a session's departure time and wanted energy (the planner plans towards them,
  see `problem`), by its driver (their own session) or by an admin or a site admin of the
  session's site; only while the session is active. The session's planning unit is then
  planned again (when smart charging is on there).
- `planned_schedule`: the last stored plan of a session, as (instant, amps per phase).
- `area_load`: the live total current per phase of a site area's active sessions (its own
  stations and those of the areas under it: they all draw through it) against its limit.
"""

from __future__ import annotations

import enum
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import (
    ChargingSession,
    ChargingStation,
    Connector,
    MeterSample,
    SessionPlan,
    SessionStatus,
    SiteArea,
)
from backend.domain.access import require_login
from backend.domain.charging import history
from backend.domain.errors import Forbidden, InvalidInput, NotFound
from backend.domain.load_management.problem import unit_of
from backend.domain.viewer import Viewer

MAX_ENERGY_WANTED_WH = 200_000


class Keep(enum.Enum):
    """A goal field left as it is (as opposed to None: cleared, back to the defaults)."""

    KEEP = "keep"


KEEP = Keep.KEEP


class Replanner(Protocol):
    async def request_for_area(self, area_id: uuid.UUID | None) -> None: ...


@dataclass(frozen=True)
class PlannedPeriod:
    at: datetime
    current_a: float


@dataclass(frozen=True)
class AreaLoad:
    per_phase_a: tuple[float, float, float]
    limit_per_phase_a: float
    active_sessions: int


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def set_goal(
    db: AsyncSession,
    viewer: Viewer,
    session_id: uuid.UUID,
    *,
    departure_at: datetime | Keep | None = KEEP,
    energy_wanted_wh: int | Keep | None = KEEP,
    replanner: Replanner | None = None,
) -> ChargingSession:
    """Store the goal, commit, and ask for the session's area to be planned again. Returns
    the session with its station's site loaded (for the permission rules)."""
    require_login(viewer)
    charge = await db.scalar(history.session_select().where(ChargingSession.id == session_id))
    if charge is None:
        raise NotFound("No such charging session.", field="sessionId")
    own = viewer.user_id is not None and charge.user_id == viewer.user_id
    manager = viewer.is_admin or viewer.manages(charge.site_id)
    if not (own or manager):
        if viewer.reads_everything:
            raise Forbidden("Only the driver or a site administrator may change this goal.")
        raise NotFound("No such charging session.", field="sessionId")
    if charge.status is not SessionStatus.ACTIVE:
        raise InvalidInput("This session is already over.", field="sessionId")
    if isinstance(departure_at, datetime):
        departure_at = _aware(departure_at)
        if departure_at <= utcnow():
            raise InvalidInput("The departure time is in the past.", field="departureAt")
    if isinstance(energy_wanted_wh, int) and not 0 < energy_wanted_wh <= MAX_ENERGY_WANTED_WH:
        raise InvalidInput(
            f"The wanted energy must be more than 0 and at most {MAX_ENERGY_WANTED_WH} Wh.",
            field="energyWantedWh",
        )
    if departure_at is not KEEP:
        charge.departure_at = departure_at
    if energy_wanted_wh is not KEEP:
        charge.energy_wanted_wh = energy_wanted_wh
    station = await db.get(ChargingStation, charge.station_id)
    area_id = station.site_area_id if station is not None else None
    await db.commit()
    if replanner is not None and area_id is not None and await unit_of(db, area_id) is not None:
        await replanner.request_for_area(area_id)
    found = await db.scalar(
        history.session_select()
        .where(ChargingSession.id == session_id)
        .execution_options(populate_existing=True)
    )
    assert found is not None
    return found


def schedule_of(plan: SessionPlan | None) -> list[PlannedPeriod]:
    """The stored plan's periods, oldest first (empty without a plan)."""
    if plan is None:
        return []
    periods = []
    for item in plan.schedule or []:
        at, amps = item[0], item[1]
        periods.append(PlannedPeriod(_aware(datetime.fromisoformat(at)), float(amps)))
    periods.sort(key=lambda p: p.at)
    return periods


async def planned_schedules(
    db: AsyncSession, session_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[PlannedPeriod]]:
    plans = await db.scalars(select(SessionPlan).where(SessionPlan.session_id.in_(session_ids)))
    return {p.session_id: schedule_of(p) for p in plans}


def area_limit_per_phase_a(area: SiteArea) -> float:
    phases = 1 if area.phases == 1 else 3
    return float(area.max_power_w) / (float(area.voltage or 230) * phases)


def session_phase_currents(
    sample: MeterSample | None, power_w: float, voltage_v: float, phases: int
) -> tuple[float, float, float]:
    """A session's draw per phase: the sample's per-phase currents (a missing phase: 0 A), or
    without any, its power spread over the phases it uses (L1 first)."""
    if sample is not None:
        currents = (sample.current_a_l1, sample.current_a_l2, sample.current_a_l3)
        if any(c is not None for c in currents):
            l1, l2, l3 = (float(c or 0.0) for c in currents)
            return (l1, l2, l3)
    phases = phases if phases in (1, 2, 3) else 3
    amps = max(0.0, power_w) / (voltage_v * phases)
    return (amps, amps if phases >= 2 else 0.0, amps if phases == 3 else 0.0)


async def _subtree(db: AsyncSession, area: SiteArea) -> list[uuid.UUID]:
    areas = list(await db.scalars(select(SiteArea).where(SiteArea.site_id == area.site_id)))
    children: dict[uuid.UUID | None, list[uuid.UUID]] = defaultdict(list)
    for a in areas:
        children[a.parent_area_id].append(a.id)
    found, stack = [area.id], [area.id]
    seen = {area.id}
    while stack:
        for child in children[stack.pop()]:
            if child not in seen:
                seen.add(child)
                found.append(child)
                stack.append(child)
    return found


async def area_load(db: AsyncSession, area: SiteArea) -> AreaLoad:
    area_ids = await _subtree(db, area)
    rows: list[Any] = list(
        (
            await db.execute(
                select(ChargingSession, Connector.phases)
                .join(ChargingStation, ChargingStation.id == ChargingSession.station_id)
                .outerjoin(Connector, Connector.id == ChargingSession.connector_id)
                .where(
                    ChargingStation.site_area_id.in_(area_ids),
                    ChargingSession.status == SessionStatus.ACTIVE,
                )
            )
        ).all()
    )
    ids = [charge.id for charge, _ in rows]
    latest: dict[uuid.UUID, MeterSample] = {}
    if ids:
        ranked = (
            select(
                MeterSample.id,
                func.row_number()
                .over(
                    partition_by=MeterSample.session_id,
                    order_by=(MeterSample.sampled_at.desc(), MeterSample.id.desc()),
                )
                .label("rank"),
            )
            .where(MeterSample.session_id.in_(ids))
            .subquery()
        )
        samples = await db.scalars(
            select(MeterSample)
            .join(ranked, ranked.c.id == MeterSample.id)
            .where(ranked.c.rank == 1)
        )
        latest = {s.session_id: s for s in samples}
    voltage = float(area.voltage or 230)
    total = [0.0, 0.0, 0.0]
    for charge, connector_phases in rows:
        sample = latest.get(charge.id)
        power = sample.power_w if sample is not None and sample.power_w is not None else None
        if power is None:
            power = charge.instant_power_w or 0
        phases = connector_phases or (1 if area.phases == 1 else 3)
        for i, amps in enumerate(session_phase_currents(sample, float(power), voltage, phases)):
            total[i] += amps
    return AreaLoad(
        per_phase_a=(round(total[0], 2), round(total[1], 2), round(total[2], 2)),
        limit_per_phase_a=round(area_limit_per_phase_a(area), 2),
        active_sessions=len(rows),
    )
