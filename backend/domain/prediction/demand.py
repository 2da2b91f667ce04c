"""Demand forecast of a site: expected sessions and energy per hour for the next days.

The history is the site's sessions per hour of their start, counted in the database (one
GROUP BY over the last `ModelSettings.weeks` weeks), leaving out the sessions of people who
restricted processing or objected to demand prediction
(`privacy.restrictions.sessions_allowed(Purpose.DEMAND_PREDICTION)`). Sessions and their
energy are counted in the hour the session started: "demand arriving", the quantity a site
manager plans capacity for. The model is `prediction.model` (its docstring explains it).

Who may ask: administrators, demo users (a forecast holds nothing personal) and the site's
administrators.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.base import utcnow
from backend.db.models import ChargingSession, ChargingStation, Purpose, Site
from backend.domain import access
from backend.domain.errors import Forbidden, InvalidInput, NotFound
from backend.domain.prediction.model import HOUR, WEEK, ModelSettings, SeasonalModel, fit
from backend.domain.privacy.restrictions import sessions_allowed
from backend.domain.statistics.periods import Period, bucket, period_start
from backend.domain.viewer import Viewer

log = logging.getLogger(__name__)

MAX_DAYS = 14
RECENT_DAYS = 7


@dataclass(frozen=True)
class DemandHour:
    at: datetime  # the start of the hour, UTC
    sessions: float
    energy_wh: int


@dataclass(frozen=True)
class DemandForecast:
    site_id: uuid.UUID
    timezone: str
    generated_at: datetime  # the first forecast hour: the current hour, started
    history_from: datetime  # the first hour the model learned from
    weeks_with_data: int
    excluded_days: list[str]  # local dates left out as exceptional (ISO)
    hours: list[DemandHour]  # the forecast
    recent: list[DemandHour]  # what happened over the last days, for comparison


@dataclass(frozen=True)
class HourlyHistory:
    start: datetime
    sessions: list[float]
    energy_wh: list[float]

    def from_first_session(self) -> HourlyHistory:
        """Without the empty hours before the first session: the weeks before a site opened
        are not weeks without demand (but quiet hours at an older site are)."""
        first = next((i for i, n in enumerate(self.sessions) if n), 0)
        return HourlyHistory(
            start=self.start + first * HOUR,
            sessions=self.sessions[first:],
            energy_wh=self.energy_wh[first:],
        )


def site_zone(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r: forecasting in UTC", name)
        return ZoneInfo("UTC")


def check(viewer: Viewer, site_id: uuid.UUID, days: int) -> None:
    access.require_login(viewer)
    if not (viewer.reads_everything or viewer.manages(site_id)):
        raise Forbidden("Only administrators of this site see its demand forecast.")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"Forecast between 1 and {MAX_DAYS} days.", field="days")


def _learned_from(site_id: uuid.UUID) -> list[ColumnElement[bool]]:
    cs = ChargingSession
    return [
        cs.station_id.in_(select(ChargingStation.id).where(ChargingStation.site_id == site_id)),
        sessions_allowed(Purpose.DEMAND_PREDICTION),
    ]


async def opened_before(session: AsyncSession, site_id: uuid.UUID, moment: datetime) -> bool:
    """Whether the site had a session (that may be learned from) before `moment`."""
    cs = ChargingSession
    found = await session.scalar(
        select(cs.id).where(*_learned_from(site_id), cs.started_at < moment).limit(1)
    )
    return found is not None


async def hourly_history(
    session: AsyncSession, site_id: uuid.UUID, start: datetime, end: datetime
) -> HourlyHistory:
    """Sessions and energy per hour of start at the site, in [start, end) (both on the hour)."""
    cs = ChargingSession
    dialect = session.get_bind().dialect.name
    hour = bucket(dialect, Period.HOUR, cs.started_at).label("hour")
    stmt = (
        select(hour, func.count(), func.coalesce(func.sum(cs.energy_wh), 0))
        .where(*_learned_from(site_id), cs.started_at >= start, cs.started_at < end)
        .group_by(hour)
    )
    size = int((end - start) / HOUR)
    sessions = [0.0] * size
    energy = [0.0] * size
    for value, count, wh in await session.execute(stmt):
        index = int((period_start(value, Period.HOUR) - start) / HOUR)
        if 0 <= index < size:
            sessions[index] = float(count)
            energy[index] = float(wh)
    return HourlyHistory(start=start, sessions=sessions, energy_wh=energy)


def forecast_from(
    history: HourlyHistory, tz: tzinfo, days: int, settings: ModelSettings
) -> tuple[SeasonalModel, SeasonalModel, list[DemandHour]]:
    """Fit the model on both series and forecast `days` days after the history."""
    by_sessions = fit(history.sessions, history.start, tz, settings)
    excluded = set(by_sessions.excluded_days)
    by_energy = fit(history.energy_wh, history.start, tz, settings, excluded)
    end = by_sessions.end
    hours = [
        DemandHour(
            at=end + i * HOUR,
            sessions=round(by_sessions.predict(end + i * HOUR), 3),
            energy_wh=round(by_energy.predict(end + i * HOUR)),
        )
        for i in range(days * 24)
    ]
    return by_sessions, by_energy, hours


async def site_forecast(
    session: AsyncSession,
    viewer: Viewer,
    site_id: uuid.UUID,
    days: int = 7,
    *,
    now: datetime | None = None,
    settings: ModelSettings | None = None,
) -> DemandForecast:
    check(viewer, site_id, days)
    settings = settings or ModelSettings()
    site = await session.get(Site, site_id)
    if site is None:
        raise NotFound("No such site.", field="siteId")
    end = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
    start = end - settings.weeks * WEEK
    history = await hourly_history(session, site_id, start, end)
    if not await opened_before(session, site_id, start):
        history = history.from_first_session()
        start = history.start
    tz = site_zone(site.timezone)
    by_sessions, _, hours = forecast_from(history, tz, days, settings)
    recent_from = max(0, len(history.sessions) - RECENT_DAYS * 24)
    recent = [
        DemandHour(
            at=start + i * HOUR,
            sessions=history.sessions[i],
            energy_wh=round(history.energy_wh[i]),
        )
        for i in range(recent_from, len(history.sessions))
    ]
    return DemandForecast(
        site_id=site_id,
        timezone=getattr(tz, "key", str(tz)),
        generated_at=end,
        history_from=start,
        weeks_with_data=by_sessions.weeks_with_data,
        excluded_days=[day.isoformat() for day in by_sessions.excluded_days],
        hours=hours,
        recent=recent,
    )
