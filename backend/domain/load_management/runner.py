"""Putting the planner to work: one run for one planning unit (a site area with smart
charging on), and the per-process `LoadManager` that decides when to run.

A run (`run_unit`, under the area's lease): read the state (`problem.build`), plan (the LP
with its heuristic fallback), then talk to the stations through the cross-process
`StationLink`:
1. clear the TxProfile of sessions that stopped since the last run (by its id, before a new
   session on that connector gets its own);
2. set a safe TxDefaultProfile (connector 0) on each station whose safe limit changed or
   that reconnected since it got one, so a station that loses its connection falls back
   within the limits;
3. set each session's TxProfile (amps per phase, with its transaction id) from the plan, cut
   to the station's ChargingScheduleMaxPeriods (asked once; 24 when unknown), then ask the
   station for its composite schedule (`composite`): it must be at or below what we sent for
   the current period.
A station that refuses a profile (an answer other than Accepted, or a CALLERROR), or accepts
one and then shows a composite schedule above it (it ignores or clips it wrongly), is
recorded as refusing, left out of the next runs with its full power reserved, and admins are
told (a `StationNotice` and an audit entry); the area is planned again at once.

Stations that leave smart charging (turned off on their area, or moved out of it) get their
profiles cleared (`release`), so their cars get full power back.

Triggers (`LoadManager`, one per server process): a session starts or stops; its meter
values show a change of phases or a draw away from what it was offered (at most every
`min_gap_s` per area); a station connects; a driver changes a goal; and every `interval_s`.
Every process hears every event (over the shared bus), so a run asked for before the last
run of that area read its state is skipped. Stations to release are looked for every
`release_interval_s` and when a station connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import (
    ChargingSession,
    ChargingStation,
    SessionPlan,
    SessionStatus,
    SiteArea,
    StationSmartCharging,
)
from backend.domain import audit
from backend.domain.charging.commands import (
    ChargingProfile,
    Command,
    CommandAnswer,
    CommandKind,
    StationLink,
)
from backend.domain.errors import DomainError, StationRejected
from backend.domain.load_management import composite
from backend.domain.load_management import lease as leases
from backend.domain.load_management import release as releases
from backend.domain.load_management.problem import Built, build, unit_of
from backend.domain.load_management.profiles import (
    TX_DEFAULT_PROFILE_ID,
    TX_PROFILE_BASE_ID,
    default_profile,
)
from backend.events import EventBus, LoadPlanned, NullBus, StationNotice
from backend.smart_charging import Plan, PlannerOptions, plan

log = logging.getLogger("vev_iq.smart_charging")

__all__ = [
    "TX_DEFAULT_PROFILE_ID",
    "TX_PROFILE_BASE_ID",
    "LoadManager",
    "RunReport",
    "default_profile",
    "run_unit",
    "tx_profile",
]

DEFAULT_MAX_PERIODS = 24
REPUSH_AFTER = timedelta(minutes=10)
MAX_PERIODS_KEYS = {
    "1.6": "ChargingScheduleMaxPeriods",
    "2.0.1": "SmartChargingCtrlr.PeriodsPerSchedule",
}
DRIFT_A = 2.0


def _floor(value: float) -> float:
    return math.floor(value * 10.0 + 1e-9) / 10.0


@dataclass
class RunReport:
    site_area_id: uuid.UUID
    method: str = ""
    offered_a: dict[str, float] = field(default_factory=dict)
    refused: list[uuid.UUID] = field(default_factory=list)
    commands: int = 0
    skipped: bool = False


async def _send(link: StationLink | None, station_id: uuid.UUID, command: Command) -> Any:
    """The answer, or the error (refusal: StationRejected; anything else: not the station's
    fault, e.g. it went offline)."""
    if link is None:
        return None
    try:
        return await link.send(station_id, command)
    except DomainError as error:
        return error


def _refused(result: Any) -> str | None:
    if isinstance(result, StationRejected):
        return result.message[:200]
    if isinstance(result, CommandAnswer) and not result.accepted:
        return f"answered {result.status}"[:200]
    return None


async def _max_periods(
    link: StationLink | None, station: ChargingStation, state: StationSmartCharging
) -> int:
    if state.max_periods:
        return state.max_periods
    found = DEFAULT_MAX_PERIODS
    key = MAX_PERIODS_KEYS.get(station.ocpp_version or "1.6")
    if key is not None:
        answer = await _send(
            link, station.id, Command(CommandKind.GET_CONFIGURATION, {"keys": [key]})
        )
        if isinstance(answer, CommandAnswer):
            for item in answer.data.get("keys", []):
                with contextlib.suppress(TypeError, ValueError):
                    if item.get("key") == key and int(item.get("value")) > 0:
                        found = int(item["value"])
        elif answer is not None:
            return DEFAULT_MAX_PERIODS  # offline or timed out: ask again next time
    state.max_periods = found
    return found


def tx_profile(built: Built, result: Plan, sid: str, max_periods: int) -> ChargingProfile:
    ps = built.sessions[sid]
    periods = result.periods(sid, max_periods)
    return ChargingProfile(
        id=TX_PROFILE_BASE_ID + ps.evse_id,
        stack_level=1,
        purpose="TxProfile",
        kind="Absolute",
        rate_unit="A",
        periods=tuple((int(start), _floor(limit), None) for start, limit in periods),
        duration_s=int(result.horizon.end_s),
        start_schedule=built.now,
        transaction_id=ps.charging.ocpp_transaction_id,
    )


async def run_unit(
    sessionmaker: async_sessionmaker[AsyncSession],
    link: StationLink | None,
    bus: EventBus,
    unit_id: uuid.UUID,
    options: PlannerOptions | None = None,
) -> RunReport:
    """Plan the unit and push the profiles. The caller holds the unit's lease."""
    report = RunReport(unit_id)
    now = utcnow()
    async with sessionmaker() as db:
        unit = await db.get(SiteArea, unit_id)
        if unit is None or not unit.smart_charging:
            report.skipped = True
            return report
        built = await build(db, unit, now)
        stale = list(
            (
                await db.execute(
                    select(SessionPlan, ChargingSession)
                    .join(ChargingSession, ChargingSession.id == SessionPlan.session_id)
                    .where(
                        SessionPlan.site_area_id == unit_id,
                        SessionPlan.profile_set.is_(True),
                        ChargingSession.status != SessionStatus.ACTIVE,
                    )
                )
            ).all()
        )
        result = await asyncio.to_thread(plan, built.problem, options or PlannerOptions())
        report.method = result.method

        # 1. Profiles of sessions that ended.
        for session_plan, charge in stale:
            connector = None
            if charge.connector_id is not None:
                from backend.db.models import Connector

                connector = await db.get(Connector, charge.connector_id)
            evse = connector.evse_id if connector else 1
            st = built.stations.get(charge.station_id)
            if st is not None and st.online and not st.refused:
                await _send(
                    link,
                    charge.station_id,
                    Command(
                        CommandKind.CLEAR_CHARGING_PROFILE,
                        {"id": TX_PROFILE_BASE_ID + evse, "connector": evse},
                    ),
                )
                report.commands += 1
            session_plan.profile_set = False

        # 2. Safe defaults.
        states: dict[uuid.UUID, StationSmartCharging] = {}
        refusals: dict[uuid.UUID, str] = {}
        for st in built.stations.values():
            state = st.state or StationSmartCharging(station_id=st.station.id)
            if st.state is None:
                db.add(state)
            states[st.station.id] = state
            if not st.online or st.refused:
                continue
            needs = (
                state.default_limit_a is None
                or abs(state.default_limit_a - st.default_limit_a) > 0.05
                or state.default_set_at is None
                or (st.connected_at is not None and st.connected_at > state.default_set_at)
            )
            if not needs:
                continue
            profile = default_profile(st.default_limit_a, now)
            answer = await _send(
                link,
                st.station.id,
                Command(
                    CommandKind.SET_CHARGING_PROFILE, {"connector": 0, "profile": profile.to_dict()}
                ),
            )
            report.commands += 1
            reason = _refused(answer)
            if reason is not None:
                refusals[st.station.id] = reason
            elif isinstance(answer, CommandAnswer):
                state.default_limit_a = st.default_limit_a
                state.default_set_at = now

        # 3. Each session's TxProfile, then what the station makes of it.
        ignored: dict[str, str] = {}

        async def push(sid: str) -> tuple[str, Any]:
            ps = built.sessions[sid]
            state = states[ps.station.id]
            max_periods = await _max_periods(link, ps.station, state)
            profile = tx_profile(built, result, sid, max_periods)
            command = Command(
                CommandKind.SET_CHARGING_PROFILE,
                {"connector": ps.evse_id, "profile": profile.to_dict()},
            )
            answer = await _send(link, ps.station.id, command)
            if isinstance(answer, CommandAnswer) and answer.accepted:
                check = await _send(link, ps.station.id, composite.request(ps.evse_id))
                at = utcnow()
                reason = composite.exceeded(check, composite.sent_limit_a(profile, at), at)
                if reason is not None:
                    ignored[sid] = reason
            return sid, answer

        to_push = []
        for sid, ps in built.sessions.items():
            if ps.station.id in refusals:
                continue
            old = built.plans.get(ps.charging.id)
            offered = _floor(result.now(sid))
            if (
                old is None
                or not old.profile_set
                or old.offered_a is None
                or abs(old.offered_a - offered) > 0.05
                or old.pushed_at is None
                or now - old.pushed_at > REPUSH_AFTER
            ):
                to_push.append(sid)

        # Decreases first, then increases: the sum never goes over on the way.
        def lowers(sid: str) -> bool:
            old = built.plans.get(built.sessions[sid].charging.id)
            previous = old.offered_a if old is not None and old.offered_a is not None else 1e9
            return _floor(result.now(sid)) <= previous

        answers = dict(await asyncio.gather(*(push(sid) for sid in to_push if lowers(sid))))
        answers |= dict(await asyncio.gather(*(push(sid) for sid in to_push if not lowers(sid))))
        report.commands += len(to_push) + sum(
            1 for a in answers.values() if isinstance(a, CommandAnswer) and a.accepted
        )

        checked: set[uuid.UUID] = set()
        for sid, ps in built.sessions.items():
            answer = answers.get(sid)
            reason = _refused(answer) if sid in answers else None
            if reason is not None:
                refusals.setdefault(ps.station.id, reason)
            elif sid in ignored and ps.station.id not in refusals:
                refusals[ps.station.id] = ignored[sid]
                checked.add(ps.station.id)
            found = built.plans.get(ps.charging.id)
            if found is None:
                found = SessionPlan(session_id=ps.charging.id)
                db.add(found)
            session_plan = found
            offered = _floor(result.now(sid))
            session_plan.site_area_id = unit_id
            session_plan.planned_at = now
            session_plan.schedule = [
                [(now + timedelta(seconds=start)).isoformat(), _floor(limit)]
                for start, limit in result.periods(sid)
            ]
            session_plan.learned_max_a = ps.learned_max_a
            session_plan.phases = "".join(str(p) for p in ps.phases) if ps.phases else None
            # Accepted, even if not obeyed: the profile is on the station (to clear later).
            if sid in answers and isinstance(answers[sid], CommandAnswer) and reason is None:
                session_plan.offered_a = offered
                session_plan.profile_set = True
                session_plan.pushed_at = now
            elif sid not in answers:
                session_plan.offered_a = offered
            report.offered_a[sid] = offered

        for station_id, reason in refusals.items():
            state = states[station_id]
            state.refused_at = now
            state.refusal = reason
            st = built.stations[station_id]
            audit.record(
                db, None, "smart_charging.station_refused_profiles", st.station, reason=reason
            )
            report.refused.append(station_id)
        await db.commit()

    for station_id in report.refused:
        st = built.stations[station_id]
        log.warning(
            "%s refuses charging profiles: left out of smart charging", st.station.ocpp_identity
        )
        data = {"reason": refusals[station_id], "siteAreaId": str(unit_id)}
        if station_id in checked:
            data["check"] = "composite_schedule"
        await bus.publish(
            StationNotice(
                station_id=station_id,
                site_id=st.station.site_id,
                notice="smart_charging.profiles_refused",
                data=data,
            )
        )
    await bus.publish(LoadPlanned(unit_id, dict(report.offered_a), report.method))
    return report


