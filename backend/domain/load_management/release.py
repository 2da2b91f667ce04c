"""Giving the power back: when smart charging is turned off on a site area, or a station
leaves it (moved to an area without smart charging, out of every area, or its area deleted),
the profiles smart charging set on the station are cleared (its TxDefaultProfile and the
TxProfiles of its active sessions, by their ids: `profiles`), so that its cars get the
station's full power again.

It works from the stored state, not from the change itself, so it does not matter which server
process made the change or whether the station was reachable then:

- a station is *held* while `station_smart_charging.default_set_at` is set or one of its
  sessions has `session_plans.profile_set`;
- `stations_to_release` finds the held stations (and those marked as refusing) that are no
  longer under any area with smart charging on;
- `release` re-checks that under the same transaction, claims what it will clear by resetting
  those marks (a compare-and-set, so that two processes sweeping at once do not both send the
  commands), commits, then sends ClearChargingProfile for each claimed profile. A command the
  station could not get (offline, no answer) gives its mark back, so a later sweep (the
  periodic one, or the station's reconnection) tries again; a CALLERROR is final.

A refusal mark is forgotten too: if smart charging is turned on again, the station is tried
again. The `LoadManager` sweeps every `release_interval_s` and when a station connects.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.base import utcnow
from backend.db.models import (
    ChargingSession,
    ChargingStation,
    Connector,
    ServerProcess,
    SessionPlan,
    SessionStatus,
    SiteArea,
    StationConnection,
    StationSmartCharging,
)
from backend.domain import audit
from backend.domain.charging.commands import Command, StationLink
from backend.domain.errors import DomainError, StationRejected
from backend.domain.load_management import profiles
from backend.domain.load_management.problem import STALE_PROCESS, unit_of

log = logging.getLogger("vev_iq.smart_charging")


@dataclass
class Released:
    station_id: uuid.UUID
    cleared: list[int] = field(default_factory=list)  # profile ids the station was told to clear
    retry: list[int] = field(default_factory=list)  # not reached: marked again for later


def _under_smart(area_id: uuid.UUID | None, areas: dict[uuid.UUID, SiteArea]) -> bool:
    seen: set[uuid.UUID] = set()
    current = area_id
    while current is not None and current not in seen:
        seen.add(current)
        area = areas.get(current)
        if area is None:
            return False
        if area.smart_charging:
            return True
        current = area.parent_area_id
    return False


async def stations_to_release(
    db: AsyncSession, now: datetime, only: set[uuid.UUID] | None = None
) -> list[uuid.UUID]:
    """Stations outside every smart-charging unit that are held and connected (an offline
    one is released when it connects again), or marked as refusing; optionally among `only`."""
    online = (
        select(StationConnection.station_id)
        .join(ServerProcess, ServerProcess.id == StationConnection.process_id)
        .where(ServerProcess.heartbeat_at > now - STALE_PROCESS)
    )
    marked = select(StationSmartCharging.station_id).where(
        or_(
            StationSmartCharging.refused_at.is_not(None),
            StationSmartCharging.default_set_at.is_not(None)
            & StationSmartCharging.station_id.in_(online),
        )
    )
    planned = (
        select(ChargingSession.station_id)
        .join(SessionPlan, SessionPlan.session_id == ChargingSession.id)
        .where(SessionPlan.profile_set.is_(True), ChargingSession.station_id.in_(online))
    )
    if only is not None:
        marked = marked.where(StationSmartCharging.station_id.in_(only))
        planned = planned.where(ChargingSession.station_id.in_(only))
    candidates = set(await db.scalars(marked)) | set(await db.scalars(planned))
    if not candidates:
        return []
    stations = list(
        await db.scalars(select(ChargingStation).where(ChargingStation.id.in_(candidates)))
    )
    sites = {s.site_id for s in stations if s.site_id is not None}
    areas = {a.id: a for a in await db.scalars(select(SiteArea).where(SiteArea.site_id.in_(sites)))}
    return sorted((s.id for s in stations if not _under_smart(s.site_area_id, areas)), key=str)


async def _outside(db: AsyncSession, station_id: uuid.UUID) -> bool:
    station = await db.get(ChargingStation, station_id, populate_existing=True)
    if station is None:
        return False
    if station.site_area_id is None:
        return True
    return await unit_of(db, station.site_area_id) is None


async def _online(db: AsyncSession, station_id: uuid.UUID, now: datetime) -> bool:
    found = await db.scalar(
        select(StationConnection.station_id)
        .join(ServerProcess, ServerProcess.id == StationConnection.process_id)
        .where(
            StationConnection.station_id == station_id,
            ServerProcess.heartbeat_at > now - STALE_PROCESS,
        )
    )
    return found is not None


async def release(
    sessionmaker: async_sessionmaker[AsyncSession],
    link: StationLink | None,
    station_id: uuid.UUID,
) -> Released:
    """Clear what smart charging set on this station, if it is outside every unit."""
    done = Released(station_id)
    async with sessionmaker() as db:
        if not await _outside(db, station_id):
            return done
        state = await db.get(StationSmartCharging, station_id)
        if state is not None and state.refused_at is not None:
            await db.execute(
                update(StationSmartCharging)
                .where(StationSmartCharging.station_id == station_id)
                .values(refused_at=None, refusal=None)
            )
        if link is None or not await _online(db, station_id, utcnow()):
            await db.commit()  # what it holds is cleared once it is back
            return done
        had_default: tuple[datetime, float | None] | None = None
        if state is not None and state.default_set_at is not None:
            had_default = (state.default_set_at, state.default_limit_a)
            claimed = await db.execute(
                update(StationSmartCharging)
                .where(
                    StationSmartCharging.station_id == station_id,
                    StationSmartCharging.default_set_at.is_not(None),
                )
                .values(default_set_at=None, default_limit_a=None)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                had_default = None  # another process got there first
        rows = (
            await db.execute(
                select(SessionPlan.session_id, ChargingSession.status, Connector.evse_id)
                .join(ChargingSession, ChargingSession.id == SessionPlan.session_id)
                .outerjoin(Connector, Connector.id == ChargingSession.connector_id)
                .where(
                    ChargingSession.station_id == station_id,
                    SessionPlan.profile_set.is_(True),
                )
            )
        ).all()
        tx: list[tuple[uuid.UUID, int]] = []
        for session_id, status, evse in rows:
            active = status is SessionStatus.ACTIVE
            claimed = await db.execute(
                update(SessionPlan)
                .where(SessionPlan.session_id == session_id, SessionPlan.profile_set.is_(True))
                # No plan applies any more: the driver sees none beside the curve.
                .values(
                    profile_set=False, **({"offered_a": None, "schedule": []} if active else {})
                )
            )
            # A session that ended took its TxProfile with it (OCPP): nothing to send.
            if claimed.rowcount == 1 and active:  # type: ignore[attr-defined]
                tx.append((session_id, evse or 1))
        await db.commit()

    commands: list[tuple[int, Command]] = []
    if had_default is not None:
        commands.append((profiles.TX_DEFAULT_PROFILE_ID, profiles.clear_default()))
    commands += [(profiles.TX_PROFILE_BASE_ID + evse, profiles.clear_tx(evse)) for _, evse in tx]
    lost: list[int] = []
    for profile_id, command in commands:
        if await _reached(link, station_id, command):
            done.cleared.append(profile_id)
        else:
            lost.append(profile_id)
    if lost or done.cleared:
        await _after(sessionmaker, done, lost, had_default, tx)
    return done


async def _reached(link: StationLink | None, station_id: uuid.UUID, command: Command) -> bool:
    """Whether the station got the command (answered, or refused it for good)."""
    if link is None:
        return False
    try:
        await link.send(station_id, command)
    except StationRejected as error:
        log.warning("station %s refused to clear a profile: %s", station_id, error.message)
        return True
    except DomainError:
        return False  # offline or silent: try again later
    return True


async def _after(
    sessionmaker: async_sessionmaker[AsyncSession],
    done: Released,
    lost: list[int],
    had_default: tuple[datetime, float | None] | None,
    tx: list[tuple[uuid.UUID, int]],
) -> None:
    """Record what was cleared, and give back the marks of the profiles the station did not
    hear about (unless a run set new ones meanwhile)."""
    station_id = done.station_id
    done.retry = lost
    async with sessionmaker() as db:
        station = await db.get(ChargingStation, station_id)
        if done.cleared and station is not None:
            audit.record(
                db, None, "smart_charging.profiles_cleared", station, profiles=done.cleared
            )
            log.info(
                "%s left smart charging: profiles %s cleared",
                station.ocpp_identity,
                done.cleared,
            )
        if had_default is not None and profiles.TX_DEFAULT_PROFILE_ID in lost:
            await db.execute(
                update(StationSmartCharging)
                .where(
                    StationSmartCharging.station_id == station_id,
                    StationSmartCharging.default_set_at.is_(None),
                )
                .values(default_set_at=had_default[0], default_limit_a=had_default[1])
            )
        for session_id, evse in tx:
            if profiles.TX_PROFILE_BASE_ID + evse in lost:
                await db.execute(
                    update(SessionPlan)
                    .where(SessionPlan.session_id == session_id, SessionPlan.profile_set.is_(False))
                    .values(profile_set=True)
                )
        await db.commit()


async def release_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    link: StationLink | None,
    only: set[uuid.UUID] | None = None,
) -> list[Released]:
    """Release every held station outside the units (or only those of `only`)."""
    async with sessionmaker() as db:
        found = await stations_to_release(db, utcnow(), only)
    return [await release(sessionmaker, link, station_id) for station_id in found]