class LoadManager:
    """Runs the planning of every smart-charging area when it is due, in this process, with
    at most one run per area at a time across all processes (the lease)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        link: StationLink | None,
        bus: EventBus | None = None,
        *,
        interval_s: float = 300.0,
        min_gap_s: float = 30.0,
        lease_ttl_s: float = 60.0,
        wait_s: float = 60.0,
        options: PlannerOptions | None = None,
        release_interval_s: float | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.link = link
        self.bus: EventBus = bus or NullBus()
        self.interval_s = interval_s
        self.min_gap_s = min_gap_s
        # Cheap (it reads only the stations holding our profiles), so more often than runs:
        # a car on a station that left smart charging waits at most this for full power.
        self.release_interval_s = (
            release_interval_s if release_interval_s is not None else min(interval_s, 30.0)
        )
        self._releasing: asyncio.Lock | None = None
        self.lease_ttl_s = lease_ttl_s
        self.wait_s = wait_s
        self.options = options
        self._workers: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._again: dict[uuid.UUID, tuple[datetime, float]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._units: dict[uuid.UUID, tuple[float, uuid.UUID | None]] = {}  # station → unit
        self._offered: dict[str, float] = {}
        self._phases: dict[str, tuple[int, ...]] = {}
        self._last_drift: dict[uuid.UUID, float] = {}
        self.runs: list[RunReport] = []  # this process's runs (tests, debugging)

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        from backend.broadcast import BroadcastBus

        bus = self.bus
        if isinstance(bus, BroadcastBus) and bus.connected:
            for channel in ("sessions", "stations", "smart-charging"):
                ready = asyncio.Event()
                self._spawn(self._listen(bus, channel, ready))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ready.wait(), 10)
        self._spawn(self._periodic())
        if self.link is not None:
            self._spawn(self._release_loop())

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._workers.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- asking for runs -------------------------------------------------------------------------

    def request(self, unit_id: uuid.UUID, *, fresh_within_s: float = 0.0) -> None:
        """Plan this unit soon (a run that read its state less than `fresh_within_s`
        before now will do)."""
        asked = (utcnow(), fresh_within_s)
        worker = self._workers.get(unit_id)
        if worker is not None and not worker.done():
            previous = self._again.get(unit_id)
            if previous is None or previous[1] > fresh_within_s:
                self._again[unit_id] = asked
            return
        self._workers[unit_id] = asyncio.create_task(self._work(unit_id, asked))

    async def request_for_area(self, area_id: uuid.UUID | None) -> None:
        if area_id is None:
            return
        async with self.sessionmaker() as db:
            unit = await unit_of(db, area_id)
        if unit is not None:
            self.request(unit.id)

    async def _work(self, unit_id: uuid.UUID, asked: tuple[datetime, float]) -> None:
        while True:
            try:
                await self.run_when_free(unit_id, asked[0] - timedelta(seconds=asked[1]))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("smart charging run of area %s failed", unit_id)
            again = self._again.pop(unit_id, None)
            if again is None:
                return
            asked = again

    async def run_when_free(self, unit_id: uuid.UUID, needed_after: datetime) -> RunReport | None:
        """Take the area's lease (waiting for a run elsewhere to end), skip if a run read
        the state after `needed_after`, else run. None: skipped."""
        deadline = time.monotonic() + self.wait_s
        delay = 0.05
        while True:
            held = await leases.acquire(self.sessionmaker, unit_id, self.lease_ttl_s)
            if held is not None:
                break
            if time.monotonic() > deadline:
                log.warning("smart charging: area %s stayed busy; run dropped", unit_id)
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)
        ran_at: datetime | None = None
        renewer = asyncio.create_task(self._renew(held))
        try:
            if held.last_run_at is not None and held.last_run_at >= needed_after:
                return None
            ran_at = utcnow()
            report = await run_unit(self.sessionmaker, self.link, self.bus, unit_id, self.options)
            self.runs.append(report)
            self._offered.update(report.offered_a)
            if report.refused:
                self._again[unit_id] = (utcnow(), 0.0)
            return report
        finally:
            renewer.cancel()
            with contextlib.suppress(BaseException):
                await renewer
            await leases.release(self.sessionmaker, held, ran_at)

    async def _renew(self, held: leases.Lease) -> None:
        while True:
            await asyncio.sleep(self.lease_ttl_s / 3)
            if not await leases.renew(self.sessionmaker, held, self.lease_ttl_s):
                log.warning("smart charging: lost the lease of area %s", held.site_area_id)
                return

    # --- triggers -------------------------------------------------------------------------------

    async def _periodic(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                async with self.sessionmaker() as db:
                    areas = list(await db.scalars(select(SiteArea)))
                by_id = {a.id: a for a in areas}
                for area in areas:
                    if not area.smart_charging:
                        continue
                    parent = by_id.get(area.parent_area_id) if area.parent_area_id else None
                    if parent is not None and _under_smart(parent, by_id):
                        continue  # planned with its parent's unit
                    self.request(area.id, fresh_within_s=self.interval_s * 0.9)
            except Exception:
                log.warning("smart charging: periodic planning failed", exc_info=True)

    async def release_stations(self, only: set[uuid.UUID] | None = None) -> list[releases.Released]:
        """Clear our profiles on the stations that left smart charging (or only on those of
        `only`); one sweep at a time in this process."""
        if self.link is None:
            return []
        if self._releasing is None:
            self._releasing = asyncio.Lock()
        async with self._releasing:
            return await releases.release_all(self.sessionmaker, self.link, only)

    def release_soon(self) -> None:
        """An area or station changed: give full power back now to stations that left smart
        charging, instead of at the next sweep (the caller must not wait for stations)."""
        if self.link is not None:
            self._spawn(self._release())

    async def _release(self, only: set[uuid.UUID] | None = None) -> None:
        try:
            await self.release_stations(only)
        except Exception:
            log.warning("smart charging: releasing stations failed", exc_info=True)

    async def _release_loop(self) -> None:
        while True:
            await asyncio.sleep(self.release_interval_s)
            await self._release()

    async def _unit_of_station(self, station_id: uuid.UUID) -> uuid.UUID | None:
        cached = self._units.get(station_id)
        if cached is not None and time.monotonic() - cached[0] < 30.0:
            return cached[1]
        async with self.sessionmaker() as db:
            station = await db.get(ChargingStation, station_id)
            area_id = station.site_area_id if station else None
            unit = await unit_of(db, area_id) if area_id else None
        unit_id = unit.id if unit else None
        self._units[station_id] = (time.monotonic(), unit_id)
        return unit_id

    async def _listen(self, bus: Any, channel: str, ready: asyncio.Event) -> None:
        while True:
            try:
                async with bus.subscribe(channel) as events:
                    ready.set()
                    async for event in events:
                        try:
                            await self.on_event(event)
                        except Exception:
                            log.warning("smart charging: event %s failed", event, exc_info=True)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("smart charging: listening on %s failed", channel, exc_info=True)
                await asyncio.sleep(1.0)

    async def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        if kind == "smart_charging.planned":
            offered = event.get("offered_a") or {}
            self._offered.update({str(k): float(v) for k, v in offered.items()})
            return
        station = event.get("station_id")
        if station is None:
            return
        station_id = uuid.UUID(str(station))
        if kind == "station.status":
            if event.get("connected"):
                unit = await self._unit_of_station(station_id)
                if unit is not None:
                    self.request(unit)
                else:
                    # It may hold profiles from before it left (it was offline then).
                    self._spawn(self._release({station_id}))
            return
        if kind in ("session.started", "session.stopped"):
            sid = str(event.get("session_id"))
            if kind == "session.stopped":
                self._offered.pop(sid, None)
                self._phases.pop(sid, None)
            unit = await self._unit_of_station(station_id)
            if unit is not None:
                self.request(unit)
            return
        if kind == "session.updated":
            points = event.get("points") or []
            if not points:
                return
            sid = str(event.get("session_id"))
            currents = points[-1].get("current_a") or [None, None, None]
            known = [float(c) for c in currents if c is not None]
            if not known:
                return
            used = tuple(i + 1 for i, c in enumerate(currents) if c is not None and c > 1.0)
            changed = False
            if used and self._phases.get(sid) != used:
                changed = sid in self._phases or sid in self._offered
                self._phases[sid] = used
            offered = self._offered.get(sid)
            drawn = max(known)
            drift = offered is not None and (
                drawn > offered + DRIFT_A or (drawn < offered - DRIFT_A and offered > 0)
            )
            if not (changed or drift):
                return
            unit = await self._unit_of_station(station_id)
            if unit is None:
                return
            if changed:
                self.request(unit)
                return
            last = self._last_drift.get(unit, 0.0)
            if time.monotonic() - last >= self.min_gap_s:
                self._last_drift[unit] = time.monotonic()
                self.request(unit)


def _under_smart(area: SiteArea, by_id: dict[uuid.UUID, SiteArea]) -> bool:
    seen: set[uuid.UUID] = set()
    current: SiteArea | None = area
    while current is not None and current.id not in seen:
        if current.smart_charging:
            return True
        seen.add(current.id)
        current = by_id.get(current.parent_area_id) if current.parent_area_id else None
    return False
